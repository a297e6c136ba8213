"""The trust checks cut in memory (steward.metrics.trust_cut) answer exactly like the SQL.

The reference is the plain path (the raw snapshots, each view's filters in SQL), forced
by reporting the derived tables as lagging; the fast path (the store memo on, as in the
app) reads the deal flags of the whole snapshot once and cuts them by the view's
filters in numpy.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from unittest import mock

import numpy as np
from fixtures_pipeline import AS_OF, PERIOD, insert_snapshots, snapshot_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward import definitions, derived, memo, store
from steward.metrics import cuts, trust, trust_cut
from steward.metrics.core import Filters, Query, RowScope, compute

Q = Query(AS_OF, PERIOD)


@contextmanager
def plain_sql():
    """The reference path: the checks computed in SQL from the raw snapshots."""
    with mock.patch.object(trust, "_derived_current", return_value=False):
        yield


@contextmanager
def kept():
    """The store memo on, as the app runs: the cut path."""
    memo.use_store_memo(True)
    try:
        yield
    finally:
        memo.use_store_memo(False)


def both(con, q, defs):
    """(fast, plain) trust_checks table and score, and their trust_score results."""
    with kept():
        fast = compute(con, "trust_checks", q, defs), compute(con, "trust_score", q, defs)
    with plain_sql():
        plain = compute(con, "trust_checks", q, defs), compute(con, "trust_score", q, defs)
    return fast, plain


def assert_same(fast, plain):
    """Equal tables, scores and notes. closed_never_open is left out: it is not cut here
    (the derived path reads history.win_loss, whose cut of a deal reopened after the
    as-of date differs from the plain SQL's; a matter for the win rate, not this path)."""
    (checks_f, score_f), (checks_p, score_p) = fast, plain

    def table(r):
        return r.table[r.table["check_id"] != "closed_never_open"].reset_index(drop=True)

    assert table(checks_f).equals(table(checks_p))
    assert checks_f.value == checks_p.value
    assert (score_f.value, score_f.note) == (score_p.value, score_p.note)


# ---- DuckDB's median of a DECIMAL(18,2) column, in cents ---------------------------------
def test_median_cents_is_duckdbs_decimal_median():
    # odd count: the middle value
    assert trust_cut.median_cents(np.array([300, 100, 200])) == 200
    # even count: lower middle + half the gap, rounded down to the cent:
    # 1.01 and 1.02 -> 1.015 -> 1.01; 1.01 and 1.04 -> 1.025 -> 1.02; 1.00 and 3.00 -> 2.00
    assert trust_cut.median_cents(np.array([102, 101])) == 101
    assert trust_cut.median_cents(np.array([101, 104])) == 102
    assert trust_cut.median_cents(np.array([100, 300, 900, 50])) == 200
    assert trust_cut.median_cents(np.array([], dtype=np.int64)) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 10**12), min_size=1, max_size=9))
def test_median_cents_matches_duckdb(cents):
    import duckdb

    text = [f"{c // 100}.{c % 100:02d}" for c in cents]
    [(want,)] = (
        duckdb.connect()
        .execute(
            "select median(x) from (select unnest($v::varchar[])::decimal(18,2) as x)",
            {"v": text},
        )
        .fetchall()
    )
    assert trust_cut.median_cents(np.array(cents, dtype=np.int64)) == int(want * 100)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**11), st.floats(0.01, 1000, allow_nan=False))
def test_outlier_floor_is_the_least_outlier(med, multiple):
    """The SQL flags `amount > multiple × median` in doubles: c is the least cent amount
    that passes, so every c' ≥ c passes (the division is monotone) and c − 1 does not."""
    limit = multiple * (med / 100)
    c = trust_cut.outlier_floor(med, multiple)
    assert c / 100 > limit
    assert c == 0 or not (c - 1) / 100 > limit


def test_mask_keeps_what_the_sql_keeps():
    """`dim in (values)` for the cut and the scope, ANDed; a null never matches."""
    dims = ("segment", "region", "source", "owner", "product", "stage")
    values = {d: () for d in dims} | {"segment": ("Enterprise", "SMB"), "region": ("EMEA", "NA")}
    # rows: (segment, region) = (Enterprise, NA), (SMB, EMEA), (null, NA), (SMB, null)
    codes = {d: np.zeros(4, dtype=np.int32) for d in dims}
    codes["segment"] = np.array([1, 2, 0, 2], dtype=np.int32)
    codes["region"] = np.array([2, 1, 2, 0], dtype=np.int32)
    dim_codes = cuts.DimCodes(values, codes)
    fl = trust_cut.DealFlags((), dim_codes, np.zeros(4, np.int64), np.zeros(4, np.int16))
    assert trust_cut.mask(fl, Filters()) is None
    assert list(trust_cut.mask(fl, Filters.of(segment="SMB"))) == [False, True, False, True]
    assert list(trust_cut.mask(fl, Filters.of(segment=["SMB", "Enterprise"], region="NA"))) == [
        True,
        False,
        False,
        False,
    ]
    scoped = Filters().restricted(RowScope.of(region="NA"))
    assert list(trust_cut.mask(fl, scoped)) == [True, False, True, False]
    assert list(trust_cut.mask(fl, Filters.of(segment="Other"))) == [False] * 4


