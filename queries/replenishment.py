"""Replenishment suggestions: raised by the workflow worker, decided by inventory managers.

A stock row is *low* when its available (on_hand - reserved) is at or below its reorder point.
A low *episode* starts when a row becomes low and ends when it recovers above the point. The
worker raises at most one suggestion per episode (source_key "<location>/<sku>/episode-<n>"),
and never a second open one for the same location and SKU, so a repeated message, a re-scan
of the change stream or more sales while the row stays low create nothing new. Once the row
recovers and falls again, a new episode gets a new suggestion.

The suggestion proposes a transfer from the location in the same region with the largest
surplus (available - reorder point) of that SKU, enough to bring the low row back to twice its
reorder point (as much as the source can spare). When no location in the region has a surplus
the suggestion has no source: it tells the manager, who can only dismiss it.
"""

from __future__ import annotations

from dataclasses import dataclass

from queries.actor import SYSTEM, Actor
from queries.db import fetch_all, run_transaction
from queries.errors import AlreadyDone, InvalidInput, NotFound
from queries.idempotency import run_command
from queries.permissions import require
from queries.region_scope import region_condition
from queries.vocabulary import SuggestionStatus

_OPEN, _ACCEPTED, _DISMISSED = (SuggestionStatus.OPEN, SuggestionStatus.ACCEPTED,
                               SuggestionStatus.DISMISSED)


@dataclass(frozen=True)
class StockLevel:
    """What one stock message says about a row."""

    location_id: str
    sku: str
    on_hand: int
    reserved: int
    reorder_point: int
    updated: tuple[int, int]  # the changefeed timestamp (wall nanos, logical)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def is_low(self) -> bool:
        return self.available <= self.reorder_point


def target_quantity(available: int, reorder_point: int) -> int:
    """Units that bring a low row back to twice its reorder point (at least one)."""
    target = max(2 * reorder_point, reorder_point + 1)
    return max(target - available, 1)


def best_source_in_region(cur, location_id: str, sku: str) -> dict | None:
    """The other active location in the same region with the largest surplus of the SKU."""
    return cur.execute(
        "SELECT s.location_id, s.on_hand - s.reserved - s.reorder_point AS surplus "
        "FROM stock AS s "
        "JOIN locations AS l ON l.id = s.location_id "
        "JOIN locations AS target ON target.id = %s "
        "WHERE s.sku = %s AND s.location_id <> %s AND l.active AND l.region = target.region "
        "AND s.on_hand - s.reserved - s.reorder_point > 0 "
        "ORDER BY surplus DESC, s.location_id LIMIT 1",
        (location_id, sku, location_id),
    ).fetchone()


def _open_suggestion_exists(cur, location_id: str, sku: str) -> bool:
    return cur.execute(
        "SELECT 1 FROM replenishment_suggestions "
        f"WHERE location_id = %s AND sku = %s AND status = '{_OPEN}' LIMIT 1",
        (location_id, sku),
    ).fetchone() is not None


def _insert_suggestion(cur, level: StockLevel, episode: int, actor: Actor) -> dict | None:
    source = best_source_in_region(cur, level.location_id, level.sku)
    need = target_quantity(level.available, level.reorder_point)
    qty = min(need, source["surplus"]) if source else need
    return cur.execute(
        "INSERT INTO replenishment_suggestions (location_id, sku, from_location_id, qty, "
        "source_key, created_by, observed_available, observed_reorder_point) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (source_key) DO NOTHING "
        "RETURNING id::text AS id, location_id, sku, from_location_id, qty, source_key",
        (level.location_id, level.sku, source["location_id"] if source else None, qty,
         f"{level.location_id}/{level.sku}/episode-{episode}", actor.username,
         level.available, level.reorder_point),
    ).fetchone()


@dataclass(frozen=True)
class Observation:
    applied: bool                 # False: not newer than what was applied for the row
    suggestion: dict | None       # the suggestion this message raised, if any


def observe_stock_level_in_tx(cur, level: StockLevel, actor: Actor = SYSTEM) -> Observation:
    """Apply one stock message; reports whether it was applied and what it raised.

    Messages not newer than the last one applied for the row (duplicates, replays, older
    messages after a re-scan) change nothing.
    """
    watch = cur.execute(
        "SELECT is_low, episode, last_updated_wall, last_updated_logical "
        "FROM replenishment_watch WHERE location_id = %s AND sku = %s FOR UPDATE",
        (level.location_id, level.sku),
    ).fetchone()
    if watch is not None and (watch["last_updated_wall"], watch["last_updated_logical"]) >= level.updated:
        return Observation(False, None)
    starts_episode = level.is_low and (watch is None or not watch["is_low"])
    episode = (watch["episode"] if watch else 0) + (1 if starts_episode else 0)
    cur.execute(
        "INSERT INTO replenishment_watch (location_id, sku, is_low, episode, last_updated_wall, "
        "last_updated_logical) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (location_id, sku) DO UPDATE SET is_low = excluded.is_low, "
        "episode = excluded.episode, last_updated_wall = excluded.last_updated_wall, "
        "last_updated_logical = excluded.last_updated_logical",
        (level.location_id, level.sku, level.is_low, episode, *level.updated),
    )
    if not starts_episode or _open_suggestion_exists(cur, level.location_id, level.sku):
        return Observation(True, None)
    return Observation(True, _insert_suggestion(cur, level, episode, actor))


