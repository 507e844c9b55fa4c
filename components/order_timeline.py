"""An order's history as a vertical timeline: who did what, when, from which status to which."""

from __future__ import annotations

import streamlit as st

from queries.order_states import label
from queries.vocabulary import EventKind, event_kind_of, event_label

# The labels live in queries.vocabulary; kept here under the old name for callers.
KIND_WORDS = {kind: kind.label for kind in EventKind}

ICONS = {
    EventKind.PLACED: ":material/add_shopping_cart:", EventKind.ALLOCATED: ":material/inventory:",
    EventKind.PICKING: ":material/shelves:", EventKind.SHIPPED: ":material/local_shipping:",
    EventKind.DELIVERED: ":material/home:", EventKind.RETURNED: ":material/assignment_return:",
    EventKind.PARTIALLY_RETURNED: ":material/assignment_return:",
    EventKind.CANCELLED: ":material/cancel:", EventKind.HELD: ":material/pause_circle:",
    EventKind.HOLD_RELEASED: ":material/play_circle:", EventKind.NOTE: ":material/sticky_note_2:",
}


def _kind(event: dict) -> EventKind | str:
    """The declared kind of a stored event (a legacy seed spelling maps to what it means)."""
    known = event_kind_of(event["kind"], event.get("from_status"), event.get("to_status"))
    return known if known is not None else event["kind"]


def title(event: dict) -> str:
    """The label people read for an event row, legacy spellings included."""
    return event_label(event["kind"], event.get("from_status"), event.get("to_status"))


def describe(event: dict) -> str:
    """One line saying what changed, from the event's details."""
    d = event.get("details") or {}
    kind = _kind(event)
    if kind == EventKind.PLACED:
        text = ", ".join(f"{line['qty']} × {line['sku']}" for line in d.get("lines", []))
        short = d.get("back_ordered") or []
        return text + (f" — back-ordered: {', '.join(s['sku'] for s in short)}" if short else "")
    if kind == EventKind.LINE_QTY_CHANGED:
        return f"line {d.get('line_no')} ({d.get('sku')}): {d.get('from_qty')} → {d.get('to_qty')}"
    if kind == EventKind.LINE_ADDED:
        where = f" at {d['location_id']}" if d.get("location_id") else " (not allocated)"
        return f"line {d.get('line_no')}: {d.get('qty')} × {d.get('sku')}{where}"
    if kind == EventKind.LINE_REMOVED:
        return f"line {d.get('line_no')}: {d.get('qty')} × {d.get('sku')}"
    if kind == EventKind.LINE_REALLOCATED:
        return (f"line {d.get('line_no')} ({d.get('qty')} × {d.get('sku')}): "
                f"{d.get('from_location_id')} → {d.get('to_location_id')}")
    if kind == EventKind.ADDRESS_CHANGED:
        return f"{d.get('from_address')} → {d.get('to_address')}"
    if kind == EventKind.CANCELLED and d.get("released"):
        return "released " + ", ".join(f"{r['qty']} × {r['sku']} at {r['location_id']}"
                                       for r in d["released"])
    if kind == EventKind.SHIPPED and d.get("consumed"):
        return "shipped " + ", ".join(f"{c['qty']} × {c['sku']} from {c['location_id']}"
                                      for c in d["consumed"])
    if kind in (EventKind.RETURNED, EventKind.PARTIALLY_RETURNED) and d.get("restocked"):
        units = ", ".join(f"{r['qty']} × {r['sku']}" for r in d.get("restocked", []))
        rest = (f"; {d.get('still_out')} still with the customer"
                if kind == EventKind.PARTIALLY_RETURNED else "")
        return f"restocked {units} at {d.get('location_id')} — {d.get('reason')}{rest}"
    if kind == EventKind.ALLOCATED and d.get("lines"):
        return ", ".join(f"line {line['line_no']} at {line['location_id']}" for line in d["lines"])
    return ""


def order_timeline(events: list[dict]) -> None:
    if not events:
        st.caption("No history yet.")
        return
    for event in reversed(events):
        with st.container(border=True):
            heading = title(event)
            status = ""
            if event.get("to_status") and event.get("from_status") != event.get("to_status"):
                status = f" · {label(event.get('from_status'))} → **{label(event['to_status'])}**"
            icon = ICONS.get(_kind(event), ":material/edit:")
            st.markdown(f"{icon} **{heading}**{status}")
            st.caption(f"{event['created_at']:%Y-%m-%d %H:%M:%S %Z} · {event['actor']}")
            what = describe(event)
            if what:
                st.text(what)
            if event.get("note"):
                st.text(f"Note: {event['note']}")
