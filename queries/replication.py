"""PostgreSQL logical replication for the CDC relay: publication, slot, decoding, snapshot.

PostgreSQL-only (the embedded default). On CockroachDB the changefeed does this job; its
statements come from queries.dialect. Every function takes the relay's own connection
(autocommit, tuple rows, TimeZone UTC), not the application pool: a replication session is
long-lived and its settings decide how values are rendered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

DEFAULT_PUBLICATION = "stockroom_cdc"
TICK_PREFIX = "stockroom.relay"


def connect(url: str, application_name: str = "stockroom-relay") -> psycopg.Connection:
    """A session whose text output matches what the relay renders: UTC, ISO dates."""
    conn = psycopg.connect(url, autocommit=True, application_name=application_name)
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET IntervalStyle = 'postgres'")
    conn.execute("SET default_transaction_isolation = 'read committed'")
    return conn


def database_name(conn: psycopg.Connection) -> str:
    return conn.info.dbname


def default_slot_name(database: str) -> str:
    """Slot names are global to the server, so the default one carries the database name."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", database.lower())
    return f"stockroom_cdc_{cleaned}"[:63]


def set_replica_identity_full(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    """Updates and deletes then carry the whole old row, which becomes `before`.
    (Only where it is not FULL yet: ALTER TABLE takes a short exclusive lock.)"""
    for table in tables:
        identity = conn.execute(
            "SELECT relreplident FROM pg_class WHERE oid = %s::regclass", (table,)
        ).fetchone()[0]
        if identity != "f":
            conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(
                sql.Identifier(table)))


def ensure_publication(conn: psycopg.Connection, publication: str, tables: Sequence[str]) -> bool:
    """Create the publication limited to these tables (or reset its table list). True if new."""
    exists = conn.execute(
        "SELECT 1 FROM pg_publication WHERE pubname = %s", (publication,)
    ).fetchone()
    table_list = sql.SQL(", ").join(sql.Identifier(t) for t in tables)
    if exists:
        conn.execute(sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(
            sql.Identifier(publication), table_list))
        return False
    conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(
        sql.Identifier(publication), table_list))
    return True


def slot_exists(conn: psycopg.Connection, slot: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot,)
    ).fetchone() is not None


def ensure_slot(conn: psycopg.Connection, slot: str) -> bool:
    """Create the logical slot (pgoutput) unless it exists. True if it was created now."""
    if slot_exists(conn, slot):
        return False
    conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
    return True


def drop_slot(conn: psycopg.Connection, slot: str) -> bool:
    if not slot_exists(conn, slot):
        return False
    conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
    return True


def drop_publication(conn: psycopg.Connection, publication: str) -> None:
    conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(publication)))


@dataclass(frozen=True)
class WalPosition:
    clock_nanos: int   # the server's clock, the same clock as commit timestamps
    insert_lsn: str
    flush_lsn: str


def wal_position(conn: psycopg.Connection) -> WalPosition:
    row = conn.execute(
        "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8, "
        "pg_current_wal_insert_lsn()::text, pg_current_wal_flush_lsn()::text"
    ).fetchone()
    return WalPosition(row[0] * 1000, row[1], row[2])


def peek_changes(conn: psycopg.Connection, slot: str, publication: str,
                 limit: int) -> list[bytes]:
    """Decoded pgoutput messages from the slot's confirmed position, whole transactions only.

    Nothing is consumed: the slot moves only when advance_slot confirms a position.
    """
    rows = conn.execute(
        "SELECT data FROM pg_logical_slot_peek_binary_changes(%s, NULL, %s, "
        "'proto_version', '1', 'publication_names', %s, 'messages', 'true')",
        (slot, limit, publication),
    ).fetchall()
    return [row[0] for row in rows]


def advance_slot(conn: psycopg.Connection, slot: str, lsn: str) -> None:
    """Confirm everything before lsn (a commit's end): PostgreSQL may recycle that WAL."""
    conn.execute(
        "SELECT pg_replication_slot_advance(%s, %s::pg_lsn) "
        "FROM pg_replication_slots WHERE slot_name = %s AND confirmed_flush_lsn < %s::pg_lsn",
        (slot, lsn, slot, lsn),
    )


