"""steward.charts: figures asserted as objects (trace type, values, titles), never pixels."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pandas as pd
import plotly.graph_objects as go
import pytest

from steward import charts


def _funnel() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage": ["Prospecting", "Discovery", "Solution"],
            "is_qualified": [False, True, True],
            "count_open": [10, 5, 2],
            "amount_open": [D("1000000.00"), D("750000.50"), D("250000.00")],
            "count_pct_prev": [None, 0.5, 0.4],
            "count_pct_top": [1.0, 0.5, 0.2],
            "amount_pct_prev": [None, 0.75, 0.3333],
            "amount_pct_top": [1.0, 0.75, 0.25],
        }
    )


def test_funnel_by_count_is_horizontal_bars_top_stage_first():
    fig = charts.funnel_chart(_funnel(), measure="count")
    (bar,) = fig.data
    assert bar.type == "bar" and bar.orientation == "h"
    assert list(bar.y) == ["Prospecting", "Discovery", "Solution"]
    assert list(bar.x) == [10.0, 5.0, 2.0]
    # Not-yet-qualified stages are grey, qualified ones navy.
    assert list(bar.marker.color) == [charts.GREY, charts.NAVY, charts.NAVY]
    # The drill key of each bar is its stage.
    assert [c[0] for c in bar.customdata] == ["Prospecting", "Discovery", "Solution"]
    # 5 of 10 = 50% of the previous stage and of the top.
    assert bar.text[1] == "5  ·  50% of prev · 50% of top"
    assert fig.layout.yaxis.autorange == "reversed"


def test_funnel_by_value_uses_amounts_and_money_ticks():
    fig = charts.funnel_chart(_funnel(), measure="amount")
    bar = fig.data[0]
    assert list(bar.x) == [1000000.0, 750000.5, 250000.0]
    assert bar.text[0].startswith("$1.0M")
    # Ticks printed by fmt.money: 0, 200K, ... 1.0M (step 200,000 over [0, 1,000,000]).
    assert list(fig.layout.xaxis.tickvals) == [0, 200000, 400000, 600000, 800000, 1000000]
    assert fig.layout.xaxis.ticktext[-1] == "$1.0M"


def test_funnel_share_labels_for_an_asof_snapshot():
    # Open counts 10, 5, 2 of 17: 59%, 29%, 12% of all open deals; no % prev / % top.
    fig = charts.funnel_chart(_funnel(), measure="count", labels="share")
    bar = fig.data[0]
    assert list(bar.x) == [10.0, 5.0, 2.0]
    assert list(bar.text) == [
        "10  ·  59% of all open deals",
        "5  ·  29% of all open deals",
        "2  ·  12% of all open deals",
    ]
    assert [c[0] for c in bar.customdata] == ["Prospecting", "Discovery", "Solution"]
    # By value: 1,000,000 / 2,000,000.50 = 50%; 750,000.50 / 2,000,000.50 = 0.3750001 -> 38%.
    value = charts.funnel_chart(_funnel(), measure="amount", labels="share").data[0]
    assert value.text[0] == "$1.0M  ·  50% of all open value"
    assert value.text[1] == "$750K  ·  38% of all open value"


def _cohort() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage": ["Prospecting", "Discovery", "Solution", "Closed Won"],
            "reached_count": [200, 120, 30, 6],
            "reached_amount": [D("4000000.00"), D("3000000.00"), D("900000.00"), D("150000.00")],
            "conversion_to_next": [0.6, 0.25, 0.2, None],
            "pct_of_top": [1.0, 0.6, 0.15, 0.03],
        }
    )


def test_cohort_funnel_draws_reached_counts_with_conversion_labels():
    fig = charts.cohort_funnel_chart(_cohort())
    (f,) = fig.data
    assert f.type == "funnel"
    assert list(f.y) == ["Prospecting", "Discovery", "Solution", "Closed Won"]
    assert list(f.x) == [200.0, 120.0, 30.0, 6.0]
    # 120/200 = 60% of prev and of top; 30/120 = 25% of prev, 30/200 = 15% of top;
    # 6/30 = 20% of prev, 6/200 = 3% of top.
    assert list(f.text) == [
        "200  ·  100% of top",
        "120  ·  60% of prev · 60% of top",
        "30  ·  25% of prev · 15% of top",
        "6  ·  20% of prev · 3% of top",
    ]
    # Bars narrower than 45% of the top carry their label outside.
    assert list(f.textposition) == ["inside", "inside", "outside", "outside"]


def test_cohort_funnel_by_value_and_empty():
    f = charts.cohort_funnel_chart(_cohort(), measure="amount").data[0]
    assert list(f.x) == [4000000.0, 3000000.0, 900000.0, 150000.0]
    # 3.0M / 4.0M = 75%; 0.9M / 3.0M = 30% of prev, 0.9M / 4.0M = 22.5% -> 22% of top.
    assert f.text[1] == "$3.0M  ·  75% of prev · 75% of top"
    assert f.text[2] == "$900K  ·  30% of prev · 22% of top"
    empty = charts.cohort_funnel_chart(_cohort().assign(reached_count=0))
    assert not empty.data and "No deals" in empty.layout.annotations[0].text


def _waterfall() -> pd.DataFrame:
    # Start 1,000 - Won 100 - Pushed 50 + New 300 + Increased 25 = End 1,175.
    rows = [
        ("Start", "start", "1000.00", 4),
        ("Won", "leaving", "-100.00", 1),
        ("Lost", "leaving", "0.00", 0),
        ("Pushed out", "leaving", "-50.00", 1),
        ("New", "entering", "300.00", 2),
        ("Increased", "change", "25.00", 1),
        ("End", "end", "1175.00", 5),
    ]
    return pd.DataFrame(
        [(b, k, D(a), c) for b, k, a, c in rows], columns=["bucket", "kind", "amount", "count"]
    )


def test_waterfall_has_start_and_end_totals_in_bucket_order():
    fig = charts.waterfall_chart(_waterfall())
    (wf,) = fig.data
    assert wf.type == "waterfall"
    assert list(wf.x) == ["Start", "Won", "Lost", "Pushed out", "New", "Increased", "End"]
    assert list(wf.measure) == [
        "absolute",
        "relative",
        "relative",
        "relative",
        "relative",
        "relative",
        "total",
    ]
    ys = list(wf.y)
    # The running sum lands on End exactly: 1000 - 100 + 0 - 50 + 300 + 25 = 1175.
    assert ys[0] + sum(ys[1:-1]) == ys[-1] == 1175.0
    # Empty buckets carry no label; moves are signed.
    assert wf.text[2] == "" and wf.text[1] == "-$100" and wf.text[4] == "+$300"
    assert [c[0] for c in wf.customdata] == list(wf.x)
    # one line per label (declared short label), turned by Plotly only when they collide
    assert list(fig.layout.xaxis.autotickangles) == [0, 30, 90]
    assert "Pushed" in list(fig.layout.xaxis.ticktext)
    assert not any("<br>" in t for t in fig.layout.xaxis.ticktext)
    assert list(fig.layout.xaxis.tickvals)[3] == "Pushed out"  # the drill key stays whole
    assert list(fig.layout.xaxis.tickvals) == list(wf.x)


def test_waterfall_zooms_axis_when_moves_are_small():
    # Levels 1000 -> 900 -> ... lowest bar end 850, highest 1175: span 325 < half of 1175,
    # pad = 325, so the axis runs from 850 - 195 = 655 to 1175 + 97.5 = 1272.5.
    fig = charts.waterfall_chart(_waterfall())
    assert list(fig.layout.yaxis.range) == [655.0, 1272.5]
    # ... and says so, since the bars no longer start at zero.
    assert fig.layout.annotations[0].text == "axis starts at $655"


def _matrix() -> pd.DataFrame:
    rows = []
    for period, offset, goal in (("FY2026-Q4", 0, 3.0), ("FY2027-Q1", 1, 2.0)):
        for seg, cov in (("SMB", 1.5), ("All", 2.5)):
            rows.append(
                {
                    "period": period,
                    "offset": offset,
                    "segment": seg,
                    "open_pipeline": D("300"),
                    "won_to_date": D("0"),
                    "bookings_target": D("100"),
                    "remaining_target": D("100"),
                    "coverage": cov + offset,
                    "goal": goal,
                    "status": "below goal",
                }
            )
    return pd.DataFrame(rows)


def test_coverage_bars_by_segment_with_goal_rules():
    fig = charts.coverage_chart(_matrix())
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.name for b in bars] == ["SMB", "All"]  # 'All' last, darkest
    assert list(bars[0].y) == [1.5, 2.5] and list(bars[1].y) == [2.5, 3.5]
    assert bars[1].marker.color == charts.NAVY
    goals = [(s.y0, s.x0, s.x1) for s in fig.layout.shapes]
    assert goals == [(3.0, -0.42, 0.42), (2.0, pytest.approx(0.58), pytest.approx(1.42))]
    assert [a.text for a in fig.layout.annotations] == ["goal 3.0x", "goal 2.0x"]


def test_coverage_small_bars_label_outside_or_not_at_all():
    m = _matrix()
    m.loc[0, "coverage"] = 0.02  # SMB FY2026-Q4: under 0.05x, no label
    m.loc[2, "coverage"] = 0.1  # SMB FY2027-Q1: short, label above the bar
    smb = next(t for t in charts.coverage_chart(m).data if t.name == "SMB")
    assert list(smb.text) == ["", "0.1x"]
    assert list(smb.textposition) == ["outside", "outside"]
    all_ = next(t for t in charts.coverage_chart(m).data if t.name == "All")
    assert list(all_.text) == ["2.5x", "3.5x"]
    assert list(all_.textposition) == ["inside", "inside"]
    # The hover still gives the value of the unlabelled bar.
    assert smb.customdata[0][5] == "0.0x"


def test_trend_axes_are_labelled_at_the_snapshot_dates():
    # Ten Friday snapshots Sep 18 .. Nov 20; at most 5 labels -> every 2nd (ceil(10/5)),
    # counted back from the latest so Nov 20 is always labelled.
    fridays = [date(2026, 9, 18) + pd.Timedelta(weeks=i) for i in range(10)]
    trend = pd.DataFrame({"snapshot_date": fridays, "coverage": [2.0] * 10})
    fig = charts.coverage_trend_chart(trend, goal=3.0)
    assert list(fig.layout.xaxis.ticktext) == [
        "Sep 25", "Oct 9", "Oct 23", "Nov 6", "Nov 20"
    ]  # fmt: skip
    assert fig.layout.xaxis.tickangle == 0
    # Slippage (full width) keeps up to 8: ceil(10/8) = 2 as well here.
    slip = pd.DataFrame(
        {"to_date": fridays, "pushed_amount": [1000.0] * 10, "slippage_ratio": [0.01] * 10}
    )
    assert charts.slippage_chart(slip).layout.xaxis.ticktext[-1] == "Nov 20"


def test_coverage_trend_marks_goal():
    trend = pd.DataFrame(
        {"snapshot_date": [date(2026, 10, 2), date(2026, 10, 9)], "coverage": [2.0, 2.4]}
    )
    fig = charts.coverage_trend_chart(trend, goal=3.0)
    assert fig.data[0].type == "scatter" and list(fig.data[0].y) == [2.0, 2.4]
    assert fig.layout.shapes[0].y0 == 3.0


def test_forecast_range_bars_whisker_and_target():
    table = pd.DataFrame(
        {
            "method": ["commit", "historical", "target"],
            "label": ["Commit", "Historical", "Target"],
            "value": [100.0, 120.0, 150.0],
            "p10": [None, 90.0, None],
            "p90": [None, 160.0, None],
        }
    )
    fig = charts.forecast_range_chart(table)
    bar, whisker = fig.data
    assert bar.type == "bar" and list(bar.y) == ["Commit", "Historical"]
    assert list(bar.x) == [100.0, 120.0]
    # Only the historical method has a P10-P90 range.
    assert list(whisker.x) == [90.0, 160.0, None]
    # The target row becomes the vertical line.
    assert fig.layout.shapes[0].x0 == 150.0


def test_forecast_axis_has_few_horizontal_compact_ticks():
    table = pd.DataFrame(
        {
            "method": ["commit", "best_case", "historical"],
            "label": ["Commit", "Best case", "Historical"],
            "value": [6_900_000.0, 11_200_000.0, 9_500_000.0],
            "p10": [None, None, 8_400_000.0],
            "p90": [None, None, 11_170_000.0],
        }
    )
    fig = charts.forecast_range_chart(table, target=8_500_000.0)
    # Span 0..11.2M in about 3 steps: raw 3.73M -> step 5M -> $0, $5M, $10M.
    assert list(fig.layout.xaxis.tickvals) == [0, 5_000_000, 10_000_000]
    assert list(fig.layout.xaxis.ticktext) == ["$0", "$5M", "$10M"]
    assert fig.layout.xaxis.tickangle == 0


def test_backtest_chart_actual_bars_and_a_line_per_method():
    bt = pd.DataFrame(
        {
            "period": ["FY2026-Q3", "FY2026-Q3", "FY2026-Q2", "FY2026-Q2"],
            "method": ["forecast_commit", "forecast_weighted"] * 2,
            "forecast": [7.0e6, 9.0e6, 6.0e6, 8.0e6],
            "actual": [8.0e6, 8.0e6, 7.5e6, 7.5e6],
        }
    )
    labels = {"forecast_commit": "Forecast: commit", "forecast_weighted": "Forecast: weighted"}
    fig = charts.backtest_chart(bt, labels=labels)
    actual, commit, weighted = fig.data
    assert actual.type == "bar" and list(actual.x) == ["FY2026-Q2", "FY2026-Q3"]
    assert list(actual.y) == [7.5e6, 8.0e6]
    assert commit.name == "Forecast: commit" and list(commit.y) == [6.0e6, 7.0e6]
    assert weighted.name == "Forecast: weighted" and list(weighted.y) == [8.0e6, 9.0e6]


def test_breakdown_heatmap_pivots_and_keeps_click_targets():
    long = pd.DataFrame(
        {
            "segment": ["SMB", "SMB", "Enterprise"],
            "region": ["EMEA", "NA", "NA"],
            "amount": [D("10"), D("30"), D("100")],
        }
    )
    fig = charts.breakdown_heatmap(long, row="segment", col="region", value="amount")
    heat, cells = fig.data
    assert heat.type == "heatmap"
    # Biggest row and column first: Enterprise (100) before SMB (40); NA (130) before EMEA (10).
    assert list(heat.y) == ["Enterprise", "SMB"] and list(heat.x) == ["NA", "EMEA"]
    assert [list(r) for r in heat.z] == [[100.0, 0.0], [30.0, 10.0]]
    assert cells.type == "scatter"
    assert [list(c[:2]) for c in cells.customdata] == [
        ["Enterprise", "NA"],
        ["Enterprise", "EMEA"],
        ["SMB", "NA"],
        ["SMB", "EMEA"],
    ]


def test_breakdown_heatmap_shows_a_real_zero_rate_and_blanks_a_missing_one():
    long = pd.DataFrame(
        {
            "segment": ["SMB", "SMB", "Enterprise", "Enterprise"],
            "stage": ["Discovery", "Solution", "Discovery", "Solution"],
            "conversion_to_next": [0.5, 0.25, 0.0, None],
        }
    )
    fig = charts.breakdown_heatmap(
        long, row="segment", col="stage", value="conversion_to_next", unit="ratio", sort=False
    )
    heat = fig.data[0]
    # SMB: 50%, 25%; Enterprise: a computed 0% is shown, the missing Solution cell is blank.
    assert [list(r) for r in heat.text] == [["50%", "25%"], ["0%", ""]]


def test_breakdown_heatmap_totals_on_the_labels():
    long = pd.DataFrame(
        {
            "segment": ["SMB", "SMB", "Enterprise"],
            "stage": ["Discovery", "Proposal", "Proposal"],
            "amount": [D("100000"), D("200000"), D("2000000")],
        }
    )
    fig = charts.breakdown_heatmap(long, row="segment", col="stage", totals=True)
    # Rows by size: Enterprise 2,000,000; SMB 100,000 + 200,000 = 300,000.
    assert list(fig.layout.yaxis.ticktext) == ["Enterprise · $2.0M", "SMB · $300K"]
    # Columns: Proposal 200,000 + 2,000,000 = 2,200,000 -> $2.2M; Discovery 100,000.
    assert [t.split("<br>")[0] for t in fig.layout.xaxis.ticktext] == ["Proposal", "Discovery"]
    assert "$2.2M" in fig.layout.xaxis.ticktext[0] and "$100K" in fig.layout.xaxis.ticktext[1]
    # The cells and their drill keys are unchanged.
    assert list(fig.data[0].y) == ["Enterprise", "SMB"]


def test_breakdown_heatmap_governed_order_and_empty_columns_dropped():
    long = pd.DataFrame(
        {
            "segment": ["SMB", "SMB", "SMB"],
            "stage": ["Solution", "Discovery", "Closed Won"],
            "rate": [0.5, 0.25, None],
        }
    )
    fig = charts.breakdown_heatmap(
        long, row="segment", col="stage", value="rate", unit="ratio", col_order=["Discovery"]
    )
    assert list(fig.data[0].x) == ["Discovery", "Solution"]  # Closed Won has no value
    assert list(fig.data[0].text[0]) == ["25%", "50%"]


def test_snapshot_calendar_counts_missing_weeks():
    # Fridays 2 Jan, 9 Jan, 23 Jan 2026: ISO weeks 1, 2, 4 loaded; week 3 missing.
    dates = [date(2026, 1, 2), date(2026, 1, 9), date(2026, 1, 23)]
    fig = charts.snapshot_calendar(dates)
    heat = fig.data[0]
    assert list(heat.y) == ["2026"]
    assert list(heat.z[0][:5]) == [1.0, 1.0, 0.0, 1.0, None]
    assert "1 missing" in fig.layout.title.text


def test_slippage_bars_and_ratio_line():
    table = pd.DataFrame(
        {
            "from_date": [date(2026, 10, 2)],
            "to_date": [date(2026, 10, 9)],
            "start_amount": [D("1000")],
            "pushed_amount": [D("50")],
            "slippage_ratio": [0.05],
        }
    )
    fig = charts.slippage_chart(table)
    assert [t.type for t in fig.data] == ["bar", "scatter"]
    assert list(fig.data[0].y) == [50.0] and list(fig.data[1].y) == [0.05]
    assert fig.data[1].yaxis == "y2"


def test_attribution_side_by_side_models():
    table = pd.DataFrame(
        {
            "channel": ["Email", "Webinar"],
            "first_touch": [10.0, 30.0],
            "last_touch": [20.0, 20.0],
            "linear": [15.0, 25.0],
            "u_shaped": [15.0, 25.0],
            "w_shaped": [15.0, 25.0],
            "time_decay": [18.0, 22.0],
        }
    )
    fig = charts.attribution_chart(table)
    assert [t.name for t in fig.data] == [
        "First touch",
        "Last touch",
        "Linear",
        "U-shaped",
        "W-shaped",
        "Time decay",
    ]
    assert fig.layout.barmode == "group"
    # Webinar (total 147) before Email (93).
    assert list(fig.data[0].x) == ["Webinar", "Email"] and list(fig.data[0].y) == [30.0, 10.0]


def test_closed_won_curves_one_line_per_cohort_for_a_source():
    table = pd.DataFrame(
        {
            "cohort": ["FY2026-Q1"] * 2 + ["FY2026-Q2"] * 2 + ["FY2026-Q1"] * 2,
            "source": ["All", "All", "All", "All", "Partner", "Partner"],
            "week": [0, 1, 0, 1, 0, 1],
            "pct_won": [0.0, 0.1, 0.0, 0.2, 0.0, 0.5],
        }
    )
    fig = charts.closed_won_curve_chart(table, source="All")
    assert [t.name for t in fig.data] == ["FY2026-Q1", "FY2026-Q2"]
    assert list(fig.data[1].y) == [0.0, 0.2]
    partner = charts.closed_won_curve_chart(table, source="Partner")
    assert [list(t.y) for t in partner.data] == [[0.0, 0.5]]


def test_time_in_stage_median_bars_and_p75_marks():
    table = pd.DataFrame(
        {"stage": ["Discovery"], "median_days": [14.0], "p75_days": [21.0], "deals": [8]}
    )
    fig = charts.time_in_stage_chart(table)
    assert [t.type for t in fig.data] == ["bar", "scatter"]
    assert list(fig.data[0].x) == [14.0] and list(fig.data[1].x) == [21.0]


def test_empty_tables_say_so_instead_of_drawing_nothing():
    empty = pd.DataFrame()
    for fig in (
        charts.funnel_chart(empty),
        charts.waterfall_chart(empty),
        charts.coverage_chart(empty),
        charts.forecast_range_chart(empty),
        charts.attribution_chart(empty),
        charts.snapshot_calendar([]),
    ):
        assert isinstance(fig, go.Figure) and len(fig.data) == 0
        assert fig.layout.annotations[0].text


def test_nice_ticks_are_round():
    assert charts.nice_ticks(0, 1_000_000) == [0, 200000, 400000, 600000, 800000, 1000000]
    # Span 3.2M / 5 = 640K -> the next round step is 1M: ticks 0, 1M, 2M, 3M.
    assert charts.nice_ticks(0, 3_200_000) == [0, 1e6, 2e6, 3e6]
    # 655 .. 1272.5: 617.5 / 5 = 123.5 -> step 200, starting at floor(655 / 200) * 200 = 600.
    assert charts.nice_ticks(655, 1272.5) == [600, 800, 1000, 1200]


def test_one_theme_everywhere():
    fig = charts.funnel_chart(_funnel())
    assert fig.layout.template.layout.font.family == charts.FONT_FAMILY
    assert fig.layout.template.layout.font.size == charts.BASE_FONT_SIZE
    assert fig.layout.template.layout.plot_bgcolor == "white"
