"""Workbook sheets for the scenario planner and the maturity scorecard.

Scenarios: the pipeline needed for the quarter after the as-of date with every
assumption an input cell (target, week N, each source's share, win rate and cycle) and
the plan as live formulas, so finance can change an assumption and see the plan move;
then the baseline and saved what-if scenarios for the workbook's period, with the
bookings target as an input and coverage as a live formula (the simulated P10/P50/P90
are values: a Monte Carlo run is not spreadsheet arithmetic).
Maturity: every dimension's stage with the rule, value, thresholds and evidence, and the
recorded placement history.
"""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from steward.export.xlsx import (
    FONT_NAME,
    INPUT_BLUE,
    INPUT_FILL,
    Context,
    Sheet,
    _records,
    formula,
    put,
)
from steward.fmt import EXCEL_FORMATS
from steward.maturity import scorecard
from steward.metrics.core import REGISTRY, Column, columns_of, compute
from steward.plan import needed, scenarios, whatif

NEEDED_TOP = 15  # header row of the per-source plan table
INPUT_ROWS = {"target": 8, "by_week": 10}  # rows of the input cells in column B


def _input(cell: Any) -> None:
    cell.fill = PatternFill("solid", fgColor=INPUT_FILL)
    cell.font = Font(name=FONT_NAME, color=INPUT_BLUE)


def _label(sh: Sheet, row: int, text: str) -> None:
    put(sh.ws, row, 1, text).font = Font(name=FONT_NAME, bold=True)
    sh.fit(1, text)


# The pipeline_needed metric's declared columns, in their declared order (the sheet's
# formulas address them by position).
PLAN_COLUMNS = columns_of("pipeline_needed")


def needed_block(sh: Sheet, ctx: Context) -> int:
    """Inputs in B5:B13 and the per-source plan from NEEDED_TOP; returns the last row."""
    period = needed.next_quarter(ctx.q.as_of, ctx.defs)
    q = ctx.q.with_(period=period, options=())
    inputs = needed.gather(ctx.con, q, ctx.defs)
    ws = sh.ws
    put(ws, 4, 1, f"Pipeline needed for {period}").font = Font(name=FONT_NAME, size=12, bold=True)
    date_fmt = EXCEL_FORMATS["date"]
    rows: list[tuple[str, Any, str | None]] = [
        ("Target quarter", period, None),
        ("As of", inputs.as_of, date_fmt),
        ("Quarter's last day", inputs.quarter_last_day, date_fmt),
        ("Bookings target", inputs.target, EXCEL_FORMATS["usd"]),
        ("Won to date", inputs.won_to_date, EXCEL_FORMATS["usd"]),
        ("Pipeline must exist by week N", inputs.by_week, None),
        ("Quarter start", inputs.quarter_start, date_fmt),
    ]
    for i, (label, value, fmt_) in enumerate(rows, start=5):
        _label(sh, i, label)
        put(ws, i, 2, value, fmt_)
        sh.fit(2, value, "usd")
    _input(ws.cell(INPUT_ROWS["target"], 2))
    _input(ws.cell(INPUT_ROWS["by_week"], 2))
    _label(sh, 12, "Remaining target")
    formula(ws, 12, 2, "=MAX(B8-B9,0)", EXCEL_FORMATS["usd"])
    _label(sh, 13, "Must exist by")
    formula(ws, 13, 2, "=B11+7*B10", date_fmt)
    sh.note(14, "Yellow cells are inputs; the plan below recalculates from them.")
    plan = needed.plan_rows(inputs)
    body = []
    srcs = plan[plan["source"] != "Total"]
    for i, rec in enumerate(_records(srcs), start=1):
        r = NEEDED_TOP + i
        body.append(
            {
                **rec,
                "_formulas": (
                    "needed_pipeline",
                    "new_pipeline",
                    "create_by",
                    "weeks_left",
                    "new_per_week",
                ),
                "needed_pipeline": f'=IF(N(C{r})>0,ROUND($B$12*B{r}/C{r},2),"")',
                "new_pipeline": f'=IF(F{r}="","",ROUND(MAX(F{r}-E{r},0),2))',
                "create_by": f'=IF(D{r}="","",MIN($B$13,$B$7-ROUND(D{r},0)))',
                "weeks_left": f'=IF(H{r}="","",MAX((H{r}-$B$6)/7,0))',
                "new_per_week": f'=IF(AND(ISNUMBER(G{r}),N(I{r})>0),ROUND(G{r}/I{r},2),"")',
            }
        )
    first, last = NEEDED_TOP + 1, NEEDED_TOP + len(body)
    body.append(
        {
            "source": "Total",
            "_formulas": (
                "mix",
                "open_pipeline",
                "needed_pipeline",
                "new_pipeline",
                "new_per_week",
            ),
            "mix": f"=SUM(B{first}:B{last})",
            "open_pipeline": f"=SUM(E{first}:E{last})",
            "needed_pipeline": f"=SUM(F{first}:F{last})",
            "new_pipeline": f"=SUM(G{first}:G{last})",
            "new_per_week": f"=SUM(J{first}:J{last})",
        }
    )
    end = sh.table(NEEDED_TOP, "tblPipelineNeeded", PLAN_COLUMNS, body)
    for r in range(first, last + 1):
        for c in (2, 3, 4):  # share, win rate, cycle: the per-source assumptions
            _input(ws.cell(r, c))
    return end


