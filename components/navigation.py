"""Which pages each role gets. A page left out of a role's list cannot be reached at all."""

from __future__ import annotations

from dataclasses import dataclass

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


def page_refusal(role: str, page: str) -> str | None:
    """Why the role may not see the page named `page` (its url_path), or None when it may."""
    spec = next((s for s in PAGES if s.url_path == page), None)
    if spec is None:
        raise ValueError(f"No page is named {page!r}.")
    if role in spec.roles:
        return None
    return f"The {spec.title} page is not available to the {role.replace('_', ' ')} role."


def navigation_for(role: str):
    pages = [
        st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path,
                default=(index == 0))
        for index, spec in enumerate(pages_for(role))
    ]
    return st.navigation(pages)
