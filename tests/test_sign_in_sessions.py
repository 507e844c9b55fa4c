"""Sign-ins kept across reloads: what a session token opens, and everything that ends it.

The cookie round trip itself (reload, sign out) needs a browser: tests/test_browser.py."""

from __future__ import annotations

import time

import pytest

from queries.db import fetch_all, fetch_one, run_transaction
from queries.sign_in_sessions import actor_for_token, close_session, open_session
from queries.users import authenticate, save_user, set_active
from tests import factories
from tests.apptest import messages, sign_in


def _support_and_admin() -> None:
    factories.add_user("support.eu", "support", ["EU"], "support-password", "Sam Support")
    factories.add_user("admin", "admin", [], "admin-password")


@pytest.fixture
def support(world_with):
    world_with(_support_and_admin)
    return authenticate("support.eu", "support-password")


def sessions_of(username: str) -> list[dict]:
    return fetch_all("SELECT * FROM sign_in_sessions WHERE username = %s", (username,))


def test_a_token_opens_its_users_account_and_only_its_hash_is_stored(support):
    token = open_session(support)
    assert actor_for_token(token) == support
    (row,) = sessions_of("support.eu")
    assert token not in str(row.values()) and len(row["token_sha256"]) == 64
    hours = fetch_one("SELECT extract(epoch FROM expires_at - created_at) / 3600 AS h "
                      "FROM sign_in_sessions")["h"]
    assert hours == 12


@pytest.mark.parametrize("token", [None, "", "not-a-token", "x" * 500])
def test_unknown_or_malformed_tokens_open_nothing(support, token):
    open_session(support)
    assert actor_for_token(token) is None


def test_signing_out_ends_the_session_and_a_second_sign_out_is_harmless(support):
    token, other = open_session(support), open_session(support)
    close_session(token)
    close_session(token)
    assert actor_for_token(token) is None
    assert actor_for_token(other) == support  # another browser stays signed in
    assert sum(r["revoked_at"] is not None for r in sessions_of("support.eu")) == 1


def test_an_expired_session_opens_nothing_and_is_cleared_at_the_next_sign_in(support):
    token = open_session(support)
    run_transaction(lambda cur: cur.execute(
        "UPDATE sign_in_sessions SET created_at = now() - INTERVAL '13 hours', "
        "expires_at = now() - INTERVAL '1 hour'"))
    assert actor_for_token(token) is None
    fresh = open_session(support)
    assert len(sessions_of("support.eu")) == 1 and actor_for_token(fresh) == support


def test_deactivating_the_account_or_setting_a_new_password_ends_its_sessions(support):
    admin = authenticate("admin", "admin-password")
    token = open_session(support)
    set_active(admin, "support.eu", False)
    assert actor_for_token(token) is None
    set_active(admin, "support.eu", True)
    assert actor_for_token(token) == support

    save_user(admin, username="support.eu", display_name="Sam Support", role="admin",
              regions=[])
    assert actor_for_token(token).role == "admin"  # no new password: still signed in
    save_user(admin, username="support.eu", display_name="Sam Support", role="support",
              regions=["EU"], password="a-new-password")
    assert actor_for_token(token) is None


def test_a_role_change_applies_when_the_session_is_next_resolved(support):
    admin = authenticate("admin", "admin-password")
    token = open_session(support)
    run_transaction(lambda cur: cur.execute(
        "UPDATE users SET role = 'hq_viewer', regions = '{}' WHERE username = 'support.eu'"))
    assert actor_for_token(token).role == "hq_viewer"
    assert admin.role == "admin"


def test_the_sign_in_form_opens_a_session(support):
    at = sign_in("support.eu", "support-password")
    assert at.session_state["actor"] == support
    assert actor_for_token(at.session_state["sign_in_token"]) == support


def test_a_wrong_password_opens_no_session(support):
    at = sign_in("support.eu", "wrong-password")
    assert "Wrong username or password." in messages(at)["error"]
    assert sessions_of("support.eu") == []


# ---------------------------------------------------------------- idle sign-ins


def test_a_sign_in_unused_longer_than_the_idle_limit_opens_nothing(support, monkeypatch):
    monkeypatch.setenv("STOCKROOM_IDLE_MINUTES", "30")
    idle, busy = open_session(support), open_session(support)
    run_transaction(lambda cur: cur.execute(
        "UPDATE sign_in_sessions SET last_seen_at = now() - INTERVAL '31 minutes'"))
    run_transaction(lambda cur: cur.execute(
        "UPDATE sign_in_sessions SET last_seen_at = now() - INTERVAL '29 minutes' "
        "WHERE token_sha256 = encode(sha256(%s::bytea), 'hex')", (busy,)))
    assert actor_for_token(idle) is None
    assert actor_for_token(busy) == support
    seen = fetch_one("SELECT extract(epoch FROM now() - last_seen_at) AS age FROM sign_in_sessions "
                     "WHERE token_sha256 = encode(sha256(%s::bytea), 'hex')", (busy,))["age"]
    assert seen < 5  # using it counted as activity: another 30 minutes from now


def test_an_idle_browser_session_is_signed_out_and_told_why(support):
    at = sign_in("support.eu", "support-password")
    assert not messages(at)["error"] and at.session_state["actor"] == support
    at.session_state["last_activity"] = time.time() - 61 * 60
    at.run()
    assert "actor" not in at.session_state
    assert messages(at)["info"] == [
        "You were signed out after 60 minutes without activity. Sign in again to go on."]
    assert at.text_input(key="sign_in_username")  # the sign-in form is back
    assert [r["revoked_at"] is not None for r in sessions_of("support.eu")] == [True]


def test_a_sign_in_ended_elsewhere_ends_here_at_the_next_check(support):
    at = sign_in("support.eu", "support-password")
    run_transaction(lambda cur: cur.execute("UPDATE sign_in_sessions SET revoked_at = now()"))
    at.run()
    assert at.session_state["actor"] == support  # checked at most once a minute
    at.session_state["last_touch"] = time.time() - 61
    at.run()
    assert "actor" not in at.session_state
    assert messages(at)["info"] == ["Your sign-in has ended. Sign in again to go on."]