# The scenario_forecast metric's declared columns, with the sheet's won-to-date and
# bookings-target cells (the target an input) before the live coverage formula.
SCENARIO_COLUMNS = [
    *columns_of("scenario_forecast", "scenario", "p10", "p50", "p90", "expected", "open_pipeline"),
    Column("won", REGISTRY["won_to_date"].label, "usd"),
    Column("target", REGISTRY["bookings_target"].label, "usd"),
    *columns_of("scenario_forecast", "coverage", *whatif.ASSUMPTION_COLUMNS),
]
TARGET_COL = 8  # H: the input cell of each scenario row


def scenarios_sheet(wb: Workbook, ctx: Context) -> None:
    sh = Sheet(wb, "Scenarios")
    sh.title("Scenario planner", ctx.subtitle)
    sh.note(3, "Pipeline needed (live formulas over the yellow inputs); what-if scenarios below.")
    end = needed_block(sh, ctx)
    top = end + 3
    put(sh.ws, top - 1, 1, f"What-if scenarios for {ctx.q.period}").font = Font(
        name=FONT_NAME, size=12, bold=True
    )
    table = scenarios.comparison(ctx.con, ctx.q, ctx.defs)
    won = compute(ctx.con, "won_to_date", ctx.q, ctx.defs).value
    target = compute(ctx.con, "bookings_target", ctx.q, ctx.defs).value
    rows = []
    for i, rec in enumerate(_records(table), start=1):
        r = top + i  # F open, G won, H target, I coverage
        rows.append(
            {
                **rec,
                "won": won,
                "target": target,
                "_formulas": ("coverage",),
                "coverage": f'=IF(H{r}="","no target",IF(H{r}-G{r}<=0,"target met",F{r}/(H{r}-G{r})))',
            }
        )
    sh.table(top, "tblScenarios", SCENARIO_COLUMNS, rows)
    for i in range(1, len(rows) + 1):
        _input(sh.ws.cell(top + i, TARGET_COL))
    sh.note(
        top + len(rows) + 2,
        "P10/P50/P90 come from the historical forecast's simulation (10,000 draws, fixed "
        "seed) under each scenario's assumptions; the Baseline row is the Forecast sheet's.",
    )
    sh.finish(freeze_row=4)


MATURITY_COLUMNS = scorecard.DISPLAY_COLUMNS


def maturity_sheet(wb: Workbook, ctx: Context) -> None:
    sh = Sheet(wb, "Maturity")
    sh.title("Maturity scorecard", ctx.subtitle)
    sh.note(
        3,
        "Stage 1 ad hoc · 2 repeatable · 3 operating system. Evidence rules use the governed "
        "[maturity] thresholds; the weakest rule places a dimension; self-assessed rows say so.",
    )
    detail = compute(ctx.con, "maturity_scorecard", ctx.q, ctx.defs).table
    assert detail is not None
    last = sh.table(4, "tblMaturity", MATURITY_COLUMNS, _records(scorecard.display(detail)))
    hist = scorecard.history_matrix(scorecard.history(ctx.con, ctx.q.as_of))
    top = last + 3
    put(sh.ws, top - 1, 1, "Placement history (stage by snapshot)").font = Font(
        name=FONT_NAME, size=12, bold=True
    )
    cols = [Column("snapshot_date", "Snapshot", "date")] + [
        Column(c, c, "count") for c in hist.columns if c != "snapshot_date"
    ]
    sh.table(top, "tblMaturityHistory", cols, _records(hist))
    sh.widths[6] = 60
    sh.finish(freeze_row=5)
