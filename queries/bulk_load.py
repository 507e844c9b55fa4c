"""Bulk loading for the demo-data seed and its benchmark: COPY on PostgreSQL, batched
INSERTs on CockroachDB.

The seed bypasses the per-row command path on purpose: it writes whole tables whose ledger
rows already sum to their stock rows. On PostgreSQL it uses COPY (the fastest path) on a
connection of its own, and `--reset` uses TRUNCATE. Neither suits CockroachDB (the dialect
module decides, queries.dialect.Dialect.batched_bulk_writes):
* COPY is allowed only to members of the admin role
  (https://www.cockroachlabs.com/docs/stable/copy#required-privileges), and a big COPY in an
  explicit transaction is never retried on 40001. There the rows go in multi-row
  `INSERT ... VALUES` statements of INSERT_BATCH_ROWS rows, each its own transaction through
  queries.db.run_transaction (a 40001 retries one batch), `ON CONFLICT (primary key) DO
  NOTHING` so that a batch whose COMMIT was ambiguous can be sent again.
* TRUNCATE is a schema change there, not transactional: it drops and recreates the table
  (https://www.cockroachlabs.com/docs/stable/truncate), which a running changefeed does not
  survive. There the rows are deleted in batches of DELETE_BATCH_ROWS, children before
  parents, one retried transaction per batch
  (https://www.cockroachlabs.com/docs/stable/bulk-delete-data).
Table and column names come only from the fixed lists below, never from input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import psycopg
from psycopg import sql

from queries.db import run_transaction

# Domain tables in an order that satisfies every foreign key when loaded front to back.
# users and schema_migrations are not domain data: the seed never truncates them.
DOMAIN_TABLES = (
    "locations", "products", "customers", "orders", "order_lines", "order_events", "transfers",
    "stock", "stock_movements", "replenishment_suggestions", "idempotency_keys",
)

COLUMNS = {
    "locations": ("id", "name", "kind", "region", "city", "country", "lat", "lon"),
    "products": ("sku", "name", "category", "unit_cost", "unit_price", "reorder_point"),
    "customers": ("id", "name", "email", "address", "region", "created_at"),
    "orders": ("id", "customer_id", "region", "status", "held_from_status",
               "fulfilment_location_id", "ship_address", "total", "promised_by", "created_at",
               "updated_at", "updated_by", "version"),
    "order_lines": ("order_id", "line_no", "sku", "qty", "unit_price", "location_id",
                    "reserved_qty", "returned_qty"),
    "order_events": ("id", "order_id", "actor", "kind", "from_status", "to_status", "note",
                     "created_at"),
    "transfers": ("id", "from_location_id", "to_location_id", "sku", "qty", "received_qty",
                  "status", "note", "created_by", "created_at", "closed_by", "closed_at",
                  "version"),
    "stock": ("location_id", "sku", "on_hand", "reserved", "incoming", "reorder_point", "version",
              "updated_at"),
    "stock_movements": ("id", "location_id", "sku", "kind", "reason", "delta_on_hand",
                        "delta_reserved", "delta_incoming", "ref_type", "ref_id", "actor", "note",
                        "created_at"),
}


# The primary key of every table the seed writes or a reset empties: the conflict target of a
# batched INSERT and the key a batched DELETE pages by (queries/migrations/*.sql).
PRIMARY_KEYS = {
    "locations": ("id",), "products": ("sku",), "customers": ("id",), "orders": ("id",),
    "order_lines": ("order_id", "line_no"), "order_events": ("id",), "transfers": ("id",),
    "stock": ("location_id", "sku"), "stock_movements": ("id",),
    "replenishment_suggestions": ("id",), "idempotency_keys": ("key",),
    "stock_rollup": ("location_id", "category"),
}

# What a reset empties, children before parents, so that every batched DELETE satisfies the
# foreign keys (none has an ON DELETE action): the domain tables, plus stock_rollup (0011),
# which references locations and which TRUNCATE ... CASCADE empties with them. The seed
# rebuilds the rollup at its end. stock_rollup_state (no foreign key) keeps its row.
RESET_ORDER = (
    "stock_rollup", "replenishment_suggestions", "idempotency_keys", "stock_movements", "stock",
    "transfers", "order_events", "order_lines", "orders", "customers", "products", "locations",
)

# Multi-row INSERTs: "experimentally determine the optimal batch size ... (10 rows, 100 rows,
# 1000 rows)", https://www.cockroachlabs.com/docs/stable/performance-best-practices-overview
# #use-multi-row-insert-statements-for-bulk-inserts-into-existing-tables. 1,000 rows of at
# most 13 columns is 13,000 parameters, well under the protocol's 65,535.
INSERT_BATCH_ROWS = 1_000
# Batched DELETEs: each iteration one DELETE in its own transaction, its batch bounded by a
# LIMIT chosen by measurement (https://www.cockroachlabs.com/docs/stable/bulk-delete-data).
DELETE_BATCH_ROWS = 1_000

_NULL = "\\N"
_UNESCAPE = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def _table(table: str) -> sql.Identifier:
    if table not in DOMAIN_TABLES:
        raise ValueError(f"not a domain table: {table!r}")
    return sql.Identifier(table)


def _keyed_table(table: str) -> str:
    if table not in PRIMARY_KEYS:
        raise ValueError(f"not a table the seed writes or resets: {table!r}")
    return table


def copy_from_statement(table: str, columns: Iterable[str] | None = None) -> sql.Composed:
    cols = tuple(columns) if columns is not None else COLUMNS[table]
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        _table(table), sql.SQL(", ").join(sql.Identifier(c) for c in cols))


def copy_text_rows(cur: psycopg.Cursor, table: str, chunks: Iterable[bytes | str],
                   columns: Iterable[str] | None = None) -> None:
    """COPY rows given as COPY text format (tab-separated, \\N for NULL, one row a line)."""
    with cur.copy(copy_from_statement(table, columns)) as copy:
        for chunk in chunks:
            copy.write(chunk)


def export_table_text(cur: psycopg.Cursor, table: str) -> Iterator[bytes]:
    """The table's rows in COPY text format, in the column order COLUMNS gives."""
    statement = sql.SQL("COPY {} ({}) TO STDOUT").format(
        _table(table), sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS[table]))
    with cur.copy(statement) as copy:
        for block in copy:
            yield bytes(block)


