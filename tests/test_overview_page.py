"""The Overview page as headquarters uses it: filters set through the widgets or restored from a
bookmarked URL, tiles that equal direct SQL counts, the SKU drill-down and its as-of table, CSV
downloads equal to the tables shown, and no personal data anywhere on the page.

A tiny seeded world (three regions, every location kind, orders in every status) is built once
per session, its rollup refreshed, and copied per test. Every figure is compared with SQL written
here over the base tables, not with queries/overview.py.
"""

from __future__ import annotations

import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from components.csv_download import CSV_MIME, csv_bytes, csv_file_name
from queries.actor import Actor
from queries.db import fetch_all, fetch_one
from queries.hq_filters import HqFilters
from queries.idempotency import new_key
from queries.inventory import adjust_stock
from tests.apptest import APP, TIMEOUT, messages, open_app, rendered_text, select_tab, table_with
from tests.factories import ADMIN, HQ
from tests.hq_helpers import direct_stock_totals

PAGE = "pages/overview.py"
MANAGER_EU = Actor("manager.eu", "inventory_manager", ("EU",), "Eva Manager")


def overview(actor: Actor, query: dict[str, str] | None = None):
    """The Overview as a signed-in person opens it; with `query`, as a bookmarked or shared URL
    opens it: the URL is there from the session's first run (Overview is everyone's first
    page)."""
    if not query:
        return open_app(actor, PAGE)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["actor"] = actor
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Overview"
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def rerun(widget):
    """Run the page with what was just set on a widget."""
    at = widget.run()
    assert not at.exception, at.exception
    return at


def open_orders(where: str = "TRUE", params: dict | None = None) -> int:
    return fetch_one(f"""
        SELECT count(*) AS n FROM orders o
         WHERE o.status IN ('pending', 'allocated', 'picking', 'on_hold') AND {where}
    """, params or {})["n"]


def assert_tiles(at, direct: dict) -> None:
    assert metric(at, "Units on hand") == f"{direct['on_hand']:,}"
    assert metric(at, "Available") == f"{direct['available']:,}"
    assert metric(at, "Low-stock positions") == f"{direct['low_bins']:,}"
    assert metric(at, "SKUs out somewhere") == f"{direct['out_skus']:,}"


def sample() -> dict:
    """A region, a category and a product name word that exist in the seeded world."""
    place = fetch_one("SELECT region FROM locations ORDER BY id LIMIT 1")
    product = fetch_one("SELECT sku, name, category FROM products ORDER BY sku OFFSET 3 LIMIT 1")
    return {"region": place["region"], "category": product["category"], "sku": product["sku"],
            "word": product["name"].split()[-1].lower()}


def busy_sku() -> str:
    return fetch_one("SELECT sku FROM stock WHERE on_hand - reserved > 20 "
                     "ORDER BY location_id, sku LIMIT 1")["sku"]


def download(at, key: str):
    button = next(b for b in at.get("download_button") if b.proto.id.endswith("-" + key))
    return button.proto


def assert_csv_is_the_table(at, key: str, frame, name: str, filters: HqFilters) -> None:
    """The download button serves exactly these bytes under this name: Streamlit's media id is
    a hash of (bytes, mime type, file name)."""
    expected = _calculate_file_id(csv_bytes(frame), CSV_MIME, csv_file_name(name, filters))
    assert download(at, key).url.rsplit("/", 1)[1] == expected + ".csv"


# ---------------------------------------------------------------- who sees what


@pytest.mark.parametrize("actor", [HQ, ADMIN], ids=["hq_viewer", "admin"])
def test_the_page_renders_every_tab_with_no_personal_data(seeded_world, actor):
    at = overview(actor)
    assert_tiles(at, direct_stock_totals())
    assert metric(at, "Open orders") == f"{open_orders():,}"
    assert any("Data as of" in c.value and "refreshed every" in c.value for c in at.caption)
    shown = [rendered_text(at)]
    for tab in ("Map", "Orders"):
        shown.append(rendered_text(select_tab(at, "view", tab)))
    sku = busy_sku()
    at = overview(actor, query={"sku": sku})          # a SKU in the URL opens the drill-down
    assert table_with(at, "cover_days")["location_id"].size > 0
    shown.append(rendered_text(at))
    page = "\n".join(shown)
    for person in fetch_all("SELECT name, email, address FROM customers"):
        for value in person.values():
            assert value not in page
    links = [e for e in at.get("page_link")]
    assert bool(links) == (actor.role == "admin")


