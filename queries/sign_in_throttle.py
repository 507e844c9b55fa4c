"""Guessing passwords is slow: five failed sign-ins within 15 minutes lock a username.

Failures are counted per name typed, known or not, so the lock-out message tells a guesser
nothing about which accounts exist. A successful sign-in, a new password set by an admin, or
reactivating the account clears the count.
"""

from __future__ import annotations

from queries.db import fetch_one, run_transaction
from queries.errors import InvalidCredentials

MAX_FAILURES = 5
WINDOW_MINUTES = 15


class SignInLocked(InvalidCredentials):
    pass


def recent_failures(username: str) -> int:
    return fetch_one(
        "SELECT count(*) AS n FROM sign_in_failures "
        "WHERE username = %s AND failed_at > now() - %s::INTERVAL",
        (username, f"{WINDOW_MINUTES} minutes"),
    )["n"]


def refuse_if_locked(username: str) -> int:
    """Raise SignInLocked when the name is locked; otherwise return its recent failures."""
    failures = recent_failures(username)
    if failures >= MAX_FAILURES:
        raise SignInLocked(
            f"Too many failed sign-ins for {username}. Wait {WINDOW_MINUTES} minutes and try "
            "again, or ask an admin to set a new password.")
    return failures


def record_failure(username: str) -> None:
    def body(cur) -> None:
        cur.execute("DELETE FROM sign_in_failures WHERE username = %s "
                    "AND failed_at < now() - INTERVAL '1 day'", (username,))
        cur.execute("INSERT INTO sign_in_failures (username) VALUES (%s)", (username,))

    run_transaction(body)


def clear_failures_in_tx(cur, username: str) -> None:
    cur.execute("DELETE FROM sign_in_failures WHERE username = %s", (username,))


def clear_failures(username: str) -> None:
    run_transaction(lambda cur: clear_failures_in_tx(cur, username))
