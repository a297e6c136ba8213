"""The Streamlit app: the only Streamlit code outside pages/."""
