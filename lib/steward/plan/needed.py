"""Pipeline needed: how much qualified pipeline a quarter's bookings target requires, by source.

For target quarter P as of snapshot S (all money in the reporting currency):

    remaining        = max(target(P) − won to date(P, S), 0)
    mix_s            = source s's share of won amount over the lookback quarters
    needed_s         = remaining × mix_s / win rate_s      (pipeline s must carry in P)
    new_s            = max(needed_s − open qualified pipeline_s(P, S), 0)
    deadline_s       = min(start of P + N weeks, last day of P − cycle_s days)
    weeks_s          = max((deadline_s − S) / 7, 0)
    per week_s       = new_s / weeks_s                      (undefined when weeks_s = 0)

Each source keeps its historical share of bookings and converts at its own win rate; a
deal created after deadline_s would, at the source's usual cycle, close after P (or
after week N, the date by which finance wants the pipeline to exist). The arithmetic is
a pure function of `PlanInputs`, so the workbook repeats it as live formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import pandas as pd

from steward.definitions import Definitions
from steward.metrics.core import Column, Query, Result, compute, metric
from steward.periods import quarter_of
from steward.plan import rates

NEEDED_COLUMNS = [
    "source",
    "mix",
    "win_rate",
    "cycle_days",
    "needed_pipeline",
    "open_pipeline",
    "new_pipeline",
    "create_by",
    "weeks_left",
    "new_per_week",
]


@dataclass(frozen=True)
class SourceInput:
    source: str
    mix: float  # share of bookings, 0-1
    win_rate: float | None  # by value, 0-1
    cycle_days: float | None  # mean created -> close of won deals
    open_pipeline: float  # open qualified pipeline of the source closing in P, at S


@dataclass(frozen=True)
class PlanInputs:
    period: str
    as_of: date
    quarter_start: date
    quarter_last_day: date
    target: float | None
    won_to_date: float
    by_week: int = 13  # week N of P by which the pipeline must exist (13 = the quarter's end)
    sources: tuple[SourceInput, ...] = field(default_factory=tuple)

    @property
    def remaining(self) -> float | None:
        if self.target is None:
            return None
        return max(self.target - self.won_to_date, 0.0)

    @property
    def by_date(self) -> date:
        return self.quarter_start + timedelta(weeks=self.by_week)


def whole_days(days: float) -> int:
    """Days rounded half away from zero, as a spreadsheet's ROUND does (not banker's)."""
    return int(math.floor(abs(days) + 0.5)) * (1 if days >= 0 else -1)


def cents(x: float) -> float:
    """Money to the cent, half away from zero, as the workbook's ROUND(x, 2) does."""
    return float(Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def plan_rows(inputs: PlanInputs) -> pd.DataFrame:
    """The per-source plan (NEEDED_COLUMNS) plus a 'Total' row; pure arithmetic."""
    rows: list[dict[str, Any]] = []
    remaining = inputs.remaining
    for s in inputs.sources:
        needed = new = per_week = None
        create_by = weeks = None
        if remaining is not None and s.win_rate:
            needed = cents(remaining * s.mix / s.win_rate)
            new = cents(max(needed - s.open_pipeline, 0.0))
        if s.cycle_days is not None:
            create_by = min(
                inputs.by_date, inputs.quarter_last_day - timedelta(days=whole_days(s.cycle_days))
            )
            weeks = max((create_by - inputs.as_of).days / 7, 0.0)
            if new is not None and weeks > 0:
                per_week = cents(new / weeks)
        rows.append(
            {
                "source": s.source,
                "mix": s.mix,
                "win_rate": s.win_rate,
                "cycle_days": s.cycle_days,
                "needed_pipeline": needed,
                "open_pipeline": round(s.open_pipeline, 2),
                "new_pipeline": new,
                "create_by": create_by,
                "weeks_left": weeks,
                "new_per_week": per_week,
            }
        )
    frame = pd.DataFrame(rows, columns=NEEDED_COLUMNS)

    def total(col: str) -> float | None:
        vals = frame[col].dropna()
        return round(float(vals.sum()), 2) if len(vals) else None

    frame.loc[len(frame)] = {
        "source": "Total",
        "mix": total("mix"),
        "needed_pipeline": total("needed_pipeline"),
        "open_pipeline": total("open_pipeline"),
        "new_pipeline": total("new_pipeline"),
        "new_per_week": total("new_per_week"),
    }
    return frame


def gather(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> PlanInputs:
    """The plan's inputs from the metric layer; options `target` and `by_week` override."""
    period = q.quarter(defs)
    history = rates.source_history(con, q.with_(options=()), defs)
    total_won = sum(h.won_amount for h in history)
    pq = q.with_(options=())
    sources = tuple(
        SourceInput(
            h.source,
            h.won_amount / total_won if total_won > 0 else 0.0,
            h.win_rate,
            h.cycle_days,
            float(
                compute(
                    con,
                    "open_pipeline",
                    pq.with_(filters=rates.with_source(q.filters, h.source)),
                    defs,
                ).value
                or 0.0
            ),
        )
        for h in history
    )
    target = q.option("target")
    if target is None:
        target = compute(con, "bookings_target", pq, defs).value
    return PlanInputs(
        period=period.label,
        as_of=q.as_of,
        quarter_start=period.start,
        quarter_last_day=period.end - timedelta(days=1),
        target=None if target is None else float(target),
        won_to_date=float(compute(con, "won_to_date", pq, defs).value or 0.0),
        by_week=int(q.option("by_week", 13)),
        sources=sources,
    )


def next_quarter(as_of: date, defs: Definitions) -> str:
    """The plan's default period: the quarter after the as-of date's."""
    return quarter_of(as_of, defs.fiscal_year_start_month).shift(1).label


@metric(
    "pipeline_needed",
    label="Pipeline needed by source",
    description=(
        "For the period's bookings target: the qualified pipeline each source must carry "
        "and how much it must still create per week. remaining = target − won to date; "
        "each source keeps its share of won amount (mix) and converts at its win rate by "
        "value, both pooled over the last 4 fiscal quarters ended by the as-of date; "
        "needed = remaining × mix / win rate; new = needed − the source's open qualified "
        "pipeline in the period (not below 0); it must be created by the earlier of week N "
        "of the period (option by_week, default 13 = the quarter's end) and the period's last "
        "day minus the source's mean sales cycle (created → close of won deals, same "
        "quarters); new per week = new / weeks from the as-of date to then. Option target "
        "replaces the bookings target. A source with no closed deals in the lookback has no "
        "win rate and no plan; deals without a source are left out."
    ),
    formula="needed_s = (target − won) × mix_s / win_rate_s; new_s = max(needed_s − open_s, 0); "
    "per week = new_s / weeks to min(week N, quarter end − cycle_s)",
    unit="table",
    scope="history",
    columns=(
        Column("source", "Source", None, "one row per source, then Total"),
        Column("mix", "Share of bookings", "ratio", "the source's share of won amount"),
        Column("win_rate", "Win rate (value)", "ratio", "won ÷ (won + lost) amount"),
        Column("cycle_days", "Sales cycle", "days", "mean created → close of won deals"),
        Column("open_pipeline", "Open pipeline now", "usd", "open qualified, closing in P"),
        Column("needed_pipeline", "Pipeline needed", "usd", "remaining × mix ÷ win rate"),
        Column("new_pipeline", "To create", "usd", "needed − open now, not below 0"),
        Column("create_by", "Create by", "date"),
        Column("weeks_left", "Weeks left", "count", "from the as-of date to create by"),
        Column("new_per_week", "To create per week", "usd"),
    ),
)
def pipeline_needed(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    inputs = gather(con, q, defs)
    table = plan_rows(inputs)
    total = table.loc[table["source"] == "Total", "needed_pipeline"].iloc[0]
    note = None
    if inputs.target is None:
        note = "no bookings target for the period: set option target"
    elif inputs.remaining == 0:
        note = "target already met: no pipeline needed"
    late = table[(table["source"] != "Total") & (table["weeks_left"] == 0)]
    if len(late):
        too_late = ", ".join(late["source"])
        note = (note + "; " if note else "") + f"too late at the usual cycle: {too_late}"
    value = None if total is None or pd.isna(total) else float(total)
    return Result("pipeline_needed", q, value=value, table=table, note=note)
