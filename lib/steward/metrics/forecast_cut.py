"""The forecasts' rows of a snapshot, read once per store version and cut per view.

The historical forecast of (S, P) reads, in snapshot S, the open deals of P and two
sums (won to date in P, the whole open pipeline); the backtest reads the same at six
past quarters' week-N snapshots, with the commit, best-case and stage-weighted sums of
those rows, and each quarter's actual won at the first snapshot after it ended. Only
the filters depend on the view. So where answers are kept per store version
(`cuts.kept_here`), the rows of (S, P) that any of these reads — every row not closed,
and the won rows closing in P — are read once per store version, pair and definitions
(steward.memo.kept), with the dimensions as codes, and each view masks them in numpy:
at 10.8M rows the backtest's four queries for a new cut (~50 ms) become a few masks.

The same answers as the SQL (`forecast._OPEN_SQL`, `_SUMS_SQL`, `_OTHERS_MANY_SQL`),
which stays the path of one-off callers and the reference of the tests:
- rows in opportunity_id order, as the SQL orders the open deals (the simulation's
  draws follow that order), and a mask keeps the order;
- amounts as whole cents in int64: the sums are exact, as DuckDB's decimal sums, and an
  open deal's amount is `cents / 100` in doubles, as DuckDB casts a DECIMAL(18,2);
- the stage-weighted sum is the correctly rounded sum (math.fsum) of each row's
  `amount × probability` in doubles. The SQL's sum of doubles, whose order follows the
  scan, can differ from it in the last bits: the rounded cent differs only when the sum
  lies within that of a half cent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np

from steward import memo
from steward.definitions import Definitions
from steward.metrics import cuts
from steward.metrics.asof import category_sql, probability_sql
from steward.metrics.core import Filters
from steward.periods import Quarter
from steward.sqlbind import merge

WON_IN_P = 1  # closed won with a close date in P
OPEN = 2  # not closed (any stage): the commit, best-case and weighted methods' open rows
OPEN_GOV = 4  # not closed, in a governed open stage: the historical method's open deals
IN_P = 8  # close date in P
COMMIT = 16  # forecast category in the commit roll-up
BEST = 32  # ... in the best-case roll-up
_KEPT = 24  # (snapshot, period) pairs kept per store version: a backtest reads 12

Pair = tuple[date, Quarter]


@dataclass(frozen=True)
class Rows:
    """The rows of one (snapshot, period) the forecasts read, by opportunity_id."""

    dims: cuts.DimCodes
    ids: np.ndarray  # opportunity_id, object
    cents: np.ndarray  # int64, null amount = 0
    bits: np.ndarray  # int8, the flags above
    prob: np.ndarray  # float64: the deal's probability, or its stage's default

    def keep(self, filters: Filters) -> np.ndarray | None:
        return self.dims.mask(filters, len(self.cents))


_ROWS_SQL = """
with pairs as (
  select unnest($ks::integer[]) as k, unnest($as_ofs::date[]) as as_of,
         unnest($p_starts::date[]) as p_start, unnest($p_ends::date[]) as p_end
),
r as (
  select p.k, s.*, s.close_date >= p.p_start and s.close_date < p.p_end as in_p
  from snapshots s
  join pairs p on s.snapshot_date = p.as_of
  where s.snapshot_date in ({dates_in})
)
select s.k, s.opportunity_id, {codes},
       (coalesce(s.amount, 0) * 100)::bigint as cents,
       ((case when s.is_won and s.in_p then {won} else 0 end)
        + (case when not s.is_closed then {open} else 0 end)
        + (case when not s.is_closed and list_contains($open_stages::varchar[], s.stage)
                then {open_gov} else 0 end)
        + (case when s.in_p then {in_p} else 0 end)
        + (case when {commit} then {commit_bit} else 0 end)
        + (case when {best} then {best_bit} else 0 end))::tinyint as bits,
       {probability} as prob
