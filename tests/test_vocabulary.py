"""The domain's words (queries/vocabulary.py): whatever the seed and the commands store is
declared and has a label; old seed spellings are readable aliases that nothing writes anymore."""

from __future__ import annotations

import os
import re
import uuid

import psycopg
import pytest
from streamlit.testing.v1 import AppTest

from components.order_timeline import describe, title
from queries import db as dbmod
from queries import inventory, orders, transfers, users
from queries.actor import ROLES
from queries.db import fetch_all, fetch_one
from queries.vocabulary import (
    LEGACY_EVENT_KINDS,
    LEGACY_MOVEMENTS,
    RETURN_REASON_IS_FREE_TEXT,
    EventKind,
    LocationKind,
    MovementKind,
    OrderStatus,
    SuggestionStatus,
    TransferStatus,
    UserEventKind,
    event_kind_of,
    event_label,
    movement_kind_of,
    movement_label,
    reason_label,
    reason_of,
    user_event_label,
)
from stack.seed import seed
from tests.factories import ADMIN
from tests.worlds import copy_of_world


def key() -> str:
    return str(uuid.uuid4())


def stored_words() -> dict[str, list[dict]]:
    return {
        "statuses": fetch_all("SELECT DISTINCT status FROM orders"),
        "events": fetch_all("SELECT DISTINCT kind, from_status, to_status FROM order_events"),
        "movements": fetch_all("SELECT DISTINCT kind, reason FROM stock_movements"),
        "transfers": fetch_all("SELECT DISTINCT status FROM transfers"),
        "suggestions": fetch_all("SELECT DISTINCT status FROM replenishment_suggestions"),
        "user_events": fetch_all("SELECT DISTINCT kind FROM user_events"),
        "locations": fetch_all("SELECT DISTINCT kind FROM locations"),
    }


def assert_declared(words: dict[str, list[dict]]) -> None:
    for row in words["statuses"]:
        assert OrderStatus(row["status"]).label
    for row in words["events"]:
        kind = event_kind_of(row["kind"], row["from_status"], row["to_status"])
        assert kind is not None, row
        assert event_label(row["kind"], row["from_status"], row["to_status"]) == kind.label != ""
        for status in (row["from_status"], row["to_status"]):
            assert status is None or OrderStatus(status).label
    for row in words["movements"]:
        kind = movement_kind_of(row["kind"], row["reason"])
        assert kind is not None, row
        assert movement_label(row["kind"], row["reason"]) == kind.label != ""
        if row["reason"] is None or (row["kind"], row["reason"]) in LEGACY_MOVEMENTS:
            continue
        declared = reason_of(row["kind"], row["reason"])
        if declared is None:  # only a return's reason is typed by a person
            assert kind == MovementKind.RETURN and RETURN_REASON_IS_FREE_TEXT, row
        assert reason_label(row["kind"], row["reason"]).strip(), row
    for row in words["transfers"]:
        assert TransferStatus(row["status"]).label
    for row in words["suggestions"]:
        assert SuggestionStatus(row["status"]).label
    for row in words["user_events"]:
        assert UserEventKind(row["kind"]).label
    for row in words["locations"]:
        assert LocationKind(row["kind"]).label


def assert_no_alias(words: dict[str, list[dict]]) -> None:
    assert not [r for r in words["events"] if r["kind"] in LEGACY_EVENT_KINDS]
    assert not [r for r in words["movements"] if (r["kind"], r["reason"]) in LEGACY_MOVEMENTS]
    for row in words["events"]:
        assert EventKind(row["kind"])
    for row in words["movements"]:
        assert MovementKind(row["kind"])


def _seeded() -> None:
    seed(os.environ["DATABASE_URL"], "tiny", seed=11, demo_accounts=False)


@pytest.fixture
def seeded(pg_server, monkeypatch) -> str:
    """A copy of a tiny seeded database (seeded once per session)."""
    yield copy_of_world(pg_server, _seeded, monkeypatch)
    dbmod.close_pools()


def test_a_fresh_seed_writes_only_declared_words_and_no_alias(seeded):
    words = stored_words()
    assert_declared(words)
    assert_no_alias(words)
    kinds = {r["kind"] for r in words["events"]}
    assert {EventKind.PLACED, EventKind.ALLOCATED, EventKind.SHIPPED} <= kinds
    assert {r["kind"] for r in words["movements"]} >= {
        MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN_TRANSIT, MovementKind.TRANSFER_IN}


