"""Free text people type: one limit per kind of field, stated here, and one way to check it.

Every command trims what it is given, treats blank as absent, and refuses (before anything is
written) text longer than the limit of its kind, with the same sentence everywhere:
"The note can be at most 2,000 characters; this one has 2,001." The database columns are
plain TEXT with no length CHECK, so these limits are the only ones; screens quote them in their
help text from here.
"""

from __future__ import annotations

from queries.errors import InvalidInput

MAX_NOTE = 2000         # a note on an order, a stock movement or a transfer
MAX_REASON = 200        # a reason typed in words (why goods came back)
MAX_ADDRESS = 500       # a customer's or a shipping address
MAX_NAME = 200          # a person's or a customer's name
MAX_EMAIL = 254         # an email address (the SMTP limit)
MAX_IDENTIFIER = 100    # an id typed or picked by a person: SKU, location, reference
MAX_REGION = 50         # a region's name
MAX_SEARCH_TEXT = 200   # what a search box takes


def optional_text(value, what: str, limit: int) -> str | None:
    """Trimmed text, None when empty; refused (nothing written) when longer than limit."""
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        raise InvalidInput(
            f"The {what} can be at most {limit:,} characters; this one has {len(text):,}.")
    return text or None


def required_text(value, what: str, limit: int) -> str:
    """Trimmed text that must not be empty (nor longer than limit)."""
    text = optional_text(value, what, limit)
    if text is None:
        raise InvalidInput(f"The {what} cannot be empty.")
    return text


def clean_note(value, required: bool = False) -> str | None:
    """A note on a command: optional unless `required`, at most MAX_NOTE characters."""
    if required:
        return required_text(value, "note", MAX_NOTE)
    return optional_text(value, "note", MAX_NOTE)
