"""Background Python processes of the stack (CDC relay, workers), tracked by pid files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def is_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (an exited child nobody has reaped yet:
    a container whose init does not reap leaves those behind, and they accept signals)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: the signal check is all there is
    return stat.rpartition(")")[2].split()[0] != "Z"


def terminate(pid: int, grace_seconds: float = 20.0) -> None:
    """SIGTERM, wait for the process to exit, SIGKILL if it will not.

    The grace is long because a Kafka consumer caught in a group join only notices the
    signal once the join returns (up to the rebalance timeout). A process that exits at any
    point, even between the checks and the kill, counts as stopped."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline:
            if not is_alive(pid):
                return
            time.sleep(0.05)
    raise RuntimeError(f"Process {pid} did not exit after SIGKILL.")


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
        except (OSError, ValueError):
            return None
        return pid if is_alive(pid) else None

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
# Gentle steady traffic (stack.simulate.main) so the Live page is never empty: embedded mode only,
# and not when STOCKROOM_SIMULATE=0 (tests, benchmarks). Listed while one still runs, so that
# `down` stops it whatever the setting is now.
SIMULATOR = ManagedProcess("simulator", "stack.simulate", "Simulator")


def simulator_wanted(environ=None) -> bool:
    """Whether `manage.py up` starts the background simulator: only in embedded mode (no
    DATABASE_URL of the operator's own) and unless STOCKROOM_SIMULATE is "0"."""
    environ = os.environ if environ is None else environ
    return not environ.get("DATABASE_URL") and environ.get("STOCKROOM_SIMULATE", "1") != "0"


def _simulator_listed() -> bool:
    from stack import config

    return simulator_wanted() or SIMULATOR.pid(config.load().data_dir) is not None


if _simulator_listed():
    BACKGROUND.append(SIMULATOR)


def running_pid(module: str) -> int | None:
    """The pid of the embedded stack's process running `module`, if it runs on this machine."""
    from stack import config

    for process in BACKGROUND:
        if process.module == module:
            return process.pid(config.load().data_dir)
    return None