def _plentiful_eu_stock(exclude: str | None = None) -> dict:
    return fetch_one(
        "SELECT s.location_id, s.sku, s.on_hand - s.reserved AS available FROM stock s "
        "JOIN locations l ON l.id = s.location_id WHERE l.region = 'EU' "
        "AND s.on_hand - s.reserved >= 20 AND s.sku <> coalesce(%s, '') "
        "ORDER BY s.on_hand - s.reserved DESC, s.location_id, s.sku LIMIT 1",
        (exclude,),
    )


def _order(customer_id: str, sku: str) -> tuple[str, int]:
    result = orders.place_order(ADMIN, customer_id, [(sku, 1)], idempotency_key=key())
    assert result["status"] == OrderStatus.ALLOCATED, result
    return result["order_id"], result["version"]


def test_commands_after_a_seed_write_only_declared_words(seeded):
    customer_id = str(fetch_one("SELECT id FROM customers WHERE region = 'EU' LIMIT 1")["id"])
    bin_ = _plentiful_eu_stock()
    sku, location_id = bin_["sku"], bin_["location_id"]

    order_id, version = _order(customer_id, sku)
    orders.cancel_order(ADMIN, order_id, expected_version=version, idempotency_key=key())

    order_id, version = _order(customer_id, sku)
    version = orders.hold_order(ADMIN, order_id, expected_version=version, idempotency_key=key())["version"]
    version = orders.release_hold(ADMIN, order_id, expected_version=version, idempotency_key=key())["version"]
    version = orders.add_note(ADMIN, order_id, note="gift wrap", expected_version=version,
                              idempotency_key=key())["version"]
    version = orders.mark_picking(ADMIN, order_id, expected_version=version, idempotency_key=key())["version"]
    version = orders.mark_shipped(ADMIN, order_id, expected_version=version, idempotency_key=key())["version"]
    version = orders.mark_delivered(ADMIN, order_id, expected_version=version,
                                    idempotency_key=key())["version"]
    orders.accept_return(ADMIN, order_id, location_id=location_id, reason="wrong size",
                         expected_version=version, idempotency_key=key())

    inventory.adjust_stock(ADMIN, location_id=location_id, sku=sku, qty=-1, reason="damaged",
                           idempotency_key=key())
    inventory.record_count(ADMIN, location_id=location_id, sku=sku,
                           counted=fetch_one("SELECT on_hand FROM stock WHERE location_id = %s "
                                             "AND sku = %s", (location_id, sku))["on_hand"],
                           idempotency_key=key())
    destination = fetch_one("SELECT id FROM locations WHERE region = 'EU' AND id <> %s "
                            "ORDER BY id LIMIT 1", (location_id,))["id"]
    shipped = transfers.create_transfer(ADMIN, from_location_id=location_id,
                                        to_location_id=destination, sku=sku, qty=5,
                                        idempotency_key=key())
    transfers.receive_transfer(ADMIN, transfer_id=shipped["transfer_id"], received_qty=4,
                               shortfall_reason="damaged", idempotency_key=key())
    cancelled = transfers.create_transfer(ADMIN, from_location_id=location_id,
                                          to_location_id=destination, sku=sku, qty=2,
                                          idempotency_key=key())
    transfers.cancel_transfer(ADMIN, transfer_id=cancelled["transfer_id"], idempotency_key=key())

    words = stored_words()
    assert_declared(words)
    assert_no_alias(words)
    written = {r["kind"] for r in fetch_all("SELECT DISTINCT kind FROM order_events "
                                            "WHERE actor = %s", (ADMIN.username,))}
    assert written == {EventKind.PLACED, EventKind.CANCELLED, EventKind.HELD,
                       EventKind.HOLD_RELEASED, EventKind.NOTE, EventKind.PICKING,
                       EventKind.SHIPPED, EventKind.DELIVERED, EventKind.RETURNED}
    moved = {r["kind"] for r in fetch_all("SELECT DISTINCT kind FROM stock_movements "
                                          "WHERE actor = %s", (ADMIN.username,))}
    assert moved == set(MovementKind)


# --- legacy seed spellings --------------------------------------------------------------


@pytest.mark.parametrize(("from_status", "to_status", "label"), [
    ("pending", "allocated", "Allocated"),
    ("allocated", "picking", "Picking started"),
    ("picking", "shipped", "Shipped"),
    ("shipped", "delivered", "Delivered"),
    ("delivered", "returned", "Returned"),
    ("allocated", "cancelled", "Cancelled"),
    ("picking", "on_hold", "Put on hold"),
    ("on_hold", "picking", "Hold released"),
])
def test_a_legacy_status_change_reads_as_the_event_the_app_writes(from_status, to_status, label):
    event = {"kind": "status_changed", "from_status": from_status, "to_status": to_status,
             "details": {}}
    assert title(event) == label
    assert describe(event) == ""


