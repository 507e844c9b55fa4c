"""Stockroom: sign in, then the pages your role may use."""

import streamlit as st

from components.navigation import navigation_for
from components.session import (
    current_actor,
    keep_sign_in_in_browser,
    return_to_requested_page,
    sign_out_button,
    signed_out_navigation,
)
from queries.errors import DatabaseUnavailable

st.set_page_config(page_title="Stockroom", page_icon=":material/inventory_2:", layout="wide")

try:
    actor = current_actor()
    keep_sign_in_in_browser()
    if actor is None:
        # Always go through st.navigation, so the pages/ folder is never exposed by itself.
        signed_out_navigation().run()
    else:
        sign_out_button()
        page = navigation_for(actor.role)
        return_to_requested_page(actor.role)
        page.run()
except DatabaseUnavailable as exc:
    # Every read and write already rode through short outages; this one lasted longer.
    st.error(str(exc), icon=":material/cloud_off:")
