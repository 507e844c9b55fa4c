"""The fixes support staff make, as forms and confirmation dialogs.

Each fix carries the order version the person opened (optimistic concurrency) and runs through
components.forms.run_form_command (one idempotency key per fix, renewed only after a success, so
a double click applies once). The outcome is shown above the order after the page reloads it;
an error sentence is shown where the person clicked, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components import forms
from queries import order_states as states
from queries import orders
from queries.actor import Actor
from queries.locations import restock_choices, with_available
from queries.text_input import MAX_NOTE

SEEN = "orders_seen"        # {"id", "version"}: the version the person is working from
FLASH = "order"             # the flash slot of every fix: shown above the order after the reload
CONFIRM = "orders_confirm"  # the status action waiting for confirmation in the dialog
BACKORDER_BATCH = 200       # oldest first; a second click takes the next ones
BACKORDERS = "order_backorders"

STATUS_ACTIONS: dict[str, tuple[str, Callable, str | None, str]] = {
    # action: (button, command, target status (None: back to where the hold came from), icon)
    "allocate": ("Allocate now", orders.allocate_pending, states.ALLOCATED, ":material/inventory:"),
    "picking": ("Start picking", orders.mark_picking, states.PICKING, ":material/shelves:"),
    "shipped": ("Mark shipped", orders.mark_shipped, states.SHIPPED, ":material/local_shipping:"),
    "delivered": ("Mark delivered", orders.mark_delivered, states.DELIVERED, ":material/home:"),
    "hold": ("Put on hold", orders.hold_order, states.ON_HOLD, ":material/pause_circle:"),
    "release": ("Release hold", orders.release_hold, None, ":material/play_circle:"),
    "cancel": ("Cancel order", orders.cancel_order, states.CANCELLED, ":material/cancel:"),
}


# ---------------------------------------------------------------- version and keys

def open_order(order_id: str, version: int) -> None:
    st.session_state[SEEN] = {"id": order_id, "version": version}


def working_version(order: dict) -> int:
    """The version this person opened; a change by someone else since then makes fixes stale."""
    seen = st.session_state.get(SEEN)
    if not seen or seen["id"] != order["id"]:
        open_order(order["id"], order["version"])
        return order["version"]
    return seen["version"]


def apply_fix(name: str, actor: Actor, order: dict, version: int, command: Callable[..., dict],
              success: str | Callable[[dict], str], **kwargs) -> None:
    """Run command(actor, order id, expected_version=version, **kwargs) as the fix `name`; on
    success remember the new version and reload the page.

    `success` is the sentence to show, or makes it from the command's result."""

    def done(result: dict) -> None:
        open_order(order["id"], result["version"])
        st.session_state.pop(CONFIRM, None)

    forms.run_form_command(f"order_{name}", command,
                           success if callable(success) else lambda _: success,
                           actor, order["id"], expected_version=version,
                           flash=FLASH, on_success=done, **kwargs)


def show_flash() -> None:
    """The outcome of the last fix, above the order the page reloaded."""
    forms.show_flash(FLASH)


def stale_warning(order: dict) -> None:
    version = working_version(order)
    if version != order["version"]:
        st.warning(f"This order changed since you opened it (by {order['updated_by']}). "
                   "Your changes will be refused until you reload.")
        if st.button("Reload the order", key="orders_reload", icon=":material/refresh:"):
            open_order(order["id"], order["version"])
            st.rerun()


# ---------------------------------------------------------------- status changes (confirmed in a dialog)

def available_actions(order: dict) -> list[str]:
    actions = []
    for action, (_, _, target, _) in STATUS_ACTIONS.items():
        if action == "release":
            if order["status"] == states.ON_HOLD:
                actions.append(action)
        elif states.can_transition(order["status"], target):
            actions.append(action)
    return actions


def _ask(action: str) -> None:
    st.session_state[CONFIRM] = action


def _forget_confirmation() -> None:
    st.session_state.pop(CONFIRM, None)


@st.dialog("Confirm the change", on_dismiss=_forget_confirmation)
def _confirm_dialog(actor: Actor, order: dict, action: str) -> None:
    title, command, target, _ = STATUS_ACTIONS[action]
    target_label = states.label(target or order.get("held_from_status"))
    st.markdown(f"**{title}** for order `{order['id'][:8]}`: "
                f"{states.label(order['status'])} → **{target_label}**.")
    if action == "cancel":
        st.caption("Cancelling releases every unit this order holds.")
    note = st.text_area("Note (optional)", key="orders_confirm_note")
    left, right = st.columns(2)
    if left.button("Confirm", key="orders_confirm_go", type="primary"):
        apply_fix(action, actor, order, working_version(order), command,
                  f"{title}: done — the order is now {target_label}.", note=note)
    if right.button("Back", key="orders_confirm_back"):
        _forget_confirmation()
        st.rerun()


