"""Sign-in state of the browser session, kept across reloads by a session cookie.

Streamlit gives a script the cookies the browser sent when it connected, but no way to set
one, so the cookie is written by a line of JavaScript on the page (st.html). The cookie holds
a random token; queries.sign_in_sessions keeps its hash and decides whether it still counts.
"""

from __future__ import annotations

import json
import time

import streamlit as st

from components.navigation import PAGES, page_refusal
from queries.actor import Actor
from queries.errors import InvalidCredentials
from queries.sign_in_sessions import (
    SESSION_HOURS,
    TOUCH_SECONDS,
    actor_for_token,
    close_session,
    idle_minutes,
    open_session,
    touch_session,
)
from queries.users import authenticate

ACTOR_KEY = "actor"
TOKEN_KEY = "sign_in_token"
TRIED_TOKEN_KEY = "sign_in_token_tried"
SIGNED_OUT_KEY = "signed_out"
SESSION_COOKIE = "stockroom_session"
LAST_ACTIVITY_KEY = "last_activity"  # time.time() of this browser session's last run
LAST_TOUCH_KEY = "last_touch"  # when the database last heard this sign-in was in use
SIGNED_OUT_REASON_KEY = "signed_out_reason"
RETURN_TO_KEY = "return_to_page"  # the page a signed-out visitor asked for, opened after sign-in


def current_actor() -> Actor | None:
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None:
        actor = _restore_remembered_sign_in()
    elif not _still_in_use():
        return None
    if actor is not None:
        st.session_state[LAST_ACTIVITY_KEY] = time.time()
    return actor


def _still_in_use() -> bool:
    """Whether the open sign-in of this browser session may go on: not idle longer than
    STOCKROOM_IDLE_MINUTES, and (checked at most once a minute) not ended in the database
    (signed out elsewhere, a new password, the account deactivated, its 12 hours over)."""
    now = time.time()
    last = st.session_state.get(LAST_ACTIVITY_KEY)
    if last is not None and now - last > idle_minutes() * 60:
        minutes = idle_minutes()
        sign_out(reason=f"You were signed out after {minutes:g} minute"
                        f"{'' if minutes == 1 else 's'} without activity. Sign in again to go on.")
        return False
    token = st.session_state.get(TOKEN_KEY)
    if token and now - st.session_state.get(LAST_TOUCH_KEY, 0.0) >= TOUCH_SECONDS:
        st.session_state[LAST_TOUCH_KEY] = now
        if not touch_session(token):
            sign_out(reason="Your sign-in has ended. Sign in again to go on.")
            return False
    return True


def _cookie_sent_by_browser() -> str | None:
    value = st.context.cookies.get(SESSION_COOKIE)
    return value if isinstance(value, str) else None  # AppTest has no real browser client


def _restore_remembered_sign_in() -> Actor | None:
    """A reloaded page arrives with the cookie of an earlier sign-in: look it up once."""
    token = _cookie_sent_by_browser()
    if not token or st.session_state.get(TRIED_TOKEN_KEY) == token:
        return None
    st.session_state[TRIED_TOKEN_KEY] = token
    actor = actor_for_token(token)  # a reload is activity: this records it
    if actor is not None:
        st.session_state[ACTOR_KEY] = actor
        st.session_state[TOKEN_KEY] = token
        st.session_state[LAST_TOUCH_KEY] = time.time()
    return actor


def keep_sign_in_in_browser() -> None:
    """Write the session cookie after a sign-in and expire it after a sign-out.

    Called on every run: the browser's cookies as this session sees them are those sent
    when it connected, so the script is rendered until a reload brings the cookie back."""
    token = st.session_state.get(TOKEN_KEY)
    if token and _cookie_sent_by_browser() != token:
        _set_cookie(token, SESSION_HOURS * 3600)
    elif token is None and st.session_state.get(SIGNED_OUT_KEY):
        _set_cookie("", 0)


