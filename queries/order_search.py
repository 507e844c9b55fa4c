"""Reading orders: search, detail with timeline, the status funnel, late orders, orders per hour.

Every read is scoped to the actor's regions and masks personal data for roles that may not see
it (queries.customers.mask_row). Searches are parameterised and index-friendly on both
PostgreSQL and CockroachDB:
- order id prefix -> a UUID range `id >= lo AND id <= hi` on the primary key;
- customer name / email prefix, case-insensitive -> `lower(x) >= lower(p) AND lower(x) <
  lower(p) || U+10FFFF` on expression indexes (exact under byte/code-point order, which both the
  embedded database (C.UTF-8) and CockroachDB use), with an escaped LIKE as the exact filter;
- keyset pagination on (created_at, id), newest first; late orders on (promised_by, id), most
  overdue first.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from queries import order_states as states
from queries import permissions
from queries.actor import Actor
from queries.customers import mask_address, mask_row, sees_personal_data
from queries.db import read
from queries.errors import InvalidInput, NotFound
from queries.ids import parse_id
from queries.region_scope import region_condition
from queries.text_input import MAX_SEARCH_TEXT, optional_text

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Upper bound of a prefix range: no string that starts with p sorts after p + U+10FFFF.
PREFIX_END = chr(0x10FFFF)
_HEX = re.compile(r"^[0-9a-f]{1,32}$")
# Written out (our own constants, no user input) so that the planner can match the partial
# index orders_open_promised_idx (migration 0004), which has exactly this predicate.
OPEN_STATUSES_SQL = "(" + ", ".join(f"'{status}'" for status in states.NOT_SHIPPED) + ")"
LATE_CONDITION = f"status IN {OPEN_STATUSES_SQL} AND promised_by < now()"


@dataclass(frozen=True)
class OrderFilters:
    id_prefix: str = ""
    customer: str = ""           # prefix of the customer's name or email, any case
    status: str | None = None
    region: str | None = None
    sku: str = ""
    created_from: date | datetime | None = None   # inclusive
    created_to: date | datetime | None = None     # inclusive for a date, exclusive for a datetime
    late_only: bool = False


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: just after this (sort time, id).

    The sort time is created_at (newest first), or promised_by (most overdue first) when the
    search asks for late orders only.
    """

    at: datetime
    id: str


@dataclass
class Page:
    rows: list[dict] = field(default_factory=list)
    next_after: Cursor | None = None


# ---------------------------------------------------------------- pure helpers

