"""Headquarters' reads: the rollup, each filter, the order panels, one SKU's stock then and now.

A tiny seeded world (three regions, every location kind, several countries and categories,
orders in every status) is built once per session and copied per test. Every figure is compared
with a direct SQL count over the base tables, written out here independently of queries/.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from queries import overview, rollups
from queries.actor import Actor
from queries.db import fetch_all, fetch_one, run_transaction
from queries.errors import InvalidInput
from queries.hq_filters import HqFilters
from queries.idempotency import new_key
from queries.inventory import adjust_stock
from tests.factories import ADMIN, HQ
from tests.hq_helpers import direct_stock_totals

MANAGER_EU = Actor("manager.eu", "inventory_manager", ("EU",), "Eva Manager")


def _one(sql: str, params: dict | None = None):
    return next(iter(fetch_one(sql, params or {}).values()))


def _sample_filters() -> list[HqFilters]:
    """One filter of each kind, with values that exist in the seeded world."""
    place = fetch_one("SELECT region, country, kind FROM locations ORDER BY id LIMIT 1")
    product = fetch_one("SELECT sku, name, category FROM products ORDER BY sku OFFSET 3 LIMIT 1")
    return [
        HqFilters(),
        HqFilters(region=place["region"]),
        HqFilters(country=place["country"]),
        HqFilters(kind=place["kind"]),
        HqFilters(category=product["category"]),
        HqFilters(search=product["sku"]),
        HqFilters(search=product["name"].split()[-1].lower()),
        HqFilters(region=place["region"], category=product["category"]),
    ]


def _totals(rows: list[dict]) -> dict:
    keys = ("bins", "on_hand", "available", "incoming", "stock_value", "out_bins", "low_bins")
    return {k: sum(r[k] for r in rows) for k in keys}


# ---------------------------------------------------------------- the rollup


def test_the_rollup_equals_stock_per_location_and_category(seeded_world):
    state = rollups.state()
    assert state["as_of"] is not None and state["refresh_seconds"] > 0
    rollup = fetch_all("""
        SELECT location_id, category, bins, on_hand, reserved, incoming, stock_value,
               out_bins, low_bins
          FROM stock_rollup ORDER BY 1, 2""")
    direct = fetch_all("""
        SELECT s.location_id, p.category, count(*) AS bins, sum(s.on_hand) AS on_hand,
               sum(s.reserved) AS reserved, sum(s.incoming) AS incoming,
               sum(s.on_hand * p.unit_cost) AS stock_value,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) AS out_bins,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= s.reorder_point) AS low_bins
          FROM stock s JOIN products p ON p.sku = s.sku
         GROUP BY 1, 2 ORDER BY 1, 2""")
    assert rollup == direct and len(rollup) > 10


def test_units_sold_are_the_order_lines_of_the_last_28_days_per_location(seeded_world):
    sold = {(r["location_id"], r["category"]): r["sold_28d"]
            for r in fetch_all("SELECT location_id, category, sold_28d FROM stock_rollup")}
    direct = {(r["location_id"], r["category"]): r["units"] for r in fetch_all("""
        SELECT ol.location_id, p.category, sum(ol.qty) AS units
          FROM orders o JOIN order_lines ol ON ol.order_id = o.id
          JOIN products p ON p.sku = ol.sku
         WHERE o.created_at > (SELECT as_of FROM stock_rollup_state) - INTERVAL '28 days'
           AND o.status <> 'cancelled' AND ol.location_id IS NOT NULL
         GROUP BY 1, 2""")}
    assert {k: v for k, v in sold.items() if v} == direct and direct


def test_figures_wait_for_the_next_refresh_and_say_how_old_they_are(seeded_world):
    rollups.refresh()  # the template's rollup may be older than the interval by now
    bin_ = fetch_one("SELECT location_id, sku FROM stock WHERE on_hand > 5 ORDER BY 1, 2 LIMIT 1")
    before = _totals(overview.stock_groups(HQ)["rows"])
    adjust_stock(ADMIN, location_id=bin_["location_id"], sku=bin_["sku"], qty=-5,
                 reason="damaged", idempotency_key=new_key())
    stale = overview.stock_groups(HQ)
    assert _totals(stale["rows"]) == before          # the rollup describes its as_of
    assert rollups.refresh(force=False) is None      # fresh enough: nothing to do
    result = rollups.refresh()
    assert result["as_of"] > stale["as_of"]
    assert _totals(overview.stock_groups(HQ)["rows"])["on_hand"] == before["on_hand"] - 5


def test_only_one_of_several_refreshers_does_the_work(seeded_world):
    results, barrier = [], threading.Barrier(4)

    def refresher():
        barrier.wait()
        results.append(rollups.refresh())

    threads = [threading.Thread(target=refresher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [r for r in results if r is not None]
    assert len(results) == 4 and 1 <= len(done) < 4
    assert fetch_one("SELECT claimed_until FROM stock_rollup_state")["claimed_until"] is None


def test_a_stale_claim_is_taken_over(seeded_world):
    run_transaction(lambda cur: cur.execute(
        "UPDATE stock_rollup_state SET claimed_until = now() + INTERVAL '1 hour'"))
    assert rollups.refresh() is None                 # someone is working on it
    run_transaction(lambda cur: cur.execute(
        "UPDATE stock_rollup_state SET claimed_until = now() - INTERVAL '1 second'"))
    assert rollups.refresh() is not None             # they died: the claim has expired


def test_the_keeper_refreshes_a_stale_rollup_by_itself(seeded_world, monkeypatch):
    monkeypatch.setenv("STOCKROOM_ROLLUP_SECONDS", "1")
    before = rollups.state()["as_of"]
    keeper = rollups.RollupKeeper(tick=0.2).start()
    try:
        deadline = 50
        while keeper.refreshes == 0 and deadline:
            threading.Event().wait(0.2)
            deadline -= 1
    finally:
        keeper.stop()
    assert keeper.refreshes >= 1 and keeper.failures == 0
    assert rollups.state()["as_of"] > before


# ---------------------------------------------------------------- filters


def test_each_filter_gives_what_a_direct_count_says(seeded_world):
    for filters in _sample_filters():
        groups = overview.stock_groups(HQ, filters)
        direct = direct_stock_totals(filters)
        assert _totals(groups["rows"]) == {k: direct[k] for k in _totals(groups["rows"])}, filters
        assert overview.skus_out_somewhere(HQ, filters) == direct["out_skus"], filters
        assert groups["live"] == bool(filters.search)
    narrowed = [f for f in _sample_filters() if f.any]
    assert all(direct_stock_totals(f)["bins"] < direct_stock_totals(HqFilters())["bins"] for f in narrowed)


def test_a_regional_person_sees_their_regions_and_a_filter_cannot_widen_that(seeded_world):
    for filters in _sample_filters():
        rows = overview.stock_groups(MANAGER_EU, filters)["rows"]
        assert {r["region"] for r in rows} <= {"EU"}
        direct = direct_stock_totals(filters, regions=("EU",))
        assert _totals(rows) == {k: direct[k] for k in _totals(rows)}, filters
    assert overview.stock_groups(MANAGER_EU, HqFilters(region="NA"))["rows"] == []
    assert overview.filter_choices(MANAGER_EU)["region"] == ["EU"]
    assert len(overview.filter_choices(HQ)["region"]) == 3


def test_filters_come_from_the_url_and_go_into_file_names():
    filters = HqFilters.from_params({"region": "EU", "category": " Toys & Games ", "kind": ""})
    assert filters == HqFilters(region="EU", category="Toys & Games")
    assert HqFilters.from_params(filters.as_params()) == filters
    assert filters.file_label() == "region-EU_category-Toys---Games"
    assert HqFilters().file_label() == "all"
    with pytest.raises(InvalidInput, match="The search can be at most 200 characters"):
        HqFilters.from_params({"search": "x" * 201})


def test_search_text_is_matched_literally(seeded_world):
    assert overview.stock_groups(HQ, HqFilters(search="%"))["rows"] == []
    assert overview.stock_groups(HQ, HqFilters(search="_"))["rows"] == []
    assert overview.find_products("%") == []


# ---------------------------------------------------------------- orders


def _direct_orders(where: str, params: dict | None = None) -> int:
    return _one(f"SELECT count(*) FROM orders o WHERE {where}", params)


OPEN = "o.status IN ('pending', 'allocated', 'picking', 'on_hold')"


def test_order_tiles_equal_direct_counts(seeded_world):
    tiles = overview.order_tiles(HQ)
    assert tiles["open_orders"] == _direct_orders(OPEN) > 0
    assert tiles["late_orders"] == _direct_orders(f"{OPEN} AND o.promised_by < now()")
    assert tiles["today"] == _direct_orders("o.created_at >= date_trunc('day', now())")
    assert tiles["same_day_last_week"] == _direct_orders(
        "o.created_at >= date_trunc('day', now()) - INTERVAL '7 days' "
        "AND o.created_at < now() - INTERVAL '7 days'")


def test_order_panels_follow_every_filter(seeded_world):
    place = fetch_one("""
        SELECT l.region, l.country, l.kind FROM orders o
          JOIN locations l ON l.id = o.fulfilment_location_id
         WHERE o.status IN ('pending', 'allocated', 'picking', 'on_hold')
         ORDER BY o.id LIMIT 1""")
    category = fetch_one("SELECT p.category FROM order_lines ol JOIN products p ON p.sku = ol.sku "
                         "ORDER BY ol.order_id LIMIT 1")["category"]
    cases = [
        (HqFilters(region=place["region"]), "o.region = %(v)s", place["region"]),
        (HqFilters(country=place["country"]), "o.fulfilment_location_id IN "
         "(SELECT id FROM locations WHERE country = %(v)s)", place["country"]),
        (HqFilters(kind=place["kind"]), "o.fulfilment_location_id IN "
         "(SELECT id FROM locations WHERE kind = %(v)s)", place["kind"]),
        (HqFilters(category=category), "EXISTS (SELECT 1 FROM order_lines ol JOIN products p "
         "ON p.sku = ol.sku WHERE ol.order_id = o.id AND p.category = %(v)s)", category),
    ]
    for filters, where, value in cases:
        params = {"v": value}
        tiles = overview.order_tiles(HQ, filters)
        assert tiles["open_orders"] == _direct_orders(f"{OPEN} AND {where}", params), filters
        assert tiles["open_orders"] < overview.order_tiles(HQ)["open_orders"], filters
        funnel = overview.funnel_by_region(HQ, filters)
        assert sum(r["orders"] for r in funnel) == _direct_orders(
            f"o.created_at >= now() - INTERVAL '7 days' AND {where}", params), filters
        hourly = overview.orders_per_hour(HQ, filters)
        assert sum(r["orders"] for r in hourly) == _direct_orders(
            f"o.created_at >= now() - INTERVAL '48 hours' AND {where}", params), filters
        late = overview.late_orders(HQ, filters)
        assert sum(r["orders"] for r in late) == tiles["late_orders"], filters


def test_late_orders_are_grouped_by_how_late_they_are(seeded_world):
    late = overview.late_orders(HQ)
    by_age = {}
    for row in late:
        by_age[row["late_by"]] = by_age.get(row["late_by"], 0) + row["orders"]
    assert by_age.get("under a day", 0) == _direct_orders(
        f"{OPEN} AND o.promised_by < now() AND o.promised_by > now() - INTERVAL '1 day'")
    assert by_age.get("over 3 days", 0) == _direct_orders(
        f"{OPEN} AND o.promised_by <= now() - INTERVAL '3 days'")
    assert set(by_age) <= {"under a day", "1-3 days", "over 3 days"}


# ---------------------------------------------------------------- one SKU


def _busy_sku() -> dict:
    return fetch_one("""
        SELECT s.location_id, s.sku FROM stock s
         WHERE s.on_hand - s.reserved > 20
         ORDER BY s.location_id, s.sku LIMIT 1""")


def test_one_skus_stock_per_location_with_cover_and_where_to_send_from(seeded_world):
    sku = _busy_sku()["sku"]
    rows = overview.sku_stock(HQ, HqFilters(), sku)
    direct = fetch_all("SELECT location_id, on_hand, reserved FROM stock WHERE sku = %(sku)s "
                       "ORDER BY location_id", {"sku": sku})
    assert sorted((r["location_id"], r["on_hand"], r["reserved"]) for r in rows) == [
        (d["location_id"], d["on_hand"], d["reserved"]) for d in direct]
    for row in rows:
        if row["sold_28d"]:
            assert row["cover_days"] == round(float(row["available"]) / (row["sold_28d"] / 28), 1)
        else:
            assert row["cover_days"] is None
    sources = overview.transfer_sources(rows)
    assert sources and all(s["available"] > s["reorder_point"] for s in sources)
    assert [s["surplus"] for s in sources] == sorted((s["surplus"] for s in sources), reverse=True)
    assert {r["region"] for r in overview.sku_stock(MANAGER_EU, HqFilters(), sku)} == {"EU"}


def test_stock_as_of_a_past_time_is_what_the_ledger_says_it_was(seeded_world):
    bin_ = _busy_sku()
    where = {"loc": bin_["location_id"], "sku": bin_["sku"]}
    start = fetch_one("SELECT on_hand, now() AS at FROM stock "
                      "WHERE location_id = %(loc)s AND sku = %(sku)s", where)
    adjust_stock(ADMIN, location_id=bin_["location_id"], sku=bin_["sku"], qty=-7,
                 reason="damaged", idempotency_key=new_key())
    middle = _one("SELECT now()")
    adjust_stock(ADMIN, location_id=bin_["location_id"], sku=bin_["sku"], qty=12,
                 reason="received", idempotency_key=new_key())

    def on_hand_at(at) -> int:
        rows = overview.sku_stock_as_of(HQ, HqFilters(), bin_["sku"], at)
        return next(r["on_hand"] for r in rows if r["location_id"] == bin_["location_id"])

    assert on_hand_at(start["at"]) == start["on_hand"]
    assert on_hand_at(middle) == start["on_hand"] - 7
    assert on_hand_at(_one("SELECT now()")) == start["on_hand"] + 5
    now_rows = overview.sku_stock_as_of(HQ, HqFilters(), bin_["sku"], _one("SELECT now()"))
    live = {r["location_id"]: (r["on_hand"], r["reserved"], r["incoming"])
            for r in overview.sku_stock(HQ, HqFilters(), bin_["sku"])}
    assert {r["location_id"]: (r["on_hand"], r["reserved"], r["incoming"])
            for r in now_rows} == live
    long_ago = _one("SELECT min(created_at) FROM stock_movements") - timedelta(days=1)
    assert overview.sku_stock_as_of(HQ, HqFilters(), bin_["sku"], long_ago) == []


def test_the_history_ends_at_todays_stock(seeded_world):
    sku = _busy_sku()["sku"]
    history = overview.sku_history(HQ, HqFilters(), sku)
    totals = fetch_one("SELECT sum(on_hand) AS on_hand, sum(on_hand - reserved) AS available "
                       "FROM stock WHERE sku = %(sku)s", {"sku": sku})
    assert history[-1]["on_hand"] == totals["on_hand"]
    assert history[-1]["available"] == totals["available"]
    assert [h["day"] for h in history] == sorted(h["day"] for h in history)


def test_nothing_headquarters_reads_carries_personal_data(seeded_world):
    customers = fetch_all("SELECT name, email, address FROM customers")
    sku = _busy_sku()["sku"]
    everything = repr([
        overview.stock_groups(HQ), overview.order_tiles(HQ), overview.funnel_by_region(HQ),
        overview.orders_per_hour(HQ), overview.late_orders(HQ), overview.filter_choices(HQ),
        overview.sku_stock(HQ, HqFilters(), sku), overview.sku_history(HQ, HqFilters(), sku),
    ])
    for person in customers:
        for value in person.values():
            assert value not in everything


# ---------------------------------------------------------------- manage.py check


def test_the_checker_holds_the_rollup_to_stock_as_of_its_time(seeded_world):
    from queries.invariants import check_invariants

    # Let every stock row be settled well before the rollup's snapshot.
    run_transaction(lambda cur: cur.execute(
        "UPDATE stock SET updated_at = updated_at - INTERVAL '1 hour'"))
    assert [v for v in check_invariants().violations if v.invariant == 6] == []

    group = fetch_one("SELECT location_id, category FROM stock_rollup ORDER BY 1, 2 LIMIT 1")
    run_transaction(lambda cur: cur.execute(
        "UPDATE stock_rollup SET on_hand = on_hand + 1 "
        "WHERE location_id = %(location_id)s AND category = %(category)s", group))
    found = [v for v in check_invariants().violations if v.invariant == 6]
    assert [(v.location_id, v.detail) for v in found] == [
        (group["location_id"], f"category {group['category']}")]
    assert "on_hand" in found[0].found

    # A write after the snapshot: the group is described as of as_of, not checked against now.
    sku = fetch_one("SELECT s.sku FROM stock s JOIN products p ON p.sku = s.sku "
                    "WHERE s.location_id = %(location_id)s AND p.category = %(category)s "
                    "AND s.on_hand > 2 LIMIT 1", group)["sku"]
    adjust_stock(ADMIN, location_id=group["location_id"], sku=sku, qty=-1, reason="damaged",
                 idempotency_key=new_key())
    assert [v for v in check_invariants().violations if v.invariant == 6] == []


def test_manage_py_rollups_refreshes_and_says_what_it_did(seeded_world, capsys):
    from manage import main

    before = rollups.state()["as_of"]
    assert main(["rollups"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stock rollup: ") and " rows as of " in out
    assert rollups.state()["as_of"] > before
