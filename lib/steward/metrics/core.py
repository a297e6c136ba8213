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
class RowScope:
    """The rows one person may see: `dimension in (values)` for each rule, all ANDed.

    Declared in the governed access file (`steward.access`). A scope is a restriction,
    not a filter: it travels inside `Filters` (see `Filters.restricted`), so every
    metric, drill and export that binds the filters binds the scope too. No rules = all.
    """

    label: str = "All deals"
    rules: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, label: str = "", **values: Any) -> RowScope:
        """Build from lists/strings; unknown dimensions raise (they never reach SQL)."""
        rules = Filters.of(**values).items()
        return cls(label or _scope_label(rules), tuple(rules))

    @property
    def is_all(self) -> bool:
        return not self.rules

    def allowed(self, dim: str) -> tuple[str, ...] | None:
        """The values of `dim` the scope allows (None: any value)."""
        return dict(self.rules).get(dim)

    def clauses(
        self, alias: str = "s", dims: tuple[str, ...] = DIMENSIONS
    ) -> list[tuple[str | None, str, list[str] | None]]:
        """(parameter name, condition, values) per rule, as `Filters._clauses` reads them:
        ` and alias.col in (...)`, or ` and false` for a rule on a column the table does
        not have (`dims`): rows that cannot be placed are outside the scope."""
        return [
            (f"s_{dim}", f" and {alias}.{dim} in (select unnest({{p}}::varchar[]))", list(vals))
            if dim in dims
            else (None, " and false", None)
            for dim, vals in self.rules
        ]

    def named_sql(
        self, alias: str = "s", dims: tuple[str, ...] = DIMENSIONS
    ) -> tuple[str, dict[str, Any]]:
        """The scope's clauses alone, with named parameters (`$s_region`)."""
        return Filters(scope=self).named_sql(alias, dims)


def _scope_label(rules: list[tuple[str, tuple[str, ...]]]) -> str:
    """'EMEA only', 'SMB only', 'Region: EMEA · Segment: SMB only', or 'All deals'."""
    if not rules:
        return "All deals"
    if len(rules) == 1:
        return f"{', '.join(rules[0][1])} only"
    return " · ".join(f"{d.title()}: {', '.join(v)}" for d, v in rules) + " only"


ALL = RowScope()