def status_actions(actor: Actor, order: dict) -> None:
    actions = available_actions(order)
    if not actions:
        st.caption(f"An order that is {states.label(order['status'])} has no further status changes"
                   + (" (see Return)." if order["status"] == states.DELIVERED else "."))
    else:
        for column, action in zip(st.columns(len(actions)), actions, strict=True):
            title, _, _, icon = STATUS_ACTIONS[action]
            column.button(title, key=f"orders_action_{action}", icon=icon, on_click=_ask, args=(action,),
                          width="stretch", type="primary" if action != "cancel" else "secondary")
    pending = st.session_state.get(CONFIRM)
    if pending in actions:
        _confirm_dialog(actor, order, pending)
    elif pending:
        _forget_confirmation()


# ---------------------------------------------------------------- line fixes

def _line_label(lines: list[dict]) -> Callable[[int], str]:
    by_no = {line["line_no"]: line for line in lines}
    return lambda n: f"line {n}: {by_no[n]['qty']} × {by_no[n]['sku']}" + (
        f" at {by_no[n]['location_id']}" if by_no[n]["location_id"] else "")


def line_fixes(actor: Actor, order: dict, lines: list[dict]) -> None:
    if states.effective_status(order["status"], order["held_from_status"]) not in states.LINES_EDITABLE:
        st.info("Lines can change only while an order is pending or allocated "
                "(or on hold from those).")
        return
    version = working_version(order)
    numbers = [line["line_no"] for line in lines]
    describe = _line_label(lines)
    quantity, add, remove, move = st.columns(4)
    with quantity, st.form("fix_qty"):
        st.markdown("**Change quantity**")
        line_no = st.selectbox("Line", numbers, format_func=describe, key="fix_qty_line")
        qty = st.number_input("New quantity", value=1, step=1, key="fix_qty_qty")
        note = st.text_input("Note", key="fix_qty_note")
        if st.form_submit_button("Change quantity", key="fix_qty_submit"):
            apply_fix("qty", actor, order, version, orders.change_line_qty,
                      f"Line {line_no} now has quantity {int(qty)}.",
                      line_no=line_no, qty=int(qty), note=note)
    with add, st.form("fix_add"):
        st.markdown("**Add a line**")
        sku = st.text_input("SKU", key="fix_add_sku")
        add_qty = st.number_input("Quantity", value=1, step=1, key="fix_add_qty")
        add_note = st.text_input("Note", key="fix_add_note")
        if st.form_submit_button("Add line", key="fix_add_submit"):
            apply_fix("add", actor, order, version, orders.add_line,
                      f"Added {int(add_qty)} × {sku.strip()}.", sku=sku, qty=int(add_qty), note=add_note)
    with remove, st.form("fix_remove"):
        st.markdown("**Remove a line**")
        gone = st.selectbox("Line", numbers, format_func=describe, key="fix_remove_line")
        remove_note = st.text_input("Note", key="fix_remove_note")
        if st.form_submit_button("Remove line", key="fix_remove_submit"):
            apply_fix("remove", actor, order, version, orders.remove_line,
                      f"Removed line {gone}; what it held is released.", line_no=gone, note=remove_note)
    with move:
        reallocate_form(actor, order, lines, version)


def reallocate_form(actor: Actor, order: dict, lines: list[dict], version: int) -> None:
    st.markdown("**Re-allocate a line**")
    allocated = [line for line in lines if line["reserved_qty"] > 0]
    if not allocated:
        st.caption("No line is allocated yet: use **Allocate now** under Status.")
        return
    by_no = {line["line_no"]: line for line in allocated}
    line_no = st.selectbox("Line", list(by_no), format_func=_line_label(allocated), key="fix_move_line")
    line = by_no[line_no]
    options = [row for row in with_available(actor, line["sku"], line["qty"])
               if row["location_id"] != line["location_id"]]
    with st.form("fix_move"):
        target = st.selectbox(
            "Move to", [row["location_id"] for row in options], key="fix_move_location",
            format_func=lambda loc: next(f"{r['location_id']} ({r['city']}, {r['available']} available)"
                                         for r in options if r["location_id"] == loc),
        )
        move_note = st.text_input("Note", key="fix_move_note")
        if st.form_submit_button("Re-allocate", key="fix_move_submit", disabled=not options):
            apply_fix("move", actor, order, version, orders.reallocate_line,
                      f"Line {line_no} is now allocated at {target}.",
                      line_no=line_no, location_id=target, note=move_note)
    if not options:
        st.caption(f"No other location has {line['qty']} of {line['sku']} available.")