# ---- Batched writes (CockroachDB; on PostgreSQL when asked to, to prove them) ----------------


def insert_batch_statement(table: str, rows: int) -> str:
    """`INSERT INTO t (cols) VALUES (%s, ...), ... ON CONFLICT (primary key) DO NOTHING` for
    `rows` rows: sent again after an ambiguous COMMIT, it writes nothing twice."""
    if rows < 1:
        raise ValueError("a batch needs at least one row")
    _table(table)
    columns = COLUMNS[table]
    values = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([values] * rows)} "
            f"ON CONFLICT ({', '.join(PRIMARY_KEYS[table])}) DO NOTHING")


def delete_batch_statement(table: str, limit: int = DELETE_BATCH_ROWS) -> str:
    """Deletes up to `limit` rows, the first in primary-key order. Both engines accept it
    (CockroachDB's own `DELETE ... LIMIT` is not PostgreSQL)."""
    key = PRIMARY_KEYS[_keyed_table(table)]
    columns = ", ".join(key)
    target = f"({columns})" if len(key) > 1 else columns
    return (f"DELETE FROM {table} WHERE {target} IN "
            f"(SELECT {columns} FROM {table} ORDER BY {columns} LIMIT {int(limit)})")


def copy_text_fields(line: str) -> list[str | None]:
    """One row of COPY text format as its fields: \\N is NULL, backslash escapes undone."""
    fields: list[str | None] = []
    for field in line.rstrip("\n").split("\t"):
        if field == _NULL:
            fields.append(None)
        elif "\\" in field:
            fields.append(_unescape(field))
        else:
            fields.append(field)
    return fields


