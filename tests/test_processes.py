"""Stopping background processes: slow exits, stubborn processes, vanished pids, zombies."""

from __future__ import annotations

import subprocess
import sys
import time

from stack.processes import is_alive, terminate


def python(code: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_process_that_takes_a_while_to_exit_is_waited_for_not_killed():
    proc = python(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(1.5), sys.exit(7)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    terminate(proc.pid, grace_seconds=10)
    assert proc.wait(timeout=5) == 7  # its own exit, not SIGKILL


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace():
    proc = python(
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    terminate(proc.pid, grace_seconds=0.5)
    assert proc.wait(timeout=5) == -9
    assert time.monotonic() - started < 30


def test_a_pid_that_is_already_gone_counts_as_stopped():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not is_alive(proc.pid)
    terminate(proc.pid)  # no ProcessLookupError


def test_an_exited_child_nobody_reaped_is_not_alive():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while is_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    # Not reaped yet (no wait()), so the pid still answers signals as a zombie.
    assert not is_alive(proc.pid)
    terminate(proc.pid, grace_seconds=1)
    proc.wait()
