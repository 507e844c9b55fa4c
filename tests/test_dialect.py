"""The CockroachDB-only SQL the dialect module generates (no CockroachDB server runs here)."""

from __future__ import annotations

import psycopg
import pytest

from queries.dialect import COCKROACH, POSTGRES, Dialect, dialect_of, engine_from_version

CRDB = Dialect(COCKROACH)
PG = Dialect(POSTGRES)


def test_recognises_cockroachdb_by_its_version_string():
    assert engine_from_version(
        "CockroachDB CCL v24.2.4 (x86_64-pc-linux-gnu, built 2024/10/03 21:13:20, go1.22.5)"
    ) == COCKROACH
    assert engine_from_version("PostgreSQL 18.0 on x86_64-pc-linux-gnu") == POSTGRES


def test_embedded_server_is_recognised_as_postgresql_without_sending_a_statement(db):
    with psycopg.connect(db) as conn:
        assert dialect_of(conn).engine == POSTGRES
        # Nothing was sent, so no transaction was opened: a follower-read SET TRANSACTION
        # could still come first on CockroachDB.
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_follower_reads_only_on_cockroachdb():
    assert CRDB.follower_read_transaction() == (
        "SET TRANSACTION AS OF SYSTEM TIME follower_read_timestamp()")
    assert PG.follower_read_transaction() is None


def test_bulk_writes_are_batched_only_on_cockroachdb():
    assert CRDB.batched_bulk_writes
    assert not PG.batched_bulk_writes


def test_multi_region_statements_quote_region_names():
    assert CRDB.multi_region_statements("stockroom", "us-east1", ["europe-west1", "asia-east1"]) == [
        'ALTER DATABASE stockroom PRIMARY REGION "us-east1"',
        'ALTER DATABASE stockroom ADD REGION IF NOT EXISTS "europe-west1"',
        'ALTER DATABASE stockroom ADD REGION IF NOT EXISTS "asia-east1"',
    ]
    assert PG.multi_region_statements("stockroom", "us-east1", ["europe-west1"]) == []


def test_survive_region_failure_needs_three_regions():
    statements = CRDB.multi_region_statements("db", "a", ["b", "c"], survive_region_failure=True)
    assert statements[-1] == "ALTER DATABASE db SURVIVE REGION FAILURE"
    with pytest.raises(ValueError, match="three regions"):
        CRDB.multi_region_statements("db", "a", ["b"], survive_region_failure=True)


def test_table_localities():
    assert CRDB.regional_by_row_statement("orders") == "ALTER TABLE orders SET LOCALITY REGIONAL BY ROW"
    assert CRDB.regional_by_row_statement("orders", "home_region") == (
        "ALTER TABLE orders SET LOCALITY REGIONAL BY ROW AS home_region")
    assert CRDB.regional_by_table_statement("order_lines") == (
        "ALTER TABLE order_lines SET LOCALITY REGIONAL BY TABLE IN PRIMARY REGION")
    assert PG.regional_by_table_statement("order_lines") is None
    assert CRDB.global_table_statement("products") == "ALTER TABLE products SET LOCALITY GLOBAL"
    assert PG.regional_by_row_statement("orders") is None
    assert PG.global_table_statement("products") is None


def test_hash_sharded_index_only_on_cockroachdb():
    cols = ["location_id", "created_at"]
    assert CRDB.index_statement("m_idx", "stock_movements", cols, hash_sharded=True) == (
        "CREATE INDEX IF NOT EXISTS m_idx ON stock_movements (location_id, created_at) USING HASH")
    assert PG.index_statement("m_idx", "stock_movements", cols, hash_sharded=True) == (
        "CREATE INDEX IF NOT EXISTS m_idx ON stock_movements (location_id, created_at)")


def test_identifiers_that_could_inject_sql_are_refused():
    with pytest.raises(ValueError):
        CRDB.regional_by_row_statement("orders; DROP TABLE users")
    with pytest.raises(ValueError):
        CRDB.regional_by_row_statement("orders", "home_region; DROP TABLE users")
    with pytest.raises(ValueError):
        CRDB.multi_region_statements("db; --", "a", [])
    assert CRDB.multi_region_statements("db", 'we"ird', []) == [
        'ALTER DATABASE db PRIMARY REGION "we""ird"']