def _unescape(field: str) -> str:
    out, i = [], 0
    while i < len(field):
        ch = field[i]
        if ch == "\\" and i + 1 < len(field):
            out.append(_UNESCAPE.get(field[i + 1], field[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def insert_text_rows_batched(table: str, lines: list[str], *, url: str | None = None,
                             batch_rows: int = INSERT_BATCH_ROWS) -> int:
    """Insert rows given as COPY text lines, batch_rows per statement, each statement its own
    transaction through run_transaction: a 40001 (or an ambiguous COMMIT) re-sends the same
    batch, whose rows are fixed before the first attempt. Returns the rows sent."""
    width = len(COLUMNS[table])
    for start in range(0, len(lines), batch_rows):
        chunk = lines[start:start + batch_rows]
        params = []
        for line in chunk:
            fields = copy_text_fields(line)
            if len(fields) != width:
                raise ValueError(f"{table}: a row has {len(fields)} fields, not {width}: {line!r}")
            params.extend(fields)
        statement = insert_batch_statement(table, len(chunk))
        run_transaction(lambda cur, s=statement, p=params: cur.execute(s, p),
                        retry_ambiguous=True, url=url)
    return len(lines)


def delete_rows_batched(tables: Iterable[str] = RESET_ORDER, *, url: str | None = None,
                        batch_rows: int = DELETE_BATCH_ROWS) -> dict[str, int]:
    """Empty the tables, in the order given (children first), batch_rows rows per retried
    transaction; a batch is safe to run again. Returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    for table in tables:
        statement = delete_batch_statement(table, batch_rows)
        total = 0
        while True:
            n = run_transaction(lambda cur, s=statement: cur.execute(s).rowcount,
                                retry_ambiguous=True, url=url)
            total += n
            if n < batch_rows:
                break
        deleted[table] = total
    return deleted


def truncate_domain_tables(cur: psycopg.Cursor, tables: Iterable[str] = DOMAIN_TABLES) -> None:
    """PostgreSQL only: on CockroachDB TRUNCATE is a schema change (see the module docstring);
    the seed uses delete_rows_batched there."""
    cur.execute(sql.SQL("TRUNCATE {} CASCADE").format(
        sql.SQL(", ").join(_table(t) for t in tables)))


def count_rows_by_table(cur: psycopg.Cursor, tables: Iterable[str] = DOMAIN_TABLES) -> dict[str, int]:
    counts = {}
    for table in tables:
        row = cur.execute(sql.SQL("SELECT count(*) FROM {}").format(_table(table))).fetchone()
        counts[table] = row[0] if isinstance(row, tuple) else next(iter(row.values()))
    return counts


def count_products(cur: psycopg.Cursor) -> int:
    """How many products the database holds (0 when it is empty)."""
    row = cur.execute("SELECT count(*) FROM products").fetchone()
    return row[0] if isinstance(row, tuple) else next(iter(row.values()))


def domain_data_exists(cur: psycopg.Cursor) -> bool:
    row = cur.execute(
        "SELECT EXISTS (SELECT 1 FROM products) OR EXISTS (SELECT 1 FROM locations) "
        "OR EXISTS (SELECT 1 FROM orders) OR EXISTS (SELECT 1 FROM customers)"
    ).fetchone()
    return bool(row[0] if isinstance(row, tuple) else next(iter(row.values())))


def analyze_tables(cur: psycopg.Cursor, tables: Iterable[str] = DOMAIN_TABLES) -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL and CockroachDB both accept it)."""
    for table in tables:
        cur.execute(sql.SQL("ANALYZE {}").format(_table(table)))


def checkpoint(cur: psycopg.Cursor) -> None:
    """Flush dirty pages now (PostgreSQL, superuser), so a timed load starts from a clean slate."""
    cur.execute("CHECKPOINT")
