"""Every table on a page with its CSV: the file holds exactly the rows and columns shown, and
its name says which filters made it (e.g. stockroom-stock-by-location_region-EU.csv)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from queries.hq_filters import HqFilters, file_safe

CSV_MIME = "text/csv"


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The table as a CSV file: a header line, then one line per row as shown."""
    return frame.to_csv(index=False).encode("utf-8")


def csv_file_name(name: str, filters: HqFilters) -> str:
    """stockroom-<name>_<filters>.csv ('all' when no filter is set)."""
    return f"stockroom-{file_safe(name)}_{filters.file_label()}.csv"


def table_with_csv(frame: pd.DataFrame, name: str, filters: HqFilters, *, key: str,
                   column_config: dict | None = None) -> None:
    """The table (sortable by a click on a column) and a button that downloads it as CSV."""
    st.dataframe(frame, hide_index=True, width="stretch", column_config=column_config)
    st.download_button("Download CSV", csv_bytes(frame), file_name=csv_file_name(name, filters),
                       mime=CSV_MIME, key=key, icon=":material/download:", on_click="ignore")
