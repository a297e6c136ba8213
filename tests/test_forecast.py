"""Historical forecast, forecast range and backtest on a tiny hand-built history.

Weekly snapshots used (Mondays, 2026): 05-18, 07-06, 08-17, 10-05, 11-16 (the as-of S).
Calendar fiscal year: Q2 = 04-01..06-30, Q3 = 07-01..09-30, Q4 = 10-01..12-31.

Forecasting FY2026-Q4 as of 11-16: 46 days left (11-16 -> 2027-01-01). Comparable points:
  Q3: 10-01 - 46 d = 08-16 -> snapshot 08-17 (1 day away); outcome at 10-05 (first after 10-01)
  Q2: 07-01 - 46 d = 05-16 -> snapshot 05-18 (2 days away); outcome at 07-06
  Q1: 04-01 - 46 d = 02-14 -> no snapshot within 3 days: not used.

History (stage, segment, amount, close; forecast category):
  at 05-18 (Q2 observations):
    H1 Proposal SMB 150 close 06-15 Commit      -> 07-06 Closed Won close 06-20   won
    H2 Proposal SMB 100 close 06-30             -> 07-06 Proposal close 08-15     not won
    H3 Discovery SMB 60 close 06-10             -> 07-06 Closed Lost              not won
    H4 Discovery Enterprise 250 close 06-20 Best Case -> 07-06 Closed Won 06-25   won
    H9 Proposal SMB 10 close 08-30 (Q3: not a Q2 observation)
  at 08-17 (Q3 observations):
    H2 Proposal SMB 100 close 09-15 Best Case   -> 10-05 Closed Won close 09-20   won
    H5 Proposal Enterprise 200 close 09-30      -> 10-05 Closed Won close 10-02   not won in Q3
    H6 Discovery SMB 300 close 09-01            -> 10-05 missing                  not won
    H7 Negotiation SMB 400 close 09-20 Commit   -> 10-05 Closed Won close 09-18   won
    H8 Prospecting SMB 50 close 09-25           -> 10-05 Closed Won close 09-22   won
    W0 Closed Won SMB 1000 close 07-20 (won to date in Q3)
  at 10-05 only: N1 Closed Won SMB 90 close 09-10: a late win (not open in Q3 at 08-17)

Late wins / whole open pipeline at the comparable point: Q3 90 / (100 + 200 + 300 + 400
+ 50) = 3/35; Q2 0 / (150 + 100 + 60 + 250 + 10) = 0.

Learned by stage (fewer than 30 observations per segment):
  Proposal 2/4 = 0.5 (H1 y, H2 n, H2 y, H5 n); Discovery 1/3 (H3 n, H4 y, H6 n);
  Negotiation 1/1; Prospecting 1/1; Solution none -> governed 0.4.

As of 11-16, open in Q4:
  F1 Proposal SMB 1000 (Commit) p 0.5; F2 Discovery Enterprise 3000 (Best Case) p 1/3;
  F3 Solution SMB 500 (Pipeline) p 0.4; F4 Negotiation Enterprise 200 (Commit) p 1.0;
  F5 Proposal SMB 800 closes 2027-02-01 (next quarter: out).
  Won to date in Q4: W1 700 (10-20) + H5 200 (10-02) = 900.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import fixtures_pipeline as fp
import numpy as np
import pandas as pd
import pytest

from steward import definitions, store
from steward.metrics import Filters, Query, compute
from steward.metrics.forecast import (
    Learner,
    learn,
    nearest_snapshot,
    probabilities,
    quarter_multipliers,
    simulate,
    snapshot_dates,
    training_quarters,
)
from steward.periods import Quarter
from steward.store import TARGET_COLUMNS

DEFS = definitions.load(Path(__file__).resolve().parents[1] / "data" / "definitions.toml")
AS_OF = date(2026, 11, 16)
PERIOD = "FY2026-Q4"
S1, S2, S3, S4 = "2026-05-18", "2026-07-06", "2026-08-17", "2026-10-05"
S5 = AS_OF.isoformat()


def r(snap, oid, stage, amount, close, segment="SMB", category="Pipeline"):
    return dict(
        snapshot_date=snap,
        opportunity_id=oid,
        stage=stage,
        amount=amount,
        close_date=close,
        segment=segment,
        forecast_category=category,
    )


ROWS = [
    r(S1, "H1", "Proposal", 150, "2026-06-15", category="Commit"),
    r(S1, "H2", "Proposal", 100, "2026-06-30"),
    r(S1, "H3", "Discovery", 60, "2026-06-10"),
    r(S1, "H4", "Discovery", 250, "2026-06-20", "Enterprise", "Best Case"),
    r(S1, "H9", "Proposal", 10, "2026-08-30"),
    r(S2, "H1", "Closed Won", 150, "2026-06-20", category="Closed"),
    r(S2, "H2", "Proposal", 100, "2026-08-15"),
    r(S2, "H3", "Closed Lost", 60, "2026-06-10", category="Omitted"),
    r(S2, "H4", "Closed Won", 250, "2026-06-25", "Enterprise", "Closed"),
    r(S2, "H9", "Proposal", 10, "2026-08-30"),
    r(S3, "H2", "Proposal", 100, "2026-09-15", category="Best Case"),
    r(S3, "H5", "Proposal", 200, "2026-09-30", "Enterprise"),
    r(S3, "H6", "Discovery", 300, "2026-09-01"),
    r(S3, "H7", "Negotiation", 400, "2026-09-20", category="Commit"),
    r(S3, "H8", "Prospecting", 50, "2026-09-25"),
    r(S3, "W0", "Closed Won", 1000, "2026-07-20", category="Closed"),
    r(S4, "H2", "Closed Won", 100, "2026-09-20", category="Closed"),
    r(S4, "H5", "Closed Won", 200, "2026-10-02", "Enterprise", "Closed"),
    r(S4, "H7", "Closed Won", 400, "2026-09-18", category="Closed"),
    r(S4, "H8", "Closed Won", 50, "2026-09-22", category="Closed"),
    r(S4, "W0", "Closed Won", 1000, "2026-07-20", category="Closed"),
    r(S4, "N1", "Closed Won", 90, "2026-09-10", category="Closed"),
    r(S5, "F1", "Proposal", 1000, "2026-12-10", category="Commit"),
    r(S5, "F2", "Discovery", 3000, "2026-12-20", "Enterprise", "Best Case"),
    r(S5, "F3", "Solution", 500, "2026-11-30"),
    r(S5, "F4", "Negotiation", 200, "2026-12-31", "Enterprise", "Commit"),
    r(S5, "F5", "Proposal", 800, "2027-02-01"),
    r(S5, "W1", "Closed Won", 700, "2026-10-20", category="Closed"),
    r(S5, "H5", "Closed Won", 200, "2026-10-02", "Enterprise", "Closed"),
    r(S5, "L1", "Closed Lost", 900, "2026-10-25", category="Omitted"),
]


def insert_snapshots(con, rows: list[dict]) -> None:
    fp.insert_snapshots(con, [fp.canonical(r, created_date="2026-01-15") for r in rows])


@pytest.fixture
def con():
    c = store.init_memory()
    insert_snapshots(c, ROWS)
    target = pd.DataFrame(
        [{"period": PERIOD, "segment": "All", "bookings_target": 5000, "pipeline_target": None}],
        columns=list(TARGET_COLUMNS),
    )
    c.register("_t", target)
    c.execute("insert into targets select * from _t")
    c.unregister("_t")
    yield c
    c.close()


# independent deals, no late wins: percentiles by hand
PLAIN = (("quarter_variation", False), ("late_wins", False))


def q(**kw) -> Query:
    return Query(as_of=AS_OF, period=PERIOD, **kw)


def add_future_snapshot(con) -> None:
    """A snapshot after the as-of date that would change everything if it leaked in."""
    insert_snapshots(
        con,
        [
            r("2026-11-23", "F1", "Closed Won", 1000, "2026-11-20", category="Closed"),
            r("2026-11-23", "F2", "Closed Lost", 3000, "2026-11-21", "Enterprise", "Omitted"),
            r("2026-11-23", "F3", "Negotiation", 5000, "2026-11-30", category="Commit"),
            r("2026-11-23", "X1", "Closed Won", 99999, "2026-11-22", category="Closed"),
        ],
    )


# --- the comparable points and the learned probabilities ----------------------------------


def test_nearest_snapshot():
    dates = [date(2026, 5, 18), date(2026, 5, 25)]
    assert nearest_snapshot(dates, date(2026, 5, 16)) == date(2026, 5, 18)  # 2 days
    assert nearest_snapshot(dates, date(2026, 5, 14)) is None  # 4 days: too far
    # 05-21: 3 days after 05-18, 4 before 05-25 -> 05-18; 05-22: 4 after, 3 before -> 05-25
    assert nearest_snapshot(dates, date(2026, 5, 21)) == date(2026, 5, 18)
    assert nearest_snapshot(dates, date(2026, 5, 22)) == date(2026, 5, 25)
    assert nearest_snapshot([], date(2026, 5, 22)) is None


def test_training_quarters(con):
    dates = snapshot_dates(con, AS_OF)
    t = training_quarters(dates, Quarter(2026, 4), AS_OF)
    assert [(x.quarter.label, x.observed_on, x.outcome_on) for x in t] == [
        ("FY2026-Q3", date(2026, 8, 17), date(2026, 10, 5)),
        ("FY2026-Q2", date(2026, 5, 18), date(2026, 7, 6)),
    ]


def test_learned_probabilities_by_stage(con):
    dates = snapshot_dates(con, AS_OF)
    learned = learn(con, training_quarters(dates, Quarter(2026, 4), AS_OF), DEFS)
    probs = probabilities(learned, DEFS)
    assert probs[("Proposal", "*")] == (0.5, "stage", 4)
    assert probs[("Discovery", "*")] == (pytest.approx(1 / 3), "stage", 3)
    assert probs[("Negotiation", "*")] == (1.0, "stage", 1)
    assert probs[("Prospecting", "*")] == (1.0, "stage", 1)
    assert probs[("Solution", "*")] == (0.4, "stage default", 0)
    assert not [k for k in probs if k[1] != "*"]  # no segment cell reaches 30 observations


def test_learned_probabilities_by_segment_when_enough(con):
    dates = snapshot_dates(con, AS_OF)
    learned = learn(con, training_quarters(dates, Quarter(2026, 4), AS_OF), DEFS)
    probs = probabilities(learned, DEFS, min_obs=2)
    # Proposal SMB: H1 y, H2 n, H2 y -> 2/3; Discovery SMB: H3 n, H6 n -> 0/2
    assert probs[("Proposal", "SMB")] == (pytest.approx(2 / 3), "stage and segment", 3)
    assert probs[("Discovery", "SMB")] == (0.0, "stage and segment", 2)
    # Enterprise cells have 1 observation each: stage level applies
    assert ("Proposal", "Enterprise") not in probs
    assert ("Discovery", "Enterprise") not in probs


# --- forecast_historical ------------------------------------------------------------------


def test_forecast_historical(con):
    res = compute(con, "forecast_historical", q(options=PLAIN), DEFS)
    row = res.table.iloc[0]
    # expected = 900 + 1000 x 0.5 + 3000 / 3 + 500 x 0.4 + 200 x 1.0 = 2800
    assert row["won_to_date"] == 900.0
    assert row["expected"] == 2800.0
    assert (row["open_deals"], row["open_amount"], row["training_quarters"]) == (4, 4700.0, 2)
    # Outcomes of F1 (1000, 1/2), F2 (3000, 1/3), F3 (500, 0.4); F4 always 200:
    #   sum 0 p .2, 500 p .1333, 1000 p .2, 1500 p .1333 (cum .6667), 3000 p .1 (.7667),
    #   3500 p .0667 (.8333), 4000 p .1 (.9333), 4500 p .0667.
    # P10 = 0, P50 = 1000, P90 = 4000; plus won 900 and F4 200.
    assert (row["p10"], row["p50"], row["p90"]) == (1100.0, 2100.0, 5100.0)
    assert res.value == 2100.0
    assert res.note is None


def test_forecast_historical_filters(con):
    res = compute(
        con, "forecast_historical", q(filters=Filters.of(segment="Enterprise"), options=PLAIN), DEFS
    )
    row = res.table.iloc[0]
    # Enterprise: won H5 200; open F2 3000 x 1/3 + F4 200 x 1 -> expected 1400
    assert (row["won_to_date"], row["expected"], row["open_deals"]) == (200.0, 1400.0, 2)
    # F2 misses with p 2/3: P10 = P50 = 400, P90 = 3400
    assert (row["p10"], row["p50"], row["p90"]) == (400.0, 400.0, 3400.0)


def test_forecast_historical_drill(con):
    deals = compute_drill(con)
    # the shared deal list: largest amount first
    assert deals["opportunity_id"].tolist() == ["F2", "F1", "F3", "F4"]
    assert deals["p_win"].tolist() == pytest.approx([1 / 3, 0.5, 0.4, 1.0])
    assert deals["basis"].tolist() == ["stage", "stage", "stage default", "stage"]
    assert deals["observations"].tolist() == [3, 4, 0, 1]
    assert deals.columns[0] == "opportunity_id" and "crm_url" in deals.columns


def compute_drill(con) -> pd.DataFrame:
    from steward.metrics import drill

    return drill(con, "forecast_historical", q(), DEFS)


def test_forecast_historical_ignores_future_snapshots(con):
    before = compute(con, "forecast_historical", q(), DEFS).table
    add_future_snapshot(con)
    after = compute(con, "forecast_historical", q(), DEFS).table
    pd.testing.assert_frame_equal(before, after)


def test_forecast_without_history_uses_stage_defaults(con):
    # As of 05-18 nothing earlier is known: governed probabilities, with a note.
    res = compute(
        con, "forecast_historical", Query(as_of=date(2026, 5, 18), period="FY2026-Q2"), DEFS
    )
    # H1 150 x 0.6 + H2 100 x 0.6 + H3 60 x 0.2 + H4 250 x 0.2 = 90 + 60 + 12 + 50 = 212
    assert res.table.iloc[0]["expected"] == 212.0
    assert res.note == "no earlier quarter to learn from: governed stage probabilities used"


def test_forecast_for_a_period_already_over(con):
    # Q3 as of 11-16: the quarter is over, so nothing open can still close in it; the 11-16
    # snapshot holds no deal won with a Q3 close date (W1, H5 are Q4): everything is 0.
    res = compute(con, "forecast_historical", Query(as_of=AS_OF, period="FY2026-Q3"), DEFS)
    row = res.table.iloc[0]
    assert (row["won_to_date"], row["p10"], row["p50"], row["p90"]) == (0.0, 0.0, 0.0, 0.0)
    assert res.note == "the period is over: the forecast is what was won"


# --- simulation -----------------------------------------------------------------------------


def test_simulation_is_deterministic_and_ordered():
    rng = np.random.default_rng(1)
    for n in (0, 1, 7, 50, 1500):  # 1500 > EXACT_DEALS: the normal remainder is used
        p = rng.random(n)
        amounts = rng.integers(1, 100_000, n).astype(float)
        a = simulate(p, amounts, seed=7)
        b = simulate(p, amounts, seed=7)
        assert np.array_equal(a, b)
        p10, p50, p90 = np.percentile(a, [10, 50, 90])
        assert p10 <= p50 <= p90
        assert a.min() >= 0 and a.max() <= amounts.sum()
        if n:
            # the mean of 10,000 draws is within 3% of the expected value
            assert a.mean() == pytest.approx(float((p * amounts).sum()), rel=0.03)
    p = np.array([0.5, 0.5])
    amounts = np.array([10.0, 20.0])
    assert not np.array_equal(simulate(p, amounts, seed=1), simulate(p, amounts, seed=2))


def test_simulation_certain_outcomes():
    totals = simulate(np.array([1.0, 0.0, 1.0]), np.array([5.0, 7.0, 11.0]), draws=100)
    assert set(totals.tolist()) == {16.0}


# --- forecast_range -------------------------------------------------------------------------


def test_forecast_range(con):
    t = compute(con, "forecast_range", q(options=PLAIN), DEFS).table.set_index("method")
    assert list(t.index) == [
        "forecast_commit",
        "forecast_best_case",
        "forecast_weighted",
        "forecast_historical",
        "target",
    ]
    # commit: won 900 + F1 1000 + F4 200 = 2100; best case: + F2 3000 = 5100;
    # stage-weighted: 900 + 1000 x .6 + 3000 x .2 + 500 x .4 + 200 x .8 = 2460
    assert t.loc["forecast_commit", "value"] == 2100.0
    assert t.loc["forecast_best_case", "value"] == 5100.0
    assert t.loc["forecast_weighted", "value"] == pytest.approx(2460.0)
    assert t.loc["forecast_historical", ["value", "p10", "p90"]].tolist() == [
        2100.0,
        1100.0,
        5100.0,
    ]
    assert t.loc["target", "value"] == 5000.0
    assert pd.isna(t.loc["forecast_commit", "p10"])


# --- backtest -------------------------------------------------------------------------------


def backtest(con, **options) -> tuple[pd.DataFrame, str | None]:
    res = compute(con, "forecast_backtest", q(options=tuple(options.items())), DEFS)
    return res.table, res.note


def test_backtest(con):
    # Week 7: Q3 -> 07-01 + 49 d = 08-19 -> snapshot 08-17; Q2 -> 05-20 -> 05-18;
    # Q1 -> 02-19: no snapshot, skipped.
    t, note = backtest(con, week=7)
    assert t["period"].unique().tolist() == ["FY2026-Q3", "FY2026-Q2"]
    got = {(row.period, row.method): row for row in t.itertuples()}
    # Actuals, seen at 10-05 and 07-06: Q3 = W0 1000 + H2 100 + H7 400 + H8 50 + N1 90 = 1640
    # (H5 closed 10-02, in Q4); Q2 = H1 150 + H4 250 = 400.
    assert {(p, a) for p, a in zip(t["period"], t["actual"], strict=True)} == {
        ("FY2026-Q3", 1640.0),
        ("FY2026-Q2", 400.0),
    }
    # Q3 as of 08-17: commit = 1000 + H7 400 = 1400; best case + H2 100 = 1500;
    # weighted = 1000 + 100 x .6 + 200 x .6 + 300 x .2 + 400 x .8 + 50 x .1 = 1565
    assert got[("FY2026-Q3", "forecast_commit")].forecast == 1400.0
    assert got[("FY2026-Q3", "forecast_best_case")].forecast == 1500.0
    assert got[("FY2026-Q3", "forecast_weighted")].forecast == pytest.approx(1565.0)
    assert got[("FY2026-Q3", "forecast_commit")].error == -240.0
    assert got[("FY2026-Q3", "forecast_commit")].abs_pct_error == pytest.approx(240 / 1640)
    # Q2 as of 05-18: commit H1 150; best case + H4 250 = 400 (exact); weighted 212
    assert got[("FY2026-Q2", "forecast_commit")].forecast == 150.0
    assert got[("FY2026-Q2", "forecast_best_case")].abs_pct_error == 0.0
    assert got[("FY2026-Q2", "forecast_weighted")].forecast == pytest.approx(212.0)
    # historical = the P50 the method gave with only the snapshots known then
    for period, as_of in (("FY2026-Q3", date(2026, 8, 17)), ("FY2026-Q2", date(2026, 5, 18))):
        then = compute(con, "forecast_historical", Query(as_of=as_of, period=period), DEFS)
        assert got[(period, "forecast_historical")].forecast == then.value
    # MAPE of best case: (|1500 - 1640| / 1640 + 0) / 2 = 4.3%
    assert note is not None and "forecast_best_case 4.3%" in note
    assert note.startswith("MAPE at week 7 over 2 quarter(s)")
    # the range columns belong to the historical rows only
    hist = t[t["method"] == "forecast_historical"]
    assert (hist["p10"] <= hist["forecast"]).all() and (hist["forecast"] <= hist["p90"]).all()
    assert t.loc[t["method"] != "forecast_historical", "p10"].isna().all()
    # Q2 as of 05-18 has nothing to learn from: governed 0.6, 0.6, 0.2, 0.2 on H1 150, H2 100,
    # H3 60, H4 250. Exact distribution (cumulative): ... 160 .4736, 210 .5120 ... 350 .8704,
    # 400 .9088 -> P50 = 210, P90 = 400; the actual 400 is inside (P90 = 400 exactly).
    q2 = hist[hist["period"] == "FY2026-Q2"].iloc[0]
    assert (q2["forecast"], q2["p90"], bool(q2["in_range"])) == (210.0, 400.0, True)
    inside = [bool(x) for x in hist["in_range"]]
    assert inside == [
        p10 <= a <= p90
        for p10, a, p90 in zip(hist["p10"], hist["actual"], hist["p90"], strict=True)
    ]
    assert note.endswith(f"range in {sum(inside)} of 2.")


def test_backtest_uses_no_future_snapshot(con):
    before, note_before = backtest(con, week=7)
    add_future_snapshot(con)
    after, note_after = backtest(con, week=7)
    pd.testing.assert_frame_equal(before, after)
    assert note_before == note_after


def test_backtest_default_week_and_nothing_to_test(con):
    # as-of 11-16 is in week 6 of Q4 (46 days): 07-01 + 42 = 08-12 and 04-01 + 42 = 05-13 have
    # no snapshot within 3 days -> nothing to backtest
    t, note = backtest(con)
    assert t.empty
    assert note == "no past quarter to backtest"


def test_backtest_as_of_before_any_history(con):
    res = compute(
        con,
        "forecast_backtest",
        Query(as_of=date(2026, 5, 18), period="FY2026-Q2", options=(("week", 7),)),
        DEFS,
    )
    assert res.table.empty


def test_forecast_range_fails_loudly_without_a_method(con, monkeypatch):
    # every method's module exists: one missing from the registry is a bug that raises
    # (it used to become a blank row with the note 'not available: forecast_commit')
    from steward.metrics import core

    monkeypatch.delitem(core.REGISTRY, "forecast_commit")
    with pytest.raises(KeyError, match="forecast_commit"):
        compute(con, "forecast_range", q(options=PLAIN), DEFS)


def test_forecast_for_next_quarter_uses_the_same_distance_to_quarter_end(con):
    # FY2027-Q1 as of 11-16: 136 days to 2027-04-01. Comparable points: Q3 -> 10-01 - 136 d
    # = 05-18 (a snapshot), outcome 10-05; Q2 -> 02-15: none; Q4 has not ended yet.
    # At 05-18 the only open deal closing in Q3 is H9 (Proposal, close 08-30), not won by
    # 10-05 -> Proposal learned 0/1. F5 (Proposal 800, close 2027-02-01) -> p 0, expected 0.
    from steward.metrics import drill

    nq = Query(as_of=AS_OF, period="FY2027-Q1", options=(("late_wins", False),))
    row = compute(con, "forecast_historical", nq, DEFS).table.iloc[0]
    assert (row["training_quarters"], row["open_deals"], row["expected"]) == (1, 1, 0.0)
    deals = drill(con, "forecast_historical", nq, DEFS)
    assert deals[["opportunity_id", "p_win", "basis", "observations"]].values.tolist() == [
        ["F5", 0.0, "stage", 1]
    ]


def test_quarter_multipliers(con):
    # Pooled (stage level): Proposal 1/2, Discovery 1/3, Negotiation 1, Prospecting 1.
    # Q3 at 08-17: H2 P, H5 P, H6 D, H7 N, H8 Pr -> expected 1/2 + 1/2 + 1/3 + 1 + 1 = 10/3,
    #   won 3 (H2, H7, H8) -> 0.9
    # Q2 at 05-18: H1 P, H2 P, H3 D, H4 D -> expected 1/2 + 1/2 + 1/3 + 1/3 = 5/3, won 2 -> 1.2
    dates = snapshot_dates(con, AS_OF)
    training = training_quarters(dates, Quarter(2026, 4), AS_OF)
    learner = Learner(con, DEFS)
    probs = probabilities(learner.learned(training), DEFS)
    assert quarter_multipliers(learner, training, probs) == pytest.approx([0.9, 1.2])


def test_quarter_variation_widens_the_range(con):
    plain = compute(con, "forecast_historical", q(options=PLAIN), DEFS).table.iloc[0]
    only_late = (("quarter_variation", False),)
    late = compute(con, "forecast_historical", q(options=only_late), DEFS).table.iloc[0]
    varied = compute(con, "forecast_historical", q(), DEFS).table.iloc[0]
    again = compute(con, "forecast_historical", q(), DEFS).table.iloc[0]
    assert varied.equals(again)  # deterministic with the seed
    assert varied["p10"] <= varied["p50"] <= varied["p90"]
    # expected: learned p, no multiplier, plus the mean late wins
    assert varied["expected"] == late["expected"] == 3035.71
    # without variation the late wins are a constant: the plain percentiles + 235.71
    assert (late["p10"], late["p50"], late["p90"]) == (
        plain["p10"] + 235.71,
        plain["p50"] + 235.71,
        plain["p90"] + 235.71,
    )
    # each draw scales every p by 0.9 or 1.2 (F4's 1.0 stays capped at 1): the outcomes now
    # move together, so the P10-P90 spread is at least as wide as with independent deals
    assert varied["p90"] - varied["p10"] >= plain["p90"] - plain["p10"]


def test_simulation_with_multipliers():
    p = np.array([0.5, 0.5, 0.9])
    amounts = np.array([100.0, 200.0, 50.0])
    a = simulate(p, amounts, seed=3, multipliers=[0.5, 2.0])
    assert np.array_equal(a, simulate(p, amounts, seed=3, multipliers=[0.5, 2.0]))
    # multiplier 2 (half the draws) makes every deal certain (p capped at 1): 350; with 0.5
    # all three still close with p .25 x .25 x .45 = .028 -> P(350) = .5 + .5 x .028 = .514
    assert 0.45 < float(np.mean(a == 350.0)) < 0.6
    # mean: 0.5 x (0.25 x 100 + 0.25 x 200 + 0.45 x 50) + 0.5 x 350 = 48.75 + 175 = 223.75
    assert float(a.mean()) == pytest.approx(223.75, rel=0.03)


def test_late_wins(con):
    # Q3: N1 (90) won in Q3 but not open in it at 08-17; whole open pipeline then 1050 -> 3/35.
    # Q2: nothing late; 570 open -> 0. Mean 3/70 x today's whole open pipeline (F1..F5 = 5500)
    # = 235.71; expected = 2800 + 235.71 = 3035.71.
    dates = snapshot_dates(con, AS_OF)
    training = training_quarters(dates, Quarter(2026, 4), AS_OF)
    assert Learner(con, DEFS).late_ratios(training) == pytest.approx([3 / 35, 0.0])
    row = compute(con, "forecast_historical", q(), DEFS).table.iloc[0]
    assert (row["late_expected"], row["expected"]) == (235.71, 3035.71)
    # with a segment filter the base is that segment's open pipeline: Enterprise F2 + F4 = 3200
    ent = q(filters=Filters.of(segment="Enterprise"))
    row = compute(con, "forecast_historical", ent, DEFS).table.iloc[0]
    assert row["late_expected"] == round(3200 * 3 / 70, 2)  # 137.14
