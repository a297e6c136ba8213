"""Decisions taken in the Monday review, and their follow-through measured from the data.

A decision is recorded against an agenda item at the snapshot the meeting looked at:
what, owner, due date, the metric that should move (a `Reading`, with its value then as
the baseline) and the deals in scope. On every later snapshot the same reading is taken
again and the deals are compared with their state at the decision. Status, by rule:

- done:     the metric moved the intended way (by the last snapshot on or before the
            due date, once that date has passed);
- slipping: not yet moved, due date still ahead;
- overdue:  due date reached and the metric had not moved by then (the same test as
            the follow-through rate, so a status and the rate never disagree);
- recorded: no snapshot after the decision yet.

Writes are all-or-nothing (one transaction, validated first), like imports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pandas as pd

from steward.definitions import Definitions
from steward.errors import StewardError
from steward.metrics.core import ALL, REGISTRY, Filters, RowScope
from steward.narrative.model import STYLES, UNIT_STYLE, day
from steward.review.model import Item, Reading

STATUSES = ("done", "slipping", "overdue", "recorded")


class DecisionRejected(StewardError):
    """A decision that cannot be recorded; nothing was written."""


@dataclass(frozen=True)
class Decision:
    decision_id: int
    recorded_at: datetime
    as_of: date
    period: str
    rule_id: str
    item_key: str
    item_title: str
    what: str
    owner: str
    due_date: date
    reading: Reading
    baseline_value: float | None
    opportunity_ids: tuple[str, ...]


def _snapshot_dates(con: duckdb.DuckDBPyConnection) -> list[date]:
    rows = con.execute("select distinct snapshot_date from snapshots order by 1").fetchall()
    return [r[0] for r in rows]


def record(
    con: duckdb.DuckDBPyConnection,
    defs: Definitions,
    *,
    as_of: date,
    item: Item | None = None,
    what: str,
    owner: str,
    due_date: date,
    reading: Reading | None = None,
    opportunity_ids: list[str] | tuple[str, ...] = (),
    rule_id: str | None = None,
    item_key: str | None = None,
    item_title: str | None = None,
) -> int:
    """Validate and write one decision in one transaction; returns its id.

    The item supplies the rule, key, title and the reading unless given explicitly. Raises
    DecisionRejected naming the field and value when anything is wrong; nothing is written.
    """
    what, owner = (what or "").strip(), (owner or "").strip()
    reading = reading or (item.reading if item else None)
    rule_id = rule_id or (item.rule_id if item else None)
    item_key = item_key or (item.key if item else None)
    item_title = item_title or (item.title if item else "")
    problems = []
    if not what:
        problems.append("what: empty (say what will be done)")
    if not owner:
        problems.append("owner: empty (name who does it)")
    if as_of not in _snapshot_dates(con):
        problems.append(f"as_of: no snapshot loaded for {as_of.isoformat()}")
    if due_date <= as_of:
        problems.append(f"due_date: {due_date.isoformat()} is not after the snapshot {as_of}")
    if reading is None:
        problems.append("metric: none given (which number should move?)")
    elif reading.metric_id not in REGISTRY:
        problems.append(f"metric: unknown metric id {reading.metric_id!r}")
    elif reading.direction not in ("up", "down"):
        problems.append(f"direction: {reading.direction!r} is not 'up' or 'down'")
    if not rule_id or not item_key:
        problems.append("item: none given (record a decision against an agenda item)")
    ids = tuple(dict.fromkeys(str(i).strip() for i in opportunity_ids if str(i).strip()))
    if ids and as_of in _snapshot_dates(con):
        known = {
            r[0]
            for r in con.execute(
                "select opportunity_id from snapshots where snapshot_date = $as_of "
                "and opportunity_id in (select unnest($ids::varchar[]))",
                {"as_of": as_of, "ids": list(ids)},
            ).fetchall()
        }
        missing = [i for i in ids if i not in known]
        if missing:
            problems.append(
                f"deals: not in the {as_of.isoformat()} snapshot: {', '.join(missing[:5])}"
            )
    if problems:
        raise DecisionRejected("decision not recorded: " + problems[0], problems[1:])
    assert reading is not None
    baseline = reading.value(con, as_of, defs)
    con.execute("begin transaction")
    try:
        rows = con.execute("select coalesce(max(decision_id), 0) + 1 from decisions").fetchall()
        new_id = int(rows[0][0])
        con.execute(
            "insert into decisions values ($id, $at, $as_of, $period, $rule, $key, $title, $what, "
            "$owner, $due, $metric, $read, $dir, $base, $ids)",
            {
                "id": new_id,
                "at": datetime.now(UTC).replace(tzinfo=None),
                "as_of": as_of,
                "period": reading.period,
                "rule": rule_id,
                "key": item_key,
                "title": item_title,
                "what": what,
                "owner": owner,
                "due": due_date,
                "metric": reading.metric_id,
                "read": reading.to_json(),
                "dir": reading.direction,
                "base": baseline,
                "ids": list(ids),
            },
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return new_id


def load(con: duckdb.DuckDBPyConnection, before: date | None = None) -> list[Decision]:
    """Every decision (recorded at a snapshot before `before`, when given), oldest first."""
    rows = con.execute(
        "select * from decisions where $before is null or as_of < $before order by decision_id",
        {"before": before},
    ).fetchall()
    return [
        Decision(
            int(r[0]),
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            Reading.from_json(r[11]),
            r[13],
            tuple(r[14] or ()),
        )  # fmt: skip
        for r in rows
    ]


@dataclass
class FollowThrough:
    """A decision read again at a later snapshot."""

    decision: Decision
    as_of: date
    status: str
    value_now: float | None
    moved: bool
    deal_outcomes: dict[str, str]  # opportunity_id -> what happened
    summary: str

    def to_dict(self) -> dict[str, Any]:
        d = self.decision
        return {
            "decision_id": d.decision_id,
            "recorded_as_of": d.as_of.isoformat(),
            "item_key": d.item_key,
            "what": d.what,
            "owner": d.owner,
            "due_date": d.due_date.isoformat(),
            "metric": d.reading.describe(),
            "baseline_value": d.baseline_value,
            "as_of": self.as_of.isoformat(),
            "value_now": self.value_now,
            "status": self.status,
            "deal_outcomes": self.deal_outcomes,
            "summary": self.summary,
        }


def moved(direction: str, before: float | None, after: float | None) -> bool:
    """Strictly the intended way (rounded to 6 places so float noise is no movement)."""
    if before is None or after is None:
        return False
    a, b = round(after, 6), round(before, 6)
    return a > b if direction == "up" else a < b


_STATE_SQL = """
select opportunity_id, snapshot_date, stage, forecast_category, close_date, is_closed, is_won
from snapshots
where snapshot_date in ($a, $b) and opportunity_id in (select unnest($ids::varchar[]))
"""

OUTCOME_ORDER = (
    "won",
    "lost",
    "gone from the CRM",
    "pushed again",
    "now in Commit",
    "advanced",
    "fell back",
    "pulled in",
    "no change",
)


def deal_outcomes(
    con: duckdb.DuckDBPyConnection, d: Decision, as_of: date, defs: Definitions
) -> dict[str, str]:
    """What happened to each deal in scope between the decision's snapshot and `as_of`."""
    if not d.opportunity_ids:
        return {}
    frame = con.execute(_STATE_SQL, {"a": d.as_of, "b": as_of, "ids": list(d.opportunity_ids)}).df()
    rank = {s.name: s.rank for s in defs.stages}
    fy = defs.fiscal_year_start_month
    from steward.periods import quarter_of

    out: dict[str, str] = {}
    for oid in d.opportunity_ids:
        rows = frame[frame["opportunity_id"] == oid]
        then = rows[rows["snapshot_date"] == pd.Timestamp(d.as_of)]
        now = rows[rows["snapshot_date"] == pd.Timestamp(as_of)]
        if now.empty:
            out[oid] = "gone from the CRM"
            continue
        n = now.iloc[0]
        if bool(n["is_closed"]):
            out[oid] = "won" if bool(n["is_won"]) else "lost"
            continue
        if then.empty:
            out[oid] = "no change"
            continue
        t = then.iloc[0]
        q_then = quarter_of(pd.Timestamp(t["close_date"]).date(), fy)
        q_now = quarter_of(pd.Timestamp(n["close_date"]).date(), fy)
        if q_now.start > q_then.start:
            out[oid] = "pushed again"
        elif (n["forecast_category"] or "") == "Commit" and (
            t["forecast_category"] or ""
        ) != "Commit":
            out[oid] = "now in Commit"
        elif rank.get(n["stage"], -1) > rank.get(t["stage"], -1):
            out[oid] = "advanced"
        elif rank.get(n["stage"], -1) < rank.get(t["stage"], -1):
            out[oid] = "fell back"
        elif q_now.start < q_then.start:
            out[oid] = "pulled in"
        else:
            out[oid] = "no change"
    return out


