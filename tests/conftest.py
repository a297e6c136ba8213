"""Shared pytest fixtures: the governed definitions and the hand-built pipeline store.

The store is described deal by deal in tests/fixtures_pipeline.py.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers importable

import fixtures_pipeline  # noqa: E402

from steward import definitions, memo  # noqa: E402
from steward.definitions import Definitions  # noqa: E402


@pytest.fixture(scope="session")
def defs() -> Definitions:
    """The default definitions shipped in data/definitions.toml."""
    return definitions.load(definitions.DEFAULT_PATH)


@pytest.fixture
def pipeline_con() -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh in-memory store holding the four fixture snapshots and the targets."""
    con = fixtures_pipeline.build()
    yield con
    con.close()


@pytest.fixture(autouse=True)
def _store_memo_off() -> Iterator[None]:
    """The app turns the per-store-version memo on for its runs (steward.memo); a lib
    test after an app test must compute fresh, as a library caller does."""
    yield
    memo.use_store_memo(False)
