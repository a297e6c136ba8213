"""The Monday agenda's building blocks: a reading of a metric, a drill, an agenda item.

An item's evidence is a narrative `Sentence` (steward.narrative.model), so every number
it prints keeps the metric id, query and read behind it, exactly as the board story's
numbers do, and a test can recompute each one from the metric layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from steward.definitions import Definitions
from steward.metrics.core import Filters, Query, compute, drill
from steward.narrative.model import Fact, Sentence

ROLES = ("marketing", "sales", "RevOps")


def read_value(con: duckdb.DuckDBPyConnection, fact: Fact, defs: Definitions) -> float | None:
    """Recompute a Fact's value from the metric layer: the value, one cell of the table, a
    sum or count over table rows or over the metric's deal drill, or a derived number."""
    kind = fact.pick[0] if fact.pick else "value"
    if kind == "derived":
        from steward.narrative.model import OPS

        return OPS[fact.pick[1]]([read_value(con, i, defs) for i in fact.inputs])
    if kind == "drill":
        frame = drill(con, fact.metric_id, fact.query, defs, **dict(fact.pick[1]))
        for col, val in fact.pick[2]:
            frame = frame[frame[col] == val]
        if fact.pick[3] == "count":
            return float(len(frame))
        return float(pd.to_numeric(frame[fact.pick[4]], errors="coerce").fillna(0).sum())
    r = compute(con, fact.metric_id, fact.query, defs)
    if kind == "value":
        return None if r.value is None else float(r.value)
    table = r.table if r.table is not None else pd.DataFrame()
    for col, val in fact.pick[1]:
        if col not in table.columns:
            return None
        table = table[table[col] == val]
    if kind == "table_count":
        return float(len(table))
    if kind == "table_sum":
        return float(pd.to_numeric(table[fact.pick[2]], errors="coerce").fillna(0).sum())
    if kind == "table" and len(table) == 1:
        v = table[fact.pick[2]].iloc[0]
        return None if v is None or pd.isna(v) else float(v)
    return None


@dataclass(frozen=True)
class Reading:
    """The number a decision should move: a metric read under a fixed period and filters.

    Read again at a later snapshot (same period, filters and pick, only the as-of moves),
    it tells whether the decision's metric moved the intended way (`direction`).
    """

    metric_id: str
    period: str
    filters: Filters
    pick: tuple[Any, ...] = ()
    direction: str = "up"  # 'up' or 'down'
    unit: str = "usd"

    def fact(self, as_of: date) -> Fact:
        q = Query(as_of=as_of, period=self.period, filters=self.filters)
        return Fact(self.metric_id, q, None, self.unit, None, self.pick)

    def value(self, con: duckdb.DuckDBPyConnection, as_of: date, defs: Definitions) -> float | None:
        return read_value(con, self.fact(as_of), defs)

    def to_json(self) -> str:
        return json.dumps(
            {
                "metric_id": self.metric_id,
                "period": self.period,
                "filters": self.filters.as_dict(),
                "pick": _listify(self.pick),
                "direction": self.direction,
                "unit": self.unit,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Reading:
        raw = json.loads(text)
        return cls(
            raw["metric_id"],
            raw["period"],
            Filters.of(**raw.get("filters", {})),
            _tuplify(raw.get("pick", [])),
            raw.get("direction", "up"),
            raw.get("unit", "usd"),
        )

    def describe(self) -> str:
        """'coverage [segment=Enterprise] FY2026-Q4, up'."""
        where = ", ".join(f"{k}={','.join(v)}" for k, v in self.filters.items())
        read = Fact(self.metric_id, Query(date.min, self.period), None, pick=self.pick).how()
        scope = f" [{where}]" if where else ""
        return f"{self.metric_id}{scope} {self.period} {read}, {self.direction}"


def _listify(x: Any) -> Any:
    return [_listify(v) for v in x] if isinstance(x, tuple | list) else x


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(v) for v in x) if isinstance(x, list) else x


@dataclass(frozen=True)
class DrillSpec:
    """The deals behind an item: a metric's drill, narrowed by column values."""

    metric_id: str
    query: Query
    selection: tuple[tuple[str, Any], ...] = ()
    where: tuple[tuple[str, Any], ...] = ()
    label: str = ""

    def deals(self, con: duckdb.DuckDBPyConnection, defs: Definitions) -> pd.DataFrame:
        frame = drill(con, self.metric_id, self.query, defs, **dict(self.selection))
        for col, val in self.where:
            frame = frame[frame[col] == val]
        return frame.reset_index(drop=True)


@dataclass
class Item:
    """One bottleneck on the agenda."""

    rule_id: str
    key: str  # stable id of the subject, e.g. 'coverage_below_goal:FY2026-Q4:Enterprise'
    title: str
    evidence: Sentence
    impact_usd: float  # dollars at stake, for the ranking
    owner_role: str  # marketing | sales | RevOps
    reading: Reading  # the number a decision on this item should move
    drill: DrillSpec | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "key": self.key,
            "title": self.title,
            "evidence": self.evidence.to_dict(),
            "impact_usd": round(self.impact_usd, 2),
            "owner_role": self.owner_role,
            "metric_to_move": json.loads(self.reading.to_json()),
            "drill": None
            if self.drill is None
            else {
                "metric_id": self.drill.metric_id,
                "query": self.drill.query.describe(),
                "selection": dict(self.drill.selection),
                "where": dict(self.drill.where),
                "label": self.drill.label,
            },
        }