def _set_cookie(value: str, max_age_seconds: int) -> None:
    cookie = f"{SESSION_COOKIE}={value}; path=/; max-age={max_age_seconds}; SameSite=Strict"
    st.html(
        f"<script>document.cookie = {json.dumps(cookie)}"
        " + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
    )


def require_actor(page: str) -> Actor:
    """The signed-in actor, allowed on the page named `page` (its url_path in
    components.navigation.PAGES); otherwise the page stops.

    st.navigation only offers a role its own pages, but Streamlit can still run a file of
    the pages/ folder directly (its legacy multipage mode, e.g. on a process's first run),
    so every page states its name and checks the role itself.
    """
    actor = current_actor()
    if actor is None:
        # Streamlit ran this file directly (its legacy pages/ mode, on a new session's first
        # request of a bookmarked address): sign in through the app, then come back here.
        st.session_state[RETURN_TO_KEY] = page
        st.switch_page("dashboard.py")
    refusal = page_refusal(actor.role, page)
    if refusal:
        st.error(refusal)
        st.stop()
    return actor


def signed_out_navigation():
    """Signed out, every address shows the sign-in form, so a bookmarked page (`/orders`) asks
    for a sign-in instead of "Page not found", and after it the same address is that page.

    Each page's address is a sign-in page here (the Overview is "/", the default); the pages
    themselves are only offered once someone is signed in (components/navigation.py)."""
    sign_in = [st.Page(sign_in_form, title="Sign in", icon=":material/login:", default=True)]
    sign_in += [st.Page(sign_in_form, title=spec.title, url_path=spec.url_path)
                for spec in PAGES[1:]]
    return st.navigation(sign_in, position="hidden")


def sign_in_form() -> None:
    st.title("Stockroom")
    st.caption("Orders and inventory, live from the database's change stream.")
    reason = st.session_state.get(SIGNED_OUT_REASON_KEY)
    if reason:
        st.info(reason)
    with st.form("sign_in"):
        username = st.text_input("Username", key="sign_in_username")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            actor = authenticate(username, password)
        except InvalidCredentials as exc:
            st.error(str(exc))
            return
        st.session_state[ACTOR_KEY] = actor
        st.session_state[TOKEN_KEY] = open_session(actor)
        st.session_state[LAST_TOUCH_KEY] = time.time()
        st.session_state.pop(SIGNED_OUT_KEY, None)
        st.session_state.pop(SIGNED_OUT_REASON_KEY, None)
        st.rerun()


def return_to_requested_page(role: str) -> None:
    """After a sign-in that began on a bookmarked page, open that page (if the role may)."""
    page = st.session_state.pop(RETURN_TO_KEY, None)
    spec = next((s for s in PAGES if s.url_path == page), None)
    if spec is not None and role in spec.roles:
        st.switch_page(spec.path)


def sign_out_button() -> None:
    actor = current_actor()
    if actor is None:
        return
    with st.sidebar:
        regions = ", ".join(actor.regions) if actor.regions else "all regions"
        st.caption(f"Signed in as **{actor.display_name or actor.username}** · "
                   f"{actor.role.replace('_', ' ')} · {regions}")
        if st.button("Sign out", key="sign_out"):
            sign_out()
            st.rerun()


def sign_out(reason: str | None = None) -> None:
    """End the sign-in here and in the database, so the browser's cookie opens nothing;
    `reason` is what the sign-in form says next (signed out for being idle)."""
    token = st.session_state.pop(TOKEN_KEY, None)
    close_session(token)
    st.session_state.pop(ACTOR_KEY, None)
    st.session_state.pop(LAST_ACTIVITY_KEY, None)
    st.session_state[SIGNED_OUT_KEY] = True
    if reason:
        st.session_state[SIGNED_OUT_REASON_KEY] = reason
    # This session still sees the cookie it connected with: never restore from it again.
    st.session_state[TRIED_TOKEN_KEY] = _cookie_sent_by_browser()
