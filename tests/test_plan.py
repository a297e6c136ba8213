"""The scenario planner: pipeline needed and what-if arithmetic, worked out on paper.

Pure plan arithmetic (PlanInputs), a hand-built one-snapshot store for the what-if
(no earlier quarter, so each deal's chance is its stage's governed probability and
there are no late wins: expected = won + Σ p × amount exactly), and the demo store for
"a scenario with no change reproduces forecast_historical and coverage exactly".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from browser_helpers import migrated_store

from steward import definitions, store
from steward.metrics import Filters, Query, compute
from steward.plan import needed, scenarios, whatif
from steward.plan.needed import PlanInputs, SourceInput

DEFS = definitions.load()
AS_OF = date(2026, 11, 20)


# ---- pipeline needed: pure arithmetic ---------------------------------------------------
def _inputs(**kw) -> PlanInputs:
    base = dict(
        period="FY2027-Q1",
        as_of=AS_OF,
        quarter_start=date(2027, 1, 1),
        quarter_last_day=date(2027, 3, 31),
        target=1_000_000.0,
        won_to_date=200_000.0,
        by_week=13,
        sources=(
            SourceInput("A", 0.6, 0.4, 30.0, 500_000.0),
            SourceInput("B", 0.4, 0.25, 90.0, 100_000.0),
        ),
    )
    base.update(kw)
    return PlanInputs(**base)  # type: ignore[arg-type]


def test_pipeline_needed_by_source_on_paper():
    t = needed.plan_rows(_inputs()).set_index("source")
    # remaining = 1,000,000 - 200,000 = 800,000
    # A: needed 800,000 x 0.6 / 0.4 = 1,200,000; new 1,200,000 - 500,000 = 700,000;
    #    create by min(Jan 1 + 13 weeks = Apr 2, Mar 31 - 30 days = Mar 1) = Mar 1;
    #    Nov 20 -> Mar 1 = 10 + 31 + 31 + 28 + 1 = 101 days; per week 700,000 x 7 / 101
    assert t.loc["A", "needed_pipeline"] == 1_200_000
    assert t.loc["A", "new_pipeline"] == 700_000
    assert t.loc["A", "create_by"] == date(2027, 3, 1)
    assert t.loc["A", "weeks_left"] == pytest.approx(101 / 7)
    assert t.loc["A", "new_per_week"] == pytest.approx(round(700_000 * 7 / 101, 2))
    # B: needed 800,000 x 0.4 / 0.25 = 1,280,000; new 1,180,000; create by Mar 31 - 90 d =
    #    Dec 31 2026 (41 days away); per week 1,180,000 x 7 / 41
    assert t.loc["B", "needed_pipeline"] == 1_280_000
    assert t.loc["B", "new_pipeline"] == 1_180_000
    assert t.loc["B", "create_by"] == date(2026, 12, 31)
    assert t.loc["B", "new_per_week"] == pytest.approx(round(1_180_000 * 7 / 41, 2))
    assert t.loc["Total", "needed_pipeline"] == 2_480_000
    assert t.loc["Total", "new_pipeline"] == 1_880_000


def test_by_week_n_and_edge_cases():
    # by week 4: Jan 1 + 28 days = Jan 29, earlier than A's Mar 1: 70 days -> 10 weeks
    t = needed.plan_rows(_inputs(by_week=4)).set_index("source")
    assert t.loc["A", "create_by"] == date(2027, 1, 29)
    assert t.loc["A", "new_per_week"] == 70_000
    # as of Jan 5 2027, B's deadline (Dec 31) has passed: 0 weeks, no per-week figure
    t = needed.plan_rows(_inputs(as_of=date(2027, 1, 5))).set_index("source")
    assert t.loc["B", "weeks_left"] == 0
    assert (
        t.loc["B", "new_per_week"] is None
        or t.loc["B", "new_per_week"] != t.loc["B", "new_per_week"]
    )
    # target met: nothing needed; an existing pipeline never makes 'new' negative
    t = needed.plan_rows(_inputs(won_to_date=1_200_000.0)).set_index("source")
    assert t.loc["A", "needed_pipeline"] == 0 and t.loc["A", "new_pipeline"] == 0
    # no target: no plan
    t = needed.plan_rows(_inputs(target=None)).set_index("source")
    assert t["needed_pipeline"].isna().all()


# ---- what-if on a hand-built store -------------------------------------------------------
# (id, stage, amount, category, source, close date); snapshot 2026-11-20, period FY2026-Q4.
DEALS = [
    ("D1", "Discovery", 100_000, "Pipeline", "Marketing", date(2026, 12, 10)),  # p .2
    ("D2", "Proposal", 200_000, "Commit", "Partner", date(2026, 12, 28)),  # p .6
    ("D3", "Negotiation", 50_000, "Commit", "Marketing", date(2026, 11, 30)),  # p .8
    ("D4", "Prospecting", 40_000, "Pipeline", "Marketing", date(2026, 12, 15)),  # p .1, unqualified
    ("D5", "Solution", 80_000, "Best Case", "Partner", date(2027, 1, 10)),  # p .4, next quarter
    ("W1", "Closed Won", 30_000, "Closed", "Partner", date(2026, 10, 15)),  # won to date
]
Q4 = Query(as_of=AS_OF, period="FY2026-Q4")


def build_hand_store():
    """The DEALS above in an in-memory store, with a 300,000 FY2026-Q4 target."""
    con = store.init_memory()
    for oid, stage, amount, cat, src, close in DEALS:
        won = stage == "Closed Won"
        con.execute(
            "insert into snapshots (snapshot_date, opportunity_id, segment, source, stage, amount, "
            "forecast_category, close_date, created_date, is_closed, is_won) "
            "values (?, ?, 'SMB', ?, ?, ?, ?, ?, ?, ?, ?)",
            [AS_OF, oid, src, stage, Decimal(amount), cat, close, date(2026, 9, 1), won, won],
        )
    con.execute("insert into targets values ('FY2026-Q4', 'All', 300000, null)")
    return con


@pytest.fixture(scope="module")
def hand_con():
    return build_hand_store()


def _row(base, **kw):
    return whatif.run(base, whatif.Assumptions(**kw))


def test_whatif_arithmetic_on_paper(hand_con):
    base = whatif.baseline(hand_con, Q4, DEFS)
    b = _row(base)
    # 30,000 won + D1 20,000 + D2 120,000 + D3 40,000 + D4 4,000 = 214,000
    assert b["expected"] == 214_000
    # qualified open in Q4: D1 + D2 + D3 = 350,000; coverage 350,000 / (300,000 - 30,000)
    assert b["open_pipeline"] == 350_000
    assert b["coverage"] == pytest.approx(350_000 / 270_000)
    assert b["p50"] == compute(hand_con, "forecast_historical", Q4, DEFS).value
    # without Commit: D1 + D4 -> 30,000 + 20,000 + 4,000; coverage 100,000 / 270,000
    r = _row(base, remove_categories=("Commit",))
    assert r["expected"] == 54_000 and r["coverage"] == pytest.approx(100_000 / 270_000)
    # without D3: 214,000 - 40,000
    assert _row(base, remove_deals=("D3",))["expected"] == 174_000
    # close dates +5 days: D2 (Dec 28 -> Jan 2) leaves Q4: 214,000 - 120,000
    r = _row(base, cycle_days=5)
    assert r["expected"] == 94_000 and r["open_pipeline"] == 150_000
    # close dates -15 days: D5 (Jan 10 -> Dec 26) enters: 214,000 + 32,000
    assert _row(base, cycle_days=-15)["expected"] == 246_000


def test_conversion_and_source_creation_on_paper(hand_con):
    base = whatif.baseline(hand_con, Q4, DEFS)
    base.conversion = {"Solution": 0.5}  # as if the cohorts converted 50% Solution -> Proposal
    # +10 pts: factor 0.6 / 0.5 = 1.2 for deals at Solution or earlier (D1, D4):
    # 30,000 + 100,000 x .24 + 120,000 + 40,000 + 40,000 x .12 = 218,800
    assert _row(base, conversion_stage="Solution", conversion_pts=10)["expected"] == 218_800
    with pytest.raises(ValueError, match="no historical conversion"):
        _row(base, conversion_stage="Proposal", conversion_pts=5)
    # late wins at 10% of the whole open pipeline (470,000) = 47,000 ...
    base.lates, base.ratios = [0.1], [None]
    assert _row(base)["late_expected"] == 47_000
    # ... Marketing +50%: (100,000 + 50,000 + 40,000) x 1.5 + 280,000 = 565,000 -> 56,500
    r = _row(base, source_creation=(("Marketing", 50.0),))
    assert r["late_expected"] == 56_500
    assert r["expected"] == 214_000 + 56_500


def test_assumptions_round_trip_options_and_json():
    a = whatif.Assumptions("Proposal", 5.0, -7, ("Omitted",), ("O1", "O2"), (("Marketing", 20.0),))
    q = Q4.with_(options=a.to_options())
    assert whatif.Assumptions.from_options(q) == a
    assert whatif.Assumptions.from_json(a.to_json()) == a
    assert whatif.Assumptions().describe() == ["No change"]


# ---- the demo store: baseline identity, saved scenarios -----------------------------------
@pytest.fixture(scope="module")
def demo_path(tmp_path_factory) -> Path:
    return migrated_store(tmp_path_factory.mktemp("plan") / "steward.duckdb")


def test_no_change_reproduces_the_baseline_exactly(demo_path):
    with store.reader(demo_path) as con:
        last = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
        for filters in (Filters(), Filters.of(segment="Enterprise")):
            q = Query(as_of=last, period=needed.next_quarter(last, DEFS), filters=filters)
            f = compute(con, "forecast_historical", q, DEFS).table.iloc[0]
            row = whatif.run(whatif.baseline(con, q, DEFS), whatif.Assumptions())
            assert (row["p10"], row["p50"], row["p90"], row["expected"]) == (
                f["p10"],
                f["p50"],
                f["p90"],
                f["expected"],
            )
            assert row["coverage"] == compute(con, "coverage", q, DEFS).value
            assert row["open_pipeline"] == compute(con, "open_pipeline", q, DEFS).value


def test_baseline_identity_in_the_as_of_quarter(demo_path):
    with store.reader(demo_path) as con:
        last = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
        from steward.metrics import current_period

        q = Query(as_of=last, period=current_period(last, DEFS))
        f = compute(con, "forecast_historical", q, DEFS)
        assert f.table.iloc[0]["training_quarters"] >= 1  # the real path, with learning
        res = compute(con, "scenario_forecast", q.with_(options=(("cycle_days", 0),)), DEFS)
        base, scen = res.table.iloc[0], res.table.iloc[1]
        assert base["p50"] == f.value == scen["p50"]
        assert base["coverage"] == compute(con, "coverage", q, DEFS).value


def test_saved_scenarios_side_by_side(demo_path):
    with store.reader(demo_path) as con:
        last = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
    q = Query(as_of=last, period=needed.next_quarter(last, DEFS))
    a = whatif.Assumptions(cycle_days=30)
    with store.writer(demo_path) as con:
        row = scenarios.save(con, "Slower deals", q, DEFS, a)
        with pytest.raises(Exception, match="already saved"):
            scenarios.save(con, "Slower deals", q, DEFS, a)
    with store.reader(demo_path) as con:
        listed = scenarios.saved(con)
        assert listed["name"].tolist() == ["Slower deals"]
        assert listed["assumptions_text"].iloc[0] == "Close dates +30 days"
        table = scenarios.comparison(con, q, DEFS)
    assert table["scenario"].tolist() == ["Baseline", "Slower deals"]
    assert table.iloc[1]["p50"] == row["p50"]
    with store.writer(demo_path) as con:
        assert scenarios.delete(con, "Slower deals")


def test_pipeline_needed_inputs_come_from_the_metric_layer(demo_path):
    with store.reader(demo_path) as con:
        last = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
        q = Query(as_of=last, period=needed.next_quarter(last, DEFS))
        inputs = needed.gather(con, q, DEFS)
        res = compute(con, "pipeline_needed", q, DEFS)
        src = inputs.sources[0]
        won = lost = 0.0
        from steward.plan import rates

        for k in rates.lookback(None, q, DEFS):
            t = compute(
                con,
                "win_rate_value",
                q.with_(period=k.label, filters=Filters.of(source=src.source)),
                DEFS,
            ).table
            won += float(t["won_amount"].iloc[0] or 0)
            lost += float(t["lost_amount"].iloc[0] or 0)
        assert src.win_rate == pytest.approx(won / (won + lost))
        assert sum(s.mix for s in inputs.sources) == pytest.approx(1.0)
        assert inputs.target == compute(con, "bookings_target", q, DEFS).value
        assert res.table.equals(needed.plan_rows(inputs))


def test_kept_baseline_serves_every_scenario_and_equals_a_fresh_one(demo_path):
    """Where answers are kept (the app), one baseline per cut serves every scenario: the
    scenario's options are not in its key, and the table equals the one computed fresh."""
    from steward import memo

    with store.reader(demo_path) as con:
        last = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
        q = Query(as_of=last, period=needed.next_quarter(last, DEFS))
        asks = [q, q.with_(options=(("cycle_days", 30),)), q.with_(options=(("cycle_days", -20),))]
        fresh = [compute(con, "scenario_forecast", a, DEFS).table for a in asks]
        memo.use_store_memo(True)
        try:
            kept = [compute(con, "scenario_forecast", a, DEFS).table for a in asks]
            assert len(memo.by_store(con, "whatif.base")) == 1  # one baseline, three scenarios
        finally:
            memo.use_store_memo(False)
    for f, k in zip(fresh, kept, strict=True):
        pd.testing.assert_frame_equal(f, k, check_exact=True)
    assert fresh[1].iloc[1]["p50"] != fresh[0].iloc[1]["p50"]  # the scenarios did differ
