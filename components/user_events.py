"""What the Users page says about account changes, and its two forms' commands.

Account commands take no idempotency key (saving the same settings again, or deactivating an
inactive account, changes nothing), so they run unkeyed through the one form runner, which
shows their sentence in the same three styles as every other form.
"""

from __future__ import annotations

import streamlit as st

from components.forms import run_form_command
from queries import users
from queries.actor import Actor
from queries.vocabulary import user_event_label


def saved_sentence(saved: dict, role: str) -> str:
    if saved["created"]:
        return f"Saved {saved['username']} as {role.replace('_', ' ')}."
    if not saved["changes"]:
        return f"{saved['username']} has these settings."
    return f"Updated {saved['username']}: " + "; ".join(saved["changes"]) + "."


def save_account(actor: Actor, *, role: str, **fields) -> None:
    """The Save user form: a save that changes nothing is "already done"."""

    def save() -> dict:
        saved = users.save_user(actor, role=role, **fields)
        return saved | {"already_applied": not saved["created"] and not saved["changes"]}

    run_form_command("user_save", save, lambda saved: saved_sentence(saved, role),
                     keyed=False, rerun=False)


def set_account_active(actor: Actor, username: str, active: bool) -> None:
    """The Deactivate or reactivate form: an account already in that state is "already done"."""
    state = "active" if active else "deactivated"
    run_form_command("user_active",
                     lambda: {"already_applied": not users.set_active(actor, username, active)},
                     lambda _: f"{username} is {state}.", keyed=False, rerun=False)


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
