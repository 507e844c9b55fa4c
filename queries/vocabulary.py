"""The domain's words, declared once: order statuses, order event kinds, stock movement kinds,
movement reasons and transfer statuses, each with the label people read.

Every writer (the commands, the seed) stores these values and every reader (the invariant
checks, the components) compares against and shows them. They are `StrEnum`s, so a member
is a plain `str`: it goes into SQL parameters, compares with a fetched string and serialises
to JSON unchanged.

The ledgers (`order_events`, `stock_movements`) are append-only, so rows written with an older
spelling keep it. The demo seed once wrote its own words for the same things; those spellings
are declared below as legacy aliases. Readers map them to the member they mean (and its
label) with `event_kind_of` / `movement_kind_of`; nothing new is written with them.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    """An order's status (`orders.status`, `order_events.from_status` / `to_status`)."""

    PENDING = "pending"
    ALLOCATED = "allocated"
    PICKING = "picking"
    ON_HOLD = "on_hold"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        """The word in a sentence: "an order that is on hold"."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    OrderStatus.PENDING: "pending",
    OrderStatus.ALLOCATED: "allocated",
    OrderStatus.PICKING: "picking",
    OrderStatus.ON_HOLD: "on hold",
    OrderStatus.SHIPPED: "shipped",
    OrderStatus.DELIVERED: "delivered",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.RETURNED: "returned",
}


class EventKind(StrEnum):
    """What an `order_events` row records."""

    PLACED = "placed"
    ALLOCATED = "allocated"
    PICKING = "picking"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURNED = "returned"
    PARTIALLY_RETURNED = "partially_returned"
    CANCELLED = "cancelled"
    HELD = "held"
    HOLD_RELEASED = "hold_released"
    LINE_QTY_CHANGED = "line_qty_changed"
    LINE_ADDED = "line_added"
    LINE_REMOVED = "line_removed"
    LINE_REALLOCATED = "line_reallocated"
    ADDRESS_CHANGED = "address_changed"
    NOTE = "note"

    @property
    def label(self) -> str:
        return _EVENT_LABELS[self]


_EVENT_LABELS = {
    EventKind.PLACED: "Placed",
    EventKind.ALLOCATED: "Allocated",
    EventKind.PICKING: "Picking started",
    EventKind.SHIPPED: "Shipped",
    EventKind.DELIVERED: "Delivered",
    EventKind.RETURNED: "Returned",
    EventKind.PARTIALLY_RETURNED: "Partly returned",
    EventKind.CANCELLED: "Cancelled",
    EventKind.HELD: "Put on hold",
    EventKind.HOLD_RELEASED: "Hold released",
    EventKind.LINE_QTY_CHANGED: "Line quantity changed",
    EventKind.LINE_ADDED: "Line added",
    EventKind.LINE_REMOVED: "Line removed",
    EventKind.LINE_REALLOCATED: "Line re-allocated",
    EventKind.ADDRESS_CHANGED: "Shipping address changed",
    EventKind.NOTE: "Note",
}

# The event a plain status change is recorded as, by the status it reaches. Leaving a hold
# (for anything but cancelled) is HOLD_RELEASED; see event_kind_for_transition.
_EVENT_BY_TARGET = {
    OrderStatus.PENDING: EventKind.PLACED,
    OrderStatus.ALLOCATED: EventKind.ALLOCATED,
    OrderStatus.PICKING: EventKind.PICKING,
    OrderStatus.ON_HOLD: EventKind.HELD,
    OrderStatus.SHIPPED: EventKind.SHIPPED,
    OrderStatus.DELIVERED: EventKind.DELIVERED,
    OrderStatus.CANCELLED: EventKind.CANCELLED,
    OrderStatus.RETURNED: EventKind.RETURNED,
}


def event_kind_for_transition(from_status: str | None, to_status: str) -> EventKind:
    """The event kind the app writes for a status change from `from_status` to `to_status`."""
    if from_status is None:
        return EventKind.PLACED
    if from_status == OrderStatus.ON_HOLD and to_status != OrderStatus.CANCELLED:
        return EventKind.HOLD_RELEASED
    return _EVENT_BY_TARGET[OrderStatus(to_status)]


# Legacy order event kinds (written by the demo seed before this module existed).
# `created` is the placing of an order (NULL -> pending); `status_changed` carries its
# from/to statuses and means whichever event the app writes for that transition.
LEGACY_CREATED = "created"
LEGACY_STATUS_CHANGED = "status_changed"
LEGACY_EVENT_KINDS = frozenset({LEGACY_CREATED, LEGACY_STATUS_CHANGED})


def event_kind_of(kind: str, from_status: str | None = None,
                  to_status: str | None = None) -> EventKind | None:
    """The declared kind a stored event row means (legacy spellings included), or None."""
    if kind == LEGACY_CREATED:
        return EventKind.PLACED
    if kind == LEGACY_STATUS_CHANGED:
        try:
            return event_kind_for_transition(from_status, to_status)
        except ValueError:
            return None
    try:
        return EventKind(kind)
    except ValueError:
        return None


def event_label(kind: str, from_status: str | None = None, to_status: str | None = None) -> str:
    """The label of a stored event row; an unknown kind shows as it is stored."""
    known = event_kind_of(kind, from_status, to_status)
    if known is not None:
        return known.label
    if kind == LEGACY_STATUS_CHANGED:
        return "Status changed"
    return kind


class MovementKind(StrEnum):
    """What a `stock_movements` row records."""

    RESERVE = "reserve"
    RELEASE = "release"
    SHIP = "ship"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    COUNT = "count"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN_TRANSIT = "transfer_in_transit"
    TRANSFER_IN = "transfer_in"
    TRANSFER_SHORTFALL = "transfer_shortfall"
    TRANSFER_CANCEL = "transfer_cancel"
    TRANSFER_RETURN = "transfer_return"

    @property
    def label(self) -> str:
        return _MOVEMENT_LABELS[self]


_MOVEMENT_LABELS = {
    MovementKind.RESERVE: "Reserved for an order",
    MovementKind.RELEASE: "Reservation released",
    MovementKind.SHIP: "Shipped",
    MovementKind.RETURN: "Customer return",
    MovementKind.ADJUSTMENT: "Adjustment",
    MovementKind.COUNT: "Cycle count",
    MovementKind.TRANSFER_OUT: "Transfer out",
    MovementKind.TRANSFER_IN_TRANSIT: "Transfer on its way in",
    MovementKind.TRANSFER_IN: "Transfer received",
    MovementKind.TRANSFER_SHORTFALL: "Transfer shortfall",
    MovementKind.TRANSFER_CANCEL: "Transfer cancelled",
    MovementKind.TRANSFER_RETURN: "Transfer returned to source",
}


class AdjustmentReason(StrEnum):
    """Why on hand was adjusted (the `reason` of an `adjustment` row)."""

    RECEIVED = "received"
    DAMAGED = "damaged"
    THEFT_OR_LOSS = "theft_or_loss"
    RETURN_RESTOCK = "return_restock"
    PROMOTION = "promotion"
    CORRECTION = "correction"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _ADJUSTMENT_LABELS[self][0]

    @property
    def direction(self) -> int:
        """+1: only adds stock, -1: only removes it, 0: either way."""
        return _ADJUSTMENT_LABELS[self][1]


_ADJUSTMENT_LABELS = {
    AdjustmentReason.RECEIVED: ("Received (outside a transfer)", +1),
    AdjustmentReason.DAMAGED: ("Damaged", -1),
    AdjustmentReason.THEFT_OR_LOSS: ("Theft or loss", -1),
    AdjustmentReason.RETURN_RESTOCK: ("Customer return, restocked", +1),
    AdjustmentReason.PROMOTION: ("Promotion", 0),
    AdjustmentReason.CORRECTION: ("Correction", 0),
    AdjustmentReason.OTHER: ("Other (note required)", 0),
}


class ShortfallReason(StrEnum):
    """Why a transfer arrived short (the `reason` of a `transfer_shortfall` row)."""

    DAMAGED = "damaged"
    THEFT_OR_LOSS = "theft_or_loss"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _SHORTFALL_LABELS[self]


_SHORTFALL_LABELS = {
    ShortfallReason.DAMAGED: "Damaged in transit",
    ShortfallReason.THEFT_OR_LOSS: "Lost or stolen in transit",
    ShortfallReason.OTHER: "Other (note required)",
}


class CountReason(StrEnum):
    """The `reason` of a `count` row."""

    CYCLE_COUNT = "cycle_count"

    @property
    def label(self) -> str:
        return "Cycle count"


class ReturnReason(StrEnum):
    """The declared `reason` of a `return` row. Support staff type their own reason when they
    accept a return (free text, see RETURN_REASON_IS_FREE_TEXT); the seed writes this one."""

    CUSTOMER_RETURN = "customer_return"

    @property
    def label(self) -> str:
        return "Returned by the customer"


# A `return` row's reason is what the person accepting the return typed.
RETURN_REASON_IS_FREE_TEXT = True

# The declared reasons of each movement kind (kinds not listed carry no reason).
REASONS_BY_KIND: dict[MovementKind, type[StrEnum]] = {
    MovementKind.ADJUSTMENT: AdjustmentReason,
    MovementKind.TRANSFER_SHORTFALL: ShortfallReason,
    MovementKind.COUNT: CountReason,
    MovementKind.RETURN: ReturnReason,
}

# Legacy ledger spellings (written by the demo seed before this module existed): its
# transfer rows carried a reason the app never writes. (kind, reason) -> what it means.
LEGACY_DISPATCHED = "dispatched"
LEGACY_MOVEMENTS: dict[tuple[str, str], MovementKind] = {
    ("transfer_out", LEGACY_DISPATCHED): MovementKind.TRANSFER_OUT,
    ("transfer_in", LEGACY_DISPATCHED): MovementKind.TRANSFER_IN_TRANSIT,
    ("transfer_in", "received"): MovementKind.TRANSFER_IN,
}


def is_legacy_movement(kind: str, reason: str | None) -> bool:
    return (kind, reason) in LEGACY_MOVEMENTS


def movement_kind_of(kind: str, reason: str | None = None) -> MovementKind | None:
    """The declared kind a stored ledger row means (legacy spellings included), or None."""
    legacy = LEGACY_MOVEMENTS.get((kind, reason))
    if legacy is not None:
        return legacy
    try:
        return MovementKind(kind)
    except ValueError:
        return None


def movement_label(kind: str, reason: str | None = None) -> str:
    known = movement_kind_of(kind, reason)
    return known.label if known is not None else kind


def reason_of(kind: str, reason: str | None) -> StrEnum | None:
    """The declared reason of a stored ledger row, or None (no reason, legacy or free text)."""
    if reason is None or is_legacy_movement(kind, reason):
        return None
    known = movement_kind_of(kind, reason)
    reasons = REASONS_BY_KIND.get(known) if known is not None else None
    if reasons is None:
        return None
    try:
        return reasons(reason)
    except ValueError:
        return None


def reason_label(kind: str, reason: str | None) -> str:
    """The label of a ledger row's reason: "" for none (a legacy transfer reason is none:
    the kind already says it), a declared reason's label, or free text as it was typed."""
    if reason is None or is_legacy_movement(kind, reason):
        return ""
    declared = reason_of(kind, reason)
    return declared.label if declared is not None else reason


