"""Operations: are the numbers right, and is the change stream flowing?"""

import pandas as pd
import streamlit as st

from components.kpi import kpi_row
from components.process_health import process_health_panel, relay_tile
from components.session import require_actor
from queries.follower_reads import unavailable_reason as follower_reads_off
from queries.heartbeats import process_health
from queries.invariants import INVARIANTS, check_invariants
from queries.stream_health import change_stream_health

require_actor("operations")
st.title("Operations")
st.caption("The invariants every stock and order change must keep, the health of the change "
           "stream that carries them downstream, and the processes that keep it moving.")
if follower_reads_off():
    st.warning("Follower reads are not available on this cluster, so headquarters' figures, "
               "the rollup refresh and the invariant check read current data from the "
               f"leaseholders instead (the cluster said: {follower_reads_off()}). Add a "
               "CockroachDB license key to get them back; see the README, Running on "
               "CockroachDB.")

st.subheader("Invariants")
st.markdown("\n".join(f"{n}. {text}" for n, text in INVARIANTS.items()))
if st.button("Run the check now", key="ops_run_check", type="primary"):
    with st.spinner("Checking every stock row, ledger row, transfer and order line…"):
        st.session_state["ops_report"] = check_invariants(limit=500).as_dict()
report = st.session_state.get("ops_report")
if report is not None:
    if report["ok"]:
        st.success(f"All invariants hold (checked in {report['seconds']:.2f} s).")
    else:
        st.error(f"{len(report['violations'])} violation(s) found in {report['seconds']:.2f} s. "
                 "Each row says what was expected and what the database holds.")
        violations = pd.DataFrame(report["violations"]).astype({"expected": str, "found": str})
        st.dataframe(violations, hide_index=True, width="stretch")
    if report["truncated"]:
        st.warning("Only the first 500 violations of these checks are listed: "
                   + ", ".join(report["truncated"]))

st.subheader("Change stream")
processes = process_health()
health = change_stream_health()
if health["engine"] == "cockroachdb":
    jobs = health["jobs"]
    if jobs:
        st.dataframe(pd.DataFrame(jobs), hide_index=True, width="stretch")
    else:
        st.warning("No changefeed exists. Run `python manage.py changefeed setup`.")
elif health["status"] is None:
    st.warning(f"The relay's replication slot {health['slot']} does not exist yet: start the "
               "stack with `python manage.py up` (or run `python manage.py changefeed setup`).")
else:
    status = health["status"]
    kpi_row([
        relay_tile(processes),
        ("Not yet confirmed", f"{status['lag_bytes'] / 1024:,.0f} KiB",
         "WAL written but not yet acknowledged by the broker"),
        ("WAL retained", f"{status['retained_bytes'] / 1024 / 1024:,.1f} MiB",
         "Kept on disk until the relay confirms it; grows while the relay is down"),
    ])
    st.caption(f"Slot {health['slot']} · confirmed {status['confirmed_flush_lsn']} · "
               f"server at {status['current_lsn']} · WAL status {status['wal_status']}")

st.subheader("Processes")
process_health_panel(processes)
