"""The one order in which a command locks stock rows: by (location_id, sku).

apply_movement locks a stock row when it changes it (UPDATE), and add_stock_row when it
inserts one. A command that touches several rows and a concurrent one touching some of the
same rows would deadlock if each took them in its own order (A holds Berlin/SKU-1 and waits for
Paris/SKU-2, B holds Paris/SKU-2 and waits for Berlin/SKU-1); both engines then abort one of
them, and the retry costs time. Taking every row in the same global order means one simply
waits for the other. So every command that moves stock in more than one (location, sku) bin
visits its movements through in_lock_order; rows of other tables (the order, the transfer) are
locked before any stock row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")


def stock_bin(item) -> tuple[str, str]:
    """The (location_id, sku) an item moves: a mapping's keys or an object's attributes.

    An item with no location yet (a back-ordered line) sorts first; it locks nothing.
    """
    if isinstance(item, Mapping):
        return item["location_id"] or "", item["sku"]
    return item.location_id or "", item.sku


def in_lock_order(items: Iterable[T], bin_of: Callable[[T], tuple[str, str]] = stock_bin) -> list[T]:
    """The items sorted by the stock bin each one locks; items of one bin keep their order."""
    return sorted(items, key=bin_of)
