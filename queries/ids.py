"""Identifiers typed or pasted by people: a UUID, or a NotFound sentence naming what was asked.

One rule for orders, customers and transfers alike: surrounding spaces are ignored, anything
that is not a UUID cannot exist, and the sentence quotes at most 60 characters of it.
"""

from __future__ import annotations

import uuid

from queries.errors import NotFound


def parse_id(value, what: str) -> str:
    """The canonical text of the UUID in `value`, or NotFound("There is no <what> '…'.")."""
    try:
        return str(uuid.UUID(str(value).strip()))
    except (ValueError, TypeError, AttributeError):
        raise NotFound(f"There is no {what} {str(value)[:60]!r}.") from None
