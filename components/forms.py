"""Every form and button that writes runs its command through run_form_command.

One idempotency key per form, kept in st.session_state as form_key_<form> and replaced only after
a success, so a double click (or a rerun that repeats the submit before the page caught up)
applies once: the second run carries the same key and gets the stored result back. A refusal
(any DomainError, including DatabaseUnavailable and OutcomeUnknown) keeps the key, so the
corrected retry, or a retry after a lost connection, is still safe.

One message style for the three outcomes, shown after the rerun from form_flash_<slot>:
- success: st.success with the form's sentence saying what happened;
- refusal: st.error with the command's own sentence, where the person clicked;
- a repeat of an applied key: st.info "Already done — <the same sentence>; nothing changed again."
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components.cached_reads import forget_after_write
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


def already_done(sentence: str) -> str:
    return f"Already done — {sentence.rstrip('.')}; nothing changed again."


def show_outcome(kind: str, sentence: str) -> None:
    if kind == "info":
        st.info(already_done(sentence))
    else:
        st.success(sentence)


def show_flash(slot: str) -> None:
    """Show the outcome the last successful submit left in this slot (after its rerun)."""
    flash = st.session_state.pop(_FLASH.format(slot), None)
    if flash is not None:
        show_outcome(*flash)


def run_form_command(form: str, command: Callable[..., dict], describe: Callable[[dict], str],
                     *args, flash: str | None = None, keyed: bool = True,
                     on_success: Callable[[dict], None] | None = None, rerun: bool = True,
                     **kwargs) -> dict | None:
    """Call command(*args, idempotency_key=<the form's key>, **kwargs) and say how it went.

    describe(result) is the sentence for a success; a result with already_applied gets the same
    sentence in the "already done" style. On success: a new key for the next submit,
    on_success(result), the outcome left in the flash slot (the form's own unless `flash`
    names a shared one) and a rerun so every table shows the change; with rerun=False the
    outcome is shown at once instead. On a DomainError: its sentence as st.error, the key kept.
    keyed=False is for a command that takes no key (each run is meant to do new work).
    """
    if keyed:
        kwargs["idempotency_key"] = form_key(form)
    try:
        result = command(*args, **kwargs)
    except DomainError as exc:
        st.error(str(exc))
        return None
    if keyed:
        renew_form_key(form)
    forget_after_write()  # cached figures (Overview, pickers) show this write at once
    outcome = ("info" if result.get("already_applied") else "success", describe(result))
    if on_success is not None:
        on_success(result)
    if not rerun:
        show_outcome(*outcome)
        return result
    st.session_state[_FLASH.format(flash or form)] = outcome
    st.rerun()
    return result  # not reached: st.rerun() ends this run
