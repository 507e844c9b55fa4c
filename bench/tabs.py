"""Inventory tab switch: a rerun of the page with one tab open, next to that tab's own queries.

    python manage.py bench tabs [--scale small] [--rounds 4]

Starts its own embedded PostgreSQL in a temporary directory, seeds it (`stack.seed`, default
--scale small: 30 locations × 1,000 SKUs, 20,000 orders; bench/seeded_server.py) and stops it
at the end.

For an inventory manager (EU) and for admin, the Inventory page is opened through Streamlit's
AppTest (the real dashboard.py, navigation and pages) and the open tab is switched round the six
tabs --rounds times (4 × 6 = 24 switches per actor). Each switch is one `AppTest.run()` with the
tab selected as a click selects it (the tabs' state and the `?tab=` query parameter they are
bound to), i.e. the rerun the browser triggers when a tab is clicked; the run is checked to show
that tab, and the number of tab bodies that ran is reported. The baseline is measured in the
same run on the same server: the queries that tab's screen needs (the page header's location
list and totals, the location's stock, and the tab's own reads), called directly through
queries/, with no Streamlit in between. The ratio is switch / baseline.

Before tabs were lazy they did not track state: clicking a tab changed nothing server-side,
but every rerun (any click, filter or submit on the page) ran all six tabs' queries, whatever
tab was open; the same AppTest.run() measures that rerun.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime

from bench.app_render import ms, open_page
from bench.seeded_server import seeded_server
from queries import locations, replenishment, stock, transfers
from queries.actor import Actor
from stack.seed import SCALES

TAB_KEY = "tab"  # the st.tabs key of pages/inventory.py (also its URL query parameter)
TABS = ["Stock", "Adjust & count", "Bulk count", "Transfers", "Suggestions", "Ledger"]
ACTORS = {
    "inventory manager (EU)": Actor("manager", "inventory_manager", ("EU",), "Eva Manager"),
    "admin (every region)": Actor("admin", "admin", (), "Ada Admin"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=4,
                        help="times round the six tabs per actor (default 4: 24 switches)")
    parser.add_argument("--seed", type=int, default=42)


# A widget only each tab's body draws: how to tell which bodies ran.
MARKERS = {"Stock": "inv_search", "Adjust & count": "adjust_sku", "Bulk count": "bulk_file_0",
           "Transfers": "transfer_sku", "Suggestions": "inv_suggestions_everywhere",
           "Ledger": "ledger_sku"}


def bodies_run(at) -> list[str]:
    """The tabs whose body ran in the last AppTest run."""
    keys = {widget.key for kind in ("text_input", "toggle", "selectbox", "file_uploader")
            for widget in at.get(kind)}
    return [tab for tab, key in MARKERS.items() if key in keys]


def direct_queries(actor: Actor, tab: str) -> None:
    """What the screen with `tab` open needs, straight through queries/: the header's location
    list and totals, the location's stock (its table, sheet or SKU picker) and the tab's reads."""
    location_id = locations.visible(actor)[0]["id"]
    stock.location_totals(actor, location_id)
    stocked = stock.stock_at_location(actor, location_id)
    if tab == "Transfers":
        locations.transfer_destinations(actor)
        transfers.open_transfers(actor, location_id)
    elif tab == "Suggestions":
        replenishment.open_suggestions(actor, location_id)
    elif tab == "Ledger" and stocked:
        sku = stocked[0]["sku"]
        stock.stock_as_of(actor, location_id, sku, datetime.now(UTC))
        stock.ledger_with_running_balance(actor, location_id, sku)


def time_switches(actor: Actor, rounds: int) -> tuple[dict[str, list[float]],
                                                     dict[str, list[float]], list[int]]:
    """Seconds per tab: switching to it through AppTest, and its queries run directly; and how
    many tab bodies ran per switch."""
    at = open_page(actor, "pages/inventory.py")
    switch: dict[str, list[float]] = {tab: [] for tab in TABS}
    direct: dict[str, list[float]] = {tab: [] for tab in TABS}
    bodies: list[int] = []
    for _ in range(rounds):
        for tab in TABS[1:] + TABS[:1]:  # start by leaving the tab that opened first
            # What a click on the tab sends: its new state and the URL's query parameter.
            at.session_state[TAB_KEY] = tab
            at.query_params[TAB_KEY] = tab
            started = time.perf_counter()
            at.run()
            switch[tab].append(time.perf_counter() - started)
            if at.exception:
                raise RuntimeError(f"the {tab} tab failed: {at.exception}")
            ran = bodies_run(at)
            if tab not in ran:
                raise RuntimeError(f"selecting {tab} did not show it (bodies run: {ran})")
            bodies.append(len(ran))
            started = time.perf_counter()
            direct_queries(actor, tab)
            direct[tab].append(time.perf_counter() - started)
    return switch, direct, bodies


def report(name: str, switch: dict[str, list[float]], direct: dict[str, list[float]],
           bodies: list[int]) -> None:
    every_switch = [s for tab in TABS for s in switch[tab]]
    every_direct = [s for tab in TABS for s in direct[tab]]
    p50_switch, p50_direct = statistics.median(every_switch), statistics.median(every_direct)
    print(f"\n{name}: {len(every_switch)} tab switches, "
          f"{statistics.median(bodies):g} tab bodies run per switch (p50)")
    print(f"  {'tab':<16} {'switch p50':>12} {'queries p50':>12} {'ratio':>7}")
    for tab in TABS:
        s, d = statistics.median(switch[tab]), statistics.median(direct[tab])
        print(f"  {tab:<16} {ms(s):>12} {ms(d):>12} {s / d:>7.1f}")
    print(f"  {'all switches':<16} {ms(p50_switch):>12} {ms(p50_direct):>12} "
          f"{p50_switch / p50_direct:>7.1f}   (p95 switch "
          f"{ms(statistics.quantiles(every_switch, n=20)[-1])})")


def run(args: argparse.Namespace) -> int:
    scale = args.scale or "small"
    if scale not in SCALES:
        print(f"error: --scale must be one of {', '.join(SCALES)}", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    with seeded_server(scale, seed_value=args.seed) as server:  # temporary, removed at the end
        print(f"Temporary PostgreSQL on port {server.port}, seeded --scale {scale} in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
        for name, actor in ACTORS.items():
            report(name, *time_switches(actor, args.rounds))
    return 0


if __name__ == "__main__":
    from bench.cli import benchmark_parser

    options = benchmark_parser("tabs", sys.modules[__name__]).parse_args()
    options.options = dict(options.option_pairs or [])
    sys.exit(run(options))
