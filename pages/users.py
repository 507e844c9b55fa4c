"""Users: who may sign in, with which role and in which regions (admin only)."""

import streamlit as st

from components.session import require_actor
from components.user_events import save_account, set_account_active, user_events_table
from queries import locations, users
from queries.actor import ROLES

actor = require_actor("users")
st.title("Users")
st.caption("Local accounts. Inventory managers and support staff act only in their regions.")

st.dataframe(users.list_users(), hide_index=True, width="stretch",
             column_config={"regions": st.column_config.ListColumn("regions"),
                            "created_at": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD")})

left, right = st.columns(2)
with left, st.form("create_user", clear_on_submit=False):
    st.subheader("Add or update a user")
    username = st.text_input("Username", key="user_username")
    display_name = st.text_input("Display name", key="user_display_name")
    role = st.selectbox("Role", ROLES, key="user_role")
    regions = st.multiselect("Regions (none = all regions)", locations.every_region(), key="user_regions")
    password = st.text_input("Password", type="password", key="user_password",
                             help="At least 8 characters. Leave empty to keep an existing "
                                  "user's password; setting one signs them out everywhere.")
    if st.form_submit_button("Save user", type="primary"):
        save_account(actor, username=username, display_name=display_name, role=role,
                     regions=regions, password=password or None)

with right, st.form("deactivate_user"):
    st.subheader("Deactivate or reactivate")
    who = st.selectbox("User", [u["username"] for u in users.list_users()], key="active_username")
    active = st.toggle("Active", value=True, key="active_flag")
    if st.form_submit_button("Apply"):
        set_account_active(actor, who, active)

st.subheader("Recent account changes")
user_events_table(users.recent_user_events())
