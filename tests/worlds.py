"""Prebuilt test worlds: build the rows once per session into a template database, then give
each test its own copy (CREATE DATABASE ... TEMPLATE), which is cheaper than rebuilding."""

from __future__ import annotations

import os
from collections.abc import Callable

from queries import db as dbmod
from tests.conftest import create_database


def build_template(pg_server, builder: Callable[[], None]) -> str:
    """A migrated database filled by builder(); returns its name, for use as a template."""
    url = create_database(pg_server)
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
    """A fresh copy of the template world; DATABASE_URL points at it."""
    url = create_database(pg_server, template=template)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


_BUILT: dict[Callable[[], None], str] = {}


def copy_of_world(pg_server, builder: Callable[[], None], monkeypatch) -> str:
    """A fresh copy of the world builder() makes: built into a template the first time a test
    of this session asks for it, cloned for every test after that."""
    if builder not in _BUILT:
        _BUILT[builder] = build_template(pg_server, builder)
    return copy_of(pg_server, _BUILT[builder], monkeypatch)
