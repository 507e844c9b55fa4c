"""Sign-in state of the browser session."""

from __future__ import annotations

import sys

import streamlit as st

from queries.actor import Actor
from queries.errors import InvalidCredentials
from queries.users import authenticate

ACTOR_KEY = "actor"


def current_actor() -> Actor | None:
    return st.session_state.get(ACTOR_KEY)


def require_actor() -> Actor:
    """The signed-in actor, allowed on the calling page; otherwise the page stops.

    st.navigation only offers a role its own pages, but Streamlit can still run a file of
    the pages/ folder directly (its legacy multipage mode, e.g. on a process's first run),
    so every page checks the role itself.
    """
    from components.navigation import page_refusal

    actor = current_actor()
    if actor is None:
        st.warning("Please sign in first.")
        st.stop()
    page_file = sys._getframe(1).f_code.co_filename
    refusal = page_refusal(actor.role, page_file)
    if refusal:
        st.error(refusal)
        st.stop()
    return actor


def sign_in_form() -> None:
    st.title("Stockroom")
    st.caption("Orders and inventory, live from the database's change stream.")
    with st.form("sign_in"):
        username = st.text_input("Username", key="sign_in_username")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            st.session_state[ACTOR_KEY] = authenticate(username, password)
        except InvalidCredentials as exc:
            st.error(str(exc))
            return
        st.rerun()


def sign_out_button() -> None:
    actor = current_actor()
    if actor is None:
        return
    with st.sidebar:
        regions = ", ".join(actor.regions) if actor.regions else "all regions"
        st.caption(f"Signed in as **{actor.display_name or actor.username}** · "
                   f"{actor.role.replace('_', ' ')} · {regions}")
        if st.button("Sign out", key="sign_out"):
            st.session_state.pop(ACTOR_KEY, None)
            st.rerun()
