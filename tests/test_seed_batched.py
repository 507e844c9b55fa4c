"""The seed's CockroachDB path: batched, retried INSERTs and batched DELETEs instead of COPY and
TRUNCATE (issue 13 item 3). The SQL it generates is pinned here (no CockroachDB server runs
here), and the path itself runs against the embedded PostgreSQL with force_batched=True: the
same seed gives the same rows as COPY, and `manage.py check` finds nothing wrong."""

from __future__ import annotations

import datetime as dt
import os
import time

import psycopg
import pytest
from psycopg import errors as pgerrors

from queries import bulk_load
from queries import db as dbmod
from queries.invariants import check_invariants
from stack.seed import seed
from tests.worlds import create_database

NOW = dt.datetime(2025, 12, 3, 18, 30, tzinfo=dt.UTC)
SEEDED = ("locations", "products", "customers", "orders", "order_lines", "order_events",
          "transfers", "stock", "stock_movements")


def scalar(url: str, query: str):
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def digest(url: str) -> dict[str, str]:
    """md5 of every seeded table's rows in primary-key order."""
    return {
        table: scalar(url, f"SELECT md5(string_agg(t::text, '|' ORDER BY "
                           f"{', '.join(bulk_load.PRIMARY_KEYS[table])})) FROM {table} t")
        for table in SEEDED
    }


# ---- The statements CockroachDB receives -----------------------------------------------------


def test_insert_batches_are_multi_row_inserts_that_skip_rows_already_there():
    assert bulk_load.insert_batch_statement("order_lines", 2) == (
        "INSERT INTO order_lines (order_id, line_no, sku, qty, unit_price, location_id, "
        "reserved_qty, returned_qty) VALUES (%s, %s, %s, %s, %s, %s, %s, %s), "
        "(%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (order_id, line_no) DO NOTHING")
    assert bulk_load.insert_batch_statement("products", 1) == (
        "INSERT INTO products (sku, name, category, unit_cost, unit_price, reorder_point) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (sku) DO NOTHING")
    statement = bulk_load.insert_batch_statement("stock_movements", bulk_load.INSERT_BATCH_ROWS)
    assert statement.count("%s") == 13 * bulk_load.INSERT_BATCH_ROWS < 65_535
    with pytest.raises(ValueError):
        bulk_load.insert_batch_statement("users", 1)


def test_delete_batches_page_by_primary_key():
    assert bulk_load.delete_batch_statement("orders", 1000) == (
        "DELETE FROM orders WHERE id IN (SELECT id FROM orders ORDER BY id LIMIT 1000)")
    assert bulk_load.delete_batch_statement("stock", 500) == (
        "DELETE FROM stock WHERE (location_id, sku) IN "
        "(SELECT location_id, sku FROM stock ORDER BY location_id, sku LIMIT 500)")
    with pytest.raises(ValueError):
        bulk_load.delete_batch_statement("users")


def test_copy_text_rows_become_parameters():
    assert bulk_load.copy_text_fields("a\t\\N\t3\n") == ["a", None, "3"]
    assert bulk_load.copy_text_fields("back\\\\slash\ttab\\there\n") == ["back\\slash", "tab\there"]


def test_reset_deletes_children_before_parents_and_misses_no_referencing_table(db):
    """Every foreign key among the tables a reset empties points from a table deleted earlier
    to one deleted later, and every table that references them is emptied too (as TRUNCATE
    ... CASCADE would): read from the migrated schema itself."""
    with psycopg.connect(db) as conn:
        edges = conn.execute("""
            SELECT DISTINCT child.relname, parent.relname
              FROM pg_constraint c
              JOIN pg_class child ON child.oid = c.conrelid
              JOIN pg_class parent ON parent.oid = c.confrelid
             WHERE c.contype = 'f'""").fetchall()
    order = bulk_load.RESET_ORDER
    assert set(bulk_load.DOMAIN_TABLES) <= set(order)
    for child, parent in edges:
        if parent in order:
            assert child in order, f"{child} references {parent} but a reset leaves it"
            assert order.index(child) < order.index(parent), (child, parent)


