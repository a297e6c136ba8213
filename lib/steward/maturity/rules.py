"""Evidence rules: what the data says about a maturity dimension, and the stage it earns.

A rule measures one number from the metric layer (`Evidence`: value, words, the metric
id and query behind it) and is placed against its governed thresholds
`[stage 2 from, stage 3 from]`: for a higher-is-better rule, stage 3 when value ≥ the
second, stage 2 when ≥ the first, else stage 1; for lower-is-better, ≤ instead. A value
exactly at a threshold takes the higher stage. No value (not enough data) places nothing.

Adding a rule is one `Rule(...)` line in RULES, a measure function, and its threshold
pair in data/definitions.toml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

from steward.definitions import Definitions
from steward.metrics.core import Query, compute
from steward.periods import quarter_of

MIN_OWNER_LEADS = 10  # owners with fewer leads are left out of the SLA spread
VELOCITY_WEEKS = 13


@dataclass(frozen=True)
class Evidence:
    value: float | None
    text: str
    metric_id: str
    query: dict[str, Any] = field(default_factory=dict)


Measure = Callable[[duckdb.DuckDBPyConnection, Query, Definitions], Evidence]


@dataclass(frozen=True)
class Rule:
    id: str  # also the key of its thresholds in [maturity]
    dimension: str  # a DIMENSIONS id in steward.maturity.scorecard
    label: str
    higher_is_better: bool
    unit: str  # how to print the value: ratio, pts, weeks, score
    measure: Measure
    description: str  # what it measures, for the glossary


def place(
    value: float | None, thresholds: tuple[float, float], higher_is_better: bool
) -> int | None:
    """Stage 1-3 for a value against (stage 2 from, stage 3 from); None without a value."""
    if value is None:
        return None
    two, three = thresholds
    if higher_is_better:
        return 3 if value >= three else 2 if value >= two else 1
    return 3 if value <= three else 2 if value <= two else 1


def last_quarter(q: Query, defs: Definitions, back: int = 1) -> str:
    return quarter_of(q.as_of, defs.fiscal_year_start_month).shift(-back).label


# ---- measures --------------------------------------------------------------------------
def definitions_stable(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Evidence:
    """Weeks since the first recorded placement of the unbroken run under today's hash.

    The placement history records the definitions hash with every scored snapshot; a run
    of scores under one hash is the evidence that the definitions held that long.
    """
    rows = con.execute(
        "select distinct snapshot_date, definitions_digest from maturity_placements "
        "where snapshot_date <= $as_of order by snapshot_date desc",
        {"as_of": q.as_of},
    ).fetchall()
    since = None
    for snapshot_date, digest in rows:
        if digest != defs.digest:
            break
        since = snapshot_date
    if since is None:
        return Evidence(
            0.0,
            f"{defs.stamp}: no earlier scorecard recorded under this hash (0 weeks known)",
            "maturity_history",
        )
    weeks = (q.as_of - since).days / 7
    return Evidence(
        weeks,
        f"{defs.stamp} unchanged since {since.isoformat()}: {weeks:.0f} weeks",
        "maturity_history",
    )


def unknown_stage_share(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Evidence:
    checks = compute(con, "trust_checks", q, defs).table
    unknown = 0
    if checks is not None and len(checks):
        hit = checks[checks["check_id"] == "unknown_stage"]
        unknown = int(hit["count"].iloc[0]) if len(hit) else 0
    fsql, fparams = q.filters.named_sql("s")
    total = con.execute(
        f"select count(*) from snapshots s where s.snapshot_date = $as_of{fsql}",  # noqa: S608 - whitelisted filters
        {"as_of": q.as_of, **fparams},
    ).fetchall()[0][0]
    if not total:
        return Evidence(None, "no deals in the snapshot", "trust_checks", q.describe())
    share = unknown / total
    return Evidence(
        share,
        f"{unknown} of {total} deals at an unknown stage ({share:.1%})",
        "trust_checks",
        q.describe(),
    )


def trust(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Evidence:
    r = compute(con, "trust_score", q, defs)
    text = f"trust score {r.value:.0f}/100" if r.value is not None else "no trust score"
    return Evidence(r.value, text + (f" ({r.note})" if r.note else ""), "trust_score", q.describe())


def sla(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Evidence:
    r = compute(con, "sla_compliance", q, defs)
    if r.value is None:
        return Evidence(None, "no leads in the period", "sla_compliance", q.describe())
    return Evidence(
        r.value,
        f"{r.value:.0%} of leads contacted within {defs.sla_hours:g} h in {q.period}",
        "sla_compliance",
        q.describe(),
    )


def sla_spread(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Evidence:
    table = compute(con, "speed_to_lead", q, defs).table
    if table is None or table.empty:
        return Evidence(None, "no leads in the period", "speed_to_lead", q.describe())
    owners = table[(table["dimension"] == "owner") & (table["leads"] >= MIN_OWNER_LEADS)]
    owners = owners.dropna(subset=["sla_compliance"])
    if len(owners) < 2:
        return Evidence(None, "fewer than two owners with 10+ leads", "speed_to_lead", q.describe())
    best = owners.loc[owners["sla_compliance"].idxmax()]
    worst = owners.loc[owners["sla_compliance"].idxmin()]
    spread = (float(best["sla_compliance"]) - float(worst["sla_compliance"])) * 100
    return Evidence(
        spread,
        f"{spread:.0f} pts between {best['value']} ({best['sla_compliance']:.0%}) and "
        f"{worst['value']} ({worst['sla_compliance']:.0%}) across {len(owners)} owners",
        "speed_to_lead",
        q.describe(),
    )


def forecast_mape(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Evidence:
    table = compute(con, "forecast_backtest", q, defs).table
    hist = None if table is None else table[table["method"] == "forecast_historical"]
    hist = None if hist is None else hist.dropna(subset=["abs_pct_error"])
    if hist is None or hist.empty:
        return Evidence(None, "no past quarter to backtest", "forecast_backtest", q.describe())
    mape = float(hist["abs_pct_error"].mean())
    return Evidence(
        mape,
        f"historical forecast missed by {mape:.1%} on average over {len(hist)} past quarters",
        "forecast_backtest",
        q.describe(),
    )


def win_rate_trend(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Evidence:
    last, before = last_quarter(q, defs, 1), last_quarter(q, defs, 2)
    a = compute(con, "win_rate_value", q.with_(period=last), defs).value
    b = compute(con, "win_rate_value", q.with_(period=before), defs).value
    if a is None or b is None:
        return Evidence(None, "win rate missing for a quarter", "win_rate_value", q.describe())
    pts = (a - b) * 100
    return Evidence(
        pts,
        f"win rate by value {a:.0%} in {last} vs {b:.0%} in {before} ({pts:+.0f} pts)",
        "win_rate_value",
        {**q.describe(), "period": f"{last} vs {before}"},
    )


def velocity_trend(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Evidence:
    target = q.as_of - timedelta(weeks=VELOCITY_WEEKS)
    rows = con.execute(
        "select max(snapshot_date) from snapshots where snapshot_date <= $d", {"d": target}
    ).fetchall()
    earlier: date | None = rows[0][0] if rows else None
    now = compute(con, "pipeline_velocity", q, defs).value
    if earlier is None or now is None:
        return Evidence(None, f"no snapshot {VELOCITY_WEEKS} weeks back", "pipeline_velocity")
    then = compute(con, "pipeline_velocity", q.with_(as_of=earlier), defs).value
    if not then:
        return Evidence(None, "no velocity then", "pipeline_velocity", q.describe())
    change = now / then - 1
    return Evidence(
        change,
        f"velocity ${now:,.0f}/day vs ${then:,.0f}/day on {earlier.isoformat()} ({change:+.0%})",
        "pipeline_velocity",
        {**q.describe(), "compare_to": earlier.isoformat()},
    )


def created_vs_target(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Evidence:
    last = last_quarter(q, defs)
    r = compute(con, "pipeline_created", q.with_(period=last), defs)
    table = r.table
    if table is None or table.empty or table["pipeline_target"].isna().all():
        return Evidence(None, f"no pipeline target for {last}", "pipeline_created")
    target = float(table["pipeline_target"].dropna().iloc[0])
    created = float(table["amount"].sum())
    by_source = ", ".join(
        f"{s} ${a / 1e6:.1f}M" for s, a in zip(table["source"], table["amount"], strict=True)
    )
    ratio = created / target if target > 0 else None
    return Evidence(
        ratio,
        f"{last}: created ${created / 1e6:.1f}M of a ${target / 1e6:.1f}M target"
        f" ({(ratio or 0):.0%}); by source: {by_source}",
        "pipeline_created",
        {**q.describe(), "period": last},
    )


def follow_through(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Evidence:
    """The weekly review's decision follow-through rate: does the cadence change anything?"""
    r = compute(con, "decision_follow_through_rate", q, defs)
    if r.value is None or r.table is None:
        return Evidence(
            None,
            "no weekly-review decision was due by this snapshot (record decisions on the "
            "Weekly review page)",
            "decision_follow_through_rate",
            q.describe(),
        )
    moved, due = int(r.table["followed_through"].sum()), len(r.table)
    return Evidence(
        r.value,
        f"{moved} of {due} decisions due moved their metric the intended way by the due "
        f"date ({r.value:.0%})",
        "decision_follow_through_rate",
        q.describe(),
    )