def emit_tick(conn: psycopg.Connection) -> None:
    """A tiny transactional decoding message, so an idle slot has a commit to advance to."""
    with conn.transaction():
        conn.execute("SELECT pg_logical_emit_message(true, %s, 'tick')", (TICK_PREFIX,))


def request_scan(conn: psycopg.Connection) -> None:
    """Ask the relay (through the slot itself) to re-emit every row, as after a broker reset."""
    with conn.transaction():
        conn.execute("SELECT pg_logical_emit_message(true, %s, 'scan')", (TICK_PREFIX,))


def log_standby_snapshot(conn: psycopg.Connection) -> None:
    """Write a running-transactions record so the slot's restart point can move forward
    (otherwise each peek re-decodes WAL back to the last such record, up to 15 s old)."""
    try:
        conn.execute("SELECT pg_log_standby_snapshot()")
    except psycopg.errors.InsufficientPrivilege:
        pass


def table_columns(conn: psycopg.Connection, table: str) -> list[tuple[str, int]]:
    """(name, type oid) of the table's columns in order."""
    rows = conn.execute(
        "SELECT attname, atttypid::int8 FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (table,),
    ).fetchall()
    return [(name, int(type_oid)) for name, type_oid in rows]


def primary_key_columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.ord",
        (table,),
    ).fetchall()
    return [row[0] for row in rows]


def slot_status(conn: psycopg.Connection, slot: str) -> dict | None:
    """Where the slot stands: confirmed position, bytes of WAL not yet confirmed, activity."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT slot_name, plugin, active, active_pid, restart_lsn::text AS restart_lsn,
                   confirmed_flush_lsn::text AS confirmed_flush_lsn,
                   pg_current_wal_lsn()::text AS current_lsn,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::int8 AS lag_bytes,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::int8 AS retained_bytes,
                   wal_status
              FROM pg_replication_slots
             WHERE slot_name = %(slot)s
            """,
            {"slot": slot},
        ).fetchone()


def publication_tables(conn: psycopg.Connection, publication: str) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_publication_tables WHERE pubname = %s ORDER BY tablename",
        (publication,),
    ).fetchall()
    return [row[0] for row in rows]


@dataclass(frozen=True)
class SnapshotMark:
    """What a scan saw: its clock, its MVCC snapshot (xmin, xmax, in-progress xids) and the
    WAL insert position after it. A transaction is in the scan iff visible() says so."""

    clock_nanos: int
    xmin: int
    xmax: int
    xip: frozenset[int]
    insert_lsn: str

    def visible(self, xid: int) -> bool:
        """Whether a (32-bit) transaction id's commit is part of this snapshot."""
        if _xid_precedes(xid, self.xmin & 0xFFFFFFFF):
            return True
        if not _xid_precedes(xid, self.xmax & 0xFFFFFFFF):
            return False
        return xid not in {x & 0xFFFFFFFF for x in self.xip}


def _xid_precedes(a: int, b: int) -> bool:
    return ((a - b) & 0xFFFFFFFF) >= 0x80000000


class SnapshotReader:
    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def mark(self) -> SnapshotMark:
        row = self.conn.execute(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8, "
            "pg_snapshot_xmin(s)::text, pg_snapshot_xmax(s)::text, "
            "ARRAY(SELECT x::text FROM pg_snapshot_xip(s) AS x), "
            "pg_current_wal_insert_lsn()::text "
            "FROM (SELECT pg_current_snapshot() AS s) AS snap"
        ).fetchone()
        return SnapshotMark(row[0] * 1000, int(row[1]), int(row[2]),
                            frozenset(int(x) for x in row[3]), row[4])

    def rows(self, table: str, columns: Sequence[str], batch: int = 2000) -> Iterator[list[tuple]]:
        """Every row of the table, each value in its text form, in batches."""
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
            sql.Identifier(table),
        )
        with self.conn.cursor(name=f"scan_{table}") as cur:
            cur.itersize = batch
            cur.execute(query)
            while True:
                chunk = cur.fetchmany(batch)
                if not chunk:
                    return
                yield chunk


@contextmanager
def consistent_snapshot(url: str) -> Iterator[SnapshotReader]:
    """One REPEATABLE READ, read-only transaction: every table as of the same moment."""
    conn = connect(url, application_name="stockroom-relay-scan")
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield SnapshotReader(conn)
    finally:
        conn.close()
