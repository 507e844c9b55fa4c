"""Real servers for the tests: one embedded PostgreSQL and one Tansu broker per session.

Each test gets its own fresh database cloned from a template (tests/worlds.py), with
DATABASE_URL pointing at it, so tests never see each other's rows:

- `db`: the migrated schema, empty;
- `world`: the small world of factories.small_world() (two EU warehouses, one US store, three
  SKUs, 100 of each everywhere), built once per session (`small_world_template`);
- `world_with(builder)`: the small world plus what builder() adds, built once per session too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from queries import db as dbmod
from queries.migrate import migrate
from stack.broker import EmbeddedBroker
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres
from tests import factories
from tests.worlds import (
    TEMPLATE,
    build_template,
    copy_of,
    copy_of_world,
    create_database,
    database_url,
)


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
    migrate(database_url(server, TEMPLATE))
    yield server
    dbmod.close_pools()
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def db(pg_server, monkeypatch) -> str:
    """A fresh migrated database, empty; DATABASE_URL points at it. Returns its URL."""
    url = create_database(pg_server)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    dbmod.close_pools()


@pytest.fixture(scope="session")
def small_world_template(pg_server) -> str:
    """factories.small_world() built once per session; the name of its template database."""
    return build_template(pg_server, factories.small_world)


@pytest.fixture
def world(pg_server, small_world_template, monkeypatch) -> str:
    """A fresh copy of the small world (factories.small_world()); DATABASE_URL points at it.
    Returns its URL. Sequences and rows are exactly as if the test had built it itself."""
    url = copy_of(pg_server, small_world_template, monkeypatch)
    yield url
    dbmod.close_pools()


@pytest.fixture
def world_with(pg_server, small_world_template, monkeypatch):
    """world_with(builder) -> URL: a fresh copy of the small world with builder()'s rows added
    (a module's bigger world: built on the small world's template the first time a test of the
    session asks, cloned after that); DATABASE_URL points at it."""
    yield lambda builder: copy_of_world(pg_server, builder, monkeypatch, base=small_world_template)
    dbmod.close_pools()


def _seed_tiny() -> None:
    from stack.seed import seed

    seed(os.environ["DATABASE_URL"], "tiny", seed=3, demo_accounts=False)  # rollup included


@pytest.fixture(scope="session")
def seeded_world_template(pg_server) -> str:
    """The tiny demo seed (three regions, every location kind, several countries and
    categories, orders in every status, headquarters' rollup built), once per session."""
    return build_template(pg_server, _seed_tiny)


@pytest.fixture
def seeded_world(pg_server, seeded_world_template, monkeypatch) -> str:
    """A fresh copy of the tiny seeded world; DATABASE_URL points at it. Returns its URL."""
    url = copy_of(pg_server, seeded_world_template, monkeypatch)
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
def slot(pg_server) -> str:
    """A replication slot name of the test's own, dropped afterwards from whichever database
    the test made it in, `db` or `world` (slots are global to the server, and an abandoned one
    pins WAL)."""
    from tests.cdc_helpers import drop_slot, unique_slot

    name = unique_slot()
    yield name
    with psycopg.connect(pg_server.admin_url(), autocommit=True) as conn:
        made = conn.execute("SELECT database FROM pg_replication_slots WHERE slot_name = %s",
                            (name,)).fetchone()
    if made is not None:
        drop_slot(database_url(pg_server, made[0]), name)
