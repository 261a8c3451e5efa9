"""Plot builders: plain functions from gifviz results to plotly figures (no Streamlit here)."""
