"""CockroachDB topology applied after migrations: regions, table localities, sharded ledgers.

Runs only on CockroachDB (the dialect returns nothing on PostgreSQL). Regions come from
STOCKROOM_REGIONS, e.g. "us-east1,europe-west1,asia-southeast1"; the first is primary.
"""

from __future__ import annotations

from queries.dialect import Dialect

# Tables whose rows belong to a customer's or a location's home region.
REGIONAL_BY_ROW = ("customers", "orders", "order_lines", "order_events")
# Read everywhere, written rarely.
GLOBAL = ("products", "locations")
# Time-ordered, append-only: spread the hot tail of inserts across ranges.
SHARDED_LEDGER_INDEXES = (
    ("stock_movements_created_idx", "stock_movements", ["created_at"]),
    ("order_events_created_idx", "order_events", ["created_at"]),
)


def topology_statements(dialect: Dialect, database: str, regions: list[str]) -> list[str]:
    if not dialect.is_cockroach:
        return []
    statements = [
        dialect.index_statement(name, table, columns, hash_sharded=True)
        for name, table, columns in SHARDED_LEDGER_INDEXES
    ]
    if regions:
        statements += dialect.multi_region_statements(
            database, regions[0], regions[1:], survive_region_failure=len(regions) >= 3)
        statements += [dialect.global_table_statement(t) for t in GLOBAL]
        statements += [dialect.regional_by_row_statement(t) for t in REGIONAL_BY_ROW]
    return statements


def parse_regions(value: str | None) -> list[str]:
    return [r.strip() for r in (value or "").split(",") if r.strip()]
