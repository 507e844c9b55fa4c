"""Rendering the dashboard's pages through Streamlit's AppTest, for benchmarks.

A page is opened as a person reaches it: dashboard.py (sign-in state, navigation) with an
actor in the session, then switched to the page. AppTest runs the real scripts in-process, in
a script thread per run, with the process's own st.cache_data, and (share_script_cache) one
cache of compiled scripts, as the Streamlit server does.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from queries.actor import Actor

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")
TIMEOUT = 300  # seconds one run may take (a page over 2 M rows on a busy 2-core machine)


_shared_script_cache = None


def share_script_cache() -> None:
    """Let every AppTest run of this process use one ScriptCache, as the server's Runtime does
    for all its sessions: the scripts are compiled once, not on every run.

    AppTest makes a new ScriptCache per run, so each run would parse and compile dashboard.py
    and the page again (time no real rerun spends), and runs in several threads at once would
    compile concurrently, which Python 3.11's ast module does not survive ("AST constructor
    recursion depth mismatch")."""
    global _shared_script_cache
    if _shared_script_cache is not None:
        return
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    _shared_script_cache = ScriptCache()
    for module in (app_test, local_script_runner):
        module.ScriptCache = lambda: _shared_script_cache


def new_session(actor: Actor, *, query: dict[str, str] | None = None,
                timeout: float = TIMEOUT):
    """A new browser session of the dashboard with `actor` signed in, after its first run (on
    the role's default page, whatever it showed), opened with the URL query parameters
    `query` (as a bookmark opens it)."""
    from streamlit.testing.v1 import AppTest

    share_script_cache()
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["actor"] = actor
    at.query_params.update(query or {})
    at.run()  # not checked: the landing page failing must not stop the others being measured
    return at


def go_to(at, page: str, query: dict[str, str] | None = None) -> float:
    """Switch the session to `page` ("pages/inventory.py"); seconds that run took.

    A page switch clears the URL's query parameters (as in the browser); `query` puts them
    back afterwards, so the page's next reruns see them (the switch itself did not)."""
    at.switch_page(page)
    seconds = timed_run(at, page)
    if query:
        at.query_params.update(query)
    return seconds


def open_page(actor: Actor, page: str, *, timeout: float = TIMEOUT):
    """An AppTest of the dashboard with `actor` signed in, on `page`; it must render."""
    at = new_session(actor, timeout=timeout)
    go_to(at, page)
    return at


def check(at, page: str) -> None:
    if at.exception:
        first = at.exception[0]
        where = (first.stack_trace or [""])[-1].strip().splitlines()[0]
        raise RuntimeError(f"{page} raised {first.message!r} ({where})")


def timed_run(at, page: str) -> float:
    """Seconds one rerun of the page takes (the rerun any click triggers); it must not fail."""
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    check(at, page)
    return seconds


def clear_cached_reads() -> None:
    """Drop every st.cache_data entry of this process (every session shares them)."""
    import streamlit as st

    st.cache_data.clear()


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    """The 95th percentile (inclusive method: with few values, close to the largest)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:,.1f} ms"
