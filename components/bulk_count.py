"""Bulk count from a CSV sheet: download a sheet, upload it, preview, then apply all or nothing."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.forms import form_key, run_form_command, show_flash
from queries import inventory
from queries.actor import Actor


def bulk_count_panel(actor: Actor, location_id: str, stocked: list[dict]) -> None:
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
    if upload is None:
        return
    sheet = inventory.parse_count_csv(upload.getvalue())
    preview = inventory.preview_bulk_count(actor, sheet)
    if preview["rows"]:
        st.dataframe(pd.DataFrame(preview["rows"]), hide_index=True, key="bulk_preview",
                     column_config={"difference": st.column_config.NumberColumn(
                         "Difference", format="%+d")})
    if preview["errors"]:
        st.error(f"{len(preview['errors'])} problem(s); fix the sheet and upload it again:\n\n"
                 + "\n".join(f"- {e}" for e in preview["errors"][:50]))
        return
    st.write(f"{len(preview['rows'])} bins, {preview['changed']} with a difference, "
             f"net {preview['net_difference']:+,} units.")
    form_key("bulk")  # the key is fixed while this preview is on screen
    if st.button(f"Apply {len(preview['rows'])} counts", type="primary", key="bulk_apply"):
        run_form_command(
            "bulk", inventory.apply_bulk_count,
            lambda r: f"Applied {r['counted']} counts: {r['changed']} changed, net "
                      f"{r['net_difference']:+,} units.",
            actor, sheet,
            # Start over with an empty uploader.
            on_success=lambda _: st.session_state.update(bulk_upload_round=upload_round + 1))
