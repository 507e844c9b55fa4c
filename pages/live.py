"""Live: every committed change as it arrives from the change stream."""

import streamlit as st

from components.live import live_panel
from components.session import require_actor

actor = require_actor("live")
st.title("Live")
st.caption("Changes to stock, orders, order lines, transfers and order events, straight from "
           "the database's change stream. Refreshes every two seconds.")
live_panel()
