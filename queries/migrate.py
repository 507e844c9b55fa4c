"""Versioned schema migrations: SQL files applied in order and recorded in the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    def statements(self) -> list[str]:
        """Split on semicolons that end a line; comments are dropped."""
        lines = [
            line for line in self.path.read_text().splitlines()
            if not line.strip().startswith("--")
        ]
        statements, current = [], []
        for line in lines:
            current.append(line)
            if line.rstrip().endswith(";"):
                statements.append("\n".join(current).strip().rstrip(";"))
                current = []
        tail = "\n".join(current).strip()
        if tail:
            statements.append(tail)
        return [s for s in statements if s]


def available() -> list[Migration]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        version, _, name = path.stem.partition("_")
        found.append(Migration(version=version, name=name, path=path))
    return found


def applied_versions(conn: psycopg.Connection) -> set[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def migrate(url: str, up_to: str | None = None) -> list[str]:
    """Apply pending migrations (those numbered up to `up_to`, if given); returns the versions
    applied now.

    Statements run one by one in autocommit (CockroachDB runs schema changes best outside
    explicit transactions); each migration uses IF NOT EXISTS so a re-run is harmless.
    """
    applied_now = []
    with psycopg.connect(url, autocommit=True) as conn:
        done = applied_versions(conn)
        for migration in available():
            if migration.version in done or (up_to is not None and migration.version > up_to):
                continue
            for statement in migration.statements():
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s) "
                "ON CONFLICT (version) DO NOTHING",
                (migration.version, migration.name),
            )
            applied_now.append(migration.version)
    return applied_now
