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
        CRDB.multi_region_statements("db; --", "a", [])
    assert CRDB.multi_region_statements("db", 'we"ird', []) == [
        'ALTER DATABASE db PRIMARY REGION "we""ird"']


def test_cockroach_topology_for_three_regions():
    from queries.cockroach_setup import parse_regions, topology_statements

    regions = parse_regions(" us-east1, europe-west1 ,asia-southeast1")
    statements = topology_statements(CRDB, "stockroom", regions)
    assert statements[:2] == [
        "CREATE INDEX IF NOT EXISTS stock_movements_created_idx ON stock_movements (created_at) USING HASH",
        "CREATE INDEX IF NOT EXISTS order_events_created_idx ON order_events (created_at) USING HASH",
    ]
    assert 'ALTER DATABASE stockroom PRIMARY REGION "us-east1"' in statements
    assert "ALTER DATABASE stockroom SURVIVE REGION FAILURE" in statements
    assert "ALTER TABLE products SET LOCALITY GLOBAL" in statements
    assert "ALTER TABLE orders SET LOCALITY REGIONAL BY ROW" in statements
    # Localities come after the database has its regions.
    assert statements.index("ALTER TABLE orders SET LOCALITY REGIONAL BY ROW") > statements.index(
        'ALTER DATABASE stockroom PRIMARY REGION "us-east1"')
    assert topology_statements(PG, "stockroom", regions) == []
