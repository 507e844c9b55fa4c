"""Which pages each role gets. A page left out of a role's list cannot be reached at all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from queries.actor import ROLES


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    roles: frozenset[str]
    url_path: str


EVERYONE = frozenset(ROLES)
PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

PAGES: list[PageSpec] = [
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:", EVERYONE, "overview"),
    PageSpec("pages/inventory.py", "Inventory", ":material/inventory:",
             frozenset({"inventory_manager", "admin"}), "inventory"),
    PageSpec("pages/orders.py", "Orders", ":material/receipt_long:",
             frozenset({"support", "admin"}), "orders"),
    PageSpec("pages/live.py", "Live", ":material/bolt:", EVERYONE, "live"),
    PageSpec("pages/operations.py", "Operations", ":material/health_and_safety:",
             frozenset({"hq_viewer", "admin"}), "operations"),
    PageSpec("pages/users.py", "Users", ":material/group:", frozenset({"admin"}), "users"),
]


def pages_for(role: str) -> list[PageSpec]:
    return [page for page in PAGES if role in page.roles]


def page_refusal(role: str, page_file: str) -> str | None:
    """Why the role may not see this page file, or None when it may.

    Files outside pages/ are not pages (the sign-in form lives in components/).
    """
    resolved = Path(page_file).resolve()
    if resolved.parent != PAGES_DIR:
        return None
    if any(PAGES_DIR / Path(spec.path).name == resolved for spec in pages_for(role)):
        return None
    title = next((s.title for s in PAGES if PAGES_DIR / Path(s.path).name == resolved), resolved.stem)
    return f"The {title} page is not available to the {role.replace('_', ' ')} role."


def navigation_for(role: str):
    pages = [
        st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path,
                default=(index == 0))
        for index, spec in enumerate(pages_for(role))
    ]
    return st.navigation(pages)


def signed_out_navigation():
    from components.session import sign_in_form

    return st.navigation(
        [st.Page(sign_in_form, title="Sign in", icon=":material/login:", url_path="sign-in")],
        position="hidden",
    )

