"""The invariant checker: set-based SQL for every invariant of DESIGN.md §2.

`python manage.py check` prints each violation and exits 1 when there is any. The operations
page calls check_invariants() and shows the structured result.

All checks read one consistent snapshot (on PostgreSQL a REPEATABLE READ read-only
transaction, which takes no predicate locks and so never makes writers retry). Each check is
one GROUP BY + join over the whole table, never a query per row, and reports at most `limit`
violations.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field

from queries.dialect import dialect_of
from queries.follower_reads import historical_read
from queries.order_states import HOLDING_STOCK
from queries.vocabulary import MovementKind, TransferStatus

# Lines of orders in these statuses hold stock; the rule lives in queries.order_states.
LIVE_ORDER_STATUSES = HOLDING_STOCK
_IN_TRANSIT, _RECEIVED, _CANCELLED = (TransferStatus.IN_TRANSIT, TransferStatus.RECEIVED,
                                      TransferStatus.CANCELLED)

INVARIANTS = {
    1: "stock bounds: on_hand >= 0, 0 <= reserved <= on_hand, incoming >= 0",
    2: "the ledger's sums equal the stock row",
    3: "stock is conserved: incoming = in-transit qty, each transfer's ledger rows balance, "
       "returned units = the return ledger",
    4: "every reservation belongs to a live order line",
    5: "every write is recorded with its actor",
    6: "headquarters' stock rollup equals stock as of its stated time",
}

# A rollup group whose stock rows were all last written this long before the rollup's as_of
# cannot have changed between the rollup's snapshot and now (no transaction runs that long),
# so it must equal stock exactly; younger groups are described as of as_of and are skipped.
ROLLUP_SETTLED = "60 seconds"


@dataclass(frozen=True)
class Violation:
    invariant: int
    check: str
    location_id: str | None
    sku: str | None
    expected: object
    found: object
    detail: str = ""

    def sentence(self) -> str:
        where = " ".join(x for x in (self.location_id, self.sku) if x) or "-"
        detail = f" ({self.detail})" if self.detail else ""
        return (f"invariant {self.invariant} [{self.check}] {where}: expected {self.expected}, "
                f"found {self.found}{detail}")


@dataclass
class CheckReport:
    violations: list[Violation] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)  # checks that hit the limit
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict:
        return {"ok": self.ok, "seconds": round(self.seconds, 3), "truncated": self.truncated,
                "violations": [asdict(v) for v in self.violations]}


def _bounds(cur, limit: int) -> list[Violation]:
    rows = cur.execute(
        "SELECT location_id, sku, on_hand, reserved, incoming FROM stock "
        "WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand OR incoming < 0 "
        "ORDER BY location_id, sku LIMIT %s",
        (limit,),
    ).fetchall()
    found = []
    for r in rows:
        state = f"on_hand {r['on_hand']}, reserved {r['reserved']}, incoming {r['incoming']}"
        found.append(Violation(1, "stock bounds", r["location_id"], r["sku"],
                               "on_hand >= 0, 0 <= reserved <= on_hand, incoming >= 0", state))
    return found


def _ledger_equals_stock(cur, limit: int) -> list[Violation]:
    rows = cur.execute(
        "WITH l AS (SELECT location_id, sku, sum(delta_on_hand) AS on_hand, "
        "sum(delta_reserved) AS reserved, sum(delta_incoming) AS incoming "
        "FROM stock_movements GROUP BY location_id, sku) "
        "SELECT COALESCE(s.location_id, l.location_id) AS location_id, "
        "COALESCE(s.sku, l.sku) AS sku, s.location_id IS NULL AS missing_stock_row, "
        "s.on_hand, s.reserved, s.incoming, "
        "COALESCE(l.on_hand, 0)::INT8 AS ledger_on_hand, "
        "COALESCE(l.reserved, 0)::INT8 AS ledger_reserved, "
        "COALESCE(l.incoming, 0)::INT8 AS ledger_incoming "
        "FROM stock s FULL JOIN l ON l.location_id = s.location_id AND l.sku = s.sku "
        "WHERE s.location_id IS NULL OR s.on_hand <> COALESCE(l.on_hand, 0) "
        "OR s.reserved <> COALESCE(l.reserved, 0) OR s.incoming <> COALESCE(l.incoming, 0) "
        "ORDER BY 1, 2 LIMIT %s",
        (limit,),
    ).fetchall()
    found = []
    for r in rows:
        for column in ("on_hand", "reserved", "incoming"):
            ledger, stock = r[f"ledger_{column}"], r[column]
            if r["missing_stock_row"]:
                found.append(Violation(2, "ledger = stock", r["location_id"], r["sku"],
                                       f"{column} {ledger} (ledger)", "no stock row"))
                break
            if ledger != stock:
                found.append(Violation(2, "ledger = stock", r["location_id"], r["sku"],
                                       f"{column} {ledger} (ledger)", f"{column} {stock} (stock)"))
    return found


def _incoming_equals_in_transit(cur, limit: int) -> list[Violation]:
    rows = cur.execute(
        "WITH t AS (SELECT to_location_id AS location_id, sku, sum(qty) AS qty FROM transfers "
        f"WHERE status = '{_IN_TRANSIT}' GROUP BY to_location_id, sku), "
        "s AS (SELECT location_id, sku, incoming FROM stock WHERE incoming <> 0) "
        "SELECT COALESCE(s.location_id, t.location_id) AS location_id, "
        "COALESCE(s.sku, t.sku) AS sku, COALESCE(s.incoming, 0)::INT8 AS incoming, "
        "COALESCE(t.qty, 0)::INT8 AS in_transit "
        "FROM s FULL JOIN t ON t.location_id = s.location_id AND t.sku = s.sku "
        "WHERE COALESCE(s.incoming, 0) <> COALESCE(t.qty, 0) ORDER BY 1, 2 LIMIT %s",
        (limit,),
    ).fetchall()
    return [Violation(3, "incoming = in-transit transfers", r["location_id"], r["sku"],
                      f"incoming {r['in_transit']} (in-transit transfers)",
                      f"incoming {r['incoming']} (stock)") for r in rows]


def _transfer_ledgers_balance(cur, limit: int) -> list[Violation]:
    """Each transfer's ledger rows: source -qty (0 if cancelled), destination on_hand +received,
    destination incoming +qty while in transit, nothing anywhere else."""
    rows = cur.execute(
        "WITH m AS (SELECT t.id, t.from_location_id, t.to_location_id, t.sku, t.status, t.qty, "
        "t.received_qty, "
        "COALESCE(sum(m.delta_on_hand) FILTER (WHERE m.location_id = t.from_location_id "
        "AND m.sku = t.sku), 0)::INT8 AS source_on_hand, "
        "COALESCE(sum(m.delta_on_hand) FILTER (WHERE m.location_id = t.to_location_id "
        "AND m.sku = t.sku), 0)::INT8 AS destination_on_hand, "
        "COALESCE(sum(m.delta_incoming) FILTER (WHERE m.location_id = t.to_location_id "
        "AND m.sku = t.sku), 0)::INT8 AS destination_incoming, "
        "count(m.id) FILTER (WHERE m.sku <> t.sku OR m.delta_reserved <> 0 OR m.location_id "
        "NOT IN (t.from_location_id, t.to_location_id) OR (m.location_id = t.from_location_id "
        "AND m.delta_incoming <> 0)) AS stray_rows "
        "FROM transfers t LEFT JOIN stock_movements m "
        "ON m.ref_type = 'transfer' AND m.ref_id = t.id::TEXT "
        "GROUP BY t.id, t.from_location_id, t.to_location_id, t.sku, t.status, t.qty, "
        "t.received_qty) "
        f"SELECT *, CASE WHEN status = '{_CANCELLED}' THEN 0 ELSE -qty END AS want_source, "
        f"CASE WHEN status = '{_RECEIVED}' THEN received_qty ELSE 0 END AS want_destination, "
        f"CASE WHEN status = '{_IN_TRANSIT}' THEN qty ELSE 0 END AS want_incoming FROM m "
        "WHERE stray_rows > 0 "
        f"OR source_on_hand <> CASE WHEN status = '{_CANCELLED}' THEN 0 ELSE -qty END "
        f"OR destination_on_hand <> CASE WHEN status = '{_RECEIVED}' THEN received_qty ELSE 0 END "
        f"OR destination_incoming <> CASE WHEN status = '{_IN_TRANSIT}' THEN qty ELSE 0 END "
        "ORDER BY from_location_id, sku, id LIMIT %s",
        (limit,),
    ).fetchall()
    found = []
    for r in rows:
        want = (f"source on_hand {r['want_source']}, destination on_hand "
                f"{r['want_destination']}, destination incoming {r['want_incoming']}, no stray rows")
        got = (f"source on_hand {r['source_on_hand']}, destination on_hand "
               f"{r['destination_on_hand']}, destination incoming {r['destination_incoming']}, "
               f"{r['stray_rows']} stray rows")
        found.append(Violation(3, "transfer ledger balances",
                               f"{r['from_location_id']}->{r['to_location_id']}", r["sku"],
                               want, got, f"transfer {r['id']} {r['status']}"))
    return found


def _returns_match_ledger(cur, limit: int) -> list[Violation]:
    """Units counted back on an order's lines were restocked by exactly that many."""
    rows = cur.execute(
        "WITH l AS (SELECT order_id::TEXT AS order_id, sum(returned_qty) AS units "
        "FROM order_lines WHERE returned_qty <> 0 GROUP BY order_id), "
        "m AS (SELECT ref_id AS order_id, sum(delta_on_hand) AS units FROM stock_movements "
        f"WHERE kind = '{MovementKind.RETURN}' AND ref_type = 'order' GROUP BY ref_id) "
        "SELECT COALESCE(l.order_id, m.order_id) AS order_id, "
        "COALESCE(l.units, 0)::INT8 AS line_units, COALESCE(m.units, 0)::INT8 AS ledger_units "
        "FROM l FULL JOIN m ON m.order_id = l.order_id "
        "WHERE COALESCE(l.units, 0) <> COALESCE(m.units, 0) ORDER BY 1 LIMIT %s",
        (limit,),
    ).fetchall()
    return [Violation(3, "returned units = return ledger", None, None,
                      f"{r['line_units']} units returned (order lines)",
                      f"{r['ledger_units']} units restocked (ledger)", f"order {r['order_id']}")
            for r in rows]