def test_cockroach_topology_homes_rows_by_their_own_region():
    """The whole topology, exact, for a map from business regions to the cluster's regions:
    customers and orders are REGIONAL BY ROW AS a computed home_region derived from their
    `region` (not the hidden crdb_region, whose default is the inserting gateway's region);
    order_lines and order_events stay in the primary region (queries/cockroach_setup.py)."""
    from queries.cockroach_setup import parse_region_map, topology_statements

    regions = parse_region_map(" EU=europe-west1, NA = us-east1 ,APAC=asia-southeast1")
    home = ("CASE region WHEN 'EU' THEN 'europe-west1' WHEN 'NA' THEN 'us-east1' "
            "WHEN 'APAC' THEN 'asia-southeast1' ELSE 'europe-west1' END")
    assert topology_statements(CRDB, "stockroom", regions) == [
        "CREATE INDEX IF NOT EXISTS stock_movements_created_idx ON stock_movements (created_at) USING HASH",
        "CREATE INDEX IF NOT EXISTS order_events_created_idx ON order_events (created_at) USING HASH",
        'ALTER DATABASE stockroom PRIMARY REGION "europe-west1"',
        'ALTER DATABASE stockroom ADD REGION IF NOT EXISTS "us-east1"',
        'ALTER DATABASE stockroom ADD REGION IF NOT EXISTS "asia-southeast1"',
        "ALTER DATABASE stockroom SURVIVE REGION FAILURE",
        "ALTER TABLE products SET LOCALITY GLOBAL",
        "ALTER TABLE locations SET LOCALITY GLOBAL",
        "ALTER TABLE customers ADD COLUMN IF NOT EXISTS home_region crdb_internal_region "
        f"NOT VISIBLE NOT NULL AS ({home}) STORED",
        "ALTER TABLE customers SET LOCALITY REGIONAL BY ROW AS home_region",
        "ALTER TABLE orders ADD COLUMN IF NOT EXISTS home_region crdb_internal_region "
        f"NOT VISIBLE NOT NULL AS ({home}) STORED",
        "ALTER TABLE orders SET LOCALITY REGIONAL BY ROW AS home_region",
        "ALTER TABLE order_lines SET LOCALITY REGIONAL BY TABLE IN PRIMARY REGION",
        "ALTER TABLE order_events SET LOCALITY REGIONAL BY TABLE IN PRIMARY REGION",
    ]
    assert topology_statements(PG, "stockroom", regions) == []


def test_cockroach_topology_plain_region_list_still_works():
    """The older form: each region maps to itself (a row whose region is a cluster region is
    homed there, any other in the primary region)."""
    from queries.cockroach_setup import parse_regions, topology_statements

    regions = parse_regions(" us-east1, europe-west1 ,asia-southeast1")
    assert regions == ["us-east1", "europe-west1", "asia-southeast1"]
    statements = topology_statements(CRDB, "stockroom", regions)
    assert 'ALTER DATABASE stockroom PRIMARY REGION "us-east1"' in statements
    assert "ALTER DATABASE stockroom SURVIVE REGION FAILURE" in statements
    assert "ALTER TABLE orders ADD COLUMN IF NOT EXISTS home_region crdb_internal_region " \
        "NOT VISIBLE NOT NULL AS (CASE region WHEN 'us-east1' THEN 'us-east1' WHEN 'europe-west1' " \
        "THEN 'europe-west1' WHEN 'asia-southeast1' THEN 'asia-southeast1' ELSE 'us-east1' END) " \
        "STORED" in statements
    # Localities come after the database has its regions.
    assert statements.index("ALTER TABLE orders SET LOCALITY REGIONAL BY ROW AS home_region") > \
        statements.index('ALTER DATABASE stockroom PRIMARY REGION "us-east1"')
    assert topology_statements(CRDB, "stockroom", []) == statements[:2]
    assert topology_statements(PG, "stockroom", regions) == []


def test_region_map_parsing_and_homes():
    from queries.cockroach_setup import parse_region_map

    mapped = parse_region_map("EU=europe-west1,NA=us-east1,UK=europe-west1")
    assert mapped.regions == ["europe-west1", "us-east1"]     # each database region once
    assert mapped.primary == "europe-west1"
    assert mapped.home_of("NA") == "us-east1"
    assert mapped.home_of("UK") == "europe-west1"
    assert mapped.home_of("APAC") == "europe-west1"           # not mapped: the primary region
    unset = parse_region_map(None)
    assert unset.regions == [] and unset.home_of("EU") == "EU"  # PostgreSQL without a map
    with pytest.raises(ValueError, match="STOCKROOM_REGIONS"):
        parse_region_map("EU=")
    with pytest.raises(ValueError):   # a table name that is not an identifier is refused
        from queries.cockroach_setup import home_region_statements

        home_region_statements("orders; --", "region", mapped)