from r s
where not s.is_closed or (s.is_won and s.in_p)
order by s.k, s.opportunity_id
"""


def rows_of(con: duckdb.DuckDBPyConnection, pairs: Sequence[Pair], defs: Definitions) -> list[Rows]:
    """Each (snapshot, period) pair's rows, kept per store version; the pairs not kept
    yet are read together in one query."""
    keys = [(d, p.start, p.end, defs.digest) for d, p in pairs]
    shared = memo.by_store(con, "forecast_cut.rows") or {}
    todo = {k: pair for k, pair in zip(keys, pairs, strict=True) if k not in shared}
    fresh = dict(zip(todo, _read(con, list(todo.values()), defs), strict=True)) if todo else {}

    def one(key: tuple[Any, ...], pair: Pair) -> Rows:
        got: Rows = memo.kept(
            con,
            "forecast_cut.rows",
            key,
            lambda: fresh[key] if key in fresh else _read(con, [pair], defs)[0],
            _KEPT,
        )
        return got

    return [one(k, pair) for k, pair in zip(keys, pairs, strict=True)]


def _read(con: duckdb.DuckDBPyConnection, pairs: list[Pair], defs: Definitions) -> list[Rows]:
    dates = sorted({d for d, _ in pairs})
    in_dates = {f"d_{i}": d for i, d in enumerate(dates)}
    dates_in = ", ".join(f"${n}" for n in in_dates)
    values, _ = cuts.distinct_values(
        con, f"from snapshots s where s.snapshot_date in ({dates_in})", in_dates
    )
    psql, pparams = probability_sql("s", defs)
    commit_sql, commit_params = category_sql("s", defs.commit_categories, "commit_categories")
    best_sql, best_params = category_sql("s", defs.best_case_categories, "best_case_categories")
    sql = _ROWS_SQL.format(
        dates_in=dates_in,
        codes=cuts.code_sql("s"),
        commit=commit_sql,
        best=best_sql,
        probability=psql,
        won=WON_IN_P,
        open=OPEN,
        open_gov=OPEN_GOV,
        in_p=IN_P,
        commit_bit=COMMIT,
        best_bit=BEST,
    )
    params = merge(
        {
            "ks": list(range(len(pairs))),
            "as_ofs": [d for d, _ in pairs],
            "p_starts": [p.start for _, p in pairs],
            "p_ends": [p.end for _, p in pairs],
            "open_stages": [s.name for s in defs.open_stages],
            **in_dates,
        },
        cuts.code_params(values),
        pparams,
        commit_params,
        best_params,
    )
    frame = con.execute(sql, params).fetchnumpy()
    ks = np.asarray(frame["k"])
    bounds = np.searchsorted(ks, np.arange(len(pairs) + 1))  # rows are ordered by k
    dims = cuts.dim_codes(values, frame)
    ids = np.asarray(frame["opportunity_id"], dtype=object)
    cents = np.asarray(frame["cents"], dtype=np.int64)
    bits = np.asarray(frame["bits"], dtype=np.int8)
    prob = np.asarray(frame["prob"], dtype=np.float64)
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        part = cuts.DimCodes(values, {d: c[a:b] for d, c in dims.codes.items()})
        out.append(Rows(part, ids[a:b], cents[a:b], bits[a:b], prob[a:b]))
    return out


def _dollars(cents: int) -> Decimal:
    """Whole cents as the exact Decimal DuckDB's decimal(18,2) sum gives."""
    return Decimal(cents).scaleb(-2)


def _select(rows: Rows, keep: np.ndarray | None, need: int) -> np.ndarray:
    """The kept rows carrying every flag of `need`, as a mask."""
    sel = (rows.bits & need) == need
    if keep is not None:
        sel &= keep
    return sel


def _sum(rows: Rows, keep: np.ndarray | None, need: int) -> int:
    """Σ cents of the kept rows carrying every flag of `need`."""
    return int(rows.cents[_select(rows, keep, need)].sum())


def reads(rows: Rows, filters: Filters) -> tuple[dict[str, np.ndarray], tuple[Decimal, Decimal]]:
    """What the historical forecast reads at (S, P) for the cut: the open deals of P
    (columns of `forecast._OPEN_SQL`, in its order) and (won to date, whole open
    pipeline), exact decimals as `forecast._SUMS_SQL`."""
    keep = rows.keep(filters)
    sel = _select(rows, keep, OPEN_GOV | IN_P)
    stages = np.array([None, *rows.dims.values["stage"]], dtype=object)
    segments = np.array(["", *rows.dims.values["segment"]], dtype=object)
    cols = {
        "opportunity_id": rows.ids[sel],
        "stage": stages[rows.dims.codes["stage"][sel]],
        "segment": segments[rows.dims.codes["segment"][sel]],
        "amount": rows.cents[sel] / 100.0,
    }
    return cols, _sums(rows, keep)


def sums(rows: Rows, filters: Filters) -> tuple[Decimal, Decimal]:
    """(won to date in P, whole open pipeline) at S for the cut, as `_SUMS_SQL`."""
    return _sums(rows, rows.keep(filters))


def _sums(rows: Rows, keep: np.ndarray | None) -> tuple[Decimal, Decimal]:
    return _dollars(_sum(rows, keep, WON_IN_P)), _dollars(_sum(rows, keep, OPEN_GOV))


def others(rows: Rows, filters: Filters) -> tuple[Decimal, Decimal, Decimal, float]:
    """(won to date, commit open, best-case open, stage-weighted open) for the cut, as
    `forecast._OTHERS_MANY_SQL` reads them for one pair."""
    keep = rows.keep(filters)
    sel = _select(rows, keep, OPEN | IN_P)
    weighted = math.fsum((rows.cents[sel] / 100.0 * rows.prob[sel]).tolist())
    return (
        _dollars(_sum(rows, keep, WON_IN_P)),
        _dollars(_sum(rows, keep, OPEN | IN_P | COMMIT)),
        _dollars(_sum(rows, keep, OPEN | IN_P | BEST)),
        weighted,
    )
