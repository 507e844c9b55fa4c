"""Reads of the locations table: pickers, the regions there are, and the checks commands make.

Reads that a screen shows take the actor and list only the locations in the actor's regions
(queries.region_scope), except transfer destinations: stock may be sent to any region. The
functions taking `cur` run inside the caller's transaction.
"""

from __future__ import annotations

from queries import permissions
from queries.actor import Actor
from queries.catalog import clean_id
from queries.db import read
from queries.errors import InvalidInput, NotFound
from queries.region_scope import region_condition

# ---------------------------------------------------------------- pickers (one read each)


def visible(actor: Actor) -> list[dict]:
    """Active locations in the actor's regions: the Inventory page's location picker."""
    permissions.require(actor, "stock.view")
    scope, params = region_condition(actor, "region")
    return read(lambda cur: cur.execute(f"""
        SELECT id, name, kind, region, city, country
          FROM locations
         WHERE active AND {scope}
         ORDER BY region, id
    """, params).fetchall())


def transfer_destinations(actor: Actor) -> list[dict]:
    """Every active location: a transfer may go to any region."""
    permissions.require(actor, "stock.view")
    return read(lambda cur: cur.execute("""
        SELECT id, name, kind, region, city
          FROM locations
         WHERE active
         ORDER BY region, id
    """).fetchall())


def restock_choices(actor: Actor) -> list[dict]:
    """Where returned goods may be restocked: active locations in the actor's regions."""
    permissions.require(actor, "order.view")
    scope, params = region_condition(actor, "region")
    return read(lambda cur: cur.execute(f"""
        SELECT id, city, region, kind
          FROM locations
         WHERE active AND {scope}
         ORDER BY region, id
    """, params).fetchall())


def with_available(actor: Actor, sku: str, qty: int) -> list[dict]:
    """Active locations in the actor's regions with at least qty of sku available (where an
    order line may be reallocated to)."""
    permissions.require(actor, "order.view")
    scope, params = region_condition(actor, "l.region")
    return read(lambda cur: cur.execute(f"""
        SELECT s.location_id, l.city, l.region, s.on_hand - s.reserved AS available
          FROM stock s
          JOIN locations l ON l.id = s.location_id
         WHERE {scope}
           AND s.sku = %(sku)s
           AND l.active
           AND s.on_hand - s.reserved >= %(qty)s
         ORDER BY l.region, s.location_id
    """, {**params, "sku": sku, "qty": qty}).fetchall())


def regions(actor: Actor) -> list[str]:
    """The regions the actor may pick from: theirs, or every region there is."""
    if not actor.all_regions:
        return list(actor.regions)
    return every_region()


def every_region() -> list[str]:
    """Every region some location is in (what a user may be given on the Users page)."""
    return read(region_names)


def region_names(cur) -> list[str]:
    """Every region some location is in, active or not, in order."""
    rows = cur.execute("""
        SELECT DISTINCT region
          FROM locations
         ORDER BY region
    """).fetchall()
    return [row["region"] for row in rows]


# ---------------------------------------------------------------- inside a command's transaction


def by_id(cur, location_ids: list[str]) -> dict[str, dict]:
    """{id: {id, region, active}} for those of the ids that exist."""
    rows = cur.execute("""
        SELECT id, region, active
          FROM locations
         WHERE id = ANY(%(ids)s)
    """, {"ids": list(location_ids)}).fetchall()
    return {row["id"]: row for row in rows}


def region_of(cur, location_id: str) -> str:
    """The region of a location, active or not (reads and closing transfers need both)."""
    location_id = clean_id(location_id, "location")
    row = cur.execute("""
        SELECT region
          FROM locations
         WHERE id = %(id)s
    """, {"id": location_id}).fetchone()
    if row is None:
        raise NotFound(f"There is no location {location_id!r}.")
    return row["region"]


def active_for(cur, actor: Actor, action: str, location_id: str) -> dict:
    """An active location in which the actor may perform `action` (NotFound, InvalidInput or
    Forbidden otherwise)."""
    location = cur.execute("""
        SELECT id, region, active
          FROM locations
         WHERE id = %(id)s
    """, {"id": location_id}).fetchone()
    if location is None:
        raise NotFound(f"There is no location {location_id!r}.")
    if not location["active"]:
        raise InvalidInput(f"{location_id} is not active.")
    permissions.require(actor, action, location["region"])
    return location
