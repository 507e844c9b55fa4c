"""Idempotency keys: a form submission, a double click or a retried COMMIT applies once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from psycopg.types.json import Jsonb

from queries.actor import Actor
from queries.db import run_transaction

CALL_FIELD = "_call"  # stored with a result: which run_command call applied the key


def new_key() -> str:
    return uuid.uuid4().hex


def claim(cur, key: str, command: str, actor: Actor) -> dict | None:
    """Record the key in this transaction. Returns the stored result if it was already applied."""
    row = cur.execute(
        "INSERT INTO idempotency_keys (key, command, actor) VALUES (%s, %s, %s) "
        "ON CONFLICT (key) DO NOTHING RETURNING key",
        (key, command, actor.username),
    ).fetchone()
    if row is not None:
        return None
    stored = cur.execute(
        "SELECT result FROM idempotency_keys WHERE key = %s", (key,)
    ).fetchone()
    return dict(stored["result"] or {}) | {"already_applied": True}


def remember(cur, key: str, result: dict) -> None:
    cur.execute(
        "UPDATE idempotency_keys SET result = %s WHERE key = %s", (Jsonb(result), key)
    )


def run_command(
    command: str,
    actor: Actor,
    key: str | None,
    body: Callable[[Any], dict],
) -> dict:
    """Run a write command once per key, in one retried SERIALIZABLE transaction.

    body(cur) returns a JSON-able dict describing what it did; a repeat of the same key
    returns that dict with already_applied=True and writes nothing.
    """

    call = new_key()  # tells this call's own earlier commit from someone else's

    def tx(cur) -> dict:
        if key is not None:
            earlier = claim(cur, key, command, actor)
            if earlier is not None:
                # The key was applied by this very call when an earlier attempt committed and
                # its answer was lost (run_transaction retries such a COMMIT only for keyed
                # commands): to the person that is the first application, not a repeat.
                if earlier.pop(CALL_FIELD, None) == call:
                    earlier["already_applied"] = False
                return earlier
        result = body(cur)
        if key is not None:
            remember(cur, key, {**result, CALL_FIELD: call})
        return {**result, "already_applied": False}

    return run_transaction(tx, retry_ambiguous=key is not None)
