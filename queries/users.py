"""Local accounts: bcrypt password hashes, roles and the regions a user works in."""

from __future__ import annotations

import bcrypt

from queries import permissions
from queries.actor import ROLES, Actor
from queries.db import fetch_all, fetch_one, run_transaction
from queries.errors import InvalidCredentials, InvalidInput, NotFound
from queries.sign_in_sessions import close_sessions_of_user_in_tx

# Compared against when the user does not exist, so both failures take the same time.
_DUMMY_HASH = bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=10)).decode()
BCRYPT_ROUNDS = 10


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def authenticate(username: str, password: str) -> Actor:
    """The signed-in Actor, or InvalidCredentials with one message for every failure."""
    username = (username or "").strip().lower()
    row = fetch_one(
        "SELECT username, display_name, password_hash, role, regions, active "
        "FROM users WHERE username = %s",
        (username,),
    )
    stored = row["password_hash"] if row else _DUMMY_HASH
    ok = bcrypt.checkpw((password or "").encode(), stored.encode())
    if not row or not ok or not row["active"]:
        raise InvalidCredentials("Wrong username or password.")
    return Actor.from_user_row(row)


def upsert_user_in_tx(cur, username: str, display_name: str, password: str, role: str,
                      regions: list[str]) -> None:
    cur.execute(
        "INSERT INTO users (username, display_name, password_hash, role, regions) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET "
        "display_name = excluded.display_name, password_hash = excluded.password_hash, "
        "role = excluded.role, regions = excluded.regions, active = true",
        (username, display_name, hash_password(password), role, regions),
    )
    close_sessions_of_user_in_tx(cur, username)  # a new password ends every old sign-in


def create_user(actor: Actor, username: str, display_name: str, password: str, role: str,
                regions: list[str]) -> None:
    permissions.require(actor, "user.manage")
    username = (username or "").strip().lower()
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        raise InvalidInput("A username needs letters or digits (dots and underscores allowed).")
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.")
    if len(password or "") < 8:
        raise InvalidInput("A password needs at least 8 characters.")
    run_transaction(
        lambda cur: upsert_user_in_tx(cur, username, display_name or username, password, role,
                                      regions)
    )


def list_users() -> list[dict]:
    return fetch_all(
        "SELECT username, display_name, role, regions, active, created_at "
        "FROM users ORDER BY username"
    )


def set_active(actor: Actor, username: str, active: bool) -> None:
    permissions.require(actor, "user.manage")
    if username == actor.username and not active:
        raise InvalidInput("You cannot deactivate your own account.")

    def body(cur):
        row = cur.execute(
            "UPDATE users SET active = %s WHERE username = %s RETURNING username",
            (active, username),
        ).fetchone()
        if row is None:
            raise NotFound(f"There is no user called {username}.")

    run_transaction(body)


def known_regions() -> list[str]:
    return [r["region"] for r in fetch_all("SELECT DISTINCT region FROM locations ORDER BY region")]
