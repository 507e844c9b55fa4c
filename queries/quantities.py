"""Quantities people enter: whole units, within one bound, with the sign a command needs.

One rule for orders, adjustments, counts, transfers and returns: an int, or a float/Decimal
(or text, from a sheet) with nothing after the point, so 2 and 2.0 are both 2 and 2.5 is
refused; booleans and None are refused; no quantity is beyond MAX_QUANTITY either way (a
mistyped 10,000,000 is refused in a sentence instead of moving stock or overflowing INT8).
"""

from __future__ import annotations

import numbers
from decimal import Decimal, InvalidOperation

from queries.errors import InvalidQuantity

MAX_QUANTITY = 1_000_000
_BEYOND = Decimal(10 ** 30)


def whole_number(value, what: str = "Quantity") -> int:
    """An int from an int, or from a float/Decimal with nothing after the point, within
    -MAX_QUANTITY..MAX_QUANTITY."""
    return _bounded(_integer(value, what), what)


def _integer(value, what: str) -> int:
    if isinstance(value, bool) or value is None:
        raise InvalidQuantity(f"{what} must be a whole number, not {value}.")
    if isinstance(value, numbers.Integral):
        qty = int(value)
    elif isinstance(value, float) and value.is_integer():
        qty = int(value)
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        # Clamped first: int() of Decimal("1E+999999") would build a million-digit number.
        qty = int(value.max(-_BEYOND).min(_BEYOND))
    else:
        shown = repr(value) if isinstance(value, str) else str(value)
        raise InvalidQuantity(f"{what} must be a whole number, not {shown}.")
    return qty


def _bounded(qty: int, what: str) -> int:
    if qty > MAX_QUANTITY:
        raise InvalidQuantity(f"{what} can be at most {MAX_QUANTITY:,}, not {_shown(qty)}.")
    if qty < -MAX_QUANTITY:
        raise InvalidQuantity(f"{what} can be at least {-MAX_QUANTITY:,}, not {_shown(qty)}.")
    return qty


def _shown(qty: int) -> str:
    # Python refuses to print ints of more than 4,300 digits; nobody reads past 30 anyway.
    return f"{qty:,}" if abs(qty) < 10 ** 30 else "a number that long"


def number_in_text(text: str, what: str = "Quantity") -> Decimal:
    """The number typed in a cell of an uploaded sheet, for whole_number / positive /
    non_negative / non_zero to judge like any other quantity ("2.0" is 2, "2.5" is refused)."""
    try:
        return Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidQuantity(f"{what} must be a whole number, not {text!r}.") from None


# The sign is checked before the bound, so -10,000,000 "must be above zero" where it must.
def positive(value, what: str = "Quantity") -> int:
    qty = _integer(value, what)
    if qty <= 0:
        raise InvalidQuantity(f"{what} must be a whole number above zero, not {_shown(qty)}.")
    return _bounded(qty, what)


def non_negative(value, what: str = "Quantity") -> int:
    qty = _integer(value, what)
    if qty < 0:
        raise InvalidQuantity(f"{what} cannot be negative ({_shown(qty)}).")
    return _bounded(qty, what)


def non_zero(value, what: str = "Quantity") -> int:
    qty = _integer(value, what)
    if qty == 0:
        raise InvalidQuantity(f"{what} cannot be zero; nothing would change.")
    return _bounded(qty, what)
