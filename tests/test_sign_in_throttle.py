"""Password guessing: five failures in 15 minutes lock a username, whatever the name."""

from __future__ import annotations

import pytest

from queries.db import run_transaction
from queries.errors import InvalidCredentials
from queries.sign_in_throttle import MAX_FAILURES, SignInLocked, recent_failures
from queries.users import authenticate, save_user, set_active
from tests import factories
from tests.apptest import messages, sign_in
from tests.factories import count_rows


def _sam_eva_and_admin() -> None:
    factories.add_user("sam", "support", ["EU"], "sam-password")
    factories.add_user("eva", "inventory_manager", ["EU"], "eva-password")
    factories.add_user("admin", "admin", [], "admin-password")


@pytest.fixture
def accounts(world_with) -> str:
    return world_with(_sam_eva_and_admin)


def fail(username: str, times: int = MAX_FAILURES) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials, match="Wrong username or password."):
            authenticate(username, "guess")


def test_the_sixth_try_is_refused_even_with_the_right_password(accounts):
    fail("sam")
    with pytest.raises(SignInLocked, match="Too many failed sign-ins for sam. Wait 15 minutes"):
        authenticate("sam", "sam-password")
    assert authenticate("eva", "eva-password").username == "eva"  # others are not locked


def test_fewer_failures_then_a_success_start_the_count_again(accounts):
    fail("sam", MAX_FAILURES - 1)
    assert authenticate("sam", "sam-password").username == "sam"
    assert recent_failures("sam") == 0
    fail("sam", MAX_FAILURES - 1)
    assert authenticate("sam", "sam-password").username == "sam"


def test_unknown_names_lock_the_same_way_so_nothing_is_revealed(accounts):
    fail("nobody")
    with pytest.raises(SignInLocked, match="Too many failed sign-ins for nobody"):
        authenticate("nobody", "anything")


def test_failures_older_than_the_window_no_longer_count(accounts):
    fail("sam")
    run_transaction(lambda cur: cur.execute(
        "UPDATE sign_in_failures SET failed_at = failed_at - INTERVAL '16 minutes'"))
    assert authenticate("sam", "sam-password").username == "sam"


def test_an_admin_unlocks_by_setting_a_password_or_reactivating(accounts):
    admin = authenticate("admin", "admin-password")
    fail("sam")
    save_user(admin, username="sam", display_name="", role="support", regions=["EU"],
              password="a-new-password")
    assert authenticate("sam", "a-new-password").username == "sam"
    fail("eva")
    set_active(admin, "eva", False)
    set_active(admin, "eva", True)
    assert authenticate("eva", "eva-password").username == "eva"


def test_the_form_shows_the_lock_and_opens_no_session(accounts):
    fail("sam")
    at = sign_in("sam", "sam-password")
    assert messages(at)["error"] == [
        "Too many failed sign-ins for sam. Wait 15 minutes and try again, "
        "or ask an admin to set a new password."]
    assert "actor" not in at.session_state and count_rows("sign_in_sessions") == 0