class TransferStatus(StrEnum):
    """A transfer's status (`transfers.status`)."""

    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class SuggestionStatus(StrEnum):
    """A replenishment suggestion's status (`replenishment_suggestions.status`)."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"

    @property
    def label(self) -> str:
        return self.value


class UserEventKind(StrEnum):
    """What happened to an account (`user_events.kind`), written by `queries.users`."""

    CREATED = "created"
    UPDATED = "updated"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"

    @property
    def label(self) -> str:
        return _USER_EVENT_LABELS[self]


_USER_EVENT_LABELS = {
    UserEventKind.CREATED: "account created",
    UserEventKind.UPDATED: "account changed",
    UserEventKind.DEACTIVATED: "account deactivated",
    UserEventKind.REACTIVATED: "account reactivated",
}


def user_event_label(kind: str) -> str:
    """The label for a stored user event kind; an unknown spelling is shown as stored."""
    try:
        return UserEventKind(kind).label
    except ValueError:
        return kind


class LocationKind(StrEnum):
    """What a location is (`locations.kind`)."""

    DC = "dc"
    WAREHOUSE = "warehouse"
    STORE = "store"
    FACTORY = "factory"

    @property
    def label(self) -> str:
        return _LOCATION_KIND_LABELS[self]


_LOCATION_KIND_LABELS = {
    LocationKind.DC: "Distribution Centre",
    LocationKind.WAREHOUSE: "Warehouse",
    LocationKind.STORE: "Store",
    LocationKind.FACTORY: "Factory",
}
