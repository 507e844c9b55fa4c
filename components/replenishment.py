"""Replenishment suggestions for inventory managers: accept (creates the transfer) or dismiss."""

from __future__ import annotations

import streamlit as st

from components.forms import run_form_command, show_flash
from queries import replenishment
from queries.actor import Actor
from queries.permissions import can

FLASH = "suggestions"  # one slot for the panel: the decided suggestion leaves the list


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
    show_flash(FLASH)
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
            # One key per (suggestion, action) button, kept until it succeeds.
            if accept_col.button("Accept", key=f"suggestion_accept_{sid}", type="primary",
                                 disabled=suggestion["from_location_id"] is None):
                run_form_command(
                    f"suggestion_accept_{sid}", replenishment.accept_suggestion,
                    lambda r, s=suggestion: (
                        f"Accepted the suggestion: transfer {r['transfer_id'][:8]} takes {s['qty']} × "
                        f"{s['sku']} from {s['from_location_id']} to {s['location_id']}."),
                    actor, sid, flash=FLASH)
            if dismiss_col.button("Dismiss", key=f"suggestion_dismiss_{sid}"):
                run_form_command(
                    f"suggestion_dismiss_{sid}", replenishment.dismiss_suggestion,
                    lambda _, s=suggestion: f"Dismissed the suggestion for {s['sku']} at "
                                            f"{s['location_id']}.",
                    actor, sid, flash=FLASH)
