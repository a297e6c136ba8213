"""The metric registry: every number declared once.

A metric is declared with `@metric(...)` next to the function that computes it. The
declaration (id, label, description, formula, unit, dimensions, scope) is what the
screen's tooltips, the CLI, the narrative, the workbook's Definitions sheet and the
glossary (docs/metrics.md) all read.

Every metric function has the signature

    fn(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result

and reaches SQL only through bound parameters; identifiers come from whitelists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

import duckdb
import pandas as pd

from steward import memo
from steward.definitions import Definitions
from steward.periods import Quarter, parse_period, quarter_of

Unit = Literal["usd", "count", "ratio", "multiple", "days", "usd_per_day", "score", "table"]
Scope = Literal["as_of", "history"]

# Dimensions a deal list can be cut by: the only column names a filter may touch.
DIMENSIONS: tuple[str, ...] = ("segment", "region", "source", "owner", "product", "stage")


@dataclass(frozen=True)
class Filters:
    """A cut of the deals. Empty tuple = no restriction on that dimension."""

    segment: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()
    product: tuple[str, ...] = ()
    stage: tuple[str, ...] = ()

    @classmethod
    def of(cls, **values: Any) -> Filters:
        """Build from lists/strings; unknown keys raise (they never reach SQL)."""
        clean: dict[str, tuple[str, ...]] = {}
        for key, val in values.items():
            if key not in DIMENSIONS:
                raise ValueError(f"unknown filter {key!r}; allowed: {', '.join(DIMENSIONS)}")
            if val is None or val == "" or val == []:
                continue
            vals = (val,) if isinstance(val, str) else tuple(val)
            clean[key] = tuple(sorted({str(v) for v in vals}))
        return cls(**clean)

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(d, getattr(self, d)) for d in DIMENSIONS if getattr(self, d)]

    def sql(self, alias: str = "s") -> tuple[str, list[Any]]:
        """` and alias.col in (...)` clauses with bound list parameters."""
        parts, params = [], []
        for dim, vals in self.items():
            parts.append(f" and {alias}.{dim} in (select unnest(?::varchar[]))")
            params.append(list(vals))
        return "".join(parts), params

    def describe(self) -> str:
        """'Segment: Enterprise · Region: EMEA, NA' or 'All deals'."""
        if not self.items():
            return "All deals"
        return " · ".join(f"{d.title()}: {', '.join(v)}" for d, v in self.items())

    def as_dict(self) -> dict[str, list[str]]:
        return {d: list(v) for d, v in self.items()}


@dataclass(frozen=True)
class Query:
    """The parameters of one metric call."""

    as_of: date
    period: str  # fiscal quarter label, e.g. 'FY2026-Q4'
    filters: Filters = field(default_factory=Filters)
    compare_to: date | None = None  # the earlier snapshot for waterfall / deltas
    options: tuple[tuple[str, Any], ...] = ()  # metric-specific extras, hashable

    def quarter(self, defs: Definitions) -> Quarter:
        return parse_period(self.period, defs.fiscal_year_start_month)

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    def with_(self, **changes: Any) -> Query:
        return replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"as_of": self.as_of.isoformat(), "period": self.period}
        if self.compare_to:
            out["compare_to"] = self.compare_to.isoformat()
        out.update(self.filters.as_dict())
        out.update(dict(self.options))
        return out


@dataclass
class Result:
    """A metric's answer: a scalar `value` or a `table`, plus a note for edge cases.

    `value` is None when the number is undefined; `note` then says why in words a
    board understands (e.g. 'target already met').
    """

    metric_id: str
    query: Query
    value: float | None = None
    table: pd.DataFrame | None = None
    note: str | None = None


MetricFn = Callable[[duckdb.DuckDBPyConnection, Query, Definitions], Result]


@dataclass(frozen=True)
class Metric:
    id: str
    label: str
    description: str
    formula: str
    unit: Unit
    scope: Scope
    fn: MetricFn
    dims: tuple[str, ...] = DIMENSIONS
    drill: Callable[..., pd.DataFrame] | None = None  # (con, q, defs, **selection) -> deals


REGISTRY: dict[str, Metric] = {}


def metric(
    id: str,
    *,
    label: str,
    description: str,
    formula: str,
    unit: Unit,
    scope: Scope = "as_of",
    dims: tuple[str, ...] = DIMENSIONS,
) -> Callable[[MetricFn], MetricFn]:
    """Declare a metric once, next to the function that computes it."""

    def wrap(fn: MetricFn) -> MetricFn:
        if id in REGISTRY:
            raise ValueError(f"metric {id!r} declared twice")
        REGISTRY[id] = Metric(id, label, description, formula, unit, scope, fn, dims)
        return fn

    return wrap


def drill_for(
    metric_id: str,
) -> Callable[[Callable[..., pd.DataFrame]], Callable[..., pd.DataFrame]]:
    """Attach the 'deals behind this number' function to a declared metric."""

    def wrap(fn: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        REGISTRY[metric_id] = replace(REGISTRY[metric_id], drill=fn)
        return fn

    return wrap


def compute(con: duckdb.DuckDBPyConnection, metric_id: str, q: Query, defs: Definitions) -> Result:
    """Compute one metric by id. Raises KeyError for an unknown id."""
    try:
        m = REGISTRY[metric_id]
    except KeyError:
        raise KeyError(f"unknown metric {metric_id!r}; see `steward metrics --list`") from None
    v = memo.current()
    if v is None:
        return m.fn(con, q, defs)
    # Within a view each (metric, query) is computed once; a metric that never reads
    # compare_to is shared between queries that differ only there (the tiles ask
    # without it, the narrative with it). Every caller gets its own copy, its own query.
    key_q = q if metric_id in READS_COMPARE_TO else q.with_(compare_to=None)
    got = v.get(("metric", metric_id, key_q, defs.digest), lambda: m.fn(con, key_q, defs))
    table = None if got.table is None else got.table.copy()
    return replace(got, query=q, table=table)


# The metrics whose answer depends on Query.compare_to: the bridge between two dates,
# and the maturity scorecard (its evidence records the query it was read with). Every
# other metric gives the same answer with or without it (tests/test_memo.py checks each
# registered metric on the demo store).
READS_COMPARE_TO = frozenset({"waterfall", "maturity_scorecard"})


def drill(
    con: duckdb.DuckDBPyConnection, metric_id: str, q: Query, defs: Definitions, **selection: Any
) -> pd.DataFrame:
    """The deals behind a metric (optionally one bar/bucket/cell via `selection`)."""
    m = REGISTRY[metric_id]
    if m.drill is None:
        raise KeyError(f"metric {metric_id!r} has no deal drill-down")
    return m.drill(con, q, defs, **selection)


def current_period(as_of: date, defs: Definitions) -> str:
    return quarter_of(as_of, defs.fiscal_year_start_month).label