def _fmt(reading: Reading, v: float | None) -> str:
    return STYLES[UNIT_STYLE.get(reading.unit, "money")](v) if v is not None else "n/a"


def summarize(d: Decision, outcomes: dict[str, str], value_now: float | None) -> str:
    """'3 deals: 2 now in Commit, 1 pushed again; Pipeline coverage 2.6x → 2.9x'."""
    parts = []
    if outcomes:
        counts = Counter(outcomes.values())
        n = len(outcomes)
        what = ", ".join(f"{counts[o]} {o}" for o in OUTCOME_ORDER if counts.get(o))
        parts.append(f"{n} {'deal' if n == 1 else 'deals'}: {what}")
    label = REGISTRY[d.reading.metric_id].label if d.reading.metric_id in REGISTRY else ""
    parts.append(
        f"{label or d.reading.metric_id} {_fmt(d.reading, d.baseline_value)} → "
        f"{_fmt(d.reading, value_now)} (should go {d.reading.direction})"
    )
    return "; ".join(parts)


def follow(
    con: duckdb.DuckDBPyConnection, d: Decision, as_of: date, defs: Definitions
) -> FollowThrough:
    """The decision read again at snapshot `as_of` (see the module docstring for status)."""
    if as_of <= d.as_of:
        return FollowThrough(d, as_of, "recorded", d.baseline_value, False, {}, "recorded at this "
                             "snapshot; follow-through shows from the next one")  # fmt: skip
    now = d.reading.value(con, as_of, defs)
    is_moved = moved(d.reading.direction, d.baseline_value, now)
    if as_of < d.due_date:
        status = "done" if is_moved else "slipping"
    else:
        status = "done" if moved_by_due(con, d, defs) else "overdue"
    outcomes = deal_outcomes(con, d, as_of, defs)
    return FollowThrough(d, as_of, status, now, is_moved, outcomes, summarize(d, outcomes, now))


