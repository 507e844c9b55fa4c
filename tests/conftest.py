"""Real servers for the tests: one embedded PostgreSQL and one Tansu broker per session.

Each test that asks for `db` gets its own fresh database cloned from a migrated template,
with DATABASE_URL pointing at it, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest

from queries import db as dbmod
from queries.migrate import migrate
from stack.broker import EmbeddedBroker
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres

TEMPLATE = "stockroom_template"


def server_directory(prefix: str) -> Path:
    """A fresh directory outside pytest's own temp root: pytest keeps that root private (0700)
    and resets it whenever another pytest run of the same user starts, which would lock out
    the unprivileged PostgreSQL user when the suite runs as root."""
    return Path(tempfile.mkdtemp(prefix=prefix))


@pytest.fixture(scope="session")
def pg_server() -> EmbeddedPostgres:
    directory = server_directory("stockroom-test-pg-")
    server = EmbeddedPostgres(directory, free_port())
    server.start()
    with psycopg.connect(server.admin_url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    migrate(_url(server, TEMPLATE))
    yield server
    dbmod.close_pools()
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def _url(server: EmbeddedPostgres, name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{server.port}/{name}"


def create_database(server: EmbeddedPostgres, template: str = TEMPLATE) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server.admin_url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    return _url(server, name)


@pytest.fixture
def db(pg_server, monkeypatch) -> str:
    """A fresh migrated database; DATABASE_URL points at it. Returns its URL."""
    url = create_database(pg_server)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    dbmod.close_pools()


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> EmbeddedBroker:
    server = EmbeddedBroker(Path(tmp_path_factory.mktemp("kafka")), free_port())
    server.start()
    previous = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    yield server
    server.stop()
    if previous is not None:
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = previous


@pytest.fixture
def kafka(broker, monkeypatch) -> str:
    """The broker's bootstrap address, also set as KAFKA_BOOTSTRAP_SERVERS."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap)
    return broker.bootstrap


@pytest.fixture
def slot(db) -> str:
    """A replication slot name of the test's own, dropped afterwards (slots are global to the
    server, and an abandoned one pins WAL)."""
    from tests.cdc_helpers import drop_slot, unique_slot

    name = unique_slot()
    yield name
    drop_slot(db, name)
