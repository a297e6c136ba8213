"""Pipeline Steward: weekly CRM opportunity snapshots in DuckDB, turned into a board story.

This package is the product's core. It never imports streamlit: the CLI, the exports,
the tests and the dashboard all reuse the same numbers.
"""

__version__ = "0.1.0"
