"""A table metric's columns are declared once, with the metric (`@metric(columns=…)`), and
the screen and the workbook read that declaration instead of their own header dicts."""

from __future__ import annotations

import fixtures_pipeline as fp

from steward.export import xlsx_plan
from steward.fmt import EXCEL_FORMATS
from steward.metrics import REGISTRY, Query, compute

DECLARED = sorted(mid for mid, m in REGISTRY.items() if m.columns)


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
    assert [(c.key, c.header, c.unit) for c in xlsx_plan.PLAN_COLUMNS] == [
        (c.name, c.label, c.unit) for c in declared
    ]
    by_name = {c.name: c for c in declared}
    assert (by_name["open_pipeline"].label, by_name["cycle_days"].unit) == (
        "Open pipeline now",
        "days",
    )
