"""Inventory: stock at one location, adjustments, counts, transfers and the ledger."""

from datetime import UTC, date, datetime

import pandas as pd
import streamlit as st

from components.forms import form_key, run_form_command, show_flash
from components.kpi import kpi_row
from components.ledger_chart import ledger_chart, ledger_table
from components.replenishment import suggestions_panel
from components.session import require_actor
from components.stock_table import stock_table
from queries import inventory, stock, transfers

actor = require_actor()
st.title("Inventory")

locations = stock.visible_locations(actor)
if not locations:
    st.info("No active locations in your regions yet.")
    st.stop()
labels = {row["id"]: f"{row['id']} · {row['name']} ({row['region']})" for row in locations}
location_id = st.selectbox("Location", list(labels), format_func=labels.get, key="inv_location")

totals = stock.location_totals(actor, location_id)
stocked = stock.stock_at_location(actor, location_id)
kpi_row([
    ("SKUs", totals["skus"], "Products stocked here"),
    ("On hand", totals["on_hand"], None),
    ("Available", totals["available"], "On hand minus reserved for orders"),
    ("Incoming", totals["incoming"], "On its way here in open transfers"),
    ("Low or out", totals["low_or_out"], "Available at or below the reorder point"),
    ("Stockouts", totals["stockouts"], "Nothing available"),
])

tab_stock, tab_adjust, tab_bulk, tab_transfers, tab_suggestions, tab_ledger = st.tabs(
    ["Stock", "Adjust & count", "Bulk count", "Transfers", "Suggestions", "Ledger"])

with tab_stock:
    search_col, low_col = st.columns([4, 1], vertical_alignment="bottom")
    search = search_col.text_input("Search SKU or product name", key="inv_search",
                                   placeholder="e.g. SKU-00042 or a product name")
    only_low = low_col.toggle("Only low or out", key="inv_only_low")
    shown = (stock.stock_at_location(actor, location_id, search, only_low=only_low)
             if search or only_low else stocked)
    if len(shown) >= stock.STOCK_ROWS_LIMIT:
        st.caption(f"Showing the first {len(shown):,} SKUs of {totals['skus']:,}; search to "
                   "narrow the list.")
    stock_table(shown, key="inv_stock_table", height=600,
                empty_message="Nothing matches." if search else "No stock here yet.")

