"""Sign-in and role navigation through Streamlit's AppTest, against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.navigation import PAGES, pages_for
from queries.errors import InvalidCredentials
from queries.users import authenticate
from tests import factories
from tests.apptest import APP, messages, sign_in


def _one_account_per_role() -> None:
    factories.add_user("hq", "hq_viewer", [], "hq-password")
    factories.add_user("manager.eu", "inventory_manager", ["EU"], "manager-password")
    factories.add_user("support.eu", "support", ["EU"], "support-password")
    factories.add_user("admin", "admin", [], "admin-password")


@pytest.fixture
def users(world_with) -> str:
    """The small world and one account of each role."""
    return world_with(_one_account_per_role)


def test_good_password_signs_in(users):
    actor = authenticate("manager.eu", "manager-password")
    assert actor.role == "inventory_manager" and actor.regions == ("EU",)


@pytest.mark.parametrize("username,password", [
    ("manager.eu", "wrong"), ("nobody", "manager-password"), ("", ""),
])
def test_wrong_password_or_unknown_user_is_refused_with_one_message(users, username, password):
    with pytest.raises(InvalidCredentials, match="Wrong username or password."):
        authenticate(username, password)


def test_sign_in_page_refuses_a_wrong_password(users):
    at = sign_in("manager.eu", "not-it")
    assert not at.exception
    assert messages(at)["error"] == ["Wrong username or password."]
    assert "actor" not in at.session_state


@pytest.mark.parametrize("username,password,role", [
    ("hq", "hq-password", "hq_viewer"),
    ("manager.eu", "manager-password", "inventory_manager"),
    ("support.eu", "support-password", "support"),
    ("admin", "admin-password", "admin"),
])
def test_each_role_signs_in_and_lands_on_the_overview(users, username, password, role):
    at = sign_in(username, password)
    assert not at.exception, at.exception
    assert at.session_state["actor"].role == role
    assert at.title[0].value == "Overview"


@pytest.mark.parametrize("role", ["hq_viewer", "inventory_manager", "support", "admin"])
def test_pages_outside_a_roles_list_cannot_be_reached(users, role):
    password = {"hq_viewer": "hq-password", "inventory_manager": "manager-password",
                "support": "support-password", "admin": "admin-password"}[role]
    username = {"hq_viewer": "hq", "inventory_manager": "manager.eu", "support": "support.eu",
                "admin": "admin"}[role]
    at = sign_in(username, password)
    allowed = {spec.path for spec in pages_for(role)}
    for spec in PAGES:
        if spec.path in allowed:
            at.switch_page(spec.path)
            at.run()
            assert not at.exception, (spec.path, at.exception)
        else:
            # AppTest refuses the unknown page, or Streamlit's legacy pages/ mode runs the
            # file directly and the page's own role check stops it before it shows anything.
            try:
                at.switch_page(spec.path)
                at.run()
            except ValueError as refused:
                assert "Could not find a navigation page" in str(refused)
                continue
            assert not at.exception
            assert spec.title not in [t.value for t in at.title]
            assert messages(at)["error"] == [
                f"The {spec.title} page is not available to the {role.replace('_', ' ')} role."]


def test_admin_sees_every_page():
    assert {p.path for p in pages_for("admin")} == {p.path for p in PAGES}


def test_each_page_file_names_itself_when_it_asks_who_is_signed_in():
    """A page checks the role against the name it states; a copied line naming another page
    would let the wrong role in, so every file must state its own."""
    root = Path(APP).parent
    for spec in PAGES:
        source = (root / spec.path).read_text()
        assert source.count("require_actor(") == 1, spec.path
        assert f'require_actor("{spec.url_path}")' in source, spec.path
