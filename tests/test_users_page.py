"""Admin's user management: the page and the permission check behind it."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from queries import users
from queries.errors import Forbidden, InvalidInput
from tests import factories
from tests.factories import count_rows
from tests.test_sign_in import APP


@pytest.fixture
def admin_app(db):
    factories.small_world()
    factories.add_user("admin", "admin", [], "admin-password")
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["actor"] = factories.ADMIN
    at.run()
    at.switch_page("pages/users.py")
    at.run()
    assert not at.exception
    return at


def test_admin_creates_a_user_who_can_then_sign_in(admin_app):
    at = admin_app
    at.text_input(key="user_username").input("Support.Asia")
    at.text_input(key="user_display_name").input("Asia Support")
    at.selectbox(key="user_role").set_value("support")
    at.multiselect(key="user_regions").set_value(["NA"])
    at.text_input(key="user_password").input("long-enough-pw")
    at.button[0].click()
    at.run()
    assert [s.value for s in at.success] == ["Saved support.asia as support."]
    actor = users.authenticate("support.asia", "long-enough-pw")
    assert actor.role == "support" and actor.regions == ("NA",)


def test_a_short_password_is_refused_and_nothing_is_written(admin_app):
    at = admin_app
    before = count_rows("users")
    at.text_input(key="user_username").input("newbie")
    at.text_input(key="user_password").input("short")
    at.button[0].click()
    at.run()
    assert [e.value for e in at.error] == ["A password needs at least 8 characters."]
    assert count_rows("users") == before


def test_only_admins_manage_users(db):
    with pytest.raises(Forbidden, match="not allowed to manage users"):
        users.create_user(factories.SUPPORT_EU, "x", "x", "password123", "admin", [])
    with pytest.raises(InvalidInput, match="own account"):
        users.set_active(factories.ADMIN, "admin", False)
    assert count_rows("users") == 0
