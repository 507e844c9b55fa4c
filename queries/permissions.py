"""The one place that says which role may do what, and where."""

from __future__ import annotations

from queries.actor import Actor
from queries.errors import Forbidden

# action -> roles allowed to perform it
ALLOWED: dict[str, frozenset[str]] = {
    "stock.view": frozenset({"hq_viewer", "inventory_manager", "support", "admin"}),
    "stock.adjust": frozenset({"inventory_manager", "admin"}),
    "stock.count": frozenset({"inventory_manager", "admin"}),
    "stock.reserve": frozenset({"support", "admin"}),
    "transfer.create": frozenset({"inventory_manager", "admin"}),
    "transfer.receive": frozenset({"inventory_manager", "admin"}),
    "transfer.cancel": frozenset({"inventory_manager", "admin"}),
    "suggestion.decide": frozenset({"inventory_manager", "admin"}),
    "order.place": frozenset({"support", "admin"}),
    "order.fix": frozenset({"support", "admin"}),
    "order.view_personal_data": frozenset({"support", "admin"}),
    "order.view": frozenset({"hq_viewer", "inventory_manager", "support", "admin"}),
    "user.manage": frozenset({"admin"}),
}

ACTION_WORDS = {
    "stock.view": "see stock",
    "stock.adjust": "adjust stock",
    "stock.count": "record stock counts",
    "stock.reserve": "reserve stock",
    "transfer.create": "create transfers",
    "transfer.receive": "receive transfers",
    "transfer.cancel": "cancel transfers",
    "suggestion.decide": "accept or dismiss replenishment suggestions",
    "order.place": "place orders",
    "order.fix": "change orders",
    "order.view_personal_data": "see customers' personal data",
    "order.view": "see orders",
    "user.manage": "manage users",
}


def can(actor: Actor, action: str, region: str | None = None) -> bool:
    if actor.role not in ALLOWED.get(action, frozenset()):
        return False
    return region is None or actor.covers_region(region)


def require(actor: Actor, action: str, region: str | None = None) -> None:
    """Raise Forbidden unless the actor may perform the action (in that region)."""
    if actor.role not in ALLOWED.get(action, frozenset()):
        raise Forbidden(
            f"{actor.username} ({actor.role}) is not allowed to {ACTION_WORDS.get(action, action)}."
        )
    if region is not None and not actor.covers_region(region):
        raise Forbidden(
            f"{actor.username} may only {ACTION_WORDS.get(action, action)} in "
            f"{', '.join(actor.regions)}, not in {region}."
        )
