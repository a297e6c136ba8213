"""What if: the historical forecast (P10/P50/P90) and coverage under changed assumptions.

The baseline is exactly `forecast_historical` (same training quarters, learned
probabilities, quarter ratios, late wins, draws and seed) and `coverage`; a scenario
changes only what its assumptions say, then draws again with the same seed:

- conversion at stage k moves by x points: c_k, the cohort conversion k → k+1 pooled
  over the last 4 fiscal quarters (`funnel_cohort`), becomes c_k + x (kept in 0-1); every
  open deal at k or an earlier stage must still pass k → k+1, so its learned chance to
  win is multiplied by (c_k + x) / c_k, capped at 1;
- cycle time changes by y days: every open deal's close date moves y days, so deals
  leave (or enter) the period;
- a forecast category or named deals are removed: those open deals are gone, from the
  period and from the open pipeline the late wins scale with;
- a source's pipeline creation changes by z %: the late wins (deals not yet open in the
  period, learned as a ratio to the whole open pipeline) scale with the open pipeline
  counted at (1 + z) for that source's deals.

Coverage = open qualified pipeline in the period after the changes / (target − won).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from steward import memo
from steward.definitions import Definitions
from steward.metrics import forecast as fc
from steward.metrics.core import Column, Query, Result, compute, metric
from steward.metrics.history import funnel_cohorts
from steward.periods import Quarter
from steward.plan import rates

BASES_KEPT = 8  # cuts kept per store version (each holds its open deals)

RESULT_COLUMNS = [
    "scenario",
    "p10",
    "p50",
    "p90",
    "expected",
    "late_expected",
    "open_deals",
    "open_pipeline",
    "coverage",
]
OPTION_KEYS = (
    "conversion_stage",
    "conversion_pts",
    "cycle_days",
    "remove_categories",
    "remove_deals",
    "source_creation",
)

_OPEN_SQL = """
with open_deals as (
  select s.opportunity_id, s.stage, coalesce(s.segment, '') as segment,
         coalesce(s.source, '') as source, coalesce(s.forecast_category, '') as category,
         cast(coalesce(s.amount, 0) as double) as amount, s.close_date
  from snapshots s
  where s.snapshot_date = $as_of and not s.is_closed
    and list_contains($open_stages::varchar[], s.stage){filters}
)
select * from open_deals order by opportunity_id
"""


def split_list(text: Any) -> tuple[str, ...]:
    if text is None or text == "":
        return ()
    if isinstance(text, list | tuple):
        return tuple(str(t).strip() for t in text if str(t).strip())
    return tuple(t.strip() for t in str(text).split(",") if t.strip())


@dataclass(frozen=True)
class Assumptions:
    """One scenario's changes against the baseline; the default changes nothing."""

    conversion_stage: str | None = None
    conversion_pts: float = 0.0  # points, e.g. 5 = +5 pts
    cycle_days: int = 0
    remove_categories: tuple[str, ...] = ()
    remove_deals: tuple[str, ...] = ()
    source_creation: tuple[tuple[str, float], ...] = field(default_factory=tuple)  # (source, %)

    @classmethod
    def from_options(cls, q: Query) -> Assumptions:
        """Read from Query options (strings from the CLI or the URL are accepted)."""
        creation: list[tuple[str, float]] = []
        raw = q.option("source_creation")
        items = raw if isinstance(raw, tuple) else split_list(raw)
        for item in items:
            if isinstance(item, tuple):
                creation.append((str(item[0]), float(item[1])))
                continue
            name, sep, pct = str(item).rpartition(":")
            if not sep or not name:
                raise ValueError(f"source_creation {item!r}: use SOURCE:PERCENT, e.g. Marketing:20")
            creation.append((name.strip(), float(pct)))
        stage = q.option("conversion_stage")
        return cls(
            conversion_stage=str(stage) if stage else None,
            conversion_pts=float(q.option("conversion_pts", 0) or 0),
            cycle_days=int(q.option("cycle_days", 0) or 0),
            remove_categories=split_list(q.option("remove_categories")),
            remove_deals=split_list(q.option("remove_deals")),
            source_creation=tuple(creation),
        )

    def to_options(self) -> tuple[tuple[str, Any], ...]:
        out: list[tuple[str, Any]] = []
        if self.conversion_stage and self.conversion_pts:
            out += [("conversion_stage", self.conversion_stage)]
            out += [("conversion_pts", self.conversion_pts)]
        if self.cycle_days:
            out.append(("cycle_days", self.cycle_days))
        if self.remove_categories:
            out.append(("remove_categories", ",".join(self.remove_categories)))
        if self.remove_deals:
            out.append(("remove_deals", ",".join(self.remove_deals)))
        if self.source_creation:
            out.append(("source_creation", ",".join(f"{s}:{p:g}" for s, p in self.source_creation)))
        return tuple(out)

    def describe(self) -> list[str]:
        """The assumptions in words, one per change ('No change' for the baseline)."""
        out = []
        if self.conversion_stage and self.conversion_pts:
            out.append(f"Conversion from {self.conversion_stage} {self.conversion_pts:+g} pts")
        if self.cycle_days:
            out.append(f"Close dates {self.cycle_days:+d} days")
        if self.remove_categories:
            out.append(f"Without forecast category {', '.join(self.remove_categories)}")
        if self.remove_deals:
            out.append(f"Without deals {', '.join(self.remove_deals)}")
        for src, pct in self.source_creation:
            out.append(f"{src} pipeline creation {pct:+g}%")
        return out or ["No change"]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Assumptions:
        raw = json.loads(text)
        return cls(
            conversion_stage=raw.get("conversion_stage"),
            conversion_pts=float(raw.get("conversion_pts", 0)),
            cycle_days=int(raw.get("cycle_days", 0)),
            remove_categories=tuple(raw.get("remove_categories", ())),
            remove_deals=tuple(raw.get("remove_deals", ())),
            source_creation=tuple((s, float(p)) for s, p in raw.get("source_creation", ())),
        )


