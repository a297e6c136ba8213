"""The win rate's and the velocity's deals read once per store version and cut in memory
(steward.metrics.closed) give what the same questions asked in SQL with the filters
bound give: on paper on the hand-built history (tests/history_fixture.py), then against
the plain SQL for random dates, cuts and access scopes on the demo store.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import history_fixture as hf
import numpy as np
import pytest
from browser_helpers import small_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward import definitions, memo, store
from steward.metrics import Filters, Query, RowScope, compute, current_period
from steward.metrics import closed as closed_mod
from steward.metrics.history import _win_loss_between
from steward.metrics.history_sql import Sql, add_cut, add_ranks, add_state, dec

DEFS = definitions.load()


@pytest.fixture(scope="module")
def hand():
    con = hf.build()
    yield con
    con.close()


# ---- the reference: the filters bound in SQL, as the metrics read them before ----------------
def _win_loss_sql(con, q, start, end) -> dict:
    sql = closed_mod.closed_sql(con, q, DEFS, start, end)  # add_cut binds the filters
    row = sql.run(
        con,
        """
        select count(*) filter (where is_won), count(*) filter (where qualified and not is_won),
               coalesce(sum(amount) filter (where is_won), 0),
               coalesce(sum(amount) filter (where qualified and not is_won), 0),
               count(*), count(*) filter (where unseen),
               coalesce(sum(amount) filter (where unseen), 0),
               count(*) filter (where unseen and not is_won)
        from closed
        """,
    ).fetchall()[0]
    keys = ("won_count", "lost_count", "won_amount", "lost_amount", "closed_count")
    keys += ("never_open_count", "never_open_amount", "never_open_lost_count")
    money = {"won_amount", "lost_amount", "never_open_amount"}
    return {k: dec(v) if k in money else int(v) for k, v in zip(keys, row, strict=True)}


def _velocity_sql(con, q) -> tuple[int, Decimal, int, int, dict]:
    """(open qualified count, Σ won amount, won count, Σ cycle days, win/loss) in SQL."""
    start = q.as_of - timedelta(days=364)
    end = q.as_of + timedelta(days=1)
    sql = add_ranks(Sql(), DEFS)
    add_state(sql, con, q.as_of)
    add_cut(sql, q)
    n_open = sql.run(
        con,
        """
        select count(*) from state st join cut using (opp_key)
        join ranks r on r.stage = st.stage
        where st.present and not st.is_closed and r.reach_rank >= $qualified_rank
        """,
        {"qualified_rank": DEFS.qualified_rank},
    ).fetchall()[0][0]
    won = sql.run(
        con,
        """
        select coalesce(sum(coalesce(st.amount, 0)), 0), count(*),
               coalesce(sum(st.close_date - coalesce(f.created_date, f.first_seen)), 0)
        from state st join cut using (opp_key) join opp_facts f using (opp_key)
        where st.is_won and st.close_date >= $s and st.close_date < $e
        """,
        {"s": start, "e": end},
    ).fetchall()[0]
    return int(n_open), dec(won[0]), int(won[1]), int(won[2]), _win_loss_sql(con, q, start, end)


# ---- on paper ------------------------------------------------------------------------------
def test_win_loss_cut_on_paper(hand):
    qt = Query(as_of=hf.S4, period="FY2026-Q4").quarter(DEFS)
    # As of S4, closed in Q4: A won 120 and B lost 200 (seen at Solution: qualified) and C
    # lost 50 (seen only at Prospecting: left out), all Enterprise; G won 500 (SMB).
    everyone = _win_loss_between(
        hand, Query(as_of=hf.S4, period="FY2026-Q4"), DEFS, qt.start, qt.end
    )
    assert (everyone["won_count"], everyone["lost_count"], everyone["closed_count"]) == (2, 1, 4)
    assert everyone["won_amount"] == Decimal("620.00")
    assert everyone["win_rate_count"] == pytest.approx(2 / 3)
    ent_q = Query(as_of=hf.S4, period="FY2026-Q4", filters=Filters.of(segment="Enterprise"))
    ent = _win_loss_between(hand, ent_q, DEFS, qt.start, qt.end)
    assert (ent["won_count"], ent["lost_count"], ent["closed_count"]) == (1, 1, 3)
    assert (ent["won_amount"], ent["lost_amount"]) == (Decimal("120.00"), Decimal("200.00"))
    assert ent["win_rate_value"] == pytest.approx(120 / 320)
    # As of S2: G won 500 and E lost 80 on 10-02, first seen already lost (never seen
    # open: counted as qualified by default). Both SMB; Enterprise closed nothing.
    s2 = _win_loss_between(hand, Query(as_of=hf.S2, period="FY2026-Q4"), DEFS, qt.start, qt.end)
    assert (s2["won_count"], s2["lost_count"], s2["never_open_count"]) == (1, 1, 1)
    assert (s2["never_open_amount"], s2["never_open_lost_count"]) == (Decimal("80.00"), 1)
    none = _win_loss_between(hand, ent_q.with_(as_of=hf.S2), DEFS, qt.start, qt.end)
    assert (none["closed_count"], none["win_rate_count"]) == (0, None)
    # A scope that shares nothing with the filter matches nothing.
    outside = ent_q.with_(filters=ent_q.filters.restricted(RowScope.of(segment="SMB")))
    assert _win_loss_between(hand, outside, DEFS, qt.start, qt.end)["closed_count"] == 0


def test_velocity_cut_on_paper(hand):
    # As of S4, a year back: won A (120, 10-01 -> 10-26: 25 days) and G (500, 06-01 ->
    # 10-09: 130 days): average 310 over 77.5 days; win rate 2 / 3 (A, G won; B lost; C
    # never qualified); open qualified: D (Negotiation), E and F (Discovery); H is at
    # Prospecting. 3 × 310 × 2/3 / 77.5 = 8.0 dollars a day.
    q = Query(as_of=hf.S4, period="FY2026-Q4")
    assert compute(hand, "pipeline_velocity", q, DEFS).value == pytest.approx(8.0)
    # Enterprise: A alone won (120 over 25 days), rate 1 / 2, D open: 120 × 0.5 / 25.
    ent = q.with_(filters=Filters.of(segment="Enterprise"))
    res = compute(hand, "pipeline_velocity", ent, DEFS)
    assert res.value == pytest.approx(2.4)
    assert res.table.iloc[0]["open_qualified_count"] == 1
    # Sales cycle in Q4: A 25 and G 130 days: median 77.5; SMB: G alone.
    assert compute(hand, "sales_cycle_days", q, DEFS).value == 77.5
    smb = q.with_(filters=Filters.of(segment="SMB"))
    assert compute(hand, "sales_cycle_days", smb, DEFS).value == 130.0


def test_kept_arrays_serve_every_cut_of_a_store_version(hand, tmp_path):
    path = small_store(tmp_path / "steward.duckdb")
    memo.use_store_memo(True)
    try:
        with store.reader(path) as con:
            as_of = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
            q = Query(as_of=as_of, period=current_period(as_of, DEFS))
            a = compute(con, "win_rate_count", q, DEFS)
            kept = memo.by_store(con, "closed.deals")
            assert kept is not None and len(kept) == 1
            cut = q.with_(filters=Filters.of(segment="SMB"))
            b = compute(con, "win_rate_count", cut, DEFS)
            assert len(kept) == 1  # the new filter read no deals again
            assert a.table.iloc[0]["closed_count"] > b.table.iloc[0]["closed_count"]
            assert b.value == _ratio(
                _win_loss_sql(con, cut, cut.quarter(DEFS).start, cut.quarter(DEFS).end)
            )
    finally:
        memo.use_store_memo(False)


def _ratio(wl: dict) -> float | None:
    n = wl["won_count"] + wl["lost_count"]
    return wl["won_count"] / n if n else None


# ---- the demo store: random cuts, dates and scopes -------------------------------------------
@pytest.fixture(scope="module")
def demo_path(tmp_path_factory) -> Path:
    return small_store(tmp_path_factory.mktemp("closed") / "steward.duckdb")


@pytest.fixture(scope="module")
def demo(demo_path):
    with store.reader(demo_path) as con:
        rows = con.execute("select distinct snapshot_date from snapshots").fetchall()
        yield con, sorted(r[0] for r in rows)


def _cut(values: list[str]):
    return st.lists(st.sampled_from(values), max_size=2, unique=True)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    back=st.integers(0, 30),
    between=st.booleans(),
    segment=_cut(["Enterprise", "Mid-Market", "SMB"]),
    region=_cut(["North America", "EMEA", "APAC"]),
    source=_cut(["Marketing", "Partner", "SDR Outbound", "AE Self-sourced"]),
    scoped=st.booleans(),
    kept=st.booleans(),
)
def test_cut_in_memory_equals_the_filters_in_sql(
    demo, back, between, segment, region, source, scoped, kept
):
    con, dates = demo
    memo.use_store_memo(kept)  # kept: the cut from the deals' latest codes (cuts.latest)
    as_of = dates[max(0, len(dates) - 1 - back)]
    if between:  # an as-of date between two snapshots reads the state as of that day
        as_of = as_of - timedelta(days=3)
    f = Filters.of(segment=segment, region=region, source=source)
    if scoped:
        f = f.restricted(RowScope.of(region=["EMEA", "North America"]))
    q = Query(as_of=as_of, period=current_period(as_of, DEFS), filters=f)
    qt = q.quarter(DEFS)
    got = _win_loss_between(con, q, DEFS, qt.start, qt.end)
    want = _win_loss_sql(con, q, qt.start, qt.end)
    assert {k: got[k] for k in want} == want
    n_open, won_sum, won_n, days, wl = _velocity_sql(con, q)
    res = compute(con, "pipeline_velocity", q, DEFS)
    parts = res.table.iloc[0]
    assert parts["open_qualified_count"] == n_open
    assert parts["win_rate_count"] == _ratio(wl)
    if won_n:
        assert parts["avg_won_amount"] == pytest.approx(float(won_sum) / won_n, rel=1e-12)
        assert parts["avg_cycle_days"] == pytest.approx(days / won_n, rel=1e-12)
    else:
        assert res.value is None
    memo.use_store_memo(False)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    segment=_cut(["Enterprise", "Mid-Market", "SMB", "Nobody"]),
    region=_cut(["North America", "EMEA", "APAC"]),
    owner=st.lists(st.integers(0, 40), max_size=3, unique=True),
    scope=st.sampled_from([None, ("region", ["EMEA"]), ("segment", ["SMB", "Enterprise"])]),
)
def test_the_two_ways_to_cut_agree(demo, segment, region, owner, scope):
    """The cut from the kept codes (the app) and from one query (a library caller) pick
    the same deals, for every opp_key of the store."""
    con, _ = demo
    owners = [
        r[0] for r in con.execute("select distinct owner from opp_facts order by 1").fetchall()
    ]
    f = Filters.of(segment=segment, region=region, owner=[owners[i % len(owners)] for i in owner])
    if scope is not None:
        f = f.restricted(RowScope.of(**{scope[0]: scope[1]}))
    q = Query(as_of=date(2026, 1, 1), period="FY2026-Q1", filters=f)
    keys = np.asarray([r[0] for r in con.execute("select opp_key from opp_keys").fetchall()])
    by_query = closed_mod.in_cut(keys, closed_mod.cut_of(con, q))
    memo.use_store_memo(True)
    try:
        by_codes = closed_mod.in_cut(keys, closed_mod.cut_of(con, q))
    finally:
        memo.use_store_memo(False)
    assert (by_query == by_codes).all()


def test_unfiltered_reads_ignore_the_scope(hand):
    """The kept arrays hold every deal whatever the caller's scope: the cut applies it."""
    scoped = Query(
        as_of=hf.S4,
        period="FY2026-Q4",
        filters=Filters().restricted(RowScope.of(segment="SMB")),
    )
    deals = closed_mod.closed_deals(hand, scoped, DEFS, date(2026, 10, 1), date(2027, 1, 1))
    assert len(deals.opp_key) == 4  # A, B, C and G
    sel = closed_mod.in_cut(deals.opp_key, closed_mod.cut_of(hand, scoped))
    assert int(sel.sum()) == 1  # G
