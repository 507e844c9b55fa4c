"""The order detail: header, customer, lines with their allocations."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from queries.order_states import label


def order_header(order: dict) -> None:
    status = label(order["status"])
    if order.get("held_from_status"):
        status += f" (from {label(order['held_from_status'])})"
    late = " · :red[late]" if order.get("late") else ""
    st.subheader(f"Order {order['id'][:8]} · {status}{late}")
    st.caption(f"{order['id']} · version {order['version']} · last changed by {order['updated_by']} "
               f"at {order['updated_at']:%Y-%m-%d %H:%M:%S %Z}")
    columns = st.columns(4)
    columns[0].metric("Total", f"{float(order['total']):,.2f}")
    columns[1].metric("Region", order["region"])
    columns[2].metric("Ships from", order.get("fulfilment_location_id") or "not allocated")
    columns[3].metric("Promised by", f"{order['promised_by']:%Y-%m-%d}")
    with st.container(border=True):
        st.markdown(f"**{order['customer_name']}** · {order['customer_email']}")
        st.text(f"Ship to: {order['ship_address']}")
        st.caption(f"Placed {order['created_at']:%Y-%m-%d %H:%M:%S %Z}")


def order_lines_table(lines: list[dict]) -> None:
    frame = pd.DataFrame([{
        "line": line["line_no"], "sku": line["sku"], "product": line["product"],
        "qty": line["qty"], "unit price": float(line["unit_price"]), "amount": float(line["amount"]),
        "allocated at": line["location_id"] or "— (back-ordered)",
        "city": line["location_city"] or "", "reserved": line["reserved_qty"],
        "returned": line["returned_qty"],
    } for line in lines])
    st.dataframe(frame, hide_index=True, width="stretch", key="order_lines_table")
