"""The soak: a short run in which every fault kind happens at least once, and nothing is lost.

`manage.py soak` starts its own throwaway stack (PostgreSQL, Tansu, relay and worker as
subprocesses), so the test needs no fixture; it takes about a minute.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stack.soak import (
    FAULTS,
    Fault,
    covered_by_stream_check,
    default_fault_every,
    parse_report,
)

ROOT = Path(__file__).resolve().parent.parent


def test_the_default_fault_interval_gives_every_kind_twice_and_at_least_one_a_minute():
    every = default_fault_every(600)
    assert len(FAULTS) == 5
    assert int(600 // every) >= 2 * len(FAULTS)
    assert default_fault_every(3600) == 60.0


def test_the_stream_check_covers_only_faults_from_the_last_broker_restart_on():
    kinds = ["broker-restart", "relay-kill", "pg-terminate", "worker-kill", "broker-restart",
             "pg-restart"]
    faults = [Fault(kind, at=float(i), took=0.1) for i, kind in enumerate(kinds)]
    assert covered_by_stream_check(faults) == ["broker-restart", "pg-restart"]
    faults.append(Fault("relay-kill", at=9.0, took=0.1, error="it failed"))
    assert covered_by_stream_check(faults) == ["broker-restart", "pg-restart"]
    assert covered_by_stream_check(faults[1:4]) == ["relay-kill", "pg-terminate", "worker-kill"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_short_soak_injects_every_fault_and_loses_nothing():
    # One whole round (faults at 7, 14, 21, 28 and 35 s), so the stream check covers each kind;
    # run exactly as an operator runs it.
    command = [sys.executable, "manage.py", "soak", "--seconds", "40", "--fault-every", "7",
               "--scale", "tiny", "--rate", "5", "--workers", "2", "--seed", "7"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=500,
                          env={k: v for k, v in os.environ.items()
                               if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")})
    text = done.stdout + done.stderr
    table = parse_report(done.stdout)
    assert done.returncode == 0, text
    for kind in FAULTS:
        assert int(table[f"fault {kind}"]) >= 1, text
    assert table["faults the stream covers"] == ", ".join(FAULTS), text
    assert table["invariant violations"] == "0", text
    assert table["changes lost"] == "0", text
    assert int(table["operations committed"]) > 0, text
    assert table["process exits not ours"] == "0", text
    assert "RESULT: PASS" in done.stdout
    directory = re.search(r" in (\S+stockroom-soak-\S+)", done.stdout).group(1)
    assert not Path(directory).exists()  # removed without --keep
