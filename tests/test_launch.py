"""The warm launcher (dashboard/launch.py) and the sidebar's per-store-version listing:
they move work before the first visit and never change an answer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from browser_helpers import build_small_store, store_env

from dashboard import data, launch
from steward import access, definitions, kpis, memo, query, store


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Path]:
    path = build_small_store(tmp_path / "steward.duckdb")
    with store_env(path):
        yield path
    memo.use_store_memo(False)


def test_warm_fills_the_store_memo_and_changes_no_number(db: Path) -> None:
    defs = definitions.load(os.environ.get("STEWARD_DEFINITIONS"))
    with store.reader(db) as con:
        q = query.resolve(con, defs)
        fresh = kpis.headline_kpis(con, q, defs)  # memo off: computed from scratch
        plain_listing = store.list_snapshots(con)
        plain_segments = store.dim_values(con, "segment")
    assert launch.warm() > 0
    with store.reader(db) as con:
        # the sidebar's reads and the trust checks' history are there for the first visit
        assert memo.by_store(con, "dashboard.listing")
        assert memo.by_store(con, "dashboard.picker_values")
        assert memo.by_store(con, "trust.history_ids")
        assert memo.by_store(con, "snapshot_dates")
        with memo.view():
            warm = kpis.headline_kpis(con, q, defs)
        assert data.listing(con).equals(plain_listing)
        assert data.picker_values(con, "segment", access.OPEN.scope) == plain_segments
    assert [k.as_dict() for k in warm] == [k.as_dict() for k in fresh]


def test_warm_without_a_store_does_nothing(tmp_path: Path) -> None:
    with store_env(tmp_path / "none.duckdb"):
        assert launch.warm() == 0.0
    assert not (tmp_path / "none.duckdb").exists()


def test_the_listing_follows_an_import(db: Path) -> None:
    """Kept per store version: an import (a new version token) is seen at once."""
    memo.use_store_memo(True)
    with store.reader(db) as con:
        before = data.listing(con)
        assert data.listing(con).equals(before)  # served from the store memo
        frame = con.execute(
            "select * from snapshots where snapshot_date = (select max(snapshot_date) "
            "from snapshots)"
        ).df()
    last = before["snapshot_date"].max()
    frame["snapshot_date"] = (last + timedelta(days=7)).date()
    frame = frame.drop(columns=[c for c in ("import_id",) if c in frame.columns])
    with store.writer(db) as con:
        store.commit_snapshots(con, frame, file_name="week.csv", source_format="fixture")
    with store.reader(db) as con:
        after = data.listing(con)
        assert len(after) == len(before) + 1
        assert after.equals(store.list_snapshots(con))