# ---- the hand-built pipeline: every cut and date as in SQL ---------------------------------
def test_cuts_answer_like_sql(pipeline_con, defs):
    tuned = dataclasses.replace(defs, stale_weeks=4, push_count=2, outlier_multiple=2.0)
    derived.rebuild(pipeline_con)
    cuts = [
        Filters(),
        Filters.of(segment="Enterprise"),
        Filters.of(owner=["Alice", "Carol"], region="NA"),
        Filters.of(stage="Discovery"),
        Filters.of(segment="Nowhere"),
        Filters.of(region="NA").restricted(RowScope.of(segment="SMB")),
    ]
    for when in (AS_OF, date(2026, 11, 9), date(2026, 10, 19)):
        for f in cuts:
            assert_same(*both(pipeline_con, Query(when, PERIOD, filters=f), tuned))
    got = compute(
        pipeline_con, "trust_checks", Q.with_(filters=Filters.of(segment="Enterprise")), tuned
    )
    by_id = {r.check_id: (r.count, r.amount) for r in got.table.itertuples()}
    # Enterprise open in B: O03 200,000, O06 75,000, O10 80,000, O16 22,000 (O13 is
    # Mid-Market in B: the cut reads the snapshot row). Median of 22,000, 75,000,
    # 80,000, 200,000 = 75,000 + 5,000 / 2 = 77,500; 2 × 77,500 = 155,000: O03 only.
    assert by_id["amount_outlier"] == (1, 200000.0)


def test_outlier_at_the_cent(defs):
    """Open amounts 1,000.00, 1,000.00 and 1,000.01, multiple 1: median 1,000.00; only
    1,000.01 is above 1 × 1,000.00 (strictly: the two at 1,000.00 are not)."""
    con = store.init_memory()
    rows = []
    for oid, amount in (("O10", "1000.00"), ("O16", "1000.00"), ("O03", "1000.01")):
        [rec] = snapshot_rows(AS_OF, [(oid, "Proposal", 0, 0.6, "Commit", "2026-12-01")])
        rec.update(amount=Decimal(amount))
        rows.append(rec)
    insert_snapshots(con, rows)
    derived.rebuild(con)
    tuned = dataclasses.replace(defs, outlier_multiple=1.0)
    fast, plain = both(con, Q, tuned)
    assert_same(fast, plain)
    got = {r.check_id: (r.count, r.amount) for r in fast[0].table.itertuples()}
    assert got["amount_outlier"] == (1, 1000.01)


def test_duplicate_ids_fall_back_to_sql(defs):
    """A snapshot with an id twice (refused on import) still counts its extra copy."""
    con = store.init_memory()
    rows = snapshot_rows(AS_OF, [("O10", "Proposal", 50000, 0.6, "Commit", "2026-12-01")])
    rows += snapshot_rows(AS_OF, [("O10", "Proposal", 7000, 0.6, "Commit", "2026-12-01")])
    rows += snapshot_rows(AS_OF, [("O16", "Discovery", 22000, 0.2, "Pipeline", "2026-12-31")])
    insert_snapshots(con, rows)
    derived.rebuild(con)
    fast, plain = both(con, Q, defs)
    assert_same(fast, plain)
    got = {r.check_id: (r.count, r.amount) for r in fast[0].table.itertuples()}
    assert got["duplicate_ids"] == (1, 7000.0)  # the smaller copy is the extra one


# ---- property: random snapshots, random cuts ---------------------------------------------
WEEKS = [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 16)]
deal_week = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["Discovery", "Proposal", "Closed Won", "Closed Lost", "Legal Review"]),
        st.sampled_from([None, 0, 1000, 1001, 2000, 5000, 250000]),
        st.sampled_from([None, 0.0, 0.2, 0.6, 1.0]),
        st.sampled_from(["2026-09-20", "2026-11-30", "2027-02-10"]),
        st.sampled_from([None, "Enterprise", "SMB"]),
    ),
)
cut = st.fixed_dictionaries(
    {},
    optional={
        "segment": st.lists(st.sampled_from(["Enterprise", "SMB", "Mid-Market"]), min_size=1),
        "stage": st.lists(st.sampled_from(["Discovery", "Proposal", "Closed Won"]), min_size=1),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=st.lists(st.lists(deal_week, min_size=3, max_size=3), min_size=1, max_size=7),
    filters=cut,
    multiple=st.sampled_from([1.5, 2.0, 20.0]),
)
def test_fast_and_plain_agree_on_random_snapshots(history, filters, multiple):
    tuned = dataclasses.replace(
        definitions.load(definitions.DEFAULT_PATH),
        stale_weeks=2,
        push_count=1,
        outlier_multiple=multiple,
    )
    con = store.init_memory()
    rows = []
    for w, week in enumerate(WEEKS):
        for i, deal in enumerate(history):
            if deal[w] is None:
                continue
            stage, amount, prob, close, segment = deal[w]
            [rec] = snapshot_rows(week, [("O10", stage, 0, prob, "Pipeline", close)])
            rec.update(opportunity_id=f"H{i:02d}", amount=amount, segment=segment)
            rows.append(rec)
    for week in WEEKS:  # one row every week keeps the calendar complete
        rows += snapshot_rows(week, [("O17", "Closed Lost", 1, 0.0, "Omitted", "2026-09-10")])
    insert_snapshots(con, sorted(rows, key=lambda r: (r["snapshot_date"], r["opportunity_id"])))
    derived.rebuild(con)
    for when in WEEKS[1:]:
        q = Query(when, PERIOD, filters=Filters.of(**filters))
        assert_same(*both(con, q, tuned))
