"""Stalled deals cut in memory (steward.metrics.stalled_cut) answer exactly like the SQL.

The reference is `history.stalled_frame(..., in_sql=True)`: the p75 from
time_in_stage_table and one query joining the cut, the state and the stage entries.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import history_fixture as hf
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward import definitions, memo, store
from steward.metrics import Filters, Query, RowScope, compute, history, stalled_cut

P = "FY2026-Q4"
DEFS = definitions.load(definitions.DEFAULT_PATH)
CUTS = [
    Filters(),
    Filters.of(segment="Enterprise"),
    Filters.of(segment=["SMB", "Mid-Market"]),
    Filters.of(source="Outbound"),
    Filters.of(segment="Nowhere"),
    Filters.of(source=["Inbound", "Partner"]).restricted(RowScope.of(segment="SMB")),
]


def assert_same(con: duckdb.DuckDBPyConnection, q: Query, stage: str | None = None) -> None:
    memo.use_store_memo(True)  # the cut path runs where answers are kept (the app)
    try:
        fast = history.stalled_frame(con, q, DEFS, stage)
    finally:
        memo.use_store_memo(False)
    plain = history.stalled_frame(con, q, DEFS, stage, in_sql=True)
    pd.testing.assert_frame_equal(fast, plain)


def test_quantile_cont_is_duckdbs():
    # 7, 14, 21, 28: position 3 × 0.75 = 2.25 -> 21 + 0.25 × 7 = 22.75; one value: itself
    assert stalled_cut.quantile_cont(np.array([7, 14, 21, 28]), 0.75) == 22.75
    assert stalled_cut.quantile_cont(np.array([9]), 0.75) == 9.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5000), min_size=1, max_size=12))
def test_quantile_cont_matches_duckdb(days):
    [(want,)] = (
        duckdb.connect()
        .execute(
            "select quantile_cont(x, 0.75) from (select unnest($v::bigint[]) as x)", {"v": days}
        )
        .fetchall()
    )
    assert stalled_cut.quantile_cont(np.array(sorted(days)), 0.75) == want


def test_every_cut_date_and_stage_as_in_sql():
    con = hf.build()
    for as_of in hf.DATES:
        for f in CUTS:
            for stage in (None, "Discovery", "Prospecting"):
                assert_same(con, Query(as_of, P, filters=f), stage)
    # the fixture's answer (tests/test_history.py::test_stalled_deals): H and F at S4
    memo.use_store_memo(True)
    got = history.stalled_frame(con, Query(hf.S4, P), DEFS)
    assert list(got.opportunity_id) == ["H", "F"]
    assert memo.by_store(con, "stalled.stays")  # read by the cut path
    con.close()


def test_kept_per_store_version_answers_like_fresh():
    """With the store memo on, each view cuts the kept rows: the same answer as fresh
    (one query, the memo off) under every cut, and an import starts over (the kept rows
    follow the store)."""
    con = hf.build()
    fresh = {f: history.stalled_frame(con, Query(hf.S4, P, filters=f), DEFS) for f in CUTS}
    assert memo.by_store(con, "stalled.stays") is None  # memo off: no rows kept
    memo.use_store_memo(True)
    try:
        for f in CUTS:
            with memo.view():
                got = compute(con, "stalled_deals", Query(hf.S4, P, filters=f), DEFS).table
            pd.testing.assert_frame_equal(got, fresh[f])
        # F moves to Solution in a fifth week: no longer stalled at Discovery
        s5 = hf.S4 + timedelta(days=7)
        states = {k: v for k, v in hf.STATES[hf.S4].items()}
        stage, amount, close = states["F"]
        states["F"] = ("Solution", amount, close)
        store.commit_snapshots(con, hf.frame_for(s5, states), file_name="s5.csv")
        with memo.view():
            got = compute(con, "stalled_deals", Query(s5, P), DEFS).table
        assert "F" not in set(got.opportunity_id)
        pd.testing.assert_frame_equal(
            got, history.stalled_frame(con, Query(s5, P), DEFS, in_sql=True)
        )
    finally:
        memo.use_store_memo(False)
        con.close()


STAGES = DEFS.stage_names
paths = st.lists(
    st.lists(st.one_of(st.none(), st.sampled_from(STAGES)), min_size=4, max_size=4),
    min_size=1,
    max_size=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paths=paths,
    segments=st.lists(st.sampled_from(["SMB", "Enterprise"]), min_size=8, max_size=8),
    cut=st.sampled_from(CUTS[:3]),
)
def test_random_histories_as_in_sql(paths, segments, cut):
    con = hf.store_of_paths(paths, segments)
    for as_of in hf.DATES[1:]:
        assert_same(con, Query(as_of, P, filters=cut))
    con.close()
