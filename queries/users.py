"""Local accounts: bcrypt password hashes, roles and the regions a user works in."""

from __future__ import annotations

import bcrypt
from psycopg.types.json import Jsonb

from queries import locations, permissions, sign_in_throttle
from queries.actor import ROLES, SYSTEM, Actor
from queries.db import fetch_all, fetch_one, run_transaction
from queries.errors import InvalidCredentials, InvalidInput, NotFound
from queries.sign_in_sessions import close_sessions_of_user_in_tx
from queries.vocabulary import UserEventKind

# Compared against when the user does not exist, so both failures take the same time.
_DUMMY_HASH = bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=10)).decode()
BCRYPT_ROUNDS = 10


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def authenticate(username: str, password: str) -> Actor:
    """The signed-in Actor, or InvalidCredentials with one message for every failure
    (SignInLocked, a kind of InvalidCredentials, after too many)."""
    username = (username or "").strip().lower()
    failures = sign_in_throttle.refuse_if_locked(username)
    row = fetch_one(
        "SELECT username, display_name, password_hash, role, regions, active "
        "FROM users WHERE username = %s",
        (username,),
    )
    stored = row["password_hash"] if row else _DUMMY_HASH
    ok = bcrypt.checkpw((password or "").encode(), stored.encode())
    if not row or not ok or not row["active"]:
        sign_in_throttle.record_failure(username)
        raise InvalidCredentials("Wrong username or password.")
    if failures:
        sign_in_throttle.clear_failures(username)
    return Actor.from_user_row(row)


def _event(cur, username: str, actor: Actor, kind: UserEventKind, details: dict) -> None:
    cur.execute(
        "INSERT INTO user_events (username, actor, kind, details) VALUES (%s, %s, %s, %s)",
        (username, actor.username, kind, Jsonb(details)),
    )


def _password_changed_in_tx(cur, username: str) -> None:
    """A new password ends every old sign-in and lifts a lock-out."""
    close_sessions_of_user_in_tx(cur, username)
    sign_in_throttle.clear_failures_in_tx(cur, username)


def upsert_user_in_tx(cur, username: str, display_name: str, password: str, role: str,
                      regions: list[str], actor: Actor = SYSTEM) -> None:
    """Create or overwrite an account with a password (the seed and test fixtures)."""
    existed = cur.execute("SELECT 1 FROM users WHERE username = %s", (username,)).fetchone()
    cur.execute(
        "INSERT INTO users (username, display_name, password_hash, role, regions) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET "
        "display_name = excluded.display_name, password_hash = excluded.password_hash, "
        "role = excluded.role, regions = excluded.regions, active = true",
        (username, display_name, hash_password(password), role, regions),
    )
    _password_changed_in_tx(cur, username)
    _event(cur, username, actor, UserEventKind.UPDATED if existed else UserEventKind.CREATED,
           {"role": role, "regions": regions, "password_set": True})


def clean_username(username: str) -> str:
    username = (username or "").strip().lower()
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        raise InvalidInput("A username needs letters or digits (dots and underscores allowed).")
    return username


def save_user(actor: Actor, *, username: str, display_name: str, role: str,
              regions: list[str], password: str | None = None) -> dict:
    """Create an account, or change one's name, role, regions and (if given) password.

    Returns {"username", "created", "changes"}: the changed fields as "field: old → new"."""
    permissions.require(actor, "user.manage")
    username = clean_username(username)
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}.")
    if password and len(password) < 8:
        raise InvalidInput("A password needs at least 8 characters.")
    regions = sorted(set(regions or []))

    def body(cur) -> dict:
        unknown = set(regions) - set(locations.region_names(cur))
        if unknown:
            raise InvalidInput(f"There is no region called {', '.join(sorted(unknown))}.")
        current = cur.execute(
            "SELECT display_name, role, regions FROM users WHERE username = %s FOR UPDATE",
            (username,),
        ).fetchone()
        if current is None:
            if not password:
                raise InvalidInput("A new user needs a password of at least 8 characters.")
            upsert_user_in_tx(cur, username, display_name or username, password, role, regions,
                              actor)
            return {"username": username, "created": True, "changes": []}
        wanted = {"display_name": display_name or current["display_name"], "role": role,
                  "regions": regions}
        changes = [f"{field}: {_shown(current[field])} → {_shown(value)}"
                   for field, value in wanted.items()
                   if _comparable(current[field]) != _comparable(value)]
        cur.execute(
            "UPDATE users SET display_name = %s, role = %s, regions = %s WHERE username = %s",
            (wanted["display_name"], role, regions, username),
        )
        if password:
            cur.execute("UPDATE users SET password_hash = %s WHERE username = %s",
                        (hash_password(password), username))
            _password_changed_in_tx(cur, username)
            changes.append("password: set anew")
        if changes:
            _event(cur, username, actor, UserEventKind.UPDATED, {"changes": changes})
        return {"username": username, "created": False, "changes": changes}

    return run_transaction(body)


def _comparable(value):
    return sorted(value) if isinstance(value, list) else value


def _shown(value) -> str:
    if isinstance(value, list):
        return ", ".join(value) if value else "all regions"
    return str(value)


def list_users() -> list[dict]:
    return fetch_all(
        "SELECT username, display_name, role, regions, active, created_at "
        "FROM users ORDER BY username"
    )


def recent_user_events(limit: int = 50) -> list[dict]:
    return fetch_all(
        "SELECT created_at, username, actor, kind, details FROM user_events "
        "ORDER BY created_at DESC, id LIMIT %s",
        (limit,),
    )


def set_active(actor: Actor, username: str, active: bool) -> bool:
    """Deactivate or reactivate an account; False when it already was."""
    permissions.require(actor, "user.manage")
    if username == actor.username and not active:
        raise InvalidInput("You cannot deactivate your own account.")

    def body(cur) -> bool:
        row = cur.execute("SELECT active FROM users WHERE username = %s FOR UPDATE",
                          (username,)).fetchone()
        if row is None:
            raise NotFound(f"There is no user called {username}.")
        if row["active"] == active:
            return False
        cur.execute("UPDATE users SET active = %s WHERE username = %s", (active, username))
        if active:
            sign_in_throttle.clear_failures_in_tx(cur, username)
        kind = UserEventKind.REACTIVATED if active else UserEventKind.DEACTIVATED
        _event(cur, username, actor, kind, {})
        return True

    return run_transaction(body)