def _reserved_equals_live_lines(cur, limit: int) -> list[Violation]:
    rows = cur.execute(
        "WITH r AS (SELECT ol.location_id, ol.sku, sum(ol.reserved_qty) AS reserved "
        "FROM order_lines ol JOIN orders o ON o.id = ol.order_id "
        "WHERE o.status = ANY(%s) AND ol.reserved_qty <> 0 GROUP BY ol.location_id, ol.sku), "
        "s AS (SELECT location_id, sku, reserved FROM stock WHERE reserved <> 0) "
        "SELECT COALESCE(s.location_id, r.location_id) AS location_id, "
        "COALESCE(s.sku, r.sku) AS sku, COALESCE(s.reserved, 0)::INT8 AS reserved, "
        "COALESCE(r.reserved, 0)::INT8 AS line_reserved "
        "FROM s FULL JOIN r ON r.location_id = s.location_id AND r.sku = s.sku "
        "WHERE COALESCE(s.reserved, 0) <> COALESCE(r.reserved, 0) ORDER BY 1, 2 LIMIT %s",
        (list(LIVE_ORDER_STATUSES), limit),
    ).fetchall()
    return [Violation(4, "reserved = live order lines", r["location_id"], r["sku"],
                      f"reserved {r['line_reserved']} (order lines)",
                      f"reserved {r['reserved']} (stock)") for r in rows]


