"""Reads the screens cache for a few seconds, keyed by who may see them: the one place with
st.cache_data over queries/.

What belongs here: reads that do not change per click and that nobody expects to see move the
moment their own form succeeds on the same page: pickers (locations, regions) and the
aggregates and charts of Overview and of the Orders page. What does not: a location's stock,
its ledger, open transfers, suggestions, an order: those are read fresh on every rerun, since
people check them right after their own change.

TTL_SECONDS = 15: long enough that switching tabs, paging or moving between pages inside a few
seconds reuses the figures (a count over 1 M orders costs), short enough that a number never
lags the change stream's Live page by much more than a refresh. After a successful command,
`forget_after_write()` drops every cached read of this process, so a person's own write shows
at once on the next page they open.

Scope. Every cached function takes the database URL, the role and the regions as its
arguments (they are the cache key) and rebuilds the Actor from them alone, so a read can only
depend on what is in its key: results are never shared between roles or region sets (masking
of personal data depends on the role, row scope on the regions), and never between databases.
Users with the same role and regions share entries: their reads return the same rows.
"""

from __future__ import annotations

import streamlit as st

from queries import locations, order_search, overview
from queries.actor import Actor
from queries.db import database_url

TTL_SECONDS = 15
SCOPE_USERNAME = "(cached read)"  # cached reads see the scope only, never who asked


def _scope(actor: Actor) -> tuple[str, str, tuple[str, ...]]:
    """The cache key part that says who may see a result: database, role and regions."""
    return database_url(), actor.role, tuple(sorted(actor.regions))


def _actor(role: str, regions: tuple[str, ...]) -> Actor:
    return Actor(SCOPE_USERNAME, role, regions)


def forget_after_write() -> None:
    """Drop every cached read of this module (all scopes) after a successful command, so
    nobody's own write waits out the ttl."""
    for cached in (_inventory_locations, _order_regions, _overview_figures, _order_kpis):
        cached.clear()


# ---------------------------------------------------------------- pickers


def inventory_locations(actor: Actor) -> list[dict]:
    """The Inventory page's location picker: active locations in the actor's regions."""
    return _inventory_locations(*_scope(actor))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _inventory_locations(url: str, role: str, regions: tuple[str, ...]) -> list[dict]:
    return locations.visible(_actor(role, regions))


def order_regions(actor: Actor) -> list[str]:
    """The order search form's region picker."""
    return _order_regions(*_scope(actor))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _order_regions(url: str, role: str, regions: tuple[str, ...]) -> list[str]:
    return locations.regions(_actor(role, regions))


# ---------------------------------------------------------------- Overview


def overview_figures(actor: Actor) -> dict[str, list[dict]]:
    """Everything Overview shows: stock and orders by region, orders per day, low stock by
    region and category."""
    return _overview_figures(*_scope(actor))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _overview_figures(url: str, role: str, regions: tuple[str, ...]) -> dict[str, list[dict]]:
    actor = _actor(role, regions)
    return {
        "stock": overview.stock_totals_by_region(actor),
        "orders": overview.order_counts_by_region_and_status(actor),
        "daily": overview.orders_per_day(actor),
        "low_stock": overview.low_stock_by_region_and_category(actor),
    }


# ---------------------------------------------------------------- Orders


def order_kpis(actor: Actor) -> dict:
    """Funnel counts, late orders and orders per hour (counting 1 M orders costs)."""
    return _order_kpis(*_scope(actor))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def _order_kpis(url: str, role: str, regions: tuple[str, ...]) -> dict:
    actor = _actor(role, regions)
    return {
        "counts": order_search.status_counts(actor),
        "late": order_search.late_summary(actor)["late"],
        "per_hour": order_search.orders_per_hour(actor, hours=24),
    }