with tab_adjust:
    left, right = st.columns(2)
    with left:
        st.subheader("Adjust on hand")
        show_flash("adjust")
        with st.form("adjust_form"):
            sku = st.text_input("SKU", key="adjust_sku")
            qty = st.number_input("Change (+ adds, − removes)", value=0, step=1, key="adjust_qty")
            reason = st.selectbox("Reason", list(inventory.ADJUSTMENT_REASONS),
                                  format_func=lambda code: inventory.ADJUSTMENT_REASONS[code][0],
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
    with right:
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

with tab_bulk:
    st.subheader("Bulk count from a CSV")
    st.caption("Columns `location,sku,counted` with a header row. Nothing is applied until you "
               "confirm, and then every row is applied or none.")
    st.download_button(
        "Download a count sheet for this location",
        pd.DataFrame({"location": [location_id] * len(stocked),
                      "sku": [r["sku"] for r in stocked], "counted": ""}).to_csv(index=False),
        file_name=f"count-{location_id}.csv", mime="text/csv", key="bulk_template")
    show_flash("bulk")
    upload_round = st.session_state.setdefault("bulk_upload_round", 0)
    upload = st.file_uploader("Count sheet (CSV)", type=["csv"], key=f"bulk_file_{upload_round}")
    if upload is not None:
        sheet = inventory.parse_count_csv(upload.getvalue())
        preview = inventory.preview_bulk_count(actor, sheet)
        if preview["rows"]:
            st.dataframe(pd.DataFrame(preview["rows"]), hide_index=True, key="bulk_preview",
                         column_config={"difference": st.column_config.NumberColumn(
                             "Difference", format="%+d")})
        if preview["errors"]:
            st.error(f"{len(preview['errors'])} problem(s); fix the sheet and upload it again:\n\n"
                     + "\n".join(f"- {e}" for e in preview["errors"][:50]))
        else:
            st.write(f"{len(preview['rows'])} bins, {preview['changed']} with a difference, "
                     f"net {preview['net_difference']:+,} units.")
            form_key("bulk")  # the key is fixed while this preview is on screen
            if st.button(f"Apply {len(preview['rows'])} counts", type="primary", key="bulk_apply"):
                result = run_form_command(
                    "bulk", inventory.apply_bulk_count,
                    lambda r: f"Applied {r['counted']} counts: {r['changed']} changed, net "
                              f"{r['net_difference']:+,} units.",
                    actor, sheet, rerun=False)
                if result is not None:  # start over with an empty uploader
                    st.session_state["bulk_upload_round"] = upload_round + 1
                    st.rerun()

with tab_transfers:
    destinations = [row for row in stock.transfer_destinations(actor) if row["id"] != location_id]
    create_col, open_col = st.columns([1, 2])
    with create_col:
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

    open_rows = transfers.open_transfers(actor, location_id)
    incoming_rows = [r for r in open_rows if r["direction"] == "in"]

    def transfer_label(row: dict) -> str:
        other = row["from_location_id"] if row["direction"] == "in" else row["to_location_id"]
        arrow = "from" if row["direction"] == "in" else "to"
        return f"{row['qty']:,} × {row['sku']} {arrow} {other} · {row['transfer_id'][:8]}"

    with open_col:
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
            show_flash("receive")
            with st.form("receive_form"):
                by_id = {r["transfer_id"]: r for r in incoming_rows}
                # No default: a transfer that vanished meanwhile leaves the choice empty
                # instead of silently moving it to another transfer.
                receive_id = st.selectbox("Receive", list(by_id), index=None, key="receive_transfer",
                                          format_func=lambda i: transfer_label(by_id[i]),
                                          placeholder="Choose an incoming transfer"
                                          if by_id else "No incoming transfers")
                received = st.number_input("Received quantity (empty: all of it)", min_value=0,
                                           value=None, step=1, key="receive_qty")
                shortfall = st.selectbox("If short, why", [None, *transfers.SHORTFALL_REASONS],
                                         format_func=lambda c: "—" if c is None
                                         else transfers.SHORTFALL_REASONS[c],
                                         key="receive_reason")
                receive_note = st.text_input("Note", key="receive_note")
                do_receive = st.form_submit_button("Receive", type="primary",
                                                   key="receive_submit")
            if do_receive:
                if receive_id is None:
                    st.error("Choose the incoming transfer to receive.")
                else:
                    run_form_command(
                        "receive", transfers.receive_transfer,
                        lambda r: f"Received {r['received_qty']:,} of {r['qty']:,} {r['sku']}"
                                  + (f"; {r['shortfall']:,} written off ({r['shortfall_reason']})."
                                     if r["shortfall"] else "."),
                        actor, transfer_id=receive_id, received_qty=received,
                        shortfall_reason=shortfall, note=receive_note)
        with cancel_col:
            show_flash("cancel")
            with st.form("cancel_form"):
                all_by_id = {r["transfer_id"]: r for r in open_rows}
                cancel_id = st.selectbox("Cancel", list(all_by_id), index=None,
                                         key="cancel_transfer",
                                         format_func=lambda i: transfer_label(all_by_id[i]),
                                         placeholder="Choose an open transfer"
                                         if all_by_id else "No open transfers")
                cancel_note = st.text_input("Note", key="cancel_note")
                do_cancel = st.form_submit_button("Cancel transfer", key="cancel_submit")
            if do_cancel:
                if cancel_id is None:
                    st.error("Choose the open transfer to cancel.")
                else:
                    run_form_command(
                        "cancel", transfers.cancel_transfer,
                        lambda r: f"Cancelled: {r['qty']:,} of {r['sku']} back on hand at "
                                  f"{r['from_location_id']}.",
                        actor, transfer_id=cancel_id, note=cancel_note)

with tab_suggestions:
    everywhere = st.toggle("All my locations", key="inv_suggestions_everywhere",
                           help="Off: only suggestions for the location picked above.")
    suggestions_panel(actor, None if everywhere else location_id)

with tab_ledger:
    if not stocked:
        st.info("No stock here yet, so no ledger either.")
    else:
        by_sku = {row["sku"]: row for row in stocked}
        ledger_sku = st.selectbox("SKU", list(by_sku), key="ledger_sku",
                                  format_func=lambda s: f"{s} · {by_sku[s]['name']}")
        if "asof_date" not in st.session_state or st.session_state.pop("asof_now", False):
            now = datetime.now(UTC)
            st.session_state["asof_date"] = now.date()
            st.session_state["asof_time"] = now.time().replace(second=0, microsecond=0)
        date_col, time_col, now_col = st.columns([2, 2, 1], vertical_alignment="bottom")
        as_of_date = date_col.date_input("As of date (UTC)", key="asof_date",
                                         min_value=date(2000, 1, 1))
        as_of_time = time_col.time_input("As of time (UTC)", key="asof_time", step=60)
        if now_col.button("Now", key="asof_reset"):
            st.session_state["asof_now"] = True
            st.rerun()
        # The whole chosen minute counts: "as of 10:42" includes 10:42:59.
        as_of = datetime.combine(as_of_date, as_of_time.replace(second=59, microsecond=999999),
                                 tzinfo=UTC)
        then = stock.stock_as_of(actor, location_id, ledger_sku, as_of)
        st.caption(f"Rebuilt from {then['movements']:,} ledger rows up to {as_of:%Y-%m-%d %H:%M} UTC.")
        kpi_row([
            ("On hand then", then["on_hand"], None),
            ("Available then", then["available"], None),
            ("Reserved then", then["reserved"], None),
            ("Incoming then", then["incoming"], None),
        ])
        history = stock.ledger_with_running_balance(actor, location_id, ledger_sku)
        ledger_chart(history, key="ledger_chart", as_of=as_of,
                     reorder_point=by_sku[ledger_sku]["reorder_point"])
        ledger_table(history, key="ledger_table")