def _no_reservation_on_dead_orders(cur, limit: int) -> list[Violation]:
    rows = cur.execute(
        "SELECT ol.order_id::TEXT AS order_id, ol.line_no, ol.location_id, ol.sku, "
        "ol.reserved_qty, o.status FROM order_lines ol JOIN orders o ON o.id = ol.order_id "
        "WHERE ol.reserved_qty <> 0 AND NOT (o.status = ANY(%s)) "
        "ORDER BY ol.order_id, ol.line_no LIMIT %s",
        (list(LIVE_ORDER_STATUSES), limit),
    ).fetchall()
    return [Violation(4, "no reservation on closed orders", r["location_id"], r["sku"],
                      "reserved_qty 0", f"reserved_qty {r['reserved_qty']}",
                      f"order {r['order_id']} line {r['line_no']} is {r['status']}") for r in rows]


def _actors_recorded(cur, limit: int) -> list[Violation]:
    rows = cur.execute(
        "(SELECT 'stock_movements' AS tbl, id::TEXT AS row_id, location_id, sku "
        " FROM stock_movements WHERE actor IS NULL OR btrim(actor) = '' LIMIT %s) "
        "UNION ALL (SELECT 'order_events', id::TEXT, NULL, NULL FROM order_events "
        " WHERE actor IS NULL OR btrim(actor) = '' LIMIT %s) "
        "UNION ALL (SELECT 'transfers', id::TEXT, from_location_id, sku FROM transfers "
        f" WHERE btrim(created_by) = '' OR (status <> '{_IN_TRANSIT}' "
        " AND (closed_by IS NULL OR btrim(closed_by) = '')) LIMIT %s)",
        (limit, limit, limit),
    ).fetchall()
    return [Violation(5, "actor recorded", r["location_id"], r["sku"], "a non-empty actor",
                      "none", f"{r['tbl']} row {r['row_id']}") for r in rows]


