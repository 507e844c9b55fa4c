"""Background Python processes of the stack (CDC relay, workers), tracked by pid files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def terminate(pid: int, grace_seconds: float = 5.0) -> None:
    """SIGTERM, wait for the process to exit, SIGKILL if it will not."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class ManagedProcess:
    name: str
    module: str  # run as `python -m module`
    description: str

    def pid_file(self, data_dir: Path) -> Path:
        return data_dir / f"{self.name}.pid"

    def log_file(self, data_dir: Path) -> Path:
        return data_dir / f"{self.name}.log"

    def pid(self, data_dir: Path) -> int | None:
        try:
            pid = int(self.pid_file(data_dir).read_text())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def start(self, data_dir: Path, env: dict[str, str]) -> int:
        running = self.pid(data_dir)
        if running:
            return running
        log = open(self.log_file(data_dir), "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", self.module], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env={**os.environ, **env}, start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        self.pid_file(data_dir).write_text(str(proc.pid))
        time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(
                f"{self.description} exited at start; see {self.log_file(data_dir)}."
            )
        return proc.pid

    def stop(self, data_dir: Path) -> None:
        pid = self.pid(data_dir)
        if pid is not None:
            terminate(pid)
        self.pid_file(data_dir).unlink(missing_ok=True)


# Processes `manage.py up` starts after the database and broker, in order.
# Each entry names a module with a `main()` that runs until SIGTERM.
BACKGROUND: list[ManagedProcess] = []
# The CDC relay (PostgreSQL logical decoding -> Kafka; idles when DATABASE_URL is CockroachDB,
# whose own changefeed does the job) and the replenishment workflow worker.
BACKGROUND.append(ManagedProcess("relay", "changefeed.relay", "CDC relay"))
BACKGROUND.append(ManagedProcess("worker", "changefeed.worker", "CDC worker"))


def running_pid(module: str) -> int | None:
    """The pid of the embedded stack's process running `module`, if it runs on this machine."""
    from stack import config

    for process in BACKGROUND:
        if process.module == module:
            return process.pid(config.load().data_dir)
    return None
