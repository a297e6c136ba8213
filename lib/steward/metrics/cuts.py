"""Filters applied in memory to rows whose dimensions are read as small integer codes.

Some answers are the same work for every cut of the deals, then a cut: the trust checks
of one snapshot, the completed stage stays behind the stalled deals, the KPI trend's
sums. Where the store memo is on (`kept_here`) those read their rows once per store
version (steward.memo.kept) with each dimension as a code into
the distinct values (`code_sql`), and each view keeps the rows its filters keep with
`mask`: the same `dim in (values)` for the cut and the access scope, ANDed, that
`Filters.named_sql` writes, and a null (code 0) never matches, as `null in (...)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from steward import memo
from steward.metrics.core import DIMENSIONS, Filters


def kept_here(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether answers are kept per store version for this store (the app and the
    benchmark turn it on, steward.memo): only then does reading every row once for the
    cuts to come pay. A one-off call (the CLI, a library caller) runs the one query for
    its own cut, which is cheaper once."""
    return memo.by_store(con, "cuts.kept_here") is not None


@dataclass(frozen=True)
class DimCodes:
    """Per dimension, the distinct values and each row's code (0 = null, i = values[i-1])."""

    values: dict[str, tuple[str, ...]]
    codes: dict[str, np.ndarray]

    def mask(self, filters: Filters, rows: int) -> np.ndarray | None:
        """The rows the filters and the access scope keep (None: every row)."""
        rules = [*filters.items(), *filters.scope.rules]
        if not rules:
            return None
        keep = np.ones(rows, dtype=bool)
        for dim, wanted in rules:
            allowed = set(wanted)
            table = np.array([False, *(v in allowed for v in self.values[dim])], dtype=bool)
            keep &= table[self.codes[dim]]
        return keep


def distinct_values(
    con: duckdb.DuckDBPyConnection, source: str, params: dict[str, Any], extra: str = ""
) -> tuple[dict[str, tuple[str, ...]], tuple[Any, ...]]:
    """The distinct values of every dimension in `source` (a `from ... where ...` over the
    alias `s`, fixed text), and the values of `extra` select items after them."""
    lists = ", ".join(f"list(distinct s.{d} order by s.{d})" for d in DIMENSIONS)
    more = f", {extra}" if extra else ""
    got = con.execute(f"select {lists}{more} {source}", params).fetchall()[0]  # noqa: S608
    n = len(DIMENSIONS)
    values = {d: tuple(v or ()) for d, v in zip(DIMENSIONS, got[:n], strict=True)}
    return values, tuple(got[n:])


def code_sql(alias: str) -> str:
    """Select items `c_<dim>`: the code of `alias.<dim>` in the bound `$v_<dim>` list."""
    return ", ".join(
        f"coalesce(list_position($v_{d}::varchar[], {alias}.{d}), 0)::integer as c_{d}"
        for d in DIMENSIONS
    )


def code_params(values: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    return {f"v_{d}": list(values[d]) for d in DIMENSIONS}


def dim_codes(values: dict[str, tuple[str, ...]], frame: dict[str, Any]) -> DimCodes:
    """The codes of a fetched frame (`fetchnumpy`) holding the `code_sql` columns (int16
    while the values fit: at 510k rows a snapshot's six columns take 6 MB)."""
    return DimCodes(
        values, {d: np.asarray(frame[f"c_{d}"], dtype=code_dtype(values[d])) for d in DIMENSIONS}
    )


def code_dtype(values: tuple[str, ...]) -> type[np.signedinteger[Any]]:
    return np.int16 if len(values) < np.iinfo(np.int16).max else np.int32


@dataclass(frozen=True)
class Latest:
    """The latest attributes of every deal as codes, row = opp_key (code 0 for a key
    with no facts: it fails every filter, as the SQL's join on the cut does)."""

    dims: DimCodes
    size: int


def latest(con: duckdb.DuckDBPyConnection) -> Latest:
    """Every deal's latest attributes (`opp_facts`), kept per store version: the cut of
    the history metrics, which filter deals by them (`history_sql.add_cut`)."""

    def read() -> Latest:
        values, (top,) = distinct_values(
            con, "from opp_facts s", {}, "(select max(k.opp_key) from opp_keys k)"
        )
        size = int(top or 0) + 1
        frame = con.execute(
            f"select s.opp_key, {code_sql('s')} from opp_facts s",  # noqa: S608
            code_params(values),
        ).fetchnumpy()
        keys = np.asarray(frame["opp_key"], dtype=np.int64)
        codes = {}
        for d, col in dim_codes(values, frame).codes.items():
            dense = np.zeros(size, dtype=col.dtype)
            dense[keys] = col
            codes[d] = dense
        return Latest(DimCodes(values, codes), size)

    got: Latest = memo.kept(con, "cuts.latest", "all", read, 1)
    return got
