"""Lost connections are routine: caused here for real, never simulated.

Backends are ended with pg_terminate_backend (what a node drain or a failover does to a client),
the server is restarted with its own pg_ctl, and a proxy drops the answer to a COMMIT after the
server has committed (the ambiguous outcome of DESIGN.md §3).
"""

from __future__ import annotations

import time

import psycopg
import pytest

from queries import db as dbmod
from queries import inventory, orders
from queries.actor import SYSTEM
from queries.db import fetch_one, run_transaction
from queries.errors import DatabaseUnavailable, OutcomeUnknown
from queries.idempotency import new_key
from queries.stock_ledger import apply_movement
from stack.ports import free_port
from tests import factories
from tests.apptest import messages, open_app
from tests.flaky_proxy import FlakyProxy
from tests.order_helpers import customer
from tests.table_counts import assert_nothing_written, table_state

ADJUSTED = "SELECT on_hand FROM stock WHERE location_id = 'WH-BER-1' AND sku = 'SKU-1'"


def terminate_every_client(url: str, only_pid: int | None = None) -> int:
    """End the other client backends of this database (or one), and wait until they are gone."""
    with psycopg.connect(url, autocommit=True) as conn:
        where = ("datname = current_database() AND pid <> pg_backend_pid() "
                 "AND backend_type = 'client backend'")
        if only_pid is not None:
            where += f" AND pid = {int(only_pid)}"
        ended = conn.execute(f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             f"WHERE {where}").fetchone()[0]
        deadline = time.monotonic() + 10
        while conn.execute(f"SELECT count(*) FROM pg_stat_activity WHERE {where}").fetchone()[0]:
            assert time.monotonic() < deadline, "backends did not end"
            time.sleep(0.02)
    return ended


def warm_pool(connections: int = 6) -> None:
    """Hold several pooled connections at once, so the pool keeps that many idle ones."""
    pool = dbmod.get_pool()
    held = [pool.getconn() for _ in range(connections)]
    for conn in held:
        pool.putconn(conn)


def on_hand() -> int:
    return fetch_one(ADJUSTED)["on_hand"]


def ledger_rows() -> int:
    return fetch_one("SELECT count(*) AS n FROM stock_movements")["n"]


def adjust(key: str | None = None) -> dict:
    return inventory.adjust_stock(SYSTEM, location_id="WH-BER-1", sku="SKU-1", qty=1,
                                  reason="received", idempotency_key=key)


def test_no_dead_connection_is_served_after_every_backend_was_ended(world):
    warm_pool()
    assert terminate_every_client(world) >= 6
    dbmod.retry_stats.reset()
    for _ in range(10):
        assert on_hand() == 100
    assert adjust(new_key())["already_applied"] is False
    placed = orders.place_order(SYSTEM, customer(), [("SKU-2", 1)])
    assert placed["status"] == "allocated"
    assert on_hand() == 101
    # The pool noticed every dead connection before handing it out: no call even had to retry.
    assert dbmod.retry_stats.connection_losses == 0


def test_a_write_that_loses_its_connection_before_commit_is_applied_exactly_once(world):
    before, rows_before = on_hand(), ledger_rows()
    attempts = []

    def body(cur):
        attempts.append(1)
        apply_movement(cur, location_id="WH-BER-1", sku="SKU-1", kind="adjustment",
                       reason="received", delta_on_hand=1, actor=SYSTEM.username)
        if len(attempts) == 1:  # the first attempt's connection dies halfway through
            pid = cur.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
            terminate_every_client(world, only_pid=pid)
        cur.execute("SELECT 1")

    dbmod.retry_stats.reset()
    run_transaction(body)
    assert len(attempts) == 2
    assert dbmod.retry_stats.connection_losses == 1
    assert (on_hand(), ledger_rows()) == (before + 1, rows_before + 1)


@pytest.fixture
def proxy(world, monkeypatch) -> FlakyProxy:
    """DATABASE_URL (a copy of the small world) through a proxy that can lose the answer to a
    COMMIT."""
    server_port = int(world.rsplit(":", 1)[1].split("/")[0])
    flaky = FlakyProxy(server_port)
    dbmod.close_pools()
    monkeypatch.setenv("DATABASE_URL", flaky.url(world))
    yield flaky
    dbmod.close_pools()
    flaky.close()


def test_a_keyed_command_whose_commit_answer_is_lost_is_retried_and_applied_once(world, proxy):
    before, rows_before = on_hand(), ledger_rows()
    dbmod.retry_stats.reset()
    proxy.cut_after_commit()
    result = adjust(new_key())
    assert proxy.commits_cut == 1
    assert dbmod.retry_stats.ambiguous_commits == 1
    # The retry found its own key: one application, reported as such (not as a repeat).
    assert result["already_applied"] is False
    assert (on_hand(), ledger_rows()) == (before + 1, rows_before + 1)


def test_an_unkeyed_write_whose_commit_answer_is_lost_says_the_outcome_is_unknown(world, proxy):
    before, rows_before = on_hand(), ledger_rows()
    calls = []

    def body(cur):
        calls.append(1)
        apply_movement(cur, location_id="WH-BER-1", sku="SKU-1", kind="adjustment",
                       reason="received", delta_on_hand=1, actor=SYSTEM.username)

    proxy.cut_after_commit()
    with pytest.raises(OutcomeUnknown, match="not known whether it was applied"):
        run_transaction(body)
    assert len(calls) == 1  # not run again: a second run would have applied it twice
    # It did commit: that is exactly why the person must check rather than retry blindly.
    assert (on_hand(), ledger_rows()) == (before + 1, rows_before + 1)


def test_a_read_whose_commit_answer_is_lost_is_simply_read_again(world, proxy):
    proxy.cut_after_commit()
    assert on_hand() == 100
    assert proxy.commits_cut == 1


def test_a_database_that_stays_away_gets_a_plain_sentence_and_nothing_is_written(world, monkeypatch):
    before = table_state()
    dbmod.close_pools()
    monkeypatch.setenv("STOCKROOM_RECONNECT_SECONDS", "1.5")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    with pytest.raises(DatabaseUnavailable, match="cannot be reached right now.*Nothing was read"):
        on_hand()
    with pytest.raises(DatabaseUnavailable, match="Nothing was saved; try again in a moment"):
        adjust(new_key())
    dbmod.close_pools()
    monkeypatch.setenv("DATABASE_URL", world)
    assert_nothing_written(before)


def test_reads_and_commands_ride_through_a_restart_of_the_server(world, pg_server):
    warm_pool()
    assert on_hand() == 100
    pg_server.restart()
    assert on_hand() == 100
    assert adjust(new_key())["already_applied"] is False
    assert on_hand() == 101


@pytest.mark.parametrize("page", [None, "pages/inventory.py", "pages/orders.py", "pages/live.py",
                                  "pages/operations.py", "pages/users.py"])
def test_every_page_shows_no_error_on_its_next_use_after_every_backend_was_ended(world, page):
    orders.place_order(SYSTEM, customer(), [("SKU-2", 1)])
    warm_pool()
    open_app(factories.ADMIN, page)
    terminate_every_client(world)
    at = open_app(factories.ADMIN, page)  # no exception on the next use
    assert not messages(at)["error"]


def test_a_page_says_plainly_when_the_database_stays_away(world, monkeypatch):
    dbmod.close_pools()
    monkeypatch.setenv("STOCKROOM_RECONNECT_SECONDS", "1")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    at = open_app(factories.ADMIN)
    assert "The database cannot be reached right now" in messages(at)["error"][0]
    dbmod.close_pools()