def observe_stock_level(level: StockLevel, actor: Actor = SYSTEM) -> Observation:
    """One transaction per message (the worker's write), retried on serialization failures."""
    return run_transaction(lambda cur: observe_stock_level_in_tx(cur, level, actor))


# ---- what managers see and decide -------------------------------------------------------------

_SUGGESTION_COLUMNS = (
    "s.id::text AS id, s.location_id, l.name AS location_name, l.region, s.sku, "
    "p.name AS product_name, s.from_location_id, f.name AS from_location_name, s.qty, "
    "s.status, s.observed_available, s.observed_reorder_point, s.created_at, s.decided_by, "
    "s.decided_at, s.transfer_id::text AS transfer_id "
)
_SUGGESTION_FROM = (
    "FROM replenishment_suggestions AS s "
    "JOIN locations AS l ON l.id = s.location_id "
    "JOIN products AS p ON p.sku = s.sku "
    "LEFT JOIN locations AS f ON f.id = s.from_location_id "
)


def open_suggestions(actor: Actor, location_id: str | None = None, limit: int = 200) -> list[dict]:
    """Open suggestions the actor may decide: their regions (all for admin), newest first."""
    scope, params = region_condition(actor, "l.region")
    return fetch_all(f"""
        SELECT {_SUGGESTION_COLUMNS}
        {_SUGGESTION_FROM}
         WHERE s.status = '{_OPEN}'
           AND (%(location_id)s::text IS NULL OR s.location_id = %(location_id)s)
           AND {scope}
         ORDER BY s.created_at DESC, s.id
         LIMIT %(limit)s
    """, {**params, "location_id": location_id, "limit": limit})


def suggestion(suggestion_id: str) -> dict | None:
    rows = fetch_all("SELECT " + _SUGGESTION_COLUMNS + _SUGGESTION_FROM + "WHERE s.id::text = %s",
                     (str(suggestion_id),))
    return rows[0] if rows else None


def _suggestion_for_decision(cur, suggestion_id: str, actor: Actor) -> dict:
    row = cur.execute(
        "SELECT s.id::text AS id, s.location_id, s.sku, s.from_location_id, s.qty, s.status, "
        "s.transfer_id::text AS transfer_id, l.region "
        "FROM replenishment_suggestions AS s JOIN locations AS l ON l.id = s.location_id "
        "WHERE s.id::text = %s FOR UPDATE OF s",
        (str(suggestion_id),),
    ).fetchone()
    if row is None:
        raise NotFound("That replenishment suggestion does not exist.")
    require(actor, "suggestion.decide", row["region"])
    return row


def _ensure_open(row: dict) -> None:
    if row["status"] != _OPEN:
        raise AlreadyDone(f"This suggestion was already {row['status']}.")


def dismiss_suggestion(actor: Actor, suggestion_id: str, idempotency_key: str | None = None) -> dict:
    def body(cur) -> dict:
        row = _suggestion_for_decision(cur, suggestion_id, actor)
        _ensure_open(row)
        cur.execute(
            f"UPDATE replenishment_suggestions SET status = '{_DISMISSED}', decided_by = %s, "
            "decided_at = now() WHERE id::text = %s",
            (actor.username, row["id"]),
        )
        return {"suggestion_id": row["id"], "status": _DISMISSED}

    return run_command("suggestion.dismiss", actor, idempotency_key, body)


def accept_suggestion(actor: Actor, suggestion_id: str, idempotency_key: str | None = None) -> dict:
    """Ship the proposed transfer and record the decision, in one transaction.

    The suggestion row is locked first, so of two people accepting at once one ships the
    transfer and the other is told it was already accepted. If the source no longer has the
    units, InsufficientStock is raised and the suggestion stays open.
    """
    from queries import transfers  # the inventory command (its own module)

    def body(cur) -> dict:
        row = _suggestion_for_decision(cur, suggestion_id, actor)
        _ensure_open(row)
        if row["from_location_id"] is None:
            raise InvalidInput(
                f"No location in {row['region']} has spare {row['sku']} to transfer; "
                "order it from a supplier and dismiss this suggestion."
            )
        transfer = transfers.ship_transfer_in_tx(
            cur, actor, row["from_location_id"], row["location_id"], row["sku"], row["qty"],
            f"Replenishment suggestion {row['id']}")
        cur.execute(
            f"UPDATE replenishment_suggestions SET status = '{_ACCEPTED}', transfer_id = %s::uuid, "
            "decided_by = %s, decided_at = now() WHERE id::text = %s",
            (transfer["transfer_id"], actor.username, row["id"]),
        )
        return {"suggestion_id": row["id"], "status": _ACCEPTED,
                "transfer_id": transfer["transfer_id"]}

    return run_command("suggestion.accept", actor, idempotency_key, body)
