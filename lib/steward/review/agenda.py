"""The Monday agenda: last week's decisions first, then this week's bottlenecks.

    agenda = review.build_agenda(con, q, defs)
    agenda.to_markdown() / agenda.to_dict()

`gather` asks the metric layer for everything the rules read (and nothing else);
`steward.review.rules.apply` turns that into ranked items.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from steward import parallel, query
from steward.definitions import Definitions
from steward.metrics.core import Query, Result, compute, drill
from steward.metrics.history import funnel_cohorts
from steward.narrative.model import day
from steward.review.decisions import FollowThrough, follow_all
from steward.review.model import Item
from steward.review.rules import Inputs, apply


def _result(con: duckdb.DuckDBPyConnection, mid: str, q: Query, defs: Definitions) -> Result | None:
    return compute(con, mid, q, defs)


def _segments(con: duckdb.DuckDBPyConnection, q: Query) -> list[str]:
    if q.filters.segment:
        return list(q.filters.segment)
    ssql, sparams = q.filters.scope.named_sql("s")
    sql = f"""
        select distinct coalesce(s.segment, 'Unassigned') as segment
        from snapshots s
        where s.snapshot_date = $as_of{ssql}
        order by 1
    """  # noqa: S608 - the scope's clauses name whitelisted columns; values are bound
    rows = con.execute(sql, {"as_of": q.as_of, **sparams}).fetchall()
    return [r[0] for r in rows]


def gather(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, compare_to: date | None = None
) -> Inputs:
    """The metric results the agenda rules read, for one as-of snapshot and period."""
    compare_to = query.complete(con, q.with_(compare_to=compare_to or q.compare_to)).compare_to
    q = q.with_(compare_to=None)
    inp = Inputs(q=q, defs=defs, compare_to=compare_to)
    quarter = q.quarter(defs)
    periods = [quarter.shift(-k).label for k in range(0, 5)]
    segments = _segments(con, q)
    wq = q.with_(compare_to=compare_to)
    before = q.with_(as_of=compare_to) if compare_to is not None else None
    # The reads are independent: run together (steward.parallel), each on its own cursor
    # in this view. Every segment's cohort this quarter and the trailing four is one
    # grouped query (history.funnel_cohorts), each answer what compute("funnel_cohort")
    # gives.
    calls: list[Callable[[duckdb.DuckDBPyConnection], Any]] = [
        lambda c: funnel_cohorts(c, q, defs, periods, "segment", segments),
        lambda c: _result(c, "coverage_matrix", q, defs),
        lambda c: _result(c, "stalled_deals", q, defs),
        lambda c: _result(c, "speed_to_lead", q, defs),
        lambda c: _result(c, "pipeline_created", q, defs),
        lambda c: _result(c, "trust_checks", q, defs),
    ]
    if before is not None:
        calls += [
            lambda c: _result(c, "waterfall", wq, defs),
            lambda c: drill(c, "waterfall", wq, defs, bucket="Pushed out"),
            lambda c: _result(c, "trust_checks", before, defs),
        ]
    got = [f.result() for f in parallel.run_all(con, calls)]
    cohorts = got[0]
    for seg in segments:
        cur, *trailing = (cohorts[(p, seg)] for p in periods)
        inp.cohorts[seg] = (cur, trailing)
    inp.coverage, inp.stalled, inp.speed, inp.created, inp.trust_now = got[1:6]
    if before is not None:
        inp.waterfall, inp.pushed, inp.trust_before = got[6:9]
    return inp


@dataclass
class Agenda:
    q: Query
    compare_to: date | None
    items: list[Item]
    decisions: list[FollowThrough] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Weekly review: {self.q.period} as of {day(self.q.as_of)}"

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key), None)

    def to_markdown(self) -> str:
        since = f"changes since {day(self.compare_to)}" if self.compare_to else "first snapshot"
        lines = [f"# {self.title}", "", f"*{self.q.filters.describe()} · {since}*", ""]
        lines += ["## Last week's decisions", ""]
        if not self.decisions:
            lines += ["No open decisions.", ""]
        for d in self.decisions:
            lines.append(
                f"- **{d.status.upper()}** · {d.decision.what} ({d.decision.owner}, "
                f"due {day(d.decision.due_date)}): {d.summary}"
            )
        if self.decisions:
            lines.append("")
        lines += ["## This week's bottlenecks (ranked by dollar impact)", ""]
        if not self.items:
            lines += ["No agenda rule fired this week.", ""]
        for i, it in enumerate(self.items, 1):
            lines.append(f"{i}. **{it.title}** — {it.evidence.text} *Owner: {it.owner_role}.*")
        return "\n".join(lines).rstrip() + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "query": self.q.describe(),
            "compare_to": self.compare_to.isoformat() if self.compare_to else None,
            "decisions": [d.to_dict() for d in self.decisions],
            "items": [i.to_dict() for i in self.items],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def build_agenda(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, compare_to: date | None = None
) -> Agenda:
    """The agenda for one as-of snapshot: decisions taken before it, then ranked items."""
    inp = gather(con, q, defs, compare_to)
    return Agenda(
        inp.q, inp.compare_to, apply(inp), follow_all(con, q.as_of, defs, q.filters.scope)
    )
