"""`manage.py up | status | env | down` on real processes, in a throwaway data directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from stack.ports import free_port
from tests.conftest import server_directory

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def stack_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    directory = server_directory("stockroom-test-stack-")
    env.update(STOCKROOM_DATA_DIR=str(directory / "data"), STOCKROOM_PG_PORT=str(free_port()),
               STOCKROOM_KAFKA_PORT=str(free_port()), STOCKROOM_SIMULATE="0")
    yield env
    manage("down", env=env)
    shutil.rmtree(directory, ignore_errors=True)


def test_up_is_idempotent_env_is_evaluable_and_down_stops(stack_env):
    first = manage("up", env=stack_env)
    assert first.returncode == 0, first.stderr
    assert f"127.0.0.1:{stack_env['STOCKROOM_PG_PORT']}" in first.stdout
    assert "CDC relay" in first.stdout and "CDC worker" in first.stdout
    second = manage("up", env=stack_env)
    assert second.returncode == 0, second.stderr
    assert "Migrations   up to date" in second.stdout

    exports = manage("env", env=stack_env).stdout
    shell = subprocess.run(["bash", "-c", f'{exports}\necho "$DATABASE_URL|$KAFKA_BOOTSTRAP_SERVERS"'],
                           capture_output=True, text=True)
    database_url, bootstrap = shell.stdout.strip().split("|")
    assert bootstrap == f"127.0.0.1:{stack_env['STOCKROOM_KAFKA_PORT']}"
    with psycopg.connect(database_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
        assert {"stock", "stock_movements", "orders", "order_lines", "transfers"} <= tables
        assert conn.execute("SHOW wal_level").fetchone()[0] == "logical"
        assert conn.execute("SHOW default_transaction_isolation").fetchone()[0] == "serializable"

    status = manage("status", env=stack_env)
    assert status.returncode == 0, status.stdout
    assert "stopped" not in status.stdout
    assert status.stdout.count("running") == 4  # PostgreSQL, broker, relay, worker

    assert manage("down", env=stack_env).returncode == 0
    stopped = manage("status", env=stack_env)
    assert stopped.returncode == 3 and "stopped" in stopped.stdout


def test_a_taken_port_is_named_in_the_error(stack_env):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(stack_env["STOCKROOM_KAFKA_PORT"])))
        squatter.listen()
        result = manage("up", "--no-background", env=stack_env)
    assert result.returncode == 1
    assert f"Port {stack_env['STOCKROOM_KAFKA_PORT']} is already in use" in result.stderr
