"""The KPI trend cut from the period's groups (steward.metrics.trend_cut) answers exactly
like its one-scan SQL (`kpi_trend_result(..., in_sql=True)`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from unittest import mock

import pandas as pd
from fixtures_pipeline import AS_OF, PERIOD, insert_snapshots, snapshot_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward import definitions, derived, memo, store
from steward.metrics import Filters, Query, RowScope, compute, trend_cut
from steward.metrics.history_changes import kpi_trend_result

DEFS = definitions.load(definitions.DEFAULT_PATH)


def assert_same(con, q):
    memo.use_store_memo(True)  # the cut path runs where answers are kept (the app)
    try:
        fast = kpi_trend_result(con, q, DEFS)
    finally:
        memo.use_store_memo(False)
    plain = kpi_trend_result(con, q, DEFS, in_sql=True)
    pd.testing.assert_frame_equal(fast.table, plain.table)
    assert fast.note == plain.note


def test_every_cut_and_date_as_in_sql(pipeline_con):
    derived.rebuild(pipeline_con)  # a store version token: the groups can be kept
    cuts = [
        Filters(),
        Filters.of(segment="Enterprise"),
        Filters.of(segment=["SMB", "Mid-Market"], region="NA"),
        Filters.of(source="Marketing"),
        Filters.of(stage=["Discovery", "Proposal"]),
        Filters.of(owner="Nobody"),
        Filters.of(region="NA").restricted(RowScope.of(segment="Enterprise")),
    ]
    for when in (AS_OF, date(2026, 11, 9), date(2026, 10, 19), date(2026, 9, 30)):
        for f in cuts:
            assert_same(pipeline_con, Query(when, PERIOD, filters=f))
    # Enterprise rows of B (O13 is Mid-Market there): open qualified closing in Q4: O06
    # Discovery 75,000 (p 0.2), O10 Proposal 80,000 (p 0.9, Marketing), O16 Discovery
    # 22,000 (p 0.2) = 177,000; weighted 15,000 + 72,000 + 4,400 = 91,400; won in Q4: O01
    # 100,000 (O15 closes 2027-01-05); marketing share 80,000 / 177,000.
    ent = kpi_trend_result(pipeline_con, Query(AS_OF, PERIOD, filters=cuts[1]), DEFS).table
    last = ent.iloc[-1]
    assert last.snapshot_date == AS_OF
    assert (last.open_pipeline, last.weighted_pipeline, last.won_to_date) == (
        177000.0,
        91400.0,
        100000.0,
    )
    assert last.marketing_sourced_share == 80000 / 177000


def test_kept_per_store_version_follows_imports(pipeline_con):
    """With the store memo on, the groups are read once and cut per view; a new snapshot
    (a new store version) is seen."""
    derived.rebuild(pipeline_con)
    memo.use_store_memo(True)
    try:
        q = Query(AS_OF, PERIOD, filters=Filters.of(segment="SMB"))
        with memo.view():
            before = compute(pipeline_con, "kpi_trend", q, DEFS).table
        assert len(memo.by_store(pipeline_con, "trend.groups")) == 1
        assert_same(pipeline_con, q)  # (turns the memo off after)
        memo.use_store_memo(True)
        rows = snapshot_rows(
            date(2026, 11, 23), [("O12", "Proposal", 5000, 0.6, "Commit", "2026-12-10")]
        )
        store.commit_snapshots(pipeline_con, pd.DataFrame(rows), file_name="w.csv")
        later = Query(date(2026, 11, 23), PERIOD, filters=Filters.of(segment="SMB"))
        with memo.view():
            after = compute(pipeline_con, "kpi_trend", later, DEFS).table
        # one more point: O12 alone, Proposal 5,000 closing in Q4 -> 5,000 open
        assert len(after) == len(before) + 1
        assert after.iloc[-1].open_pipeline == 5000.0
        assert_same(pipeline_con, later)
    finally:
        memo.use_store_memo(False)


def test_one_off_calls_run_one_query(pipeline_con):
    """With the store memo off (the CLI, a library caller) nothing is grouped for later
    cuts: the one scan for this cut is cheaper once."""
    derived.rebuild(pipeline_con)
    with mock.patch.object(trend_cut, "groups", side_effect=AssertionError("grouped")):
        got = compute(pipeline_con, "kpi_trend", Query(AS_OF, PERIOD), DEFS).table
    assert got.iloc[-1].snapshot_date == AS_OF


WEEKS = [date(2026, 10, 5), date(2026, 10, 12), date(2026, 11, 16)]
row = st.tuples(
    st.sampled_from(["Prospecting", "Discovery", "Proposal", "Closed Won", "Closed Lost"]),
    st.sampled_from([None, "0.01", "1000.10", "2500.55", "99999.99"]),
    st.sampled_from([None, 0.0, 0.35, 1.0]),
    st.sampled_from(["2026-11-30", "2027-02-10"]),
    st.sampled_from([None, "Enterprise", "SMB"]),
    st.sampled_from([None, "Marketing", " marketing ", "Partner"]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    deals=st.lists(st.lists(st.one_of(st.none(), row), min_size=3, max_size=3), max_size=8),
    cut=st.sampled_from(
        [Filters(), Filters.of(segment="SMB"), Filters.of(source=["Marketing", "Partner"])]
    ),
)
def test_random_snapshots_as_in_sql(deals, cut):
    con = store.init_memory()
    rows = []
    for w, week in enumerate(WEEKS):
        for i, deal in enumerate(deals):
            if deal[w] is None:
                continue
            stage, amount, prob, close, segment, source = deal[w]
            [rec] = snapshot_rows(week, [("O10", stage, 0, prob, "Pipeline", close)])
            rec.update(
                opportunity_id=f"T{i:02d}",
                amount=None if amount is None else Decimal(amount),
                segment=segment,
                source=source,
            )
            rows.append(rec)
    if rows:
        insert_snapshots(con, rows)
    derived.rebuild(con)
    for when in WEEKS:
        assert_same(con, Query(when, PERIOD, filters=cut))
