"""Derived tables maintained incrementally on import (owned by the metric layer).

`ensure` creates them; `refresh` brings them up to date after snapshot dates were
added, replaced or deleted, inside the caller's transaction.
"""

from __future__ import annotations

from datetime import date

import duckdb


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Create derived tables if missing. (No derived tables yet.)"""


def refresh(con: duckdb.DuckDBPyConnection, snapshot_dates: list[date]) -> None:
    """Recompute what depends on the given snapshot dates. (No derived tables yet.)"""
