"""Free-text checks shared by every command: trimmed, bounded, required where it must be."""

from __future__ import annotations

from queries.errors import InvalidInput


def optional_text(value, what: str, limit: int) -> str | None:
    """Trimmed text, None when empty; refused (nothing written) when longer than limit."""
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        raise InvalidInput(
            f"The {what} can be at most {limit:,} characters; this one has {len(text):,}.")
    return text or None


def required_text(value, what: str, limit: int) -> str:
    text = optional_text(value, what, limit)
    if text is None:
        raise InvalidInput(f"The {what} cannot be empty.")
    return text
