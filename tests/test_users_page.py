"""Admin's user management: the page and the permission check behind it."""

from __future__ import annotations

import pytest

from queries import users
from queries.errors import Forbidden, InvalidInput
from tests import factories
from tests.apptest import messages, open_app
from tests.factories import count_rows
from tests.table_counts import assert_nothing_written, table_state


@pytest.fixture
def admin_app(world):
    factories.add_user("admin", "admin", [], "admin-password")
    return open_app(factories.ADMIN, "pages/users.py")


def test_admin_creates_a_user_who_can_then_sign_in(admin_app):
    at = admin_app
    at.text_input(key="user_username").input("Support.Asia")
    at.text_input(key="user_display_name").input("Asia Support")
    at.selectbox(key="user_role").set_value("support")
    at.multiselect(key="user_regions").set_value(["NA"])
    at.text_input(key="user_password").input("long-enough-pw")
    at.button[0].click()
    at.run()
    assert messages(at)["success"] == ["Saved support.asia as support."]
    actor = users.authenticate("support.asia", "long-enough-pw")
    assert actor.role == "support" and actor.regions == ("NA",)


def test_a_short_password_is_refused_and_nothing_is_written(admin_app):
    at = admin_app
    before = table_state()
    at.text_input(key="user_username").input("newbie")
    at.text_input(key="user_password").input("short")
    at.button[0].click()
    at.run()
    assert messages(at)["error"] == ["A password needs at least 8 characters."]
    assert_nothing_written(before)


def test_only_admins_manage_users(db):
    with pytest.raises(Forbidden, match="not allowed to manage users"):
        users.save_user(factories.SUPPORT_EU, username="x", display_name="x", role="admin",
                        regions=[], password="password123")
    with pytest.raises(InvalidInput, match="own account"):
        users.set_active(factories.ADMIN, "admin", False)
    assert count_rows("users") == 0


def events() -> list[tuple]:
    return [(e["username"], e["actor"], e["kind"], e["details"].get("changes"))
            for e in reversed(users.recent_user_events())]


def test_changing_a_role_keeps_the_password_and_records_who_changed_what(world):
    factories.add_user("sam", "support", ["EU"], "sam-password")
    before = count_rows("user_events")
    saved = users.save_user(factories.ADMIN, username="Sam", display_name="", role="hq_viewer",
                            regions=[])
    assert saved == {"username": "sam", "created": False,
                     "changes": ["role: support → hq_viewer", "regions: EU → all regions"]}
    assert users.authenticate("sam", "sam-password").role == "hq_viewer"
    assert events()[before:] == [("sam", "admin", "updated", saved["changes"])]

    again = users.save_user(factories.ADMIN, username="sam", display_name="", role="hq_viewer",
                            regions=[])
    assert again["changes"] == [] and count_rows("user_events") == before + 1


@pytest.mark.parametrize("fields, words", [
    ({"username": "newbie", "password": None}, "A new user needs a password"),
    ({"username": "newbie", "regions": ["MARS"]}, "There is no region called MARS."),
    ({"username": "new bie!"}, "A username needs letters or digits"),
    ({"username": "newbie", "role": "overlord"}, "Role must be one of"),
])
def test_bad_account_input_says_why_and_writes_nothing(world, fields, words):
    before = table_state()
    values = {"display_name": "", "role": "support", "regions": ["EU"],
              "password": "long-enough-pw"} | fields
    with pytest.raises(InvalidInput, match=words):
        users.save_user(factories.ADMIN, **values)
    assert_nothing_written(before)


def test_deactivating_twice_records_one_event(db):
    factories.add_user("sam", "support", ["EU"], "sam-password")
    assert users.set_active(factories.ADMIN, "sam", False) is True
    assert users.set_active(factories.ADMIN, "sam", False) is False
    assert users.set_active(factories.ADMIN, "sam", True) is True
    assert [e[2] for e in events()] == ["created", "deactivated", "reactivated"]


def test_the_page_updates_an_account_and_lists_the_change(admin_app):
    at = admin_app
    factories.add_user("sam", "support", ["EU"], "sam-password")
    at.text_input(key="user_username").input("sam")
    at.selectbox(key="user_role").set_value("inventory_manager")
    at.multiselect(key="user_regions").set_value(["EU"])
    at.button[0].click()
    at.run()
    assert messages(at)["success"] == ["Updated sam: role: support → inventory_manager."]
    assert users.authenticate("sam", "sam-password").role == "inventory_manager"
    assert not at.exception
    assert "Recent account changes" in [h.value for h in at.subheader]


def test_deactivating_twice_on_the_page_says_already_done(admin_app):
    at = admin_app
    factories.add_user("sam", "support", ["EU"], "sam-password")
    at.run()
    at.selectbox(key="active_username").set_value("sam")
    at.toggle(key="active_flag").set_value(False)
    at.button[1].click()
    at.run()
    assert messages(at)["success"] == ["sam is deactivated."]
    before = table_state()
    at.button[1].click()
    at.run()
    assert messages(at)["success"] == []
    assert messages(at)["info"] == ["Already done — sam is deactivated; nothing changed again."]
    assert_nothing_written(before)


def test_saving_the_same_settings_says_already_done(admin_app):
    at = admin_app
    factories.add_user("sam", "support", ["EU"], "sam-password")
    at.text_input(key="user_username").input("sam")
    at.text_input(key="user_display_name").input("sam")
    at.selectbox(key="user_role").set_value("support")
    at.multiselect(key="user_regions").set_value(["EU"])
    before = table_state()
    at.button[0].click()
    at.run()
    assert messages(at)["info"] == ["Already done — sam has these settings; nothing changed again."]
    assert_nothing_written(before)
