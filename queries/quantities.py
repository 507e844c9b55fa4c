"""Quantity checks shared by stock commands: whole numbers only, with the sign a command needs."""

from __future__ import annotations

import numbers
from decimal import Decimal

from queries.errors import InvalidQuantity


def whole_number(value, what: str = "Quantity") -> int:
    """An int from an int, or from a float/Decimal with nothing after the point."""
    if isinstance(value, bool) or value is None:
        raise InvalidQuantity(f"{what} must be a whole number, not {value!r}.")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise InvalidQuantity(f"{what} must be a whole number, not {value!r}.")


def positive(value, what: str = "Quantity") -> int:
    qty = whole_number(value, what)
    if qty <= 0:
        raise InvalidQuantity(f"{what} must be a whole number above zero, not {qty}.")
    return qty


def non_negative(value, what: str = "Quantity") -> int:
    qty = whole_number(value, what)
    if qty < 0:
        raise InvalidQuantity(f"{what} cannot be negative ({qty}).")
    return qty


def non_zero(value, what: str = "Quantity") -> int:
    qty = whole_number(value, what)
    if qty == 0:
        raise InvalidQuantity(f"{what} cannot be zero; nothing would change.")
    return qty
