"""An order's history as a vertical timeline: who did what, when, from which status to which."""

from __future__ import annotations

import streamlit as st

from queries.order_states import label

KIND_WORDS = {
    "placed": "Placed",
    "allocated": "Allocated",
    "picking": "Picking started",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "returned": "Returned",
    "partially_returned": "Partly returned",
    "cancelled": "Cancelled",
    "held": "Put on hold",
    "hold_released": "Hold released",
    "line_qty_changed": "Line quantity changed",
    "line_added": "Line added",
    "line_removed": "Line removed",
    "line_reallocated": "Line re-allocated",
    "address_changed": "Shipping address changed",
    "note": "Note",
}

ICONS = {
    "placed": ":material/add_shopping_cart:", "allocated": ":material/inventory:",
    "picking": ":material/shelves:", "shipped": ":material/local_shipping:",
    "delivered": ":material/home:", "returned": ":material/assignment_return:",
    "partially_returned": ":material/assignment_return:",
    "cancelled": ":material/cancel:", "held": ":material/pause_circle:",
    "hold_released": ":material/play_circle:", "note": ":material/sticky_note_2:",
}


def describe(event: dict) -> str:
    """One line saying what changed, from the event's details."""
    d = event.get("details") or {}
    kind = event["kind"]
    if kind == "placed":
        text = ", ".join(f"{line['qty']} × {line['sku']}" for line in d.get("lines", []))
        short = d.get("back_ordered") or []
        return text + (f" — back-ordered: {', '.join(s['sku'] for s in short)}" if short else "")
    if kind == "line_qty_changed":
        return f"line {d.get('line_no')} ({d.get('sku')}): {d.get('from_qty')} → {d.get('to_qty')}"
    if kind == "line_added":
        where = f" at {d['location_id']}" if d.get("location_id") else " (not allocated)"
        return f"line {d.get('line_no')}: {d.get('qty')} × {d.get('sku')}{where}"
    if kind == "line_removed":
        return f"line {d.get('line_no')}: {d.get('qty')} × {d.get('sku')}"
    if kind == "line_reallocated":
        return (f"line {d.get('line_no')} ({d.get('qty')} × {d.get('sku')}): "
                f"{d.get('from_location_id')} → {d.get('to_location_id')}")
    if kind == "address_changed":
        return f"{d.get('from_address')} → {d.get('to_address')}"
    if kind == "cancelled" and d.get("released"):
        return "released " + ", ".join(f"{r['qty']} × {r['sku']} at {r['location_id']}"
                                       for r in d["released"])
    if kind == "shipped" and d.get("consumed"):
        return "shipped " + ", ".join(f"{c['qty']} × {c['sku']} from {c['location_id']}"
                                      for c in d["consumed"])
    if kind in ("returned", "partially_returned"):
        units = ", ".join(f"{r['qty']} × {r['sku']}" for r in d.get("restocked", []))
        rest = (f"; {d.get('still_out')} still with the customer"
                if kind == "partially_returned" else "")
        return f"restocked {units} at {d.get('location_id')} — {d.get('reason')}{rest}"
    if kind == "allocated" and d.get("lines"):
        return ", ".join(f"line {line['line_no']} at {line['location_id']}" for line in d["lines"])
    return ""


def order_timeline(events: list[dict]) -> None:
    if not events:
        st.caption("No history yet.")
        return
    for event in reversed(events):
        with st.container(border=True):
            title = KIND_WORDS.get(event["kind"], event["kind"])
            status = ""
            if event.get("to_status") and event.get("from_status") != event.get("to_status"):
                status = f" · {label(event.get('from_status'))} → **{label(event['to_status'])}**"
            icon = ICONS.get(event["kind"], ":material/edit:")
            st.markdown(f"{icon} **{title}**{status}")
            st.caption(f"{event['created_at']:%Y-%m-%d %H:%M:%S %Z} · {event['actor']}")
            what = describe(event)
            if what:
                st.text(what)
            if event.get("note"):
                st.text(f"Note: {event['note']}")