# The rule table.
RULES: tuple[Rule, ...] = (
    Rule(
        "definitions_stable_weeks",
        "governed_definitions",
        "Definitions unchanged",
        True,
        "weeks",
        definitions_stable,
        "weeks the definitions hash has been the same at every recorded scorecard",
    ),
    Rule(
        "unknown_stage_share",
        "governed_definitions",
        "Deals at unknown stages",
        False,
        "ratio",
        unknown_stage_share,
        "share of the snapshot's deals at a stage the definitions do not list (trust_checks)",
    ),
    Rule(
        "sla_compliance",
        "handoffs_slas",
        "Speed-to-lead SLA compliance",
        True,
        "ratio",
        sla,
        "share of the period's leads contacted within the SLA (sla_compliance)",
    ),
    Rule(
        "sla_spread_pts",
        "handoffs_slas",
        "SLA spread across owners",
        False,
        "pts",
        sla_spread,
        "best minus worst owner's SLA compliance, owners with 10+ leads (speed_to_lead)",
    ),
    Rule(
        "trust_score",
        "shared_data",
        "Data-trust score",
        True,
        "score",
        trust,
        "the data-trust score of the snapshot (trust_score)",
    ),
    Rule(
        "pipeline_created_vs_target",
        "budget_allocation",
        "Pipeline created vs target",
        True,
        "ratio",
        created_vs_target,
        "last completed quarter's pipeline created / pipeline target, by source in the "
        "evidence (pipeline_created)",
    ),
    Rule(
        "forecast_mape",
        "forecast_accuracy",
        "Forecast backtest error (MAPE)",
        False,
        "ratio",
        forecast_mape,
        "mean absolute % error of the historical forecast at this week of past quarters "
        "(forecast_backtest)",
    ),
    Rule(
        "win_rate_trend_pts",
        "outcomes",
        "Win-rate trend",
        True,
        "pts",
        win_rate_trend,
        "win rate by value of the last completed quarter minus the one before, in points "
        "(win_rate_value)",
    ),
    Rule(
        "velocity_trend",
        "velocity",
        "Velocity trend",
        True,
        "ratio",
        velocity_trend,
        "pipeline velocity now / 13 weeks earlier − 1 (pipeline_velocity)",
    ),
    Rule(
        "decision_follow_through",
        "operating_cadence",
        "Decision follow-through",
        True,
        "ratio",
        follow_through,
        "share of weekly-review decisions due whose metric moved the intended way by the due "
        "date (decision_follow_through_rate)",
    ),
)