def like_escape(text: str) -> str:
    """Escape LIKE's wildcards so %, _ and backslash match themselves (ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def id_prefix_range(prefix: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """'3f2a' -> (3f2a0000-..., 3f2affff-...): a range the primary key index answers."""
    cleaned = (prefix or "").strip().lower().replace("-", "")
    if not cleaned:
        return None
    if not _HEX.match(cleaned):
        raise InvalidInput("An order id has only the characters 0-9, a-f and dashes (up to 32 digits).")
    return uuid.UUID(cleaned.ljust(32, "0")), uuid.UUID(cleaned.ljust(32, "f"))


def _moment(value: date | datetime, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    start = datetime.combine(value, time.min, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def _scope(actor: Actor, column: str = "o.region") -> tuple[list[str], dict]:
    """The conditions every order read starts from (the actor's regions), and their parameters."""
    permissions.require(actor, "order.view")
    condition, params = region_condition(actor, column)
    return [condition], params


def _customer_condition(text: str) -> tuple[str, dict]:
    text = optional_text(text, "search text", MAX_SEARCH_TEXT) or ""
    return (
        """o.customer_id IN (
               SELECT c2.id
                 FROM customers c2
                WHERE (lower(c2.name) >= lower(%(customer)s::TEXT)
                       AND lower(c2.name) < (lower(%(customer)s::TEXT) || %(prefix_end)s::TEXT)
                       AND lower(c2.name) LIKE lower(%(customer_like)s::TEXT) ESCAPE '\\')
                   OR (lower(c2.email) >= lower(%(customer)s::TEXT)
                       AND lower(c2.email) < (lower(%(customer)s::TEXT) || %(prefix_end)s::TEXT)
                       AND lower(c2.email) LIKE lower(%(customer_like)s::TEXT) ESCAPE '\\'))""",
        {"customer": text, "prefix_end": PREFIX_END, "customer_like": like_escape(text) + "%"},
    )


def _region_filter(actor: Actor, region: str | None, column: str = "region") -> tuple[list[str], dict]:
    """The actor's regions, narrowed to one region when the screen asks for it."""
    conditions, params = _scope(actor, column)
    if region:
        permissions.require(actor, "order.view", region)
        conditions.append(f"{column} = %(region)s")
        params["region"] = region
    return conditions, params


def build_search(actor: Actor, filters: OrderFilters, after: Cursor | None = None,
                 limit: int = PAGE_SIZE) -> tuple[str, dict]:
    """The search statement and its parameters (also used by the benchmark to run it in psql)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"A page has 1 to {MAX_PAGE_SIZE} rows.")
    conditions, params = _region_filter(actor, filters.region, "o.region")
    id_range = id_prefix_range(filters.id_prefix)
    if id_range:
        conditions.append("o.id >= %(id_low)s AND o.id <= %(id_high)s")
        params["id_low"], params["id_high"] = id_range
    if filters.customer and filters.customer.strip():
        permissions.require(actor, "order.view_personal_data")
        condition, values = _customer_condition(filters.customer)
        conditions.append(condition)
        params.update(values)
    if filters.status:
        if filters.status not in states.STATUSES:
            raise InvalidInput(f"There is no order status {filters.status!r}.")
        conditions.append("o.status = %(status)s")
        params["status"] = filters.status
    if filters.sku and filters.sku.strip():
        conditions.append("o.id IN (SELECT ol.order_id FROM order_lines ol WHERE ol.sku = %(sku)s)")
        params["sku"] = filters.sku.strip()
    if filters.created_from:
        conditions.append("o.created_at >= %(created_from)s")
        params["created_from"] = _moment(filters.created_from, end=False)
    if filters.created_to:
        conditions.append("o.created_at < %(created_to)s")
        params["created_to"] = _moment(filters.created_to, end=True)
    if filters.late_only:
        conditions.append(f"{LATE_CONDITION.replace('status', 'o.status').replace('promised', 'o.promised')}")
    # Late orders come most overdue first (the (status, promised_by) index finds them); every
    # other search newest first along (created_at, id).
    column, direction, beyond = ("o.promised_by", "ASC", ">") if filters.late_only else \
        ("o.created_at", "DESC", "<")
    if after is not None:
        # The plain bound is implied by the row comparison; it is there because planners
        # estimate row comparisons poorly and then pick a nested loop over the tail.
        conditions.append(f"{column} {beyond}= %(after_at)s "
                          f"AND ({column}, o.id) {beyond} (%(after_at)s, %(after_id)s)")
        params["after_at"], params["after_id"] = after.at, uuid.UUID(str(after.id))
    sql = f"""
        SELECT o.id, o.created_at, o.status, o.held_from_status, o.region, o.total,
               o.promised_by, o.fulfilment_location_id, o.version,
               (o.status = ANY(%(not_shipped)s) AND o.promised_by < now()) AS late,
               c.name AS customer_name, c.email AS customer_email,
               (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) AS lines,
               (SELECT coalesce(sum(l.qty), 0) FROM order_lines l WHERE l.order_id = o.id) AS units
          FROM orders o
          JOIN customers c ON c.id = o.customer_id
         WHERE {" AND ".join(conditions)}
         ORDER BY {column} {direction}, o.id {direction}
         LIMIT %(limit)s
    """
    return sql, {**params, "not_shipped": list(states.NOT_SHIPPED), "limit": limit + 1}


def _present(actor: Actor, row: dict) -> dict:
    row = dict(row)
    row["id"] = str(row["id"])
    return mask_row(actor, row)


# ---------------------------------------------------------------- reads

def search_orders(actor: Actor, filters: OrderFilters | None = None, after: Cursor | None = None,
                  limit: int = PAGE_SIZE) -> Page:
    """One page of matching orders, newest first; page.next_after continues the search."""
    sql, params = build_search(actor, filters or OrderFilters(), after, limit)
    rows = read(lambda cur: cur.execute(sql, params).fetchall())
    page = Page(rows=[_present(actor, row) for row in rows[:limit]])
    if len(rows) > limit:
        last = rows[limit - 1]
        at = last["promised_by"] if (filters and filters.late_only) else last["created_at"]
        page.next_after = Cursor(at, str(last["id"]))
    return page


def _details_for(actor: Actor, details: dict) -> dict:
    if sees_personal_data(actor):
        return details
    return {k: (mask_address(v) if k.endswith("_address") else v) for k, v in details.items()}


def order_detail(actor: Actor, order_id) -> dict:
    """The order with its customer, lines (where each is allocated, what it holds) and timeline."""
    permissions.require(actor, "order.view")
    oid = parse_id(order_id, "order")

    def body(cur):
        order = cur.execute(
            "SELECT o.id, o.customer_id, o.region, o.status, o.held_from_status, "
            "o.fulfilment_location_id, o.ship_address, o.total, o.promised_by, o.created_at, "
            "o.updated_at, o.updated_by, o.version, c.name AS customer_name, "
            "c.email AS customer_email, c.address AS customer_address "
            "FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = %s",
            (oid,),
        ).fetchone()
        if order is None:
            return None
        lines = cur.execute(
            "SELECT ol.line_no, ol.sku, p.name AS product, ol.qty, ol.unit_price, "
            "ol.qty * ol.unit_price AS amount, ol.location_id, l.city AS location_city, "
            "l.region AS location_region, ol.reserved_qty, ol.returned_qty "
            "FROM order_lines ol JOIN products p ON p.sku = ol.sku "
            "LEFT JOIN locations l ON l.id = ol.location_id "
            "WHERE ol.order_id = %s ORDER BY ol.line_no",
            (oid,),
        ).fetchall()
        events = cur.execute(
            "SELECT created_at, actor, kind, from_status, to_status, details, note "
            "FROM order_events WHERE order_id = %s ORDER BY created_at, id",
            (oid,),
        ).fetchall()
        return order, lines, events

    found = read(body)
    if found is None:
        raise NotFound(f"There is no order {oid}.")
    order, lines, events = found
    permissions.require(actor, "order.view", order["region"])
    order = _present(actor, order)
    order["customer_id"] = str(order["customer_id"])
    order["late"] = order["status"] in states.NOT_SHIPPED and order["promised_by"] < datetime.now(UTC)
    order["next_statuses"] = states.next_statuses(order["status"], order["held_from_status"])
    events = [{**event, "details": _details_for(actor, event["details"] or {})} for event in events]
    return {"order": order, "lines": lines, "events": events}


def status_counts(actor: Actor, region: str | None = None) -> dict[str, int]:
    """Orders per status (the funnel), every status present."""
    conditions, params = _region_filter(actor, region)
    rows = read(lambda cur: cur.execute(f"""
        SELECT status, count(*) AS orders
          FROM orders
         WHERE {" AND ".join(conditions)}
         GROUP BY status
    """, params).fetchall())
    counts = dict.fromkeys(states.STATUSES, 0)
    counts.update({row["status"]: row["orders"] for row in rows})
    return counts


def late_summary(actor: Actor, region: str | None = None) -> dict:
    """How many orders are past their promised date and not shipped, and the oldest promise."""
    conditions, params = _region_filter(actor, region)
    conditions.append(LATE_CONDITION)
    row = read(lambda cur: cur.execute(f"""
        SELECT count(*) AS late, min(promised_by) AS oldest_promise
          FROM orders
         WHERE {" AND ".join(conditions)}
    """, params).fetchone())
    return {"late": row["late"], "oldest_promise": row["oldest_promise"]}


def orders_per_hour(actor: Actor, hours: int = 24, region: str | None = None) -> list[dict]:
    """Orders placed per hour over the last `hours` hours (hours with none are left out)."""
    if not 1 <= hours <= 24 * 31:
        raise InvalidInput("Choose between 1 hour and 31 days.")
    conditions, params = _region_filter(actor, region)
    conditions.append("created_at >= %(since)s")
    params["since"] = datetime.now(UTC) - timedelta(hours=hours)
    return read(lambda cur: cur.execute(f"""
        SELECT date_trunc('hour', created_at) AS hour, count(*) AS orders
          FROM orders
         WHERE {" AND ".join(conditions)}
         GROUP BY 1
         ORDER BY 1
    """, params).fetchall())
