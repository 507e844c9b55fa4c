"""CockroachDB changefeed jobs: the statements come from queries.dialect; this runs them.

Used by `python manage.py changefeed setup|status` when DATABASE_URL is CockroachDB.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from queries import dialect


def rangefeed_enabled(conn: psycopg.Connection) -> bool:
    row = conn.execute(dialect.RANGEFEED_SETTING_SQL).fetchone()
    value = row[0] if isinstance(row, tuple) else next(iter(row.values()))
    return str(value).lower() in ("true", "t", "on", "1")


def enable_rangefeed(conn: psycopg.Connection) -> None:
    conn.execute(dialect.ENABLE_RANGEFEED_SQL)


def changefeed_jobs(conn: psycopg.Connection) -> list[dict]:
    """SHOW CHANGEFEED JOBS, every text value passed through dialect.redact_secrets: the sink
    URI and the description (the CREATE CHANGEFEED statement) carry the SASL password and the
    certificates, and these rows are printed by `changefeed status` and shown on Operations."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(dialect.SHOW_CHANGEFEED_JOBS_SQL).fetchall()
    return [{name: dialect.redact_secrets(value) for name, value in row.items()} for row in rows]


def create_changefeed(conn: psycopg.Connection, statement: str) -> int | None:
    """Run CREATE CHANGEFEED; returns the new job id."""
    row = conn.execute(statement).fetchone()
    if row is None:
        return None
    return int(row[0] if isinstance(row, tuple) else next(iter(row.values())))
