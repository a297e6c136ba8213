"""Cached loaders and the few writes of the Scenario planner and Maturity pages.

Reads go through `data`'s per-run read connection and cache keys (data version,
definitions digest, query); writes (save a scenario, record a self-assessment or the
placements) release that connection, take the store's write lock briefly through lib,
and drop the caches so the next rerun sees them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date

import duckdb
import pandas as pd
import streamlit as st

from dashboard import data
from steward import store
from steward.maturity import scorecard
from steward.metrics import Query
from steward.plan import scenarios, whatif


@st.cache_data(show_spinner=False, max_entries=64)
def _comparison(db: str, ver: str, digest: str, qkey: str, _q: Query) -> pd.DataFrame:
    with data._reader(db) as con:
        return scenarios.comparison(con, _q, data.defs())


def comparison(q: Query) -> pd.DataFrame:
    """The baseline and every saved scenario, recomputed for the view."""
    return _comparison(data.db_path(), data.version(), data.defs().digest, data._key(q), q)


@st.cache_data(show_spinner=False, max_entries=16)
def _saved(db: str, ver: str) -> pd.DataFrame:
    with data._reader(db) as con:
        return scenarios.saved(con)


def saved() -> pd.DataFrame:
    return _saved(data.db_path(), data.version())


@st.cache_data(show_spinner=False, max_entries=16)
def _history(db: str, ver: str, up_to: date) -> pd.DataFrame:
    with data._reader(db) as con:
        return scorecard.history(con, up_to)


def history(up_to: date) -> pd.DataFrame:
    """Recorded maturity placements up to the as-of date."""
    return _history(data.db_path(), data.version(), up_to)


def _write() -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    data.release()  # our own read connection would block the write
    return store.writer(data.db_path())


def save_scenario(name: str, q: Query, a: whatif.Assumptions, replace: bool) -> None:
    try:
        with _write() as con:
            scenarios.save(con, name, q, data.defs(), a, replace=replace)
    finally:
        data.clear_caches()


def delete_scenario(name: str) -> None:
    try:
        with _write() as con:
            scenarios.delete(con, name)
    finally:
        data.clear_caches()


def assess(dimension_id: str, stage: int, on: date, note: str, assessor: str) -> None:
    try:
        with _write() as con:
            scorecard.assess(con, dimension_id, stage, on, note, assessor)
    finally:
        data.clear_caches()


def record(q: Query) -> None:
    try:
        with _write() as con:
            scorecard.record(con, q, data.defs())
    finally:
        data.clear_caches()