def test_a_regional_manager_sees_only_their_region(seeded_world):
    at = overview(MANAGER_EU)
    assert at.selectbox(key="hq_filter_region").options == ["EU"]
    assert_tiles(at, direct_stock_totals(regions=("EU",)))
    assert metric(at, "Open orders") == f"{open_orders('o.region = %(r)s', {'r': 'EU'}):,}"
    select_tab(at, "view", "Map")
    assert set(table_with(at, "stockout_rate")["region"]) == {"EU"}
    at = overview(MANAGER_EU, query={"region": "NA"})   # a link can narrow, never widen
    assert messages(at)["warning"] == [
        "The link's region “NA” is not one you can choose, so it is left out."]
    assert_tiles(at, direct_stock_totals(regions=("EU",)))


# ---------------------------------------------------------------- filters


def test_each_filter_set_through_the_widgets_changes_the_tiles_to_the_direct_count(seeded_world):
    values = sample()
    at = overview(HQ)
    everything = direct_stock_totals()
    assert_tiles(at, everything)

    rerun(at.selectbox(key="hq_filter_region").select(values["region"]))
    assert_tiles(at, direct_stock_totals(HqFilters(region=values["region"])))
    assert metric(at, "Open orders") == f"{open_orders('o.region = %(r)s', {'r': values['region']}):,}"
    assert at.query_params["region"] == values["region"]

    rerun(at.selectbox(key="hq_filter_category").select(values["category"]))
    assert_tiles(at, direct_stock_totals(HqFilters(region=values["region"], category=values["category"])))

    rerun(at.selectbox(key="hq_filter_region").set_value(None))
    rerun(at.selectbox(key="hq_filter_category").set_value(None))
    assert_tiles(at, everything)
    assert "region" not in at.query_params

    rerun(at.text_input(key="hq_filter_search").input(values["word"]))
    narrowed = direct_stock_totals(HqFilters(search=values["word"]))
    assert 0 < narrowed["on_hand"] < everything["on_hand"]
    assert_tiles(at, narrowed)
    assert any("stock live at" in c.value for c in at.caption)


def test_a_bookmarked_url_restores_the_filters(seeded_world):
    values = sample()
    at = overview(HQ, query={"region": values["region"], "category": values["category"],
                             "view": "Map"})
    assert at.selectbox(key="hq_filter_region").value == values["region"]
    assert at.selectbox(key="hq_filter_category").value == values["category"]
    assert_tiles(at, direct_stock_totals(HqFilters(region=values["region"], category=values["category"])))
    assert set(table_with(at, "stockout_rate")["region"]) == {values["region"]}


def test_an_over_long_search_in_the_url_is_said_and_not_used(seeded_world):
    at = overview(HQ, query={"search": "x" * 201})
    assert "The search can be at most 200 characters; this one has 201." in messages(at)["error"]
    assert_tiles(at, direct_stock_totals())


# ---------------------------------------------------------------- tables, CSV, heat map


