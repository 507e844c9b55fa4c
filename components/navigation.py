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
]


def pages_for(role: str) -> list[PageSpec]:
    return [page for page in PAGES if role in page.roles]


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


def require_page_access(role: str, path: str) -> None:
    """Stop a page the role may not use, even when Streamlit runs it without dashboard.py.

    Defence in depth: with a folder named `pages/` next to the entry script, Streamlit's
    first script run in a process (and every AppTest run) uses the old pages-directory mode,
    which runs a file under pages/ directly, outside st.navigation's role-based list.
    """
    if path not in {spec.path for spec in pages_for(role)}:
        title = next((spec.title for spec in PAGES if spec.path == path), path)
        st.error(f"The {title} page is not available to the {role.replace('_', ' ')} role.")
        st.stop()
