"""Sign-ins that outlive a page reload: a random token in the browser, its hash here.

The token is 256 random bits; only its SHA-256 is stored. Resolving a token rebuilds the
Actor from the users row, so a role or region change applies at the next reload, and a
deactivated account or an expired, signed-out or superseded session resolves to nobody.
"""

from __future__ import annotations

import hashlib
import os
import secrets

from queries.actor import Actor
from queries.db import run_transaction

SESSION_HOURS = 12  # one working shift; after that, sign in again
TOUCH_SECONDS = 60  # how often a busy session records that it is still in use


def idle_minutes() -> float:
    """A sign-in unused this long ends (STOCKROOM_IDLE_MINUTES, default 60)."""
    return float(os.environ.get("STOCKROOM_IDLE_MINUTES", "60"))
TOKEN_BYTES = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(actor: Actor) -> str:
    """Record a new sign-in for `actor` and return the token for the browser to keep."""
    token = secrets.token_urlsafe(TOKEN_BYTES)

    def body(cur) -> None:
        # Expired sessions of this user have no use left; keep the table small as we go.
        cur.execute("DELETE FROM sign_in_sessions WHERE username = %s AND expires_at < now()",
                    (actor.username,))
        cur.execute(
            "INSERT INTO sign_in_sessions (token_sha256, username, expires_at) "
            "VALUES (%s, %s, now() + %s::INTERVAL)",
            (_digest(token), actor.username, f"{SESSION_HOURS} hours"),
        )

    run_transaction(body)
    return token


def actor_for_token(token: str | None) -> Actor | None:
    """The actor a still-valid session token belongs to, or None; a valid one counts as used
    now (a reload is activity). Expired, signed out, idle too long or deactivated: None."""
    if not token or len(token) > 200:
        return None

    def body(cur):
        used = cur.execute(
            """
            UPDATE sign_in_sessions
               SET last_seen_at = now()
             WHERE token_sha256 = %(digest)s
               AND revoked_at IS NULL
               AND expires_at > now()
               AND last_seen_at > now() - %(idle)s::INTERVAL
            RETURNING username
            """, {"digest": _digest(token), "idle": f"{idle_minutes()} minutes"}).fetchone()
        if used is None:
            return None
        return cur.execute(
            """
            SELECT username, display_name, role, regions
              FROM users
             WHERE username = %(username)s
               AND active
            """, used).fetchone()

    row = run_transaction(body)
    return Actor.from_user_row(row) if row else None


def touch_session(token: str | None) -> bool:
    """Record that a signed-in browser is still in use; False when the session has ended
    (idle too long, expired, signed out elsewhere)."""
    return actor_for_token(token) is not None


def close_session(token: str | None) -> None:
    """Sign out: the token opens nothing from now on. Closing twice is harmless."""
    if not token:
        return
    run_transaction(lambda cur: cur.execute(
        "UPDATE sign_in_sessions SET revoked_at = now() "
        "WHERE token_sha256 = %s AND revoked_at IS NULL",
        (_digest(token),),
    ))


def close_sessions_of_user_in_tx(cur, username: str) -> None:
    """End every open session of a user (a new password was set)."""
    cur.execute(
        "UPDATE sign_in_sessions SET revoked_at = now() "
        "WHERE username = %s AND revoked_at IS NULL",
        (username,),
    )