# ---- The batched path, run for real on PostgreSQL --------------------------------------------


@pytest.fixture(scope="module")
def copied(pg_server) -> str:
    url = create_database(pg_server)
    seed(url, "tiny", seed=7, now=NOW)
    return url


def test_batched_seed_writes_exactly_what_copy_writes_and_passes_the_checks(pg_server, copied):
    url = create_database(pg_server)
    try:
        counts = seed(url, "tiny", seed=7, now=NOW, force_batched=True)
        copy_counts = {t: scalar(copied, f"SELECT count(*) FROM {t}") for t in SEEDED}
        assert {t: counts[t] for t in SEEDED} == copy_counts
        assert digest(url) == digest(copied)
        report = check_invariants(url=url)
        assert report.ok, [v.sentence() for v in report.violations[:5]]
        assert scalar(url, "SELECT count(*) FROM stock_rollup") > 0

        # --reset the CockroachDB way: batched DELETEs, then the new seed's rows.
        other = create_database(pg_server)
        seed(other, "tiny", seed=8, now=NOW)
        recounted = seed(url, "tiny", seed=8, now=NOW, reset=True, force_batched=True)
        assert digest(url) == digest(other)
        assert recounted == {t: scalar(other, f"SELECT count(*) FROM {t}")
                             for t in bulk_load.DOMAIN_TABLES}
        assert check_invariants(url=url).ok
        assert scalar(url, "SELECT count(*) FROM users") > 0  # users are kept
    finally:
        dbmod.close_pools()


def test_a_batch_retried_after_a_serialization_failure_writes_its_rows_once(db, monkeypatch):
    """The first attempt of every batch fails with 40001 after its INSERT ran: run_transaction
    rolls it back and sends the same rows again. Sending a batch twice (a COMMIT whose outcome
    was unknown) writes nothing twice either."""
    lines = [f"L-{i}\tLocation {i}\twarehouse\tEU\tBerlin\tDE\t52.5\t13.4\n" for i in range(5)]
    real = dbmod.run_transaction
    attempts = []

    def failing_once(body, **kwargs):
        def flaky(cur):
            result = body(cur)
            attempts.append(1)
            if len(attempts) == 1:
                raise pgerrors.SerializationFailure("injected restart")
            return result
        return real(flaky, **kwargs)

    monkeypatch.setattr(bulk_load, "run_transaction", failing_once)
    assert bulk_load.insert_text_rows_batched("locations", lines, url=db, batch_rows=2) == 5
    assert len(attempts) == 4  # three batches, the first sent twice
    assert scalar(db, "SELECT count(*) FROM locations") == 5
    bulk_load.insert_text_rows_batched("locations", lines, url=db, batch_rows=2)
    assert scalar(db, "SELECT count(*) FROM locations") == 5
    assert bulk_load.delete_rows_batched(["locations"], url=db, batch_rows=2) == {"locations": 5}
    assert scalar(db, "SELECT count(*) FROM locations") == 0


@pytest.mark.parametrize("scale", os.environ.get("STOCKROOM_SEED_TIMING_SCALES", "tiny").split(","))
def test_time_of_the_batched_seed_next_to_copy(pg_server, scale, capsys):
    """Not a limit: prints both times so the cost of the CockroachDB path is known
    (STOCKROOM_SEED_TIMING_SCALES=tiny,small to time more scales)."""
    seconds = {}
    for mode, forced in (("COPY", False), ("batched INSERT", True)):
        url = create_database(pg_server)
        started = time.perf_counter()
        seed(url, scale, seed=7, now=NOW, force_batched=forced, demo_accounts=False)
        seconds[mode] = time.perf_counter() - started
    dbmod.close_pools()
    with capsys.disabled():
        print(f"\nseed {scale}: " + ", ".join(f"{m} {s:.2f} s" for m, s in seconds.items()))
