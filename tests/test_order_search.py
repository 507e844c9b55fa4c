"""Order reads: search, pagination, detail, funnel, late orders, masking and region scoping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from queries import order_search, orders
from queries.actor import Actor
from queries.db import run_transaction
from queries.errors import Forbidden, InvalidInput, NotFound
from queries.order_search import Cursor, OrderFilters, search_orders
from tests.factories import ADMIN, HQ, MANAGER_EU, SUPPORT_EU
from tests.order_helpers import NEW_YORK, PARIS, customer
from tests.table_counts import assert_nothing_written, table_state

NAMES = [
    ("Jane Doe", "jane.doe@example.com"),
    ("jack Black", "JACK@Example.com"),
    ("Zoë Ærøskøbing", "zoe@example.dk"),
    ("İlker Işık", "ilker@example.tr"),
    ("李小龙", "li@example.cn"),
    ("O'Brien \\ Sons", "obrien@example.ie"),
    ("100% Real_Person", "percent_under@example.com"),
    ("100X RealXPerson", "percentxunder@example.com"),
]


@pytest.fixture
def shop(world):
    ids = {}
    for name, email in NAMES:
        cid = customer(name, email, "EU", f"{name}'s street 1, Berlin", PARIS)
        ids[name] = orders.place_order(ADMIN, cid, [("SKU-1", 1), ("SKU-2", 1)])["order_id"]
    na = customer("Nora North", "nora@example.us", "NA", "Broadway 1, New York", NEW_YORK)
    ids["Nora North"] = orders.place_order(ADMIN, na, [("SKU-3", 2)])["order_id"]
    return ids


def names(page) -> list[str]:
    return sorted(row["customer_name"] for row in page.rows)


@pytest.mark.parametrize("text,expected", [
    ("ja", ["Jane Doe", "jack Black"]),
    ("JA", ["Jane Doe", "jack Black"]),
    ("jack@", ["jack Black"]),
    ("zoë", ["Zoë Ærøskøbing"]),
    ("ZOË Æ", ["Zoë Ærøskøbing"]),
    ("işık", []),                      # a prefix of the whole name, not of a later word
    ("İlker", ["İlker Işık"]),
    ("李", ["李小龙"]),
    ("O'Brien \\", ["O'Brien \\ Sons"]),
    ("o'b", ["O'Brien \\ Sons"]),
    ("100%", ["100% Real_Person"]),     # % is a literal percent sign, not a wildcard
    ("100% Real_", ["100% Real_Person"]),
    ("percent_", ["100% Real_Person"]),  # _ is a literal underscore
    ("%", []),
    ("_", []),
    ("\\", []),
    ("'; DROP TABLE orders; --", []),
    ("nora", ["Nora North"]),
])
def test_customer_search_is_a_case_insensitive_prefix_and_treats_metacharacters_literally(
        shop, text, expected):
    before = table_state()
    assert names(search_orders(ADMIN, OrderFilters(customer=text))) == sorted(expected)
    assert_nothing_written(before)


def test_order_id_prefix(shop):
    oid = shop["Jane Doe"]
    for prefix in (oid[:1], oid[:8], oid[:13], oid.upper()[:10], oid, oid.replace("-", "")[:20]):
        found = [row["id"] for row in search_orders(ADMIN, OrderFilters(id_prefix=prefix), limit=500).rows]
        assert oid in found and all(f.replace("-", "").startswith(
            prefix.lower().replace("-", "")) for f in found), prefix


@pytest.mark.parametrize("prefix", ["xyz", "12%", "'--", "0" * 33, "ab_c"])
def test_a_malformed_order_id_prefix_is_a_typed_error(shop, prefix):
    with pytest.raises(InvalidInput, match="0-9, a-f"):
        search_orders(ADMIN, OrderFilters(id_prefix=prefix))


def test_filters_status_region_sku_and_dates(shop):
    orders.cancel_order(ADMIN, shop["Jane Doe"], expected_version=1)
    assert names(search_orders(ADMIN, OrderFilters(status="cancelled"))) == ["Jane Doe"]
    assert names(search_orders(ADMIN, OrderFilters(region="NA"))) == ["Nora North"]
    assert names(search_orders(ADMIN, OrderFilters(sku="SKU-3"))) == ["Nora North"]
    assert len(search_orders(ADMIN, OrderFilters(sku="SKU-1")).rows) == len(NAMES)
    assert search_orders(ADMIN, OrderFilters(sku="SKU-1%")).rows == []
    today = datetime.now(UTC).date()
    assert len(search_orders(ADMIN, OrderFilters(created_from=today, created_to=today)).rows) == 9
    assert search_orders(ADMIN, OrderFilters(created_to=today - timedelta(days=1))).rows == []
    assert search_orders(ADMIN, OrderFilters(created_from=date(2100, 1, 1))).rows == []
    combined = OrderFilters(customer="ja", status="allocated", region="EU", sku="SKU-2")
    assert names(search_orders(ADMIN, combined)) == ["jack Black"]
    with pytest.raises(InvalidInput):
        search_orders(ADMIN, OrderFilters(status="lost"))


def test_keyset_pages_cover_every_order_once_newest_first(shop):
    seen, after = [], None
    while True:
        page = search_orders(ADMIN, OrderFilters(), after=after, limit=2)
        seen += [(row["created_at"], row["id"]) for row in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert len(seen) == len(set(seen)) == 9
    assert seen == sorted(seen, reverse=True)
    assert isinstance(after, Cursor)


def test_late_orders_and_the_funnel(shop):
    run_transaction(lambda cur: cur.execute(
        "UPDATE orders SET promised_by = now() - interval '1 day' WHERE id = ANY(%s)",
        ([shop["Jane Doe"], shop["jack Black"], shop["Nora North"]],)))
    orders.mark_picking(ADMIN, shop["jack Black"], expected_version=1)
    orders.mark_shipped(ADMIN, shop["jack Black"], expected_version=2)
    assert order_search.late_summary(ADMIN)["late"] == 2
    assert order_search.late_summary(SUPPORT_EU)["late"] == 1
    assert names(search_orders(ADMIN, OrderFilters(late_only=True))) == ["Jane Doe", "Nora North"]
    rows = {row["customer_name"]: row for row in search_orders(ADMIN).rows}
    assert rows["Jane Doe"]["late"] and not rows["jack Black"]["late"]
    counts = order_search.status_counts(ADMIN)
    assert counts["allocated"] == 8 and counts["shipped"] == 1 and counts["returned"] == 0
    assert sum(order_search.status_counts(SUPPORT_EU).values()) == 8
    assert order_search.status_counts(ADMIN, region="NA")["allocated"] == 1
    per_hour = order_search.orders_per_hour(ADMIN, hours=2)
    assert sum(row["orders"] for row in per_hour) == 9


def test_detail_has_lines_allocations_and_the_timeline(shop):
    oid = shop["Jane Doe"]
    orders.add_note(SUPPORT_EU, oid, note="called the customer", expected_version=1)
    detail = order_search.order_detail(SUPPORT_EU, oid)
    assert detail["order"]["customer_name"] == "Jane Doe"
    assert [(line["sku"], line["location_id"], line["reserved_qty"]) for line in detail["lines"]] == \
        [("SKU-1", "WH-PAR-1", 1), ("SKU-2", "WH-PAR-1", 1)]
    assert [event["kind"] for event in detail["events"]] == ["placed", "note"]
    assert detail["order"]["next_statuses"] == ["picking", "on_hold", "cancelled"]
    with pytest.raises(NotFound):
        order_search.order_detail(SUPPORT_EU, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFound):
        order_search.order_detail(SUPPORT_EU, "%")


def test_support_sees_only_their_regions(shop):
    assert "Nora North" not in names(search_orders(SUPPORT_EU))
    assert len(search_orders(SUPPORT_EU).rows) == 8
    with pytest.raises(Forbidden):
        search_orders(SUPPORT_EU, OrderFilters(region="NA"))
    with pytest.raises(Forbidden):
        order_search.order_detail(SUPPORT_EU, shop["Nora North"])
    assert search_orders(SUPPORT_EU, OrderFilters(id_prefix=shop["Nora North"])).rows == []


@pytest.mark.parametrize("actor", [HQ, MANAGER_EU, Actor("hq2", "hq_viewer", ("NA",), "")])
def test_other_roles_see_personal_data_masked(shop, actor):
    rows = search_orders(actor).rows
    assert rows
    for row in rows:
        assert row["customer_name"].endswith("***") and "@" in row["customer_email"]
        assert row["customer_email"].split("@")[0].endswith("***")
    jane = shop["Jane Doe"] if actor.covers_region("EU") else shop["Nora North"]
    orders.change_shipping_address(ADMIN, jane, address="Secret Street 9", expected_version=1)
    detail = order_search.order_detail(actor, jane)
    order = detail["order"]
    expected_name = "J*** D***" if actor.covers_region("EU") else "N*** N***"
    assert order["customer_name"] == expected_name
    assert order["customer_email"] in ("j***@example.com", "n***@example.us")
    assert order["ship_address"] == order["customer_address"] == "*** (address hidden)"
    changed = detail["events"][-1]["details"]
    assert changed["to_address"] == changed["from_address"] == "*** (address hidden)"
    assert "Secret" not in repr(detail)
    with pytest.raises(Forbidden, match="personal data"):
        search_orders(actor, OrderFilters(customer="jane"))


def test_support_and_admin_see_personal_data(shop):
    for actor in (SUPPORT_EU, ADMIN):
        assert "Jane Doe" in names(search_orders(actor))
        assert order_search.order_detail(actor, shop["Jane Doe"])["order"]["customer_email"] == \
            "jane.doe@example.com"


@pytest.mark.parametrize("value,prefix,matches", [
    ("100% real", "100%", True), ("100X real", "100%", False),
    ("a_b", "a_", True), ("axb", "a_", False),
    ("back\\slash", "back\\", True), ("backslash", "back\\", False),
    ("it's", "it'", True),
])
def test_like_escape_makes_wildcards_literal_in_the_database(db, value, prefix, matches):
    pattern = order_search.like_escape(prefix) + "%"
    found = run_transaction(lambda cur: cur.execute(
        "SELECT %s LIKE %s ESCAPE '\\' AS hit", (value, pattern)).fetchone()["hit"])
    assert found is matches


def test_late_orders_come_most_overdue_first_across_pages(shop):
    overdue = {"Zoë Ærøskøbing": 5, "Jane Doe": 1, "李小龙": 3}
    for name, days in overdue.items():
        run_transaction(lambda cur, n=name, d=days: cur.execute(
            "UPDATE orders SET promised_by = now() - make_interval(days => %s) WHERE id = %s",
            (d, shop[n])))
    seen, after = [], None
    while True:
        page = search_orders(SUPPORT_EU, OrderFilters(late_only=True), after=after, limit=1)
        seen += [row["customer_name"] for row in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == ["Zoë Ærøskøbing", "李小龙", "Jane Doe"]
    assert order_search.late_summary(SUPPORT_EU)["late"] == 3
