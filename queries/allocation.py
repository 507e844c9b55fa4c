"""Where an order line is fulfilled from: the best location with enough available stock.

Preference: a location in the customer's region first, then the nearest by great-circle
distance (when the customer's coordinates are known), then the one with most available, then
the location id (so the choice is deterministic). Planning only reads; the caller reserves
through queries.reservations in the same transaction, and apply_movement re-checks each stock
row under FOR UPDATE, so concurrent placements never oversell.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Destination:
    region: str
    lat: float | None = None
    lon: float | None = None

    def distance_km(self, lat: float, lon: float) -> float:
        if self.lat is None or self.lon is None:
            return 0.0
        return haversine_km(self.lat, self.lon, lat, lon)


@dataclass(frozen=True)
class Want:
    line_no: int
    sku: str
    qty: int


def candidates_by_sku(cur, skus: list[str]) -> dict[str, list[dict]]:
    """Active locations holding some available stock of each SKU."""
    rows = cur.execute(
        "SELECT s.sku, s.location_id, l.region, l.lat, l.lon, s.on_hand - s.reserved AS available "
        "FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE s.sku = ANY(%s) AND l.active AND s.on_hand > s.reserved",
        (sorted(set(skus)),),
    ).fetchall()
    found: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        found[row["sku"]].append(row)
    return found


def rank(candidates: list[dict], destination: Destination) -> list[dict]:
    return sorted(candidates, key=lambda c: (
        c["region"] != destination.region,
        round(destination.distance_km(c["lat"], c["lon"]), 3),
        -c["available"],
        c["location_id"],
    ))


def plan(cur, wants: list[Want], destination: Destination,
         exclude: dict[int, str] | None = None) -> dict[int, str | None]:
    """line_no -> chosen location id, or None when no location has enough for that line.

    Several lines asking for the same SKU are planned together, so they never count the same
    available units twice. `exclude` maps a line to a location it must not use.
    """
    exclude = exclude or {}
    options = candidates_by_sku(cur, [w.sku for w in wants])
    ranked = {sku: rank(rows, destination) for sku, rows in options.items()}
    taken: dict[tuple[str, str], int] = defaultdict(int)
    chosen: dict[int, str | None] = {}
    for want in wants:
        chosen[want.line_no] = None
        for candidate in ranked.get(want.sku, []):
            place = (candidate["location_id"], want.sku)
            if candidate["location_id"] == exclude.get(want.line_no):
                continue
            if candidate["available"] - taken[place] >= want.qty:
                taken[place] += want.qty
                chosen[want.line_no] = candidate["location_id"]
                break
    return chosen


def main_location(lines: list[dict]) -> str | None:
    """The location shipping most units of an order (the order's fulfilment location)."""
    units: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.get("location_id"):
            units[line["location_id"]] += line["qty"]
    if not units:
        return None
    return min(units, key=lambda loc: (-units[loc], loc))
