"""Running a command from a form: one idempotency key per form, success or the error sentence.

The key lives in st.session_state and is replaced only after a successful submit, so a double
click (or a rerun that repeats the submit before the page caught up) applies once: the second
run carries the same key and gets the stored result back.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from queries.errors import DomainError
from queries.idempotency import new_key

_KEY = "form_key_{}"
_FLASH = "form_flash_{}"


def form_key(form: str) -> str:
    """The idempotency key the form's next submit will carry."""
    name = _KEY.format(form)
    if name not in st.session_state:
        st.session_state[name] = new_key()
    return st.session_state[name]


def renew_form_key(form: str) -> None:
    st.session_state[_KEY.format(form)] = new_key()


def show_flash(form: str) -> None:
    """Show the outcome left by the last successful submit of this form (after its rerun)."""
    flash = st.session_state.pop(_FLASH.format(form), None)
    if flash is None:
        return
    kind, message = flash
    (st.info if kind == "info" else st.success)(message)


def run_form_command(form: str, command: Callable[..., dict], describe: Callable[[dict], str],
                     *args, rerun: bool = True, **kwargs) -> dict | None:
    """Call command(*args, idempotency_key=<form key>, **kwargs).

    On success: a new key for the next submit, the description as st.success (or st.info
    when the key had already been applied), and a rerun so tables show the change. On a
    DomainError: its sentence as st.error, and the same key stays for the corrected retry.
    With rerun=False the caller reruns (the message waits for show_flash on the next run).
    """
    try:
        result = command(*args, idempotency_key=form_key(form), **kwargs)
    except DomainError as exc:
        st.error(str(exc))
        return None
    renew_form_key(form)
    if result.get("already_applied"):
        flash = ("info", "Already applied — this submit was a repeat, nothing changed again. "
                         + describe(result))
    else:
        flash = ("success", describe(result))
    st.session_state[_FLASH.format(form)] = flash
    if rerun:
        st.rerun()
    return result