def test_legacy_ledger_spellings_read_as_the_app_kinds():
    assert movement_label("transfer_in", "dispatched") == MovementKind.TRANSFER_IN_TRANSIT.label
    assert movement_label("transfer_out", "dispatched") == MovementKind.TRANSFER_OUT.label
    assert movement_label("transfer_in", "received") == MovementKind.TRANSFER_IN.label
    assert reason_label("transfer_in", "dispatched") == ""
    assert event_label("created", None, "pending") == EventKind.PLACED.label


def _timeline_of(order_id: str) -> None:
    from components.order_timeline import order_timeline
    from queries.order_search import order_detail
    from tests.factories import ADMIN

    order_timeline(order_detail(ADMIN, order_id)["events"])


def test_the_timeline_of_an_old_seeded_order_shows_labels(seeded):
    order_id = str(fetch_one("SELECT id FROM orders WHERE status = 'delivered' LIMIT 1")["id"])
    with psycopg.connect(seeded) as conn:  # rows as the seed wrote them before the vocabulary
        conn.execute("DELETE FROM order_events WHERE order_id = %s", (order_id,))
        conn.execute(
            "INSERT INTO order_events (order_id, actor, kind, from_status, to_status, created_at) "
            "VALUES (%s, 'system', 'created', NULL, 'pending', now() - interval '3 days'), "
            "(%s, 'system', 'status_changed', 'pending', 'allocated', now() - interval '2 days'), "
            "(%s, 'system', 'status_changed', 'allocated', 'on_hold', now() - interval '1 day')",
            (order_id, order_id, order_id))
    at = AppTest.from_function(_timeline_of, args=(order_id,), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    headings = [m.value for m in at.markdown]
    assert any(h.startswith(":material/pause_circle: **Put on hold**") for h in headings), headings
    assert any(h.startswith(":material/inventory: **Allocated**") for h in headings), headings
    assert any(h.startswith(":material/add_shopping_cart: **Placed**") for h in headings), headings
    assert not [h for h in headings if "status_changed" in h or "created" in h], headings


# Every CHECK (column IN (...)) list in the schema, and the enumeration that declares its words.
# A new list without a row here fails the test below, so the two cannot drift apart.
CHECKED_WORDS = {
    ("orders", "status"): OrderStatus,
    ("transfers", "status"): TransferStatus,
    ("replenishment_suggestions", "status"): SuggestionStatus,
    ("user_events", "kind"): UserEventKind,
    ("locations", "kind"): LocationKind,
    ("users", "role"): ROLES,
}


def checked_word_lists() -> dict[tuple[str, str], set[str]]:
    """(table, column) -> the words its CHECK constraint allows, read from the migrated schema."""
    rows = fetch_all(
        """
        SELECT rel.relname AS table_name, pg_get_constraintdef(con.oid) AS definition
          FROM pg_constraint AS con
          JOIN pg_class AS rel ON rel.oid = con.conrelid
          JOIN pg_namespace AS ns ON ns.oid = rel.relnamespace
         WHERE con.contype = 'c'
           AND ns.nspname = current_schema()
           AND pg_get_constraintdef(con.oid) LIKE '%%= ANY (ARRAY[%%'
        """)
    lists = {}
    for row in rows:
        match = re.search(r"\(+(\w+) = ANY \(ARRAY\[(.*?)\]\)", row["definition"])
        assert match, row
        lists[(row["table_name"], match.group(1))] = set(re.findall(r"'([^']*)'", match.group(2)))
    return lists


def test_every_checked_word_list_in_the_schema_is_its_enumeration(db):
    lists = checked_word_lists()
    assert set(lists) == set(CHECKED_WORDS)
    for column, words in CHECKED_WORDS.items():
        assert lists[column] == {str(word) for word in words}, column


def test_user_event_kinds_read_as_labels(db):
    users.save_user(ADMIN, username="vocab_user", display_name="Vocab", role="hq_viewer",
                    regions=[], password="a-long-password-1")
    users.set_active(ADMIN, "vocab_user", False)
    kinds = [row["kind"] for row in fetch_all(
        "SELECT kind FROM user_events WHERE username = 'vocab_user' ORDER BY created_at")]
    assert kinds == [UserEventKind.CREATED, UserEventKind.DEACTIVATED]
    assert [user_event_label(kind) for kind in kinds] == ["account created", "account deactivated"]
    assert user_event_label("renamed") == "renamed"
