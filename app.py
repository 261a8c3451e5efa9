"""gifviz app entry: page config and navigation only (every number and figure comes from the gifviz library)."""

import streamlit as st

st.set_page_config(page_title="gifviz", page_icon=":material/hub:", layout="wide")
navigation = st.navigation(
    {
        "Models": [
            st.Page("pages/hub.py", title="Hub", icon=":material/inventory_2:", default=True),
            st.Page("pages/add_models.py", title="Add models", icon=":material/add_circle:"),
            st.Page("pages/fields.py", title="Fields", icon=":material/gradient:"),
            st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
        ],
        "Model space": [
            st.Page("pages/distances.py", title="Distances", icon=":material/grid_on:"),
            st.Page("pages/map.py", title="Map", icon=":material/scatter_plot:"),
            st.Page("pages/clusters.py", title="Clusters", icon=":material/account_tree:"),
            st.Page("pages/benchmarks.py", title="Benchmarks", icon=":material/leaderboard:"),
            st.Page("pages/audit.py", title="Audit", icon=":material/policy:"),
        ],
        "Setup": [st.Page("pages/settings.py", title="Settings", icon=":material/tune:")],
    }
)
navigation.run()
