"""The planner and maturity charts as figure objects (never pixels)."""

from __future__ import annotations

import pandas as pd

from steward import charts

NEEDED = pd.DataFrame(
    {
        "source": ["A", "B", "Total"],
        "open_pipeline": [500_000.0, 100_000.0, 600_000.0],
        "new_pipeline": [700_000.0, None, 700_000.0],
    }
)


def test_needed_chart_stacks_open_and_to_create_per_source():
    fig = charts.needed_chart(NEEDED, title="t")
    have, new = fig.data
    assert list(have.y) == ["B", "A"]  # the Total row is not a bar; first source on top
    assert list(have.x) == [100_000.0, 500_000.0]
    assert list(new.x) == [0.0, 700_000.0] and list(new.text) == ["", "$700K"]
    assert fig.layout.barmode == "stack"


def test_scenario_chart_range_p50_and_target():
    table = pd.DataFrame(
        {"scenario": ["Baseline", "Slow"], "p10": [8.0, 5.0], "p50": [9.0, 6.0], "p90": [11.0, 8.0]}
    )
    fig = charts.scenario_chart(table, target=8.5)
    bars, p50, target = fig.data
    assert list(bars.y) == ["Slow", "Baseline"]
    assert list(bars.base) == [5.0, 8.0] and list(bars.x) == [3.0, 3.0]  # P90 - P10
    assert list(p50.x) == [6.0, 9.0]
    assert target.name.startswith("Target $")
    assert fig.layout.shapes[0].x0 == 8.5
    lo, hi = fig.layout.xaxis.range
    assert lo <= 5.0 and hi >= 11.0


def test_maturity_chart_places_bars_at_stages_and_unplaced_at_zero():
    placed = pd.DataFrame(
        {
            "matrix": ["M", "M"],
            "dimension": ["One", "Two"],
            "stage": pd.array([3, None], dtype="Int64"),
            "basis": ["evidence", "self-assessed"],
            "evidence": ["good", "not assessed yet"],
        }
    )
    fig = charts.maturity_chart(placed)
    bar = fig.data[0]
    assert list(bar.y) == ["M · Two", "M · One"]
    assert list(bar.x) == [0, 3.0]
    assert list(bar.customdata) == ["not assessed yet", "good"]
    assert list(bar.text) == ["not placed · self-assessed", "stage 3 · evidence"]
