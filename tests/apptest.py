"""Driving the dashboard through Streamlit's AppTest: the one place page tests open the app,
sign in, press buttons, pick tabs and read what the page said.

Every page test goes through dashboard.py (the entry script decides which pages exist and who
may open them), so a page is opened the way a person reaches it: signed in, then navigated to.
`run_page_alone` is the exception: it runs one page file without the entry script, as
Streamlit's pages-directory mode may, to show that the page's own role check holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from queries.actor import Actor

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
TIMEOUT = 60


def open_app(actor: Actor | None = None, page: str | None = None, *,
             state: Mapping[str, object] | None = None, query: Mapping[str, str] | None = None,
             check: bool = True) -> AppTest:
    """The dashboard with actor signed in (None: nobody), on page (e.g. "pages/orders.py").

    state: session state set before the page runs (e.g. {"tab": "Ledger"}, the open tab);
    query: the URL's query parameters, as in a bookmarked link (e.g. {"tab": "Ledger"}); without
    a page they are there from the session's first run (a link to the first page).
    With check, the render must raise no exception (pass check=False to look at one)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if actor is not None:
        at.session_state["actor"] = actor
    if page is None:
        for name, value in (query or {}).items():
            at.query_params[name] = value
    at.run()
    if page is not None:
        at.switch_page(page)
        for name, value in (state or {}).items():
            at.session_state[name] = value
        for name, value in (query or {}).items():
            at.query_params[name] = value
        at.run()
    if check:
        assert not at.exception, at.exception
    return at


def run_page_alone(actor: Actor, page: str) -> AppTest:
    """One page file run without dashboard.py (how Streamlit's pages-directory mode can run it):
    the page's own role check is all that stands between actor and the page."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    at.session_state["actor"] = actor
    at.run()
    assert not at.exception, at.exception
    return at


def sign_in(username: str, password: str) -> AppTest:
    """The sign-in form filled in and submitted, as a person would."""
    at = open_app()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click()
    at.run()
    return at


def click(at: AppTest, key: str) -> AppTest:
    """Press the button (or form submit button) with this key and let the page rerun."""
    at.button(key=key).click()
    at.run()
    assert not at.exception, at.exception
    return at


def select_tab(at: AppTest, key: str, label: str) -> AppTest:
    """What a click on a tab sends: the tab's new state and the URL's query parameter it is
    bound to (without the latter AppTest keeps sending the old one, which wins)."""
    at.session_state[key] = label
    at.query_params[key] = label
    at.run()
    assert not at.exception, at.exception
    return at


def messages(at: AppTest) -> dict[str, list[str]]:
    """What the page said, by kind: {"success": [...], "error": [...], "info": [...],
    "warning": [...]}."""
    return {"success": [e.value for e in at.success], "error": [e.value for e in at.error],
            "info": [e.value for e in at.info], "warning": [e.value for e in at.warning]}


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table showing this column (plain st.dataframe elements carry no key)."""
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no table with a {column!r} column")


# Elements whose .value is what the page shows as text (st.write of a string is markdown).
_TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "text", "code", "latex",
                  "json", "success", "error", "info", "warning", "exception", "toast")
# Widgets: a person reads their labels and the choices they offer.
_WIDGETS = ("button", "checkbox", "toggle", "radio", "selectbox", "multiselect", "select_slider",
            "slider", "text_input", "text_area", "number_input", "date_input", "time_input",
            "color_picker", "file_uploader")


def rendered_text(at: AppTest) -> str:
    """Everything the page shows as text, for "never shows X" checks: headings, text, alerts,
    metrics (label, value, delta), tab and expander labels, widget labels and the options they
    offer, and every cell of st.dataframe and st.table."""
    parts: list[str] = []
    for kind in _TEXT_ELEMENTS:
        parts.extend(str(element.value) for element in getattr(at, kind))
    for element in at.metric:
        parts.extend((element.label, element.value, element.delta or ""))
    for element in [*at.tabs, *at.expander]:
        parts.append(element.label)
    for kind in _WIDGETS:
        for widget in at.get(kind):
            parts.append(str(getattr(widget, "label", "") or ""))
            parts.extend(str(option) for option in getattr(widget, "options", None) or ())
    for element in [*at.dataframe, *at.table]:
        parts.append(element.value.to_csv(index=False))
    return "\n".join(parts)
