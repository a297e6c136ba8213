"""Headline KPIs on the hand-built fixture (as of 2026-11-16, previous snapshot 2026-11-09)."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_pipeline import AS_OF, PERIOD, PREV, insert_snapshots, snapshot_rows

from steward import kpis
from steward.metrics import core
from steward.metrics.core import Query, compute

Q = Query(AS_OF, PERIOD)


def by_id(con, defs, q=Q):
    return {k.id: k for k in kpis.headline_kpis(con, q, defs)}


def test_headline_values_and_deltas_vs_previous_snapshot(pipeline_con, defs):
    got = by_id(pipeline_con, defs)
    qp = got["qualified_pipeline"]
    # now 379,000; on 11-09 the Q4 open pipeline was the 11-02 set minus O03 (pushed to
    # 2027-01-10): 642,000 − 200,000 = 442,000 -> delta −63,000
    assert (qp.value, qp.delta_prev, qp.formatted, qp.delta_prev_formatted) == (
        379000.0,
        -63000.0,
        "$379K",
        "-$63K",
    )
    assert qp.metric_ids == ("open_pipeline",) and qp.prev_as_of == PREV and qp.unit == "usd"
    cov = got["coverage_this_quarter"]
    # now 379,000 / 500,000 = 0.758; then 442,000 / (600,000 − 0) = 0.736667
    assert cov.value == pytest.approx(0.758)
    assert cov.delta_prev == pytest.approx(0.758 - 442000 / 600000)
    nxt = got["coverage_next_quarter"]
    # FY2027-Q1, target 50,000 (Enterprise row only): now 0 open / (50,000 − 25,000) = 0;
    # then O03 200,000 + O07 40,000 = 240,000 / 50,000 = 4.8
    assert (nxt.value, nxt.delta_prev, nxt.period) == (0.0, pytest.approx(-4.8), "FY2027-Q1")
    share = got["marketing_sourced_share"]
    # then: O01 90,000 + O04 20,000 + O05 30,000 + O10 60,000 + O13 100,000 = 300,000 / 442,000
    assert share.delta_prev == pytest.approx(235000 / 379000 - 300000 / 442000)
    assert share.delta_prev_formatted == "-6 pts"
    trust = got["trust_score"]
    # 11-09: 1 of 13 open deals flagged (O12, amount 0): 100 − 70 x 0.5/13 − 5 = 92.3
    assert (trust.value, trust.delta_prev) == (57.8, pytest.approx(57.8 - 92.3))
    # no snapshot within 10 days of 2026-08-17 (13 weeks back): no QoQ delta
    assert all(k.delta_qoq is None and k.qoq_as_of is None for k in got.values())


def test_forecast_uses_historical_when_registered(pipeline_con, defs):
    fc = by_id(pipeline_con, defs)["forecast"]
    assert fc.metric_ids == ("forecast_historical", "bookings_target")
    assert fc.value == compute(pipeline_con, "forecast_historical", Q, defs).value
    assert fc.note.startswith("historical P50 forecast vs target $600K")


def test_a_missing_metric_fails_loudly(pipeline_con, defs, monkeypatch):
    # Every module exists now: a metric gone from the registry is a bug to see, not a tile
    # to skip quietly (the tiles used to drop it, the forecast used to fall back).
    reg = dict(core.REGISTRY)
    reg.pop("pipeline_velocity")
    monkeypatch.setattr(core, "REGISTRY", reg)
    monkeypatch.setattr(kpis, "REGISTRY", reg)
    with pytest.raises(KeyError, match="pipeline_velocity"):
        kpis.headline_kpis(pipeline_con, Q, defs)


def test_every_kpi_is_its_metric(pipeline_con, defs):
    for k in kpis.headline_kpis(pipeline_con, Q, defs):
        assert (
            k.value == compute(pipeline_con, k.metric_ids[0], Q.with_(period=k.period), defs).value
        )
        assert set(k.as_dict()) >= {"id", "label", "value", "formatted", "delta_prev", "delta_qoq"}


def test_same_week_of_previous_quarter(pipeline_con, defs):
    # add a snapshot on 2026-08-17 (= 11-16 − 13 weeks), in FY2026-Q3:
    #   O16 Discovery 22,000 closing 2026-09-15 (Q3) and O10 Solution 60,000 closing 12-01 (Q4)
    insert_snapshots(
        pipeline_con,
        snapshot_rows(
            date(2026, 8, 17),
            [
                ("O10", "Solution", 60000, 0.4, "Pipeline", "2026-12-01"),
                ("O16", "Discovery", 22000, 0.2, "Pipeline", "2026-09-15"),
            ],
        ),
    )
    got = by_id(pipeline_con, defs)
    qp = got["qualified_pipeline"]
    # the period keeps its offset: this quarter then was FY2026-Q3 -> 22,000; 379,000 − 22,000
    assert (qp.qoq_as_of, qp.delta_qoq) == (date(2026, 8, 17), 357000.0)
    assert got["coverage_this_quarter"].delta_qoq is None  # no FY2026-Q3 target
    # next quarter then = FY2026-Q4: 60,000 / 600,000 = 0.1; now FY2027-Q1 = 0 -> −0.1
    assert got["coverage_next_quarter"].delta_qoq == pytest.approx(-0.1)
    assert got["coverage_next_quarter"].delta_qoq_formatted == "-0.1x"


def test_a_failing_tile_shows_a_note(pipeline_con, defs, monkeypatch):
    real = kpis.compute

    def flaky(con, metric_id, q, d):
        if metric_id == "pipeline_velocity":
            raise RuntimeError("boom")
        return real(con, metric_id, q, d)

    monkeypatch.setattr(kpis, "compute", flaky)
    vel = by_id(pipeline_con, defs)["velocity"]
    assert (vel.value, vel.note) == (None, "pipeline_velocity could not be computed: boom")


def test_forecast_deltas_from_one_shared_learner(pipeline_con, defs, monkeypatch):
    # The forecast tile reads the three as-of points with one learner; each value must be
    # forecast_historical's own (compute one by one), at 11-16, 11-09 and 08-17.
    insert_snapshots(
        pipeline_con,
        snapshot_rows(
            date(2026, 8, 17), [("O16", "Discovery", 22000, 0.2, "Pipeline", "2026-09-15")]
        ),
    )

    def one(as_of, period):
        return compute(
            pipeline_con, "forecast_historical", Q.with_(as_of=as_of, period=period), defs
        )

    now, prev, qoq = (
        one(AS_OF, PERIOD).value,
        one(PREV, PERIOD).value,
        one(date(2026, 8, 17), "FY2026-Q3").value,
    )
    calls = []
    real = kpis.compute

    def spy(con, metric_id, q, d):
        calls.append(metric_id)
        return real(con, metric_id, q, d)

    monkeypatch.setattr(kpis, "compute", spy)
    fc = by_id(pipeline_con, defs)["forecast"]
    assert "forecast_historical" not in calls  # the shared-learner path, not the fallback
    assert (fc.value, fc.delta_prev, fc.delta_qoq) == (now, now - prev, now - qoq)
    assert (fc.prev_as_of, fc.qoq_as_of) == (PREV, date(2026, 8, 17))


def test_comparison_dates_window(pipeline_con):
    # as of 2026-11-16: previous snapshot 11-09; 13 weeks back = 2026-08-17, ±10 days.
    row = [("O16", "Discovery", 22000, 0.2, "Pipeline", "2026-09-15")]
    insert_snapshots(pipeline_con, snapshot_rows(date(2026, 8, 6), row))  # −11 days: too far
    assert kpis.comparison_dates(pipeline_con, AS_OF) == (PREV, None)
    insert_snapshots(pipeline_con, snapshot_rows(date(2026, 8, 27), row))  # +10 days
    assert kpis.comparison_dates(pipeline_con, AS_OF) == (PREV, date(2026, 8, 27))
    insert_snapshots(pipeline_con, snapshot_rows(date(2026, 8, 7), row))  # −10: a tie
    assert kpis.comparison_dates(pipeline_con, AS_OF) == (PREV, date(2026, 8, 7))  # earlier
    # as of a date between snapshots (11-12): the previous one is 11-09; nothing before
    # the first snapshot
    assert kpis.comparison_dates(pipeline_con, date(2026, 11, 12))[0] == PREV
    assert kpis.comparison_dates(pipeline_con, date(2026, 8, 6)) == (None, None)
