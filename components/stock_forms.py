"""The adjust-on-hand and cycle-count forms for one location."""

from __future__ import annotations

import streamlit as st

from components.forms import run_form_command, show_flash
from queries import inventory
from queries.actor import Actor
from queries.vocabulary import AdjustmentReason


def adjust_form(actor: Actor, location_id: str) -> None:
    st.subheader("Adjust on hand")
    show_flash("adjust")
    with st.form("adjust_form"):
        sku = st.text_input("SKU", key="adjust_sku")
        qty = st.number_input("Change (+ adds, − removes)", value=0, step=1, key="adjust_qty")
        reason = st.selectbox("Reason", [str(r) for r in AdjustmentReason],
                              format_func=lambda code: AdjustmentReason(code).label,
                              key="adjust_reason")
        reference = st.text_input("Reference (optional)", key="adjust_reference",
                                  placeholder="delivery note, RMA number …")
        note = st.text_input("Note", key="adjust_note", help="Required for 'other'.")
        submitted = st.form_submit_button("Apply adjustment", type="primary",
                                          key="adjust_submit")
    if submitted:
        run_form_command(
            "adjust", inventory.adjust_stock,
            lambda r: f"{r['sku']} at {r['location_id']}: {r['delta']:+d} ({r['reason']}); "
                      f"on hand now {r['on_hand']:,}, available {r['available']:,}.",
            actor, location_id=location_id, sku=sku, qty=qty, reason=reason, note=note,
            reference=reference)


def count_form(actor: Actor, location_id: str) -> None:
    st.subheader("Cycle count")
    show_flash("count")
    with st.form("count_form"):
        count_sku = st.text_input("SKU", key="count_sku")
        counted = st.number_input("Counted on the shelf", min_value=0, value=0, step=1,
                                  key="count_qty")
        count_note = st.text_input("Note", key="count_note")
        counted_submit = st.form_submit_button("Record count", type="primary",
                                               key="count_submit")
    if counted_submit:
        run_form_command(
            "count", inventory.record_count,
            lambda r: f"Counted {r['counted']:,} of {r['sku']}: difference "
                      f"{r['difference']:+d}, on hand now {r['on_hand']:,}.",
            actor, location_id=location_id, sku=count_sku, counted=counted, note=count_note)
