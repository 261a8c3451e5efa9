"""gifviz app entry: page config and navigation only (every number comes from the gifviz library)."""

import streamlit as st

st.set_page_config(page_title="gifviz", page_icon=":material/hub:", layout="wide")
navigation = st.navigation([st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True)])
navigation.run()
