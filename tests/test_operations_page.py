"""The Operations page: the invariant check on demand, the change stream's slot, and the
long-running processes as their heartbeats show them."""

from __future__ import annotations

import base64
import json
import socket

import numpy as np
import psycopg
from streamlit.testing.v1 import AppTest

from queries import replication
from queries.heartbeats import Heartbeat
from tests import factories
from tests.apptest import click, messages, open_app, run_page_alone
from tests.cdc_helpers import drop_slot
from tests.heartbeat_helpers import insert_beat

OPERATIONS = "pages/operations.py"


def test_the_check_reports_all_invariants_hold_then_names_a_planted_violation(world):
    at = open_app(factories.HQ, OPERATIONS)
    assert any("does not exist yet" in w for w in messages(at)["warning"])  # no relay ran here
    click(at, "ops_run_check")
    assert messages(at)["success"][0].startswith("All invariants hold")

    # Break invariant 2 behind the ledger's back. The row is stamped as just written: the
    # world is a template copy, older than the rollup's settling time, and an unstamped change
    # to it would also break invariant 6 (headquarters' rollup, built when the page opened).
    with psycopg.connect(world) as conn:
        conn.execute("UPDATE stock SET on_hand = on_hand + 5, updated_at = now() "
                     "WHERE location_id = 'WH-BER-1' AND sku = 'SKU-1'")
    click(at, "ops_run_check")
    assert messages(at)["error"][0].startswith("1 violation(s) found")
    row = at.dataframe[0].value.iloc[0]
    assert (row["invariant"], row["location_id"], row["sku"]) == (2, "WH-BER-1", "SKU-1")
    assert (row["expected"], row["found"]) == ("on_hand 100 (ledger)", "on_hand 105 (stock)")


def test_the_slot_is_shown_once_it_exists(world):
    with replication.connect(world) as conn:
        slot = replication.default_slot_name(replication.database_name(conn))
        replication.ensure_slot(conn, slot)
    try:
        at = open_app(factories.ADMIN, OPERATIONS)
        labels = [m.label for m in at.metric]
        assert labels == ["Relay", "Not yet confirmed", "WAL retained"]
        assert at.metric[0].value == "no heartbeat yet"
        assert any(slot in c.value for c in at.caption)

        # The tile follows the relay's heartbeats, from whichever machine they come.
        insert_beat(world, "relay", "1 minute", {"operations": 1}, host="relay-host-1")
        at.run()
        assert at.metric[0].value == "not beating"
        assert Heartbeat("relay").beat({"operations": 1})
        at.run()
        assert at.metric[0].value == f"beating on {socket.gethostname()}"
    finally:
        drop_slot(world, slot)


def test_operations_is_for_headquarters_and_admins_only(world):
    from components.navigation import pages_for

    assert OPERATIONS not in {p.path for p in pages_for("inventory_manager")}
    assert OPERATIONS not in {p.path for p in pages_for("support")}
    # The page's own check, for when Streamlit runs the file without dashboard.py.
    page = run_page_alone(factories.SUPPORT_EU, OPERATIONS)
    assert messages(page)["error"] == [
        "The Operations page is not available to the support role."]
    assert not page.button


def chart_data(at: AppTest, key_part: str) -> dict[str, list[float]]:
    """The y values of each trace of the plotly chart whose element id mentions key_part.
    Plotly writes numeric arrays as base64 with their dtype."""
    [chart] = [c for c in at.get("plotly_chart") if key_part in c.proto.id]
    traces = {}
    for trace in json.loads(chart.proto.spec)["data"]:
        y = trace["y"]
        if isinstance(y, dict):
            y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
        traces[trace["name"]] = y
    return traces


def test_processes_show_a_plain_sentence_before_any_heartbeat(world):
    at = open_app(factories.HQ, OPERATIONS)
    assert any(i.startswith("No process has sent a heartbeat") for i in messages(at)["info"])
    assert not at.get("plotly_chart")


def test_processes_are_listed_from_their_heartbeats_with_a_stale_one_not_beating(world):
    relay, worker = Heartbeat("relay", every=3600), Heartbeat("worker", every=3600)
    assert relay.beat({"operations": 100, "errors": 0, "retries": 2, "lag_seconds": 0.25})
    assert worker.beat({"operations": 40, "errors": 1, "retries": 0})
    assert relay.beat({"operations": 160, "errors": 1, "retries": 5, "lag_seconds": 0.0},
                      force=True)
    assert worker.beat({"operations": 70, "errors": 3, "retries": 1}, force=True)
    # A simulator on another machine beat once, ten minutes ago, and stopped.
    insert_beat(world, "simulator", "10 minutes", {"operations": 900, "errors": 4},
                host="sim-host", pid=77, started_at="11 minutes")

    at = open_app(factories.ADMIN, OPERATIONS)
    table = at.dataframe[0].value
    assert list(table.columns) == ["process", "host", "pid", "started", "last_beat_age_s",
                                   "ops_per_s", "errors", "retries", "state"]
    rows = {r["process"]: r for r in table.to_dict("records")}
    assert set(rows) == {"relay", "worker", "simulator"}
    assert (rows["relay"]["host"], rows["relay"]["pid"]) == (socket.gethostname(), relay.pid)
    assert rows["relay"]["state"] == rows["worker"]["state"] == "beating"
    assert rows["relay"]["ops_per_s"] > 0 and rows["worker"]["ops_per_s"] > 0
    assert (rows["worker"]["errors"], rows["worker"]["retries"]) == (3, 1)
    assert rows["simulator"]["state"] == "not beating"
    assert rows["simulator"]["host"] == "sim-host" and rows["simulator"]["last_beat_age_s"] >= 600
    assert not at.info

    # Both charts are drawn from the history: errors and retries summed over the processes
    # (each first beat counts from zero: relay 1 + worker 3 + simulator 4 errors), and the
    # relay's lag at each of its beats.
    per_minute = chart_data(at, "ops_errors_retries")
    assert {name: sum(y) for name, y in per_minute.items()} == {"errors": 8, "retries": 6}
    assert list(chart_data(at, "ops_lag").values()) == [[0.25, 0.0]]
    assert any("heartbeat" in c.value for c in at.caption)
