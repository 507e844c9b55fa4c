"""Stockroom: sign in, then the pages your role may use."""

import streamlit as st

from components.navigation import navigation_for, signed_out_navigation
from components.session import current_actor, keep_sign_in_in_browser, sign_out_button

st.set_page_config(page_title="Stockroom", page_icon=":material/inventory_2:", layout="wide")

actor = current_actor()
keep_sign_in_in_browser()
if actor is None:
    # Always go through st.navigation, so the pages/ folder is never exposed by itself.
    signed_out_navigation().run()
else:
    sign_out_button()
    navigation_for(actor.role).run()