@dataclass(frozen=True)
class Filters:
    """A cut of the deals. Empty tuple = no restriction on that dimension.

    `scope` is who is looking (see `RowScope`): `sql()` always adds its clauses, so a
    filter value outside the scope matches nothing instead of widening the view.
    """

    segment: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()
    product: tuple[str, ...] = ()
    stage: tuple[str, ...] = ()
    scope: RowScope = ALL

    @classmethod
    def of(cls, **values: Any) -> Filters:
        """Build from lists/strings; unknown keys raise (they never reach SQL)."""
        clean: dict[str, Any] = {}
        for key, val in values.items():
            if key not in DIMENSIONS:
                raise ValueError(f"unknown filter {key!r}; allowed: {', '.join(DIMENSIONS)}")
            if val is None or val == "" or val == []:
                continue
            vals = (val,) if isinstance(val, str) else tuple(val)
            clean[key] = tuple(sorted({str(v) for v in vals}))
        return cls(**clean)

    def restricted(self, scope: RowScope) -> Filters:
        """This cut seen through `scope`: each scoped dimension narrowed to the values the
        scope allows (all of them when unfiltered). A filter wholly outside the scope is
        kept as asked, and matches nothing (`outside_scope`), rather than showing more.
        """
        if scope.is_all or scope == self.scope:
            return self
        merged = dict(self.scope.rules)
        for dim, vals in scope.rules:
            merged[dim] = tuple(v for v in merged[dim] if v in vals) if dim in merged else vals
        rules = tuple((d, merged[d]) for d in DIMENSIONS if d in merged)
        label = scope.label if self.scope.is_all else f"{self.scope.label} and {scope.label}"
        combined = RowScope(label, rules) if rules else ALL
        narrowed: dict[str, tuple[str, ...]] = {}
        for dim, allowed in rules:
            mine = getattr(self, dim)
            inside = tuple(v for v in mine if v in allowed)
            narrowed[dim] = inside or mine or allowed
        return replace(self, scope=combined, **narrowed)

    def with_(self, **values: Any) -> Filters:
        """The same cut with some dimensions replaced; the scope stays."""
        fresh = Filters.of(**{**self.as_dict(), **values})
        return replace(fresh, scope=self.scope) if not self.scope.is_all else fresh

    @property
    def outside_scope(self) -> bool:
        """True when the cut and the scope have nothing in common (it matches no row)."""
        for dim, allowed in self.scope.rules:
            mine = getattr(self, dim)
            if not allowed or (mine and not set(mine) & set(allowed)):
                return True
        return False

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(d, getattr(self, d)) for d in DIMENSIONS if getattr(self, d)]

    def _clauses(
        self, alias: str, dims: tuple[str, ...] = DIMENSIONS
    ) -> list[tuple[str | None, str, list[str] | None]]:
        """(parameter name, condition with a `{p}` placeholder, values) for the cut, then
        the scope's: the one place a cut becomes SQL (`named_sql` binds them by name).
        `dims` names the columns the table has; a filter on another
        column is left out (a table such as `leads` that is only cut by some dimensions),
        a scope rule on another column excludes every row."""
        if not alias.isidentifier():
            raise ValueError(f"bad SQL alias {alias!r}")
        cut: list[tuple[str | None, str, list[str] | None]] = [
            (f"f_{dim}", f" and {alias}.{dim} in (select unnest({{p}}::varchar[]))", list(vals))
            for dim, vals in self.items()
            if dim in dims
        ]
        return cut + self.scope.clauses(alias, dims)

    def named_sql(
        self, alias: str = "s", dims: tuple[str, ...] = DIMENSIONS
    ) -> tuple[str, dict[str, Any]]:
        """` and alias.col in (...)` clauses with named list parameters (`$f_segment`,
        then the scope's `$s_region`); the same dimension on two aliases binds the same
        parameter. Every query binds by name (STYLE §13): there is no positional form."""
        clauses = self._clauses(alias, dims)
        sql = "".join(c.format(p=f"${name}") for name, c, _ in clauses)
        return sql, {name: v for name, _, v in clauses if name is not None}

    def describe(self) -> str:
        """'Segment: Enterprise · Region: EMEA, NA' or 'All deals', then the scope."""
        cut = " · ".join(f"{d.title()}: {', '.join(v)}" for d, v in self.items()) or "All deals"
        return cut if self.scope.is_all else f"{cut} · scope: {self.scope.label}"

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
        """A copy with some parameters changed. New filters keep this query's access scope
        (a page that rebuilds the cut cannot drop it); only a fresh Query is unscoped."""
        new = changes.get("filters")
        if new is not None and not self.filters.scope.is_all:
            changes["filters"] = new.restricted(self.filters.scope)
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


def columns_of(metric_id: str, *names: str) -> tuple[Column, ...]:
    """A table metric's declared columns: all of them, or the `names` in that order (a
    consumer that shows some columns still takes their labels and units from here)."""
    if not names:
        return REGISTRY[metric_id].columns
    declared = schema(metric_id)
    missing = [n for n in names if n not in declared]
    if missing:
        raise KeyError(f"metric {metric_id!r} declares no column {', '.join(missing)}")
    return tuple(declared[n] for n in names)


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


def remember(metric_id: str, q: Query, defs: Definitions, result: Result) -> Result:
    """Hand the open view a result computed in a batch (one grouped query answering a
    metric for many quarters or segments), so a later `compute` of that (metric, query)
    in the view is served from it. The batch must give exactly what `compute` would;
    its tests check that. Returns the caller's copy (the result itself, no view open)."""
    v = memo.current()
    if v is None:
        return result
    key_q = q if metric_id in READS_COMPARE_TO else q.with_(compare_to=None)
    got = v.get(("metric", metric_id, key_q, defs.digest), lambda: replace(result, query=key_q))
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
