"""Open pipeline cut by two dimensions: the drilldown page's matrix, as a metric.

It used to be a pandas groupby over the open-pipeline drill inside the dashboard, so the
matrix existed only on screen. As a metric it is one SQL `group by` over the same cut
as `open_pipeline` (so its cells sum to that number, to the cent), the CLI and the
exports can ask for it, and its drill returns the deals of one cell.

The two dimensions come from the query's options (`rows`, `cols`, default segment ×
stage), checked against the DIMENSIONS whitelist before they name a column. A missing
value is shown as '(blank)'; rows == cols gives one column, 'All'.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from steward.definitions import Definitions
from steward.metrics import deals
from steward.metrics.asof import open_in_period_cut
from steward.metrics.core import DIMENSIONS, Column, Query, Result, drill_for, metric

BLANK = "(blank)"


def axes(q: Query) -> tuple[str, str]:
    """(rows, cols) from the query's options, each a whitelisted dimension."""
    rows, cols = q.option("rows", "segment"), q.option("cols", "stage")
    for dim in (rows, cols):
        if dim not in DIMENSIONS:
            raise ValueError(f"breakdown dimension {dim!r}; allowed: {', '.join(DIMENSIONS)}")
    return rows, cols


def _key(dim: str) -> str:
    return f"coalesce(s.{dim}::varchar, '{BLANK}')"


@metric(
    "open_pipeline_matrix",
    label="Open pipeline by two dimensions",
    description="Open qualified pipeline closing in the period, by a row and a column "
    "dimension (default segment × stage); its cells add up to open pipeline.",
    formula="Σ amount and count of open_pipeline deals, group by (rows, cols)",
    unit="table",
    columns=(
        Column("amount", "Open pipeline", "usd", "Σ amount of the cell's deals"),
        Column("count", "Deals", "count"),
    ),
)
def open_pipeline_matrix(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    rows, cols = axes(q)
    cut = open_in_period_cut(q, defs)
    col_key = _key(cols) if rows != cols else "'All'"
    col_name = cols if rows != cols else "all"
    sql = f"""
        with scoped as (
            select {_key(rows)} as row_key, {col_key} as col_key, s.amount
            from snapshots s
            where s.snapshot_date = $as_of{cut.sql}
        ),
        cells as (
            select row_key, col_key,
                   coalesce(sum(amount), 0)::decimal(18,2) as amount,
                   count(*) as count
            from scoped
            group by row_key, col_key
        )
        select row_key, col_key, amount::double as amount, count from cells
        order by row_key, col_key
    """  # noqa: S608 - column names from the DIMENSIONS whitelist, values bound
    frame = con.execute(sql, {"as_of": q.as_of, **cut.params}).df()
    table = frame.rename(columns={"row_key": rows, "col_key": col_name})
    table["count"] = table["count"].astype("int64")
    return Result("open_pipeline_matrix", q, table=table.reset_index(drop=True))


@drill_for("open_pipeline_matrix")
def matrix_cell_deals(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    row: str | None = None,
    col: str | None = None,
    **_: Any,
) -> pd.DataFrame:
    """The deals of one cell (`row`, `col`), or of one row, or all of them."""
    rows, cols = axes(q)
    cut = open_in_period_cut(q, defs)
    if row is not None:
        cut = cut.and_(f"{_key(rows)} = $row_key", {"row_key": row})
    if col is not None and rows != cols:
        cut = cut.and_(f"{_key(cols)} = $col_key", {"col_key": col})
    return deals.deal_list(con, defs, q.as_of, cut.sql, cut.params)