@dataclass
class Base:
    """What the baseline learned once; every scenario reuses it."""

    period: Quarter
    as_of: date
    won: float
    target: float | None
    deals: pd.DataFrame  # every open deal at S, any close date (see _OPEN_SQL)
    probs: dict[tuple[str, str], tuple[float, str, int]]
    ratios: list[float | None]
    lates: list[float | None]
    use_late: bool
    use_variation: bool
    draws: int
    seed: int
    qualified: frozenset[str]
    stage_rank: dict[str, int]
    conversion: dict[str, float]  # stage -> pooled cohort conversion to the next stage


def _is_on(q: Query, name: str) -> bool:
    return str(q.option(name, True)).strip().lower() not in ("false", "0", "no", "off")


def conversion_rates(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> dict[str, float]:
    """Stage -> reached(k+1) / reached(k), funnel_cohort pooled over the lookback quarters."""
    reached: dict[str, float] = {}
    advanced: dict[str, float] = {}
    periods = [k.label for k in rates.lookback(None, q, defs)]
    # the lookback quarters' cohorts in one grouped query (each as compute would give it)
    cohorts = funnel_cohorts(con, q.with_(options=()), defs, periods)
    for label in periods:
        table = cohorts[(label, None)].table
        if table is None:
            continue
        for rec in table.to_dict(orient="records"):
            adv = rec.get("advanced_count")
            if adv is None or adv != adv:  # the closed-won row has no next stage
                continue
            reached[rec["stage"]] = reached.get(rec["stage"], 0) + float(rec["reached_count"])
            advanced[rec["stage"]] = advanced.get(rec["stage"], 0) + float(adv)
    return {st: advanced[st] / n for st, n in reached.items() if n > 0}


def baseline(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Base:
    """Learn once what forecast_historical learns, plus every open deal and the conversions.

    Kept per store version and query, the scenario's own options left out of the key
    (they do not change the baseline): the planner's every scenario, and every view of
    the same cut, read one. Callers read it and never change it (`run` filters copies)."""
    key_q = q.with_(
        compare_to=None, options=tuple((k, v) for k, v in q.options if k not in OPTION_KEYS)
    )
    got: Base = memo.kept(
        con,
        "whatif.base",
        (key_q, defs.digest),
        lambda: _baseline(con, key_q, defs),
        BASES_KEPT,
        answer=True,
    )
    return got


def _baseline(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Base:
    period = q.quarter(defs)
    dates = fc.snapshot_dates(con, q.as_of)
    training = fc.training_quarters(dates, period, q.as_of)
    learner = fc.Learner(con, defs)
    probs = fc.probabilities(learner.learned(training), defs, int(q.option("min_obs", fc.MIN_OBS)))
    use_late = _is_on(q, "late_wins")
    fsql, fparams = q.filters.named_sql("s")
    deals = con.execute(
        _OPEN_SQL.format(filters=fsql),  # noqa: S608 - filter clauses are whitelisted
        {"as_of": q.as_of, "open_stages": fc.open_stage_names(defs), **fparams},
    ).df()
    deals["close_date"] = pd.to_datetime(deals["close_date"]).dt.date
    plain = q.with_(options=())
    return Base(
        period=period,
        as_of=q.as_of,
        won=fc.won_in_period(con, q.as_of, period, q),
        target=compute(con, "bookings_target", plain, defs).value,
        deals=deals,
        probs=probs,
        ratios=fc.quarter_multipliers(learner, training, probs),
        lates=learner.late_ratios(training) if use_late else [0.0] * len(training),
        use_late=use_late,
        use_variation=_is_on(q, "quarter_variation"),
        draws=int(q.option("draws", fc.DRAWS)),
        seed=int(q.option("seed", fc.SEED)),
        qualified=frozenset(s.name for s in defs.open_stages if s.rank >= defs.qualified_rank),
        stage_rank={s.name: s.rank for s in defs.stages},
        conversion=conversion_rates(con, q, defs),
    )


def conversion_factor(base: Base, a: Assumptions) -> float:
    """(c_k + x) / c_k for the scenario's stage k, c_k + x kept within 0-1; 1 when unchanged."""
    if not a.conversion_stage or not a.conversion_pts:
        return 1.0
    c = base.conversion.get(a.conversion_stage)
    if not c:
        raise ValueError(f"no historical conversion from stage {a.conversion_stage!r}")
    return min(max(c + a.conversion_pts / 100.0, 0.0), 1.0) / c


def run(base: Base, a: Assumptions, label: str = "Scenario") -> dict[str, Any]:
    """One row of RESULT_COLUMNS: the forecast and coverage under `a`."""
    deals = base.deals
    if a.remove_deals:
        deals = deals[~deals["opportunity_id"].isin(a.remove_deals)]
    if a.remove_categories:
        deals = deals[~deals["category"].isin(a.remove_categories)]
    close = deals["close_date"]
    if a.cycle_days:
        close = close.map(lambda d: d + timedelta(days=a.cycle_days))
    in_p = deals[(close >= base.period.start) & (close < base.period.end)]
    p = fc.learned_p({"stage": in_p["stage"], "segment": in_p["segment"]}, base.probs)[0]
    factor = conversion_factor(base, a)
    if factor != 1.0 and a.conversion_stage:
        k = base.stage_rank[a.conversion_stage]
        at_or_before = in_p["stage"].map(lambda st: base.stage_rank[st] <= k).to_numpy(dtype=bool)
        p = np.where(at_or_before, np.minimum(p * factor, 1.0), p)
    amounts = in_p["amount"].to_numpy(dtype=float)
    scale = dict(a.source_creation)
    pipeline_now = 0.0
    if base.use_late:
        # each source's weight looked up once, not per deal (sources are never null here)
        codes, sources = pd.factorize(deals["source"])
        weights = np.array([1.0 + scale.get(s, 0.0) / 100.0 for s in sources])[codes]
        pipeline_now = float((deals["amount"].to_numpy(dtype=float) * weights).sum())
    lates = base.lates
    if (base.period.end - base.as_of).days <= 0:
        p = np.zeros_like(p)
        lates = [0.0] * len(lates)
    pairs = [
        (r, late)
        for r, late in zip(base.ratios, lates, strict=True)
        if r is not None and late is not None
    ]
    known = [late for late in lates if late is not None]
    late_mean = sum(known) / len(known) if known else 0.0
    multipliers = extra = None
    if base.use_variation and len(pairs) >= 2:
        multipliers = [r for r, _ in pairs]
        extra = [late * pipeline_now for _, late in pairs]
    totals = base.won + fc.simulate(p, amounts, base.draws, base.seed, multipliers, extra)
    if extra is None:
        totals += late_mean * pipeline_now
    p10, p50, p90 = (round(float(x), 2) for x in np.percentile(totals, [10, 50, 90]))
    late_expected = round(late_mean * pipeline_now, 2)
    qualified = in_p[in_p["stage"].isin(base.qualified)]
    open_qualified = round(float(qualified["amount"].sum()), 2)
    coverage = None
    if base.target is not None and base.target - base.won > 0:
        coverage = open_qualified / (base.target - base.won)
    return {
        "scenario": label,
        "p10": p10,
        "p50": p50,
        "p90": p90,
        "expected": round(base.won + float((p * amounts).sum()) + late_expected, 2),
        "late_expected": late_expected,
        "open_deals": len(in_p),
        "open_pipeline": open_qualified,
        "coverage": coverage,
    }


ASSUMPTION_COLUMNS = [
    "conversion_stage",
    "conversion_pts",
    "cycle_days",
    "remove_categories",
    "remove_deals",
    "source_creation",
    "assumptions",
]


def assumption_cells(a: Assumptions) -> dict[str, Any]:
    """The assumptions one per column (typed where they are numbers) plus in words."""
    return {
        "conversion_stage": a.conversion_stage if a.conversion_pts else None,
        "conversion_pts": a.conversion_pts if a.conversion_stage else 0.0,
        "cycle_days": a.cycle_days,
        "remove_categories": ", ".join(a.remove_categories) or None,
        "remove_deals": ", ".join(a.remove_deals) or None,
        "source_creation": ", ".join(f"{s} {p:+g}%" for s, p in a.source_creation) or None,
        "assumptions": "; ".join(a.describe()),
    }


def compare(base: Base, scenarios: list[tuple[str, Assumptions]]) -> pd.DataFrame:
    """The baseline and each named scenario side by side (RESULT_COLUMNS + ASSUMPTION_COLUMNS)."""
    named = [("Baseline", Assumptions()), *scenarios]
    runs: dict[Assumptions, dict[str, Any]] = {}  # the same assumptions give the same run
    rows = []
    for name, a in named:
        if a not in runs:
            runs[a] = run(base, a, name)
        rows.append({**runs[a], "scenario": name, **assumption_cells(a)})
    return pd.DataFrame(rows, columns=[*RESULT_COLUMNS, *ASSUMPTION_COLUMNS])


@metric(
    "scenario_forecast",
    label="What-if forecast",
    description=(
        "The historical forecast (P10 / P50 / P90, expected) and coverage for the period, "
        "as in forecast_historical and coverage (the Baseline row equals them exactly), "
        "beside a scenario that changes them through options: conversion_stage + "
        "conversion_pts (the cohort conversion from that stage to the next, pooled over the "
        "last 4 fiscal quarters, moves by that many points; every open deal at or before the "
        "stage has its chance to win scaled by (c + x) / c, capped at 1), cycle_days (every "
        "open deal's close date moves by that many days, so deals leave or enter the "
        "period), remove_categories and remove_deals (those open deals are left out "
        "everywhere), source_creation SOURCE:PERCENT (the late wins, which scale with the "
        "open pipeline, count that source's pipeline at 1 + PERCENT/100). Same draws and "
        "seed as the baseline, so a scenario without changes reproduces it."
    ),
    formula="forecast_historical and coverage recomputed with p × (c_k + x)/c_k, close date + y, "
    "deals removed, late-win base Σ amount × (1 + z_source)",
    unit="table",
    columns=(
        Column("scenario", "Scenario", None, "Baseline, then the scenario"),
        Column("p10", "P10", "usd"),
        Column("p50", "P50", "usd"),
        Column("p90", "P90", "usd"),
        Column("expected", "Expected", "usd", "mean of the simulated bookings"),
        Column("late_expected", "Late expected", "usd", "expected wins not yet in the pipeline"),
        Column("open_deals", "Open deals", "count"),
        Column("open_pipeline", "Open pipeline", "usd"),
        Column("coverage", "Coverage", "multiple", "open pipeline ÷ remaining target"),
        Column("conversion_stage", "Conversion from stage", None, "option conversion_stage"),
        Column("conversion_pts", "Conversion change (pts)", None, "option conversion_pts"),
        Column("cycle_days", "Close dates moved (days)", "count", "option cycle_days"),
        Column("remove_categories", "Categories removed", None, "option remove_categories"),
        Column("remove_deals", "Deals removed", None, "option remove_deals"),
        Column("source_creation", "Source creation change", None, "option source_creation"),
        Column("assumptions", "Assumptions", None, "the scenario's changes in words"),
    ),
)
def scenario_forecast(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    a = Assumptions.from_options(q)
    base = baseline(con, q, defs)
    table = compare(base, [("Scenario", a)])
    return Result(
        "scenario_forecast",
        q,
        value=float(table["p50"].iloc[1]),
        table=table,
        note="; ".join(a.describe()),
    )