def moved_by_due(con: duckdb.DuckDBPyConnection, d: Decision, defs: Definitions) -> bool:
    """Whether the metric had moved the intended way at the last snapshot on or before the
    due date (and after the decision); False when there is no such snapshot."""
    dates = [s for s in _snapshot_dates(con) if d.as_of < s <= d.due_date]
    if not dates:
        return False
    return moved(d.reading.direction, d.baseline_value, d.reading.value(con, dates[-1], defs))


def follow_all(
    con: duckdb.DuckDBPyConnection, as_of: date, defs: Definitions, scope: RowScope = ALL
) -> list[FollowThrough]:
    """Every decision recorded before `as_of` that `scope` may see, read at `as_of`."""
    if not has_table(con):
        return []
    return [
        follow(con, d, as_of, defs)
        for d in load(con, before=as_of)
        if within(d.reading.filters, scope)
    ]


def within(filters: Filters, scope: RowScope) -> bool:
    """True when a decision's cut lies inside `scope` (restricting it changes nothing), so
    its numbers and deals are the viewer's own; a decision on a wider cut is not shown."""
    if scope.is_all:
        return True
    narrowed = filters.restricted(scope)
    return not narrowed.outside_scope and narrowed.items() == filters.items()


def has_table(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "select count(*) from information_schema.tables where table_name = 'decisions'"
    ).fetchall()
    return bool(rows[0][0])


def follow_through_rate(
    con: duckdb.DuckDBPyConnection, as_of: date, defs: Definitions, scope: RowScope = ALL
) -> tuple[float | None, pd.DataFrame]:
    """Share of the decisions due by `as_of` whose metric moved the intended way by their due
    date, and the table of those decisions (one row each, `followed_through` True/False)."""
    rows = []
    if has_table(con):
        for d in load(con):
            if d.due_date > as_of or d.as_of >= as_of or not within(d.reading.filters, scope):
                continue
            rows.append(
                {
                    "decision_id": d.decision_id,
                    "what": d.what,
                    "owner": d.owner,
                    "recorded_as_of": d.as_of,
                    "due_date": d.due_date,
                    "metric": d.reading.describe(),
                    "followed_through": moved_by_due(con, d, defs),
                }
            )
    table = pd.DataFrame(
        rows,
        columns=["decision_id", "what", "owner", "recorded_as_of", "due_date", "metric",
                 "followed_through"],
    )  # fmt: skip
    if table.empty:
        return None, table
    return float(table["followed_through"].mean()), table


def describe_due(d: Decision) -> str:
    return f"due {day(d.due_date)}"
