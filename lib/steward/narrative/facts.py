"""Gather the facts a narrative needs from the metric layer (and nothing else).

Every number goes through `compute` / `drill` with an explicit Query, so the story
respects the active filters and each number can be recomputed. Metrics that are not
registered (or have no answer for this data) simply leave their fact as None and the
rules that need them stay silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from steward import query
from steward.definitions import Definitions
from steward.metrics.core import Query, Result, compute, drill, schema
from steward.narrative.model import Fact, derived

WATERFALL_MOVES = (
    "Won",
    "Lost",
    "Pushed out",
    "Disqualified",
    "Removed",
    "New",
    "Pulled in",
    "Qualified",
    "Reopened",
    "Increased",
    "Decreased",
)


@dataclass
class Move:
    """One waterfall bucket: its signed amount and its deal count."""

    bucket: str
    amount: Fact
    count: Fact


@dataclass
class PushedGroup:
    """Pushed-out deals of the biggest segment (for the Monday decision)."""

    segment: str
    amount: Fact
    count: Fact
    total_count: int


@dataclass
class WinCounts:
    """The deals behind a win rate (cells of the win_rate_count table)."""

    won: Fact
    lost: Fact
    closed: Fact
    never_open: Fact
    never_open_share: Fact
    reading: str  # definitions win_rate.lost_never_seen_open: count | exclude


@dataclass
class Facts:
    q: Query
    defs: Definitions
    compare_to: date | None
    open_pipeline: Fact
    won: Fact
    target: Fact
    coverage: Fact
    goal: Fact
    coverage_prev: Fact | None = None
    compare_is_previous: bool = True  # compare_to is the snapshot just before q.as_of
    next_coverage: Fact | None = None
    next_goal: Fact | None = None
    start: Fact | None = None
    end: Fact | None = None
    moves: list[Move] = field(default_factory=list)
    pushed_group: PushedGroup | None = None
    largest_pushed: tuple[str, Fact] | None = None
    win_rate: Fact | None = None
    win_rate_prev: Fact | None = None
    # cells of win_rate_count's table: the deals behind the rate, and how many of the
    # period's closed deals no snapshot showed open (the rate rests on an assumption)
    win_counts: WinCounts | None = None
    win_counts_prev: WinCounts | None = None
    forecast_p50: Fact | None = None
    stalled_count: Fact | None = None
    stalled_amount: Fact | None = None
    trust_score: Fact | None = None
    top_check: tuple[str, Fact, Fact] | None = None
    checks_flagged: int = 0
    top_check_unit: str = "deal"  # what the top check counts: deals, or weeks for missing_weeks

    @property
    def remaining(self) -> Fact:
        return derived("minus", self.target, self.won)

    def move(self, bucket: str) -> Move | None:
        return next((m for m in self.moves if m.bucket == bucket), None)


def _result(con: duckdb.DuckDBPyConnection, mid: str, q: Query, defs: Definitions) -> Result | None:
    return compute(con, mid, q, defs)


def _value(
    con: duckdb.DuckDBPyConnection, mid: str, q: Query, defs: Definitions, unit: str
) -> Fact | None:
    r = _result(con, mid, q, defs)
    return None if r is None else Fact(mid, q, r.value, unit, r.note)


def _need(fact: Fact | None, mid: str, q: Query) -> Fact:
    return fact if fact is not None else Fact(mid, q, None, "usd", "metric not available")


def _match(table: pd.DataFrame, where: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    mask = pd.Series(True, index=table.index)
    for col, val in where:
        mask &= table[col] == val
    return table[mask]


def table_cell(
    mid: str,
    q: Query,
    table: pd.DataFrame,
    where: tuple[tuple[str, Any], ...],
    col: str,
    unit: str | None = None,
) -> Fact:
    """One cell of a metric's table as a Fact, in the column's declared unit (`unit` only
    for a metric that declares no columns, such as the win rate's counts)."""
    declared = schema(mid).get(col)
    if declared is not None and unit is None:
        unit = declared.unit
    if unit is None:
        raise KeyError(f"metric {mid!r} declares no unit for column {col!r}")
    rows = _match(table, where)
    value = rows[col].iloc[0] if len(rows) else None
    return Fact(mid, q, value, unit, None, ("table", where, col))


def _waterfall(con: duckdb.DuckDBPyConnection, f: Facts, wq: Query) -> None:
    r = _result(con, "waterfall", wq, f.defs)
    if r is None or r.table is None or r.table.empty:
        return
    t = r.table
    f.start = table_cell("waterfall", wq, t, (("bucket", "Start"),), "amount")
    f.end = table_cell("waterfall", wq, t, (("bucket", "End"),), "amount")
    for b in WATERFALL_MOVES:
        if b not in set(t["bucket"]):
            continue
        amount = table_cell("waterfall", wq, t, (("bucket", b),), "amount")
        count = table_cell("waterfall", wq, t, (("bucket", b),), "count")
        f.moves.append(Move(b, amount, count))
    pushed = f.move("Pushed out")
    if pushed is None or not pushed.count.num:
        return
    deals = drill(con, "waterfall", wq, f.defs, bucket="Pushed out")
    if deals.empty:
        return
    amounts = deals["amount"].fillna(0)
    top = deals.loc[amounts.astype(float).idxmax()]
    sel = (("bucket", "Pushed out"),)
    by_id = (("opportunity_id", top["opportunity_id"]),)
    f.largest_pushed = (
        str(top["opportunity_name"]),
        Fact("waterfall", wq, top["amount"], "usd", None, ("drill", sel, by_id, "sum", "amount")),
    )
    if len(f.q.filters.segment) != 1 and deals["segment"].nunique() > 1:
        seg_sum = deals.assign(a=amounts.astype(float)).groupby("segment")["a"].sum()
        seg = str(seg_sum.idxmax())
        rows = deals[deals["segment"] == seg]
        seg_where = (("segment", seg),)
        f.pushed_group = PushedGroup(
            seg,
            Fact(
                "waterfall",
                wq,
                rows["amount"].fillna(0).sum(),
                "usd",
                None,
                ("drill", sel, seg_where, "sum", "amount"),
            ),
            Fact("waterfall", wq, len(rows), "count", None, ("drill", sel, seg_where, "count", "")),
            len(deals),
        )


def _win_rate(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> tuple[Fact | None, WinCounts | None]:
    r = _result(con, "win_rate_count", q, defs)
    if r is None:
        return None, None
    fact = Fact("win_rate_count", q, r.value, "ratio", r.note)
    t = r.table
    if t is None or t.empty:
        return fact, None

    def cell(col: str, unit: str = "count") -> Fact:
        return table_cell("win_rate_count", q, t, (), col, unit)

    counts = WinCounts(
        cell("won_count"),
        cell("lost_count"),
        cell("closed_count"),
        cell("never_open_count"),
        cell("never_open_share", "ratio"),
        defs.lost_never_seen_open,
    )
    return fact, counts


def _trust(con: duckdb.DuckDBPyConnection, f: Facts) -> None:
    f.trust_score = _value(con, "trust_score", f.q, f.defs, "score")
    r = _result(con, "trust_checks", f.q, f.defs)
    if r is None or r.table is None or r.table.empty:
        return
    flagged = r.table[r.table["count"].fillna(0) > 0]
    f.checks_flagged = len(flagged)
    if flagged.empty:
        return
    top = flagged.sort_values(["amount", "count"], ascending=False).iloc[0]
    where = (("check_id", top["check_id"]),)
    f.top_check_unit = "week" if top["check_id"] == "missing_weeks" else "deal"
    f.top_check = (
        str(top["label"]),
        table_cell("trust_checks", f.q, r.table, where, "count"),
        table_cell("trust_checks", f.q, r.table, where, "amount"),
    )


def _stalled(con: duckdb.DuckDBPyConnection, f: Facts) -> None:
    r = _result(con, "stalled_deals", f.q, f.defs)
    if r is None or r.table is None:
        return
    t = r.table
    f.stalled_count = Fact("stalled_deals", f.q, len(t), "count", None, ("table_count", (), ""))
    if "amount" in t.columns:
        f.stalled_amount = Fact(
            "stalled_deals",
            f.q,
            t["amount"].fillna(0).sum() if len(t) else 0,
            "usd",
            None,
            ("table_sum", (), "amount"),
        )


def gather(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, compare_to: date | None = None
) -> Facts:
    """Ask the metric layer for everything the rules may need.

    `q` comes resolved (`steward.query`); `compare_to`, when given, overrides its
    comparison snapshot.
    """
    q = query.complete(con, q if compare_to is None else q.with_(compare_to=compare_to))
    compare_to = q.compare_to
    quarter = q.quarter(defs)
    f = Facts(
        q=q,
        defs=defs,
        compare_to=compare_to,
        compare_is_previous=compare_to is not None
        and compare_to == query.previous_snapshot(con, q.as_of),
        open_pipeline=_need(_value(con, "open_pipeline", q, defs, "usd"), "open_pipeline", q),
        won=_need(_value(con, "won_to_date", q, defs, "usd"), "won_to_date", q),
        target=_need(_value(con, "bookings_target", q, defs, "usd"), "bookings_target", q),
        coverage=_need(_value(con, "coverage", q, defs, "multiple"), "coverage", q),
        goal=_need(_value(con, "coverage_goal", q, defs, "multiple"), "coverage_goal", q),
    )
    nq = q.with_(period=quarter.shift(1).label, compare_to=None)
    f.next_coverage = _value(con, "coverage", nq, defs, "multiple")
    f.next_goal = _value(con, "coverage_goal", nq, defs, "multiple")
    if compare_to is not None:
        f.coverage_prev = _value(con, "coverage", q.with_(as_of=compare_to), defs, "multiple")
        _waterfall(con, f, q.with_(compare_to=compare_to))
    f.win_rate, f.win_counts = _win_rate(con, q, defs)
    pq = q.with_(period=quarter.shift(-1).label, compare_to=None)
    f.win_rate_prev, f.win_counts_prev = _win_rate(con, pq, defs)
    f.forecast_p50 = _value(con, "forecast_historical", q, defs, "usd")
    _stalled(con, f)
    _trust(con, f)
    return f
