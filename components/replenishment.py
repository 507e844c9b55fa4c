"""Replenishment suggestions for inventory managers: accept (creates the transfer) or dismiss."""

from __future__ import annotations

import streamlit as st

from queries import replenishment
from queries.actor import Actor
from queries.errors import DomainError
from queries.idempotency import new_key
from queries.permissions import can


def _form_key(suggestion_id: str, action: str) -> str:
    """One idempotency key per (suggestion, action) button until it succeeds."""
    slot = f"suggestion_{action}_{suggestion_id}_key"
    if slot not in st.session_state:
        st.session_state[slot] = new_key()
    return st.session_state[slot]


def _retire_key(suggestion_id: str, action: str) -> None:
    st.session_state.pop(f"suggestion_{action}_{suggestion_id}_key", None)


def describe(suggestion: dict) -> str:
    low = (f"available {suggestion['observed_available']} ≤ reorder point "
           f"{suggestion['observed_reorder_point']}"
           if suggestion.get("observed_available") is not None else "below its reorder point")
    where = f"**{suggestion['sku']}** ({suggestion['product_name']}) at **{suggestion['location_id']}**"
    if suggestion["from_location_id"]:
        move = (f"Move **{suggestion['qty']}** from **{suggestion['from_location_id']}** "
                f"({suggestion['from_location_name']}).")
    else:
        move = (f"No location in {suggestion['region']} has spare stock: "
                f"order **{suggestion['qty']}** from a supplier.")
    return f"{where}: {low}. {move}"


def suggestions_panel(actor: Actor, location_id: str | None = None) -> None:
    """Open suggestions for the actor's regions (or one location), with Accept / Dismiss."""
    st.subheader("Replenishment suggestions")
    flash = st.session_state.pop("suggestion_flash", None)
    if flash:
        st.success(flash)
    suggestions = replenishment.open_suggestions(actor, location_id)
    if not suggestions:
        st.caption("No open suggestions: every watched stock row is above its reorder point.")
        return
    for suggestion in suggestions:
        sid = suggestion["id"]
        with st.container(border=True):
            text, accept_col, dismiss_col = st.columns([6, 1, 1])
            text.markdown(describe(suggestion))
            if not can(actor, "suggestion.decide", suggestion["region"]):
                continue
            accept = accept_col.button("Accept", key=f"suggestion_accept_{sid}", type="primary",
                                       disabled=suggestion["from_location_id"] is None)
            dismiss = dismiss_col.button("Dismiss", key=f"suggestion_dismiss_{sid}")
            try:
                if accept:
                    result = replenishment.accept_suggestion(actor, sid, _form_key(sid, "accept"))
                    _retire_key(sid, "accept")
                    st.session_state["suggestion_flash"] = (
                        f"Transfer {result['transfer_id']} created: {suggestion['qty']} × "
                        f"{suggestion['sku']} from {suggestion['from_location_id']} to "
                        f"{suggestion['location_id']}.")
                    st.rerun()
                if dismiss:
                    replenishment.dismiss_suggestion(actor, sid, _form_key(sid, "dismiss"))
                    _retire_key(sid, "dismiss")
                    st.session_state["suggestion_flash"] = (
                        f"Dismissed the suggestion for {suggestion['sku']} at "
                        f"{suggestion['location_id']}.")
                    st.rerun()
            except DomainError as exc:
                st.error(str(exc))
