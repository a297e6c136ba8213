"""Place every maturity dimension at stage 1-3, keep the evidence and the history.

The three matrices the team works with (sales alignment, CMO–CRO partnership, revenue
accountability) are listed in DIMENSIONS. A dimension with evidence rules is placed by
them: each rule earns a stage from its governed thresholds and the dimension takes the
lowest (the weakest evidence decides; a rule without data places nothing). A dimension
the data cannot see (ICP, enablement, and operating cadence until the weekly review's
decision follow-through lands) takes the latest self-assessment dated on or before the
as-of date, marked self-assessed and stale after `self_assessment_max_age_days`.
"""

from __future__ import annotations

import json
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial

import duckdb
import pandas as pd

from steward import fmt, parallel
from steward.definitions import Definitions
from steward.errors import StewardError
from steward.maturity.rules import RULES, Evidence, Rule, place
from steward.metrics.core import Column, Query, Result, columns_of, metric

STAGE_NAMES = {1: "1 · ad hoc", 2: "2 · repeatable", 3: "3 · operating system"}


@dataclass(frozen=True)
class Dimension:
    id: str
    matrix: str
    label: str


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("governed_definitions", "Sales alignment", "Governed definitions"),
    Dimension("handoffs_slas", "Sales alignment", "Handoffs and SLAs"),
    Dimension("icp", "Sales alignment", "Ideal customer profile"),
    Dimension("enablement", "Sales alignment", "Enablement"),
    Dimension("shared_data", "CMO–CRO partnership", "Shared, trusted data"),
    Dimension("operating_cadence", "CMO–CRO partnership", "Operating cadence"),
    Dimension("budget_allocation", "CMO–CRO partnership", "Budget allocation"),
    Dimension("forecast_accuracy", "Revenue accountability", "Forecast accuracy"),
    Dimension("outcomes", "Revenue accountability", "Outcomes"),
    Dimension("velocity", "Revenue accountability", "Velocity"),
)
DIMENSION_IDS = {d.id for d in DIMENSIONS}

RULE_COLUMNS = [
    "matrix",
    "dimension_id",
    "dimension",
    "rule_id",
    "rule",
    "basis",
    "value",
    "unit",
    "stage_2_from",
    "stage_3_from",
    "rule_stage",
    "stage",
    "evidence",
    "metric_id",
    "query",
]


def rules_for(dimension_id: str) -> list[Rule]:
    return [r for r in RULES if r.dimension == dimension_id]


def latest_assessment(
    con: duckdb.DuckDBPyConnection, dimension_id: str, as_of: date
) -> tuple[date, int, str, str] | None:
    rows = con.execute(
        "select assessed_on, stage, coalesce(note, ''), coalesce(assessor, '') "
        "from maturity_assessments where dimension_id = $dim and assessed_on <= $as_of "
        "order by assessed_on desc limit 1",
        {"dim": dimension_id, "as_of": as_of},
    ).fetchall()
    return rows[0] if rows else None


