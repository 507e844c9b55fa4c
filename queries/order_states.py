"""The order state machine: the one place that says which status may follow which.

    pending -> allocated -> picking -> shipped -> delivered -> returned
    on_hold   from pending, allocated or picking, and back to where it was
    cancelled from any status before shipped (pending, allocated, picking, on_hold)

Which lines hold stock follows from the status: an allocated, picking or on-hold order's lines
hold their reserved_qty; every other status holds nothing (invariant 4).
"""

from __future__ import annotations

from queries.errors import InvalidTransition
from queries.vocabulary import OrderStatus

# The statuses are declared in queries.vocabulary; these names stay for the callers.
PENDING = OrderStatus.PENDING
ALLOCATED = OrderStatus.ALLOCATED
PICKING = OrderStatus.PICKING
SHIPPED = OrderStatus.SHIPPED
DELIVERED = OrderStatus.DELIVERED
CANCELLED = OrderStatus.CANCELLED
RETURNED = OrderStatus.RETURNED
ON_HOLD = OrderStatus.ON_HOLD

STATUSES = (PENDING, ALLOCATED, PICKING, ON_HOLD, SHIPPED, DELIVERED, CANCELLED, RETURNED)
# Statuses from which an order may be put on hold (and to which a hold returns).
OPEN = (PENDING, ALLOCATED, PICKING)
# Lines of orders in these statuses hold their reserved_qty; all other lines hold nothing.
HOLDING_STOCK = (ALLOCATED, PICKING, ON_HOLD)
# Not yet out of the door: late if past promised_by.
NOT_SHIPPED = (PENDING, ALLOCATED, PICKING, ON_HOLD)
# The forward path, for funnel charts.
FUNNEL = (PENDING, ALLOCATED, PICKING, SHIPPED, DELIVERED)

TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({ALLOCATED, ON_HOLD, CANCELLED}),
    ALLOCATED: frozenset({PICKING, ON_HOLD, CANCELLED}),
    PICKING: frozenset({SHIPPED, ON_HOLD, CANCELLED}),
    SHIPPED: frozenset({DELIVERED}),
    DELIVERED: frozenset({RETURNED}),
    # on_hold goes back to the status it was held from (checked below) or is cancelled.
    ON_HOLD: frozenset({PENDING, ALLOCATED, PICKING, CANCELLED}),
    CANCELLED: frozenset(),
    RETURNED: frozenset(),
}

# Lines may be added, removed, re-sized or re-allocated only before picking starts.
LINES_EDITABLE = (PENDING, ALLOCATED)
# The shipping address may change until the parcel leaves.
ADDRESS_EDITABLE = NOT_SHIPPED


def label(status: str | None) -> str:
    """The status as a word in a sentence ("on hold"); an unknown one as stored."""
    if status is None:
        return "none"
    try:
        return OrderStatus(status).label
    except ValueError:
        return status.replace("_", " ")


def check_transition(current: str, target: str, held_from: str | None = None) -> None:
    """Raise InvalidTransition unless `current` may become `target`.

    Only releasing a hold passes `held_from`: an order on hold goes back to exactly that
    status, and no other command (allocate, mark picking, ...) moves an order off hold.
    """
    if current not in TRANSITIONS:
        raise InvalidTransition(f"Unknown order status {current!r}.")
    if target not in TRANSITIONS:
        raise InvalidTransition(f"Unknown order status {target!r}.")
    allowed = target in TRANSITIONS[current]
    if allowed and current == ON_HOLD and target != CANCELLED:
        allowed = target == held_from
    if not allowed:
        raise InvalidTransition(
            f"An order that is {label(current)} cannot become {label(target)}."
        )


def reached_counts(counts: dict[str, int]) -> dict[str, int]:
    """For a funnel: how many orders reached each forward stage (or a later one).

    Cancelled and on-hold orders count as placed only; returned ones reached delivery.
    """
    later = {
        PENDING: STATUSES,
        ALLOCATED: (ALLOCATED, PICKING, SHIPPED, DELIVERED, RETURNED),
        PICKING: (PICKING, SHIPPED, DELIVERED, RETURNED),
        SHIPPED: (SHIPPED, DELIVERED, RETURNED),
        DELIVERED: (DELIVERED, RETURNED),
    }
    return {stage: sum(counts.get(s, 0) for s in statuses) for stage, statuses in later.items()}


def hold_release_target(status: str, held_from: str | None) -> str:
    """Where releasing a hold takes the order: back to the status it was held from."""
    if status != ON_HOLD:
        raise InvalidTransition(
            f"An order that is {label(status)} is not on hold, so it cannot be released from hold."
        )
    check_transition(ON_HOLD, held_from, held_from)
    return held_from


def can_transition(current: str, target: str, held_from: str | None = None) -> bool:
    try:
        check_transition(current, target, held_from)
    except InvalidTransition:
        return False
    return True


def next_statuses(current: str, held_from: str | None = None) -> list[str]:
    """The statuses an order may move to from here, in display order."""
    return [s for s in STATUSES if can_transition(current, s, held_from)]


def effective_status(status: str, held_from: str | None) -> str:
    """An order on hold behaves like the status it was held from."""
    return held_from if status == ON_HOLD and held_from else status


def holds_stock(status: str) -> bool:
    return status in HOLDING_STOCK


def check_lines_editable(status: str, held_from: str | None = None) -> None:
    if effective_status(status, held_from) not in LINES_EDITABLE:
        raise InvalidTransition(
            f"The lines of an order that is {label(status)} cannot be changed; "
            "lines change only while an order is pending or allocated (or on hold from those)."
        )


def check_address_editable(status: str) -> None:
    if status not in ADDRESS_EDITABLE:
        raise InvalidTransition(
            f"The shipping address of an order that is {label(status)} cannot be changed."
        )
