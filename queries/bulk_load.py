"""Bulk loading with COPY, for the demo-data seed and its benchmark.

The seed bypasses the per-row command path on purpose: it writes whole tables whose ledger
rows already sum to their stock rows, so it uses COPY (the fastest path on PostgreSQL and
supported by CockroachDB) on a connection of its own. Table and column names come only from
the fixed list below, never from input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import psycopg
from psycopg import sql

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


def _table(table: str) -> sql.Identifier:
    if table not in DOMAIN_TABLES:
        raise ValueError(f"not a domain table: {table!r}")
    return sql.Identifier(table)


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


def truncate_domain_tables(cur: psycopg.Cursor, tables: Iterable[str] = DOMAIN_TABLES) -> None:
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
