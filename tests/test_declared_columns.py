"""A table metric's columns are declared once, with the metric (`@metric(columns=…)`), and
the screen and the workbook read that declaration instead of their own header dicts."""

from __future__ import annotations

import fixtures_pipeline as fp

from steward.export import xlsx_plan
from steward.fmt import EXCEL_FORMATS
from steward.metrics import REGISTRY, Query, compute

DECLARED = sorted(mid for mid, m in REGISTRY.items() if m.columns)


def test_every_table_metric_declares_its_columns() -> None:
    # Before: nine table metrics (funnel_cohort, forecast_backtest, trust_checks …) said only
    # unit="table", and each page, sheet and sentence declared their headers and units again.
    bare = sorted(mid for mid, m in REGISTRY.items() if m.unit == "table" and not m.columns)
    assert bare == []
    for mid, m in REGISTRY.items():
        names = [c.name for c in m.columns]
        assert len(names) == len(set(names)), (mid, names)


def test_the_declared_columns_are_the_columns_the_metric_returns(pipeline_con, defs) -> None:
    # Hand-built fixture (fixtures_pipeline): as-of 2026-11-16, compare-to 2026-11-02.
    q = Query(fp.AS_OF, fp.PERIOD, compare_to=fp.A)
    for mid in DECLARED:
        table = compute(pipeline_con, mid, q, defs).table
        assert table is not None, mid
        declared = [c.name for c in REGISTRY[mid].columns]
        assert set(declared) <= set(table.columns), (mid, set(declared) - set(table.columns))


def test_every_declared_unit_has_a_format(defs) -> None:
    # 'hours' (speed-to-lead) is shown on screen only; every other unit also has an Excel
    # number format, so the workbook can format any declared column.
    for mid in DECLARED:
        for c in REGISTRY[mid].columns:
            assert c.label, (mid, c.name)
            assert c.unit is None or c.unit in {*EXCEL_FORMATS, "hours"}, (mid, c.name, c.unit)


def test_the_planner_and_its_workbook_sheet_share_one_header_per_column() -> None:
    # Before: the page said "Open now" and "Sales cycle" (days) while the workbook said
    # "Open pipeline now" and "Sales cycle (days)" (count). One declaration now.
    declared = REGISTRY["pipeline_needed"].columns
    assert [(c.name, c.label, c.unit) for c in xlsx_plan.PLAN_COLUMNS] == [
        (c.name, c.label, c.unit) for c in declared
    ]
    by_name = {c.name: c for c in declared}
    assert (by_name["open_pipeline"].label, by_name["cycle_days"].unit) == (
        "Open pipeline now",
        "days",
    )


def test_a_narrative_fact_from_a_table_takes_the_columns_declared_unit(pipeline_con, defs) -> None:
    import pytest

    from steward.narrative.facts import table_cell

    q = Query(fp.AS_OF, fp.PERIOD, compare_to=fp.A)
    bridge = compute(pipeline_con, "waterfall", q, defs).table
    start = table_cell("waterfall", q, bridge, (("bucket", "Start"),), "amount")
    count = table_cell("waterfall", q, bridge, (("bucket", "Start"),), "count")
    # Declared: amount in usd, count in count; the fixture's bridge starts at 642,000.
    assert (start.unit, float(start.value), count.unit) == ("usd", 642_000.0, "count")
    # A metric that declares no columns must say the unit itself.
    wins = compute(pipeline_con, "win_rate_count", q, defs).table
    with pytest.raises(KeyError, match="declares no unit"):
        table_cell("win_rate_count", q, wins, (), "won_count")