def test_the_heat_map_names_the_worst_cell_and_the_csv_is_the_table(seeded_world):
    at = overview(HQ)
    cells = fetch_all("""
        SELECT l.region, p.category,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= s.reorder_point)::float
                 / count(*) AS share,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) AS out
          FROM stock s JOIN locations l ON l.id = s.location_id
          JOIN products p ON p.sku = s.sku
         GROUP BY 1, 2 ORDER BY share DESC, out DESC, region, category""")
    worst = cells[0]
    assert any(f"Worst: {worst['category']} in {worst['region']}," in c.value for c in at.caption)
    table = table_with(at, "cover_days")
    assert_csv_is_the_table(at, "csv_stock_by_region", table, "stock-by-region-and-category",
                            HqFilters())

    values = sample()
    at = overview(HQ, query={"region": values["region"], "view": "Map"})
    table = table_with(at, "stockout_rate")
    assert_csv_is_the_table(at, "csv_stock_by_location", table, "stock-by-location",
                            HqFilters(region=values["region"]))
    assert csv_file_name("stock-by-location", HqFilters(region="EU")) == \
        "stockroom-stock-by-location_region-EU.csv"


# ---------------------------------------------------------------- SKU drill-down


def test_the_drill_down_and_its_as_of_table_equal_stock_and_the_ledger(seeded_world):
    sku = busy_sku()
    bin_ = fetch_one("SELECT location_id, on_hand FROM stock WHERE sku = %(sku)s "
                     "AND on_hand - reserved > 20 ORDER BY location_id LIMIT 1", {"sku": sku})
    before = fetch_one("SELECT now() - INTERVAL '1 minute' AS at")["at"]
    adjust_stock(ADMIN, location_id=bin_["location_id"], sku=sku, qty=-7, reason="damaged",
                 idempotency_key=new_key())

    at = overview(HQ, query={"view": "SKU drill-down"})
    rerun(at.text_input(key="hq_sku_search").input(sku))
    rerun(at.selectbox(key="hq_sku").select(sku))
    assert at.query_params["sku"] == sku
    table = table_with(at, "cover_days")
    direct = fetch_all("SELECT location_id, on_hand, reserved, on_hand - reserved AS available "
                       "FROM stock WHERE sku = %(sku)s ORDER BY location_id", {"sku": sku})
    assert sorted(zip(table["location_id"], table["on_hand"], table["reserved"],
                      table["available"], strict=True)) == [
        (d["location_id"], d["on_hand"], d["reserved"], d["available"]) for d in direct]
    assert_csv_is_the_table(at, "csv_sku_stock", table, f"sku-{sku}-by-location", HqFilters())

    # As of a minute before the adjustment: the ledger's sum up to then, 7 more than now here.
    at.date_input(key="hq_asof_date").set_value(before.date())
    rerun(at.time_input(key="hq_asof_time").set_value(before.time().replace(second=0,
                                                                             microsecond=0)))
    as_of = next(e.value for e in at.dataframe
                 if "incoming" in e.value.columns and "cover_days" not in e.value.columns
                 and "surplus" not in e.value.columns)
    ledger = fetch_all("""
        SELECT location_id, sum(delta_on_hand) AS on_hand FROM stock_movements
         WHERE sku = %(sku)s AND created_at <= %(at)s
         GROUP BY location_id ORDER BY location_id""",
                       {"sku": sku, "at": before.replace(second=59, microsecond=999999)})
    assert sorted(zip(as_of["location_id"], as_of["on_hand"], strict=True)) == [
        (r["location_id"], r["on_hand"]) for r in ledger]
    assert dict(zip(as_of["location_id"], as_of["on_hand"], strict=True))[
        bin_["location_id"]] == bin_["on_hand"]
    sources = table_with(at, "surplus")
    assert list(sources["surplus"]) == sorted(sources["surplus"], reverse=True)


def test_days_of_cover_is_available_over_average_daily_sales(seeded_world):
    at = overview(HQ)
    row = fetch_one("""
        SELECT sum(on_hand - reserved) AS available,
               (SELECT coalesce(sum(sold_28d), 0) FROM stock_rollup) AS sold FROM stock""")
    expected = "—" if not row["sold"] else f"{row['available'] / (row['sold'] / 28):,.1f}"
    assert metric(at, "Days of cover") == expected


def test_a_large_amount_fits_its_tile():
    from components.kpi import compact_number

    assert [compact_number(v) for v in (41_513_204.18, 12_345, 9_999, 2.5e9, None)] == [
        "41.5 M", "12.3 k", "9,999", "2.5 B", "—"]