# ---------------------------------------------------------------- address, note, return

def address_fix(actor: Actor, order: dict) -> None:
    if order["status"] not in states.ADDRESS_EDITABLE:
        st.info("The address cannot change once the order has shipped.")
        return
    version = working_version(order)
    with st.form("fix_address"):
        address = st.text_area("New shipping address", value=order["ship_address"], key="fix_address_text")
        note = st.text_input("Note", key="fix_address_note")
        if st.form_submit_button("Change address", key="fix_address_submit"):
            apply_fix("address", actor, order, version, orders.change_shipping_address,
                      "The shipping address is changed.", address=address, note=note)


def note_fix(actor: Actor, order: dict) -> None:
    version = working_version(order)
    with st.form("fix_note"):
        note = st.text_area("Note", key="fix_note_text", help=f"Up to {MAX_NOTE:,} characters.")
        if st.form_submit_button("Add note", key="fix_note_submit"):
            apply_fix("note", actor, order, version, orders.add_note, "Note added.", note=note)


def return_fix(actor: Actor, order: dict, lines: list[dict]) -> None:
    if order["status"] != states.DELIVERED:
        st.info("Only a delivered order can be returned."
                + (" Every unit of this one is back." if order["status"] == states.RETURNED else ""))
        return
    version = working_version(order)
    locations = restock_choices(actor)
    out = [line for line in lines if line["qty"] > line["returned_qty"]]
    with st.form("fix_return"):
        st.caption("Units coming back on each line (all that is still out, unless you change it).")
        quantities = {
            line["line_no"]: st.number_input(
                f"Line {line['line_no']}: {line['sku']} ({line['qty'] - line['returned_qty']} out)",
                min_value=0, max_value=line["qty"] - line["returned_qty"], step=1,
                value=line["qty"] - line["returned_qty"],
                # A new key per order and per earlier return, so the default is what is out now.
                key=f"fix_return_qty_{order['id']}_{line['line_no']}_{line['returned_qty']}")
            for line in out
        }
        location = st.selectbox(
            "Restock at", [row["id"] for row in locations], key="fix_return_location",
            format_func=lambda loc: next(f"{r['id']} ({r['city']}, {r['region']})"
                                         for r in locations if r["id"] == loc),
        )
        reason = st.text_input("Reason", key="fix_return_reason", placeholder="e.g. damaged, wrong size")
        note = st.text_input("Note", key="fix_return_note")
        if st.form_submit_button("Accept return", key="fix_return_submit"):
            apply_fix("return", actor, order, version, orders.accept_return,
                      lambda result: _return_sentence(result, location),
                      location_id=location or "", reason=reason, quantities=quantities, note=note)


def _return_sentence(result: dict, location: str | None) -> str:
    units = result["units"]
    sentence = f"Return accepted: {units} unit{'s' if units != 1 else ''} restocked at {location}."
    if result["still_out"]:
        sentence += f" {result['still_out']} still with the customer; the order stays delivered."
    return sentence


def backorders_button(actor: Actor, pending: int) -> None:
    """Try every back-ordered order again now (the worker also does so whenever stock rises)."""
    forms.show_flash(BACKORDERS)
    if not pending:
        return
    if st.button(f"Try to allocate the {pending:,} back-ordered order{'s' if pending != 1 else ''}",
                 key="orders_allocate_waiting", icon=":material/inventory:"):
        # No key: each click is meant to try the orders that are still waiting.
        forms.run_form_command(BACKORDERS, orders.allocate_waiting_orders, _backorders_sentence,
                               actor, limit=BACKORDER_BATCH, keyed=False)


def _backorders_sentence(result: dict) -> str:
    tried, short = result["tried"], result["still_short"]
    sentence = f"Allocated {result['allocated']:,} of {tried:,} back-ordered order{'s' if tried != 1 else ''}"
    if short:
        sentence += f"; {short:,} {'is' if short == 1 else 'are'} still short of stock"
    return sentence + "."
