"""Back-ordered orders allocate themselves when stock for one of their SKUs comes in.

The worker passes each stock message here; a row whose available quantity rose (a receipt, a
return, a cancelled order's release) names a SKU worth a try. Allocation is the command support
staff use (all lines or nothing, nearest location first), run as SYSTEM: an order still short
stays pending, one someone else allocated meanwhile is skipped, so a repeated message is
harmless. Rows without a `before` (a broker re-scan, a new bin) are left alone: nothing rose.
"""

from __future__ import annotations

import json
import logging

from queries import orders
from queries.actor import SYSTEM

log = logging.getLogger("changefeed.backorders")

ORDERS_PER_BATCH = 20  # the oldest waiting orders first; the rest get their turn next time


def _available(row: dict) -> int:
    return int(row["on_hand"]) - int(row["reserved"])


def sku_with_more_available(value: bytes) -> str | None:
    """The SKU of a stock message whose row now has more available than before, else None."""
    message = json.loads(value)
    after, before = message.get("after"), message.get("before")
    if not after or not before:
        return None
    return after["sku"] if _available(after) > _available(before) else None


def allocate_waiting_for(skus: set[str]) -> int:
    """Try the oldest pending orders that have a line of these SKUs; returns how many allocated."""
    result = orders.allocate_waiting_orders(SYSTEM, limit=ORDERS_PER_BATCH, skus=sorted(skus))
    if result["allocated"]:
        log.info("allocated %d back-ordered order(s) after stock arrived for %s",
                 result["allocated"], ", ".join(sorted(skus)[:5]))
    return result["allocated"]
