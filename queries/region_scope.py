"""The one rule that limits a read to the regions an actor works in.

Admin and headquarters (an Actor with no regions listed, `Actor.all_regions`) see every
region; everyone else sees the rows whose region column is one of theirs. Every scoped read in
queries/ asks this module for its condition, so the rule cannot drift between screens (an
Overview total and the Orders funnel of one person always count the same orders).

For every region the condition is the constant TRUE rather than a parameter that switches
the filter off: both planners drop it, and the region indexes stay usable for everyone else.
"""

from __future__ import annotations

from queries.actor import Actor

# The parameter the condition uses: callers use named parameters (%(name)s) alongside it.
PARAM = "actor_regions"


def region_condition(actor: Actor, column: str) -> tuple[str, dict]:
    """(SQL condition, its named parameters) limiting `column` to the actor's regions.

    >>> region_condition(Actor("a", "admin"), "o.region")
    ('TRUE', {})
    >>> region_condition(Actor("s", "support", ("EU",)), "o.region")
    ('o.region = ANY(%(actor_regions)s)', {'actor_regions': ['EU']})
    """
    if actor.all_regions:
        return "TRUE", {}
    return f"{column} = ANY(%({PARAM})s)", {PARAM: list(actor.regions)}
