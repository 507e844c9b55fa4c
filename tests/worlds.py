"""Test databases: every test gets its own, cloned from a template (CREATE DATABASE ...
TEMPLATE), which is far cheaper than migrating or filling one row by row.

- `TEMPLATE` is the migrated, empty schema (conftest's `db` fixture clones it).
- `build_template(pg_server, builder)` fills a fresh copy with builder() once, for use as a
  template; conftest's `small_world_template` is factories.small_world() built this way.
- `copy_of(pg_server, template, monkeypatch)` gives a test its own copy (DATABASE_URL points at it).
- `copy_of_world(pg_server, builder, monkeypatch)` does both for a module's bigger world: built
  the first time a test of the session asks for it, cloned for every test after that. With
  `base=small_world_template`, builder() only adds its own rows to a copy of the small world.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import psycopg

from queries import db as dbmod
from stack.postgres import EmbeddedPostgres

TEMPLATE = "stockroom_template"


def database_url(server: EmbeddedPostgres, name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{server.port}/{name}"


def create_database(server: EmbeddedPostgres, template: str = TEMPLATE) -> str:
    """A new database copied from template; returns its URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server.admin_url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
    return database_url(server, name)


def build_template(pg_server, builder: Callable[[], None], base: str = TEMPLATE) -> str:
    """A copy of base (the migrated schema unless told) filled by builder(); returns its name,
    for use as a template."""
    url = create_database(pg_server, template=base)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        builder()
    finally:
        dbmod.close_pools()  # a template must have no open connections
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
    return url.rsplit("/", 1)[1]


def copy_of(pg_server, template: str, monkeypatch) -> str:
    """A fresh copy of the template world; DATABASE_URL points at it. Returns its URL."""
    url = create_database(pg_server, template=template)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


_BUILT: dict[tuple[Callable[[], None], str], str] = {}


def copy_of_world(pg_server, builder: Callable[[], None], monkeypatch, base: str = TEMPLATE) -> str:
    """A fresh copy of the world builder() makes on top of base: built into a template the first
    time a test of this session asks for it, cloned for every test after that. Returns its URL."""
    if (builder, base) not in _BUILT:
        _BUILT[builder, base] = build_template(pg_server, builder, base)
    return copy_of(pg_server, _BUILT[builder, base], monkeypatch)
