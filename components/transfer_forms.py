"""Transfers from one location's side: ship one, and see, receive or cancel the open ones."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from components.forms import run_form_command, show_flash
from queries import locations, transfers
from queries.actor import Actor
from queries.vocabulary import ShortfallReason


def transfer_label(row: dict) -> str:
    other = row["from_location_id"] if row["direction"] == "in" else row["to_location_id"]
    arrow = "from" if row["direction"] == "in" else "to"
    return f"{row['qty']:,} × {row['sku']} {arrow} {other} · {row['transfer_id'][:8]}"


def ship_transfer_form(actor: Actor, location_id: str) -> None:
    destinations = [row for row in locations.transfer_destinations(actor) if row["id"] != location_id]
    st.subheader("Ship a transfer")
    show_flash("transfer")
    with st.form("transfer_form"):
        to_location = st.selectbox(
            "To", [row["id"] for row in destinations], key="transfer_to",
            format_func=lambda i: next(f"{r['id']} · {r['name']} ({r['region']})"
                                       for r in destinations if r["id"] == i))
        transfer_sku = st.text_input("SKU", key="transfer_sku")
        transfer_qty = st.number_input("Quantity", min_value=1, value=1, step=1,
                                       key="transfer_qty")
        transfer_note = st.text_input("Note", key="transfer_note")
        ship = st.form_submit_button("Ship", type="primary", key="transfer_submit")
    if ship:
        run_form_command(
            "transfer", transfers.create_transfer,
            lambda r: f"Shipped {r['qty']:,} of {r['sku']} to {r['to_location_id']} "
                      f"(transfer {r['transfer_id'][:8]}).",
            actor, from_location_id=location_id, to_location_id=to_location,
            sku=transfer_sku, qty=transfer_qty, note=transfer_note)


def open_transfers_panel(actor: Actor, location_id: str) -> None:
    """The transfers in transit to or from here, with a receive and a cancel form below."""
    open_rows = transfers.open_transfers(actor, location_id)
    st.subheader("Open transfers")
    if open_rows:
        st.dataframe(pd.DataFrame(open_rows), hide_index=True, key="open_transfers",
                     column_order=["direction", "sku", "qty", "from_location_id",
                                   "to_location_id", "created_by", "created_at", "note"],
                     column_config={
                         "direction": st.column_config.TextColumn("In/out", width="small"),
                         "sku": st.column_config.TextColumn("SKU"),
                         "qty": st.column_config.NumberColumn("Qty", format="localized"),
                         "from_location_id": st.column_config.TextColumn("From"),
                         "to_location_id": st.column_config.TextColumn("To"),
                         "created_by": st.column_config.TextColumn("Shipped by"),
                         "created_at": st.column_config.DatetimeColumn(
                             "Shipped", format="YYYY-MM-DD HH:mm"),
                         "note": st.column_config.TextColumn("Note")})
    else:
        st.info("No transfers in transit to or from here.")
    receive_col, cancel_col = st.columns(2)
    with receive_col:
        _receive_form(actor, [r for r in open_rows if r["direction"] == "in"])
    with cancel_col:
        _cancel_form(actor, open_rows)


def _pick_transfer(label: str, rows: list[dict], *, key: str, placeholder: str,
                   placeholder_if_none: str) -> str | None:
    by_id = {r["transfer_id"]: r for r in rows}
    # No default: a transfer that vanished meanwhile leaves the choice empty
    # instead of silently moving it to another transfer.
    return st.selectbox(label, list(by_id), index=None, key=key,
                        format_func=lambda i: transfer_label(by_id[i]),
                        placeholder=placeholder if by_id else placeholder_if_none)


def _run_on_chosen(form: str, transfer_id: str | None, missing: str,
                   command: Callable[..., dict], describe: Callable[[dict], str],
                   actor: Actor, **kwargs) -> None:
    """Run the form's command on the chosen transfer, or ask for a choice if there is none."""
    if transfer_id is None:
        st.error(missing)
    else:
        run_form_command(form, command, describe, actor, transfer_id=transfer_id, **kwargs)


def _receive_form(actor: Actor, incoming_rows: list[dict]) -> None:
    show_flash("receive")
    with st.form("receive_form"):
        receive_id = _pick_transfer("Receive", incoming_rows, key="receive_transfer",
                                    placeholder="Choose an incoming transfer",
                                    placeholder_if_none="No incoming transfers")
        received = st.number_input("Received quantity (empty: all of it)", min_value=0,
                                   value=None, step=1, key="receive_qty")
        shortfall = st.selectbox("If short, why", [None, *(str(r) for r in ShortfallReason)],
                                 format_func=lambda c: "—" if c is None
                                 else ShortfallReason(c).label,
                                 key="receive_reason")
        receive_note = st.text_input("Note", key="receive_note")
        do_receive = st.form_submit_button("Receive", type="primary",
                                           key="receive_submit")
    if do_receive:
        _run_on_chosen(
            "receive", receive_id, "Choose the incoming transfer to receive.",
            transfers.receive_transfer,
            lambda r: f"Received {r['received_qty']:,} of {r['qty']:,} {r['sku']}"
                      + (f"; {r['shortfall']:,} written off ({r['shortfall_reason']})."
                         if r["shortfall"] else "."),
            actor, received_qty=received, shortfall_reason=shortfall, note=receive_note)


def _cancel_form(actor: Actor, open_rows: list[dict]) -> None:
    show_flash("cancel")
    with st.form("cancel_form"):
        cancel_id = _pick_transfer("Cancel", open_rows, key="cancel_transfer",
                                   placeholder="Choose an open transfer",
                                   placeholder_if_none="No open transfers")
        cancel_note = st.text_input("Note", key="cancel_note")
        do_cancel = st.form_submit_button("Cancel transfer", key="cancel_submit")
    if do_cancel:
        _run_on_chosen(
            "cancel", cancel_id, "Choose the open transfer to cancel.",
            transfers.cancel_transfer,
            lambda r: f"Cancelled: {r['qty']:,} of {r['sku']} back on hand at "
                      f"{r['from_location_id']}.",
            actor, note=cancel_note)
