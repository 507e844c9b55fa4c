"""The SQL dialect: recognises CockroachDB and generates its own statements.

Everything else in queries/ is plain SQL both engines accept. The statements here run only
when the server is CockroachDB; on PostgreSQL the helpers return nothing (or a no-op).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COCKROACH = "cockroachdb"
POSTGRES = "postgresql"

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_ident(name: str) -> str:
    """Double-quote an identifier (region names contain dashes)."""
    return '"' + name.replace('"', '""') + '"'


def plain_ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def engine_from_version(version_string: str) -> str:
    return COCKROACH if version_string.startswith("CockroachDB") else POSTGRES


def detect(conn) -> str:
    row = conn.execute("SELECT version()").fetchone()
    value = row[0] if isinstance(row, tuple) else next(iter(row.values()))
    return engine_from_version(value)


@dataclass(frozen=True)
class Dialect:
    engine: str

    @property
    def is_cockroach(self) -> bool:
        return self.engine == COCKROACH

    def follower_read_clause(self) -> str:
        """Appended after FROM clauses of headquarters' read-only queries."""
        return " AS OF SYSTEM TIME follower_read_timestamp()" if self.is_cockroach else ""

    def follower_read_transaction(self) -> str | None:
        if not self.is_cockroach:
            return None
        return "SET TRANSACTION AS OF SYSTEM TIME follower_read_timestamp()"

    def multi_region_statements(
        self, database: str, primary_region: str, other_regions: list[str],
        survive_region_failure: bool = False,
    ) -> list[str]:
        if not self.is_cockroach:
            return []
        db = plain_ident(database)
        statements = [f"ALTER DATABASE {db} PRIMARY REGION {quote_ident(primary_region)}"]
        statements += [f"ALTER DATABASE {db} ADD REGION IF NOT EXISTS {quote_ident(r)}"
                       for r in other_regions]
        if survive_region_failure:
            if len(other_regions) + 1 < 3:
                raise ValueError("SURVIVE REGION FAILURE needs at least three regions.")
            statements.append(f"ALTER DATABASE {db} SURVIVE REGION FAILURE")
        return statements

    def regional_by_row_statement(self, table: str) -> str | None:
        if not self.is_cockroach:
            return None
        return f"ALTER TABLE {plain_ident(table)} SET LOCALITY REGIONAL BY ROW"

    def global_table_statement(self, table: str) -> str | None:
        if not self.is_cockroach:
            return None
        return f"ALTER TABLE {plain_ident(table)} SET LOCALITY GLOBAL"

    def index_statement(self, name: str, table: str, columns: list[str],
                        hash_sharded: bool = False) -> str:
        """A time-ordered ledger index; hash-sharded on CockroachDB to spread the hot tail."""
        cols = ", ".join(plain_ident(c) for c in columns)
        sql = f"CREATE INDEX IF NOT EXISTS {plain_ident(name)} ON {plain_ident(table)} ({cols})"
        if hash_sharded and self.is_cockroach:
            sql += " USING HASH"
        return sql


def dialect_of(conn) -> Dialect:
    return Dialect(detect(conn))
