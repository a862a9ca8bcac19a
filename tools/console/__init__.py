"""The finance and operations console: a Streamlit app on the BI snapshot (see app.py)."""
