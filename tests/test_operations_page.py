"""The Operations page: the invariant check on demand and the change stream's slot."""

from __future__ import annotations

from pathlib import Path

import psycopg
from streamlit.testing.v1 import AppTest

from queries import replication
from tests import factories
from tests.cdc_helpers import drop_slot
from tests.test_sign_in import APP


def open_page(actor=factories.HQ) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["actor"] = actor
    at.run()
    at.switch_page("pages/operations.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_check_reports_all_invariants_hold_then_names_a_planted_violation(db):
    factories.small_world()
    at = open_page()
    assert any("does not exist yet" in w.value for w in at.warning)  # no relay has run here
    at.button(key="ops_run_check").click()
    at.run()
    assert at.success[0].value.startswith("All invariants hold")

    with psycopg.connect(db) as conn:  # break invariant 2 behind the ledger's back
        conn.execute("UPDATE stock SET on_hand = on_hand + 5 "
                     "WHERE location_id = 'WH-BER-1' AND sku = 'SKU-1'")
    at.button(key="ops_run_check").click()
    at.run()
    assert at.error[0].value.startswith("1 violation(s) found")
    row = at.dataframe[0].value.iloc[0]
    assert (row["invariant"], row["location_id"], row["sku"]) == (2, "WH-BER-1", "SKU-1")
    assert (row["expected"], row["found"]) == ("on_hand 100 (ledger)", "on_hand 105 (stock)")


def test_the_slot_is_shown_once_it_exists(db):
    factories.small_world()
    with replication.connect(db) as conn:
        slot = replication.default_slot_name(replication.database_name(conn))
        replication.ensure_slot(conn, slot)
    try:
        at = open_page(factories.ADMIN)
        labels = [m.label for m in at.metric]
        assert labels == ["Relay", "Not yet confirmed", "WAL retained"]
        assert at.metric[0].value == "not running here"
        assert any(slot in c.value for c in at.caption)
    finally:
        drop_slot(db, slot)


def test_operations_is_for_headquarters_and_admins_only(db):
    from components.navigation import pages_for

    assert "pages/operations.py" not in {p.path for p in pages_for("inventory_manager")}
    assert "pages/operations.py" not in {p.path for p in pages_for("support")}
    # The page's own check, for when Streamlit runs the file without dashboard.py.
    factories.small_world()
    page = AppTest.from_file(str(Path(APP).parent / "pages" / "operations.py"), default_timeout=30)
    page.session_state["actor"] = factories.SUPPORT_EU
    page.run()
    assert [e.value for e in page.error] == [
        "The Operations page is not available to the support role."]
    assert not page.button
