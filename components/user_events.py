"""What the Users page says about account changes."""

from __future__ import annotations

import streamlit as st

from queries.vocabulary import user_event_label


def saved_sentence(saved: dict, role: str) -> str:
    if saved["created"]:
        return f"Saved {saved['username']} as {role.replace('_', ' ')}."
    if not saved["changes"]:
        return f"{saved['username']} already had these settings; nothing changed."
    return f"Updated {saved['username']}: " + "; ".join(saved["changes"]) + "."


def _what(event: dict) -> str:
    details = event["details"] or {}
    if "changes" in details:
        return "; ".join(details["changes"])
    if "role" in details:  # created, or overwritten whole by the seed
        regions = ", ".join(details.get("regions") or []) or "all regions"
        return f"{str(details['role']).replace('_', ' ')} · {regions}"
    return ""


def user_events_table(events: list[dict]) -> None:
    if not events:
        st.caption("No account changes yet.")
        return
    st.dataframe(
        [{"when": e["created_at"], "user": e["username"], "by": e["actor"],
          "change": user_event_label(e["kind"]), "what": _what(e)} for e in events],
        hide_index=True, width="stretch",
        column_config={"when": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD HH:mm")},
    )
