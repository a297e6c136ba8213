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

    def _clauses(self, alias: str) -> list[tuple[str, str, list[str]]]:
        """(dimension, condition with a `{p}` placeholder for its parameter, values): the one
        place a cut becomes SQL; `sql` and `named_sql` only choose how parameters bind."""
        if not alias.isidentifier():
            raise ValueError(f"bad SQL alias {alias!r}")
        return [
            (dim, f" and {alias}.{dim} in (select unnest({{p}}::varchar[]))", list(vals))
            for dim, vals in self.items()
        ]

    def sql(self, alias: str = "s") -> tuple[str, list[Any]]:
        """` and alias.col in (...)` clauses with bound positional (`?`) list parameters."""
        clauses = self._clauses(alias)
        return "".join(c.format(p="?") for _, c, _ in clauses), [v for _, _, v in clauses]

    def named_sql(self, alias: str = "s") -> tuple[str, dict[str, Any]]:
        """The same clauses with named parameters (`$f_segment`), for queries that bind by
        name; the same dimension on two aliases binds the same parameter."""
        clauses = self._clauses(alias)
        sql = "".join(c.format(p=f"$f_{dim}") for dim, c, _ in clauses)
        return sql, {f"f_{dim}": v for dim, _, v in clauses}

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
class Column:
    """One column of a table metric, declared with the metric: every consumer (the page's
    table, the workbook, the pack, the glossary) reads its label and unit from here.

    `unit` is a `steward.fmt` unit (usd, count, ratio, multiple, days, score, date) or
    None for words. How exact to show a usd column (rounded or to the cent) is the
    reader's choice; what the column *is* is declared once.
    """

    name: str
    label: str
    unit: str | None = None
    description: str = ""


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
    columns: tuple[Column, ...] = ()  # a table metric's columns (unit == "table")


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
    columns: tuple[Column, ...] = (),
) -> Callable[[MetricFn], MetricFn]:
    """Declare a metric once, next to the function that computes it (a table metric
    with its `columns`)."""

    def wrap(fn: MetricFn) -> MetricFn:
        if id in REGISTRY:
            raise ValueError(f"metric {id!r} declared twice")
        REGISTRY[id] = Metric(
            id, label, description, formula, unit, scope, fn, dims, columns=columns
        )
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


def schema(metric_id: str) -> dict[str, Column]:
    """A table metric's declared columns by name (empty when it declares none)."""
    return {c.name: c for c in REGISTRY[metric_id].columns}


def compute(con: duckdb.DuckDBPyConnection, metric_id: str, q: Query, defs: Definitions) -> Result:
    """Compute one metric by id. Raises KeyError for an unknown id."""
    try:
        m = REGISTRY[metric_id]
    except KeyError:
        raise KeyError(f"unknown metric {metric_id!r}; see `steward metrics --list`") from None
    return m.fn(con, q, defs)


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