def _rollup_equals_stock(cur, limit: int) -> list[Violation]:
    rows = cur.execute(
        """
        WITH state AS (
            SELECT as_of FROM stock_rollup_state WHERE name = 'stock' AND as_of IS NOT NULL
        ), live AS (
            SELECT s.location_id, p.category, count(*) AS bins,
                   sum(s.on_hand)::INT8 AS on_hand, sum(s.reserved)::INT8 AS reserved,
                   sum(s.incoming)::INT8 AS incoming,
                   sum(s.on_hand * p.unit_cost) AS stock_value,
                   count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) AS out_bins,
                   count(*) FILTER (WHERE s.on_hand - s.reserved <= s.reorder_point) AS low_bins,
                   max(s.updated_at) AS last_write
              FROM stock s
              JOIN products p ON p.sku = s.sku
             GROUP BY s.location_id, p.category
        )
        SELECT coalesce(r.location_id, live.location_id) AS location_id,
               coalesce(r.category, live.category) AS category,
               r.bins, r.on_hand, r.reserved, r.incoming, r.stock_value, r.out_bins, r.low_bins,
               live.bins AS live_bins, live.on_hand AS live_on_hand,
               live.reserved AS live_reserved, live.incoming AS live_incoming,
               live.stock_value AS live_stock_value, live.out_bins AS live_out_bins,
               live.low_bins AS live_low_bins
          FROM stock_rollup r
          FULL JOIN live ON live.location_id = r.location_id AND live.category = r.category
          CROSS JOIN state
         WHERE (live.last_write IS NULL
                OR live.last_write <= state.as_of - %(settled)s::INTERVAL)
           AND (r.location_id IS NULL OR live.location_id IS NULL
                OR r.bins <> live.bins OR r.on_hand <> live.on_hand
                OR r.reserved <> live.reserved OR r.incoming <> live.incoming
                OR r.stock_value <> live.stock_value OR r.out_bins <> live.out_bins
                OR r.low_bins <> live.low_bins)
         ORDER BY 1, 2
         LIMIT %(limit)s
        """, {"settled": ROLLUP_SETTLED, "limit": limit}).fetchall()
    columns = ("bins", "on_hand", "reserved", "incoming", "stock_value", "out_bins", "low_bins")
    found = []
    for r in rows:
        rollup = ", ".join(f"{c} {r[c]}" for c in columns)
        live = ", ".join(f"{c} {r['live_' + c]}" for c in columns)
        found.append(Violation(6, "rollup = stock", r["location_id"], None,
                               f"{live} (stock)", f"{rollup} (rollup)",
                               f"category {r['category']}"))
    return found


CHECKS = [
    _bounds,
    _ledger_equals_stock,
    _incoming_equals_in_transit,
    _transfer_ledgers_balance,
    _returns_match_ledger,
    _reserved_equals_live_lines,
    _no_reservation_on_dead_orders,
    _actors_recorded,
    _rollup_equals_stock,
]


def _snapshot(cur) -> None:
    """One consistent snapshot that writers never wait for or retry because of.

    PostgreSQL: REPEATABLE READ takes no predicate locks (a SERIALIZABLE full scan would make
    concurrent writers fail with 40001); more memory for the big GROUP BYs. CockroachDB: a
    historical read at follower_read_timestamp() (a few seconds back), which takes no locks,
    is never restarted by writers and may be served by the nearest replica
    (https://www.cockroachlabs.com/docs/stable/as-of-system-time)."""
    if dialect_of(cur.connection).is_cockroach:
        return  # historical_read has made it a follower read (or a plain one: no license)
    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    cur.execute("SET LOCAL work_mem = '256MB'")


def check_invariants(limit: int = 1000, *, url: str | None = None) -> CheckReport:
    """Run every check in one snapshot; at most `limit` violations per check."""
    started = time.perf_counter()

    def body(cur) -> CheckReport:
        _snapshot(cur)
        report = CheckReport()
        for check in CHECKS:
            found = check(cur, limit)
            if len(found) >= limit:
                report.truncated.append(check.__name__.lstrip("_"))
            report.violations.extend(found)
        return report

    report = historical_read(body, url=url)
    report.seconds = time.perf_counter() - started
    return report


def find_violations(limit: int = 1000, *, url: str | None = None) -> list[Violation]:
    return check_invariants(limit, url=url).violations


def add_arguments_check_command(parser) -> None:
    parser.add_argument("--limit", type=int, default=1000,
                        help="report at most this many violations per check (default 1000)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def check_command(args) -> int:
    try:
        report = check_invariants(getattr(args, "limit", 1000))
    except RuntimeError as exc:  # DATABASE_URL not set
        print(exc, file=sys.stderr)
        return 2
    if getattr(args, "json", False):
        print(json.dumps(report.as_dict(), default=str, indent=2))
        return 0 if report.ok else 1
    for violation in report.violations:
        print(violation.sentence())
    for name in report.truncated:
        print(f"(check {name} stopped at the limit; there may be more violations)")
    if report.ok:
        print(f"all invariants hold ({len(INVARIANTS)} invariants, {len(CHECKS)} checks, "
              f"{report.seconds:.1f} s)")
        return 0
    print(f"{len(report.violations)} violation(s) found in {report.seconds:.1f} s")
    return 1