def measure_all(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> dict[str, Future[Evidence]]:
    """Every rule's evidence, measured concurrently (steward.parallel): the rules read
    independent metrics (the backtest, the velocities, the trust checks ...). A rule's
    failure is raised when its result is read, in rule order, as a sequential loop did."""
    futures = parallel.run_all(con, [partial(_measure, rule, q, defs) for rule in RULES])
    return {rule.id: f for rule, f in zip(RULES, futures, strict=True)}


def _measure(rule: Rule, q: Query, defs: Definitions, con: duckdb.DuckDBPyConnection) -> Evidence:
    return rule.measure(con, q, defs)


def evaluate(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> pd.DataFrame:
    """One row per rule (or per self-assessed dimension), RULE_COLUMNS; `stage` is the dimension's."""
    rows: list[dict[str, object]] = []
    measured = measure_all(con, q, defs)
    for dim in DIMENSIONS:
        rules = rules_for(dim.id)
        base = {"matrix": dim.matrix, "dimension_id": dim.id, "dimension": dim.label}
        if not rules:
            got = latest_assessment(con, dim.id, q.as_of)
            if got is None:
                rows.append({**base, "basis": "self-assessed", "evidence": "not assessed yet"})
                continue
            on, stage, note, who = got
            age = (q.as_of - on).days
            stale = " (stale)" if age > defs.self_assessment_max_age_days else ""
            text = f"self-assessed {on.isoformat()}{stale}" + (f" by {who}" if who else "")
            rows.append(
                {
                    **base,
                    "basis": "self-assessed",
                    "rule_stage": stage,
                    "evidence": text + (f": {note}" if note else ""),
                    "metric_id": "maturity_assessments",
                }
            )
            continue
        for rule in rules:
            thresholds = defs.maturity_thresholds.get(rule.id)
            ev = measured[rule.id].result()
            placed = (
                None if thresholds is None else place(ev.value, thresholds, rule.higher_is_better)
            )
            rows.append(
                {
                    **base,
                    "rule_id": rule.id,
                    "rule": rule.label,
                    "basis": "evidence",
                    "value": ev.value,
                    "unit": rule.unit,
                    "stage_2_from": thresholds[0] if thresholds else None,
                    "stage_3_from": thresholds[1] if thresholds else None,
                    "rule_stage": placed,
                    "evidence": ev.text if thresholds else f"{ev.text} (no threshold governed)",
                    "metric_id": ev.metric_id,
                    "query": json.dumps(ev.query, sort_keys=True) if ev.query else None,
                }
            )
    frame = pd.DataFrame(rows, columns=RULE_COLUMNS)
    frame["rule_stage"] = frame["rule_stage"].astype("Int64")
    stages = frame.groupby("dimension_id", sort=False)["rule_stage"].min()
    frame["stage"] = frame["dimension_id"].map(stages).astype("Int64")
    return frame


def placements(detail: pd.DataFrame) -> pd.DataFrame:
    """One row per dimension: matrix, dimension, stage, basis, evidence (rules joined)."""
    out = []
    for dim_id, grp in detail.groupby("dimension_id", sort=False):
        first = grp.iloc[0]
        stage = first["stage"]
        out.append(
            {
                "matrix": first["matrix"],
                "dimension_id": dim_id,
                "dimension": first["dimension"],
                "stage": None if pd.isna(stage) else int(stage),
                "basis": first["basis"],
                "evidence": "; ".join(str(e) for e in grp["evidence"] if e),
            }
        )
    frame = pd.DataFrame(
        out, columns=["matrix", "dimension_id", "dimension", "stage", "basis", "evidence"]
    )
    frame["stage"] = frame["stage"].astype("Int64")
    return frame


@metric(
    "maturity_scorecard",
    label="Maturity scorecard",
    description=(
        "The dimensions of the sales-alignment, CMO–CRO partnership and revenue-accountability "
        "matrices placed at stage 1 (ad hoc), 2 (repeatable) or 3 (operating system). A "
        "dimension with evidence rules takes the lowest stage its rules earn; each rule reads "
        "one metric as of the snapshot and is placed against its governed thresholds "
        "[stage 2 from, stage 3 from] in the definitions' [maturity] section (a value at a "
        "threshold takes the higher stage; see 'Maturity rules' below). Dimensions the data "
        "cannot see take the latest dated self-assessment, marked as such. Value = the "
        "number of dimensions at stage 3."
    ),
    formula="stage(dimension) = min over its rules of place(value, [t2, t3]); "
    "else the latest self-assessment on or before S",
    unit="table",
    scope="history",
    columns=(
        Column("matrix", "Matrix"),
        Column("dimension_id", "Dimension id"),
        Column("dimension", "Dimension"),
        Column("rule_id", "Rule id"),
        Column("rule", "Rule", None, "blank for a self-assessed dimension"),
        Column("basis", "Basis", None, "evidence rules, or the dated self-assessment"),
        Column("value", "Value", None, "the rule's reading, in the rule's own unit"),
        Column("unit", "Unit", None, "the rule's unit: ratio, pts, weeks or score"),
        Column("stage_2_from", "Stage 2 from", None, "governed threshold, in the rule's unit"),
        Column("stage_3_from", "Stage 3 from", None, "governed threshold, in the rule's unit"),
        Column("rule_stage", "Rule stage", None, "the stage this rule alone earns"),
        Column("stage", "Stage", None, "the dimension's stage: its weakest rule's"),
        Column("evidence", "Evidence"),
        Column("metric_id", "Metric id"),
        Column("query", "Query", None, "the query the rule's metric was read with"),
    ),
)
def maturity_scorecard(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    detail = evaluate(con, q, defs)
    table = placements(detail)
    at_three = int((table["stage"] == 3).sum())
    missing = table[table["stage"].isna()]["dimension"].tolist()
    note = f"not placed: {', '.join(missing)}" if missing else None
    return Result("maturity_scorecard", q, value=float(at_three), table=detail, note=note)


# ---- self-assessments and history (writes) ----------------------------------------------
def assess(
    con: duckdb.DuckDBPyConnection,
    dimension_id: str,
    stage: int,
    assessed_on: date,
    note: str = "",
    assessor: str = "",
) -> None:
    """Record a dated self-assessment (replacing one of the same dimension and date)."""
    if dimension_id not in DIMENSION_IDS:
        raise StewardError(
            f"unknown maturity dimension {dimension_id!r}",
            [f"One of: {', '.join(sorted(DIMENSION_IDS))}"],
        )
    if rules_for(dimension_id):
        raise StewardError(
            f"{dimension_id} is placed by evidence rules, not by self-assessment",
            [", ".join(r.id for r in rules_for(dimension_id))],
        )
    if stage not in (1, 2, 3):
        raise StewardError(f"stage must be 1, 2 or 3, got {stage}")
    params = {"dim": dimension_id, "on": assessed_on}
    con.execute("begin transaction")
    try:
        con.execute(
            "delete from maturity_assessments where dimension_id = $dim and assessed_on = $on",
            params,
        )
        con.execute(
            "insert into maturity_assessments values ($dim, $on, $stage, $note, $who, $at)",
            {
                **params,
                "stage": stage,
                "note": note,
                "who": assessor,
                "at": datetime.now(UTC).replace(tzinfo=None),
            },
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def record(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, detail: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Store the placements of snapshot q.as_of (replacing that snapshot's) with the hash."""
    table = placements(evaluate(con, q, defs) if detail is None else detail)
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("begin transaction")
    try:
        con.execute("delete from maturity_placements where snapshot_date = $d", {"d": q.as_of})
        for rec in table.to_dict(orient="records"):
            con.execute(
                "insert into maturity_placements values ($d, $dim, $stage, $basis, $ev, $digest, $at)",
                {
                    "d": q.as_of,
                    "dim": rec["dimension_id"],
                    "stage": None if pd.isna(rec["stage"]) else int(rec["stage"]),
                    "basis": rec["basis"],
                    "ev": rec["evidence"],
                    "digest": defs.digest,
                    "at": now,
                },
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return table


def history(con: duckdb.DuckDBPyConnection, up_to: date | None = None) -> pd.DataFrame:
    """Recorded placements, one row per (snapshot, dimension), oldest first."""
    sql = """
with placed as (
  select snapshot_date, dimension_id, stage, basis, evidence, definitions_digest
  from maturity_placements
  where $up_to is null or snapshot_date <= $up_to
)
select * from placed order by snapshot_date, dimension_id
"""
    frame = con.execute(sql, {"up_to": up_to}).df()
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"]).dt.date
    frame["stage"] = frame["stage"].astype("Int64")
    labels = {d.id: d.label for d in DIMENSIONS}
    frame["dimension"] = frame["dimension_id"].map(labels)
    return frame


def value_text(value: object, unit: object) -> str:
    """A rule's value as a board reads it: 52%, +4 pts, 13 weeks, 88/100."""
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return fmt.DASH
    v = float(value)  # type: ignore[arg-type]
    if unit == "ratio":
        return fmt.pct(v, 1)
    if unit == "pts":
        return f"{v:+.1f} pts"
    if unit == "weeks":
        return f"{v:.0f} weeks"
    if unit == "score":
        return fmt.score(v)
    return f"{v:g}"


def threshold_text(row: dict[str, object]) -> str:
    """'stage 2 ≥ 60.0%, stage 3 ≥ 85.0%' (≤ for lower-is-better rules)."""
    two, three, unit = row.get("stage_2_from"), row.get("stage_3_from"), row.get("unit")
    if two is None or three is None or pd.isna(two) or pd.isna(three):  # type: ignore[call-overload]
        return fmt.DASH
    op = "≥" if float(three) > float(two) else "≤"  # type: ignore[arg-type]
    return f"stage 2 {op} {value_text(two, unit)}, stage 3 {op} {value_text(three, unit)}"


# What the page and the workbook show of the scorecard: the metric's declared columns,
# with the two governed thresholds as one text column between them.
DISPLAY_COLUMNS: tuple[Column, ...] = (
    *columns_of("maturity_scorecard", "matrix", "dimension", "stage", "rule", "value", "evidence"),
    Column("thresholds", "Thresholds", None, "stage 2 and stage 3 from, in the rule's unit"),
    *columns_of("maturity_scorecard", "rule_stage", "basis"),
)


def display(detail: pd.DataFrame) -> pd.DataFrame:
    """The evidence table as text (DISPLAY_COLUMNS), for the page and the workbook."""
    records = detail.to_dict(orient="records")
    return pd.DataFrame(
        {
            "matrix": detail["matrix"],
            "dimension": detail["dimension"],
            "stage": [
                STAGE_NAMES.get(int(s), "") if not pd.isna(s) else fmt.DASH for s in detail["stage"]
            ],
            "rule": detail["rule"].fillna(fmt.DASH),
            "value": [value_text(r["value"], r["unit"]) for r in records],
            "evidence": detail["evidence"],
            "thresholds": [threshold_text(r) for r in records],
            "rule_stage": [fmt.DASH if pd.isna(s) else str(int(s)) for s in detail["rule_stage"]],
            "basis": detail["basis"],
        }
    )


def stage_counts(placed: pd.DataFrame) -> dict[int | None, int]:
    """How many dimensions sit at each stage (None: not placed)."""
    counts: dict[int | None, int] = {s: int((placed["stage"] == s).sum()) for s in (3, 2, 1)}
    counts[None] = int(placed["stage"].isna().sum())
    return counts


def history_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Recorded placements as one row per snapshot, one column per dimension (stage)."""
    if frame.empty:
        return pd.DataFrame(columns=["snapshot_date", *[d.label for d in DIMENSIONS]])
    wide = frame.pivot(index="snapshot_date", columns="dimension", values="stage")
    cols = [d.label for d in DIMENSIONS if d.label in wide.columns]
    return wide[cols].reset_index().sort_values("snapshot_date", ascending=False)


def to_text(detail: pd.DataFrame) -> str:
    """The scorecard as plain text: each dimension's stage, then each rule with its evidence."""
    lines: list[str] = []
    shown = display(detail)
    for (matrix, dim), grp in shown.groupby(["matrix", "dimension"], sort=False):
        first = grp.iloc[0]
        lines.append(f"{matrix} · {dim}: stage {first['stage']} ({first['basis']})")
        for rec in grp.to_dict(orient="records"):
            if rec["rule"] != fmt.DASH:
                lines.append(
                    f"    {rec['rule']}: {rec['value']} [{rec['thresholds']}] -> {rec['rule_stage']}"
                )
            lines.append(f"      {rec['evidence']}")
    return "\n".join(lines)
