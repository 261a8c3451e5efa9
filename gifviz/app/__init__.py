"""Streamlit glue for the app: settings in the URL, cached resources, progress. Pages import this; the library
(everything else in gifviz) never imports Streamlit."""
