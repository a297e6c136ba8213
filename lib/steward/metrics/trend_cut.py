"""The KPI trend's sums for any cut, from the period's rows grouped once per store version.

kpi_trend adds up, per snapshot of the period, the open qualified pipeline, its
weighted value, the won amount and the marketing-sourced pipeline, over the rows the
view's filters keep (by each row's own attributes). The filters only choose rows by
the six dimensions, so the period's rows are grouped once per store version by
snapshot and the six dimensions (steward.memo.kept; ~13 snapshots × the distinct
combinations instead of 13 × 510k rows at 31M), and a view adds up the groups its
filters keep.

Money sums are exact: whole cents in int64 added per snapshot, as the SQL's decimal
sums. The weighted pipeline (amount × probability, a double) is the same sum taken
in another order, as DuckDB's parallel sum already may; it is shown to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd

from steward import memo
from steward.definitions import Definitions
from steward.metrics import cuts
from steward.metrics.core import DIMENSIONS, Filters
from steward.periods import Quarter

_KEPT = 4  # periods kept per store version
EPOCH = date(1970, 1, 1)

# The period's rows with what the trend sums (`{dims}`: extra select items, `{where}`:
# extra conditions): read by GROUPS_SQL and by the one-query reference in
# history_changes._trend_sums_sql, which the tests compare with.
SNAPS_CTE = """
    with snaps as (
      select s.snapshot_date, {dims}s.amount, s.is_won,
             coalesce(s.probability,
                      ($stage_probs::double[])
                        [list_position($stage_names::varchar[], s.stage)], 0) as p,
             (not s.is_closed and list_contains($qualified_stages::varchar[], s.stage))
               as is_open_q,
             list_contains($marketing::varchar[], s.source) as is_mkt,
             (s.close_date >= $p_start and s.close_date < $p_end) as in_p
      from snapshots s
      where s.snapshot_date >= $p_start and s.snapshot_date < $p_end{where}
    )
"""

GROUPS_SQL = """{snaps}
    select date_diff('day', date '1970-01-01', snapshot_date) as day, {dims},
           (coalesce(sum(coalesce(amount, 0)) filter (where is_open_q and in_p), 0) * 100)
             ::bigint as open_cents,
           coalesce(sum(coalesce(amount, 0) * p) filter (where is_open_q and in_p), 0)
             as weighted_pipeline,
           (coalesce(sum(coalesce(amount, 0)) filter (where is_won and in_p), 0) * 100)
             ::bigint as won_cents,
           (coalesce(sum(coalesce(amount, 0)) filter (where is_open_q and in_p and is_mkt), 0)
             * 100)::bigint as marketing_cents
    from snaps
    group by all
    order by day
"""


@dataclass(frozen=True)
class Groups:
    """One row per snapshot and combination of dimension values, sorted by snapshot."""

    dates: list[date]  # distinct snapshot dates, ascending
    starts: np.ndarray  # row where each date's groups start (len(dates) + 1 bounds)
    dims: cuts.DimCodes
    open_cents: np.ndarray
    weighted: np.ndarray  # float64
    won_cents: np.ndarray
    marketing_cents: np.ndarray


def marketing_sources(con: duckdb.DuckDBPyConnection, qt: Quarter, defs: Definitions) -> list[str]:
    """The raw source values of the period that the governed marketing match accepts."""
    sources = con.execute(
        "select distinct source from snapshots where snapshot_date >= $p_start "
        "and snapshot_date < $p_end and source is not null",
        {"p_start": qt.start, "p_end": qt.end},
    ).fetchall()
    return [r[0] for r in sources if defs.is_marketing(r[0])]


def group_params(qt: Quarter, defs: Definitions, marketing: list[str]) -> dict[str, object]:
    return {
        "stage_probs": [s.probability for s in defs.stages],
        "stage_names": [s.name for s in defs.stages],
        "qualified_stages": [s.name for s in defs.open_stages if s.rank >= defs.qualified_rank],
        "marketing": marketing,
        "p_start": qt.start,
        "p_end": qt.end,
    }


def groups(con: duckdb.DuckDBPyConnection, qt: Quarter, defs: Definitions) -> Groups:
    def read() -> Groups:
        sql = GROUPS_SQL.format(
            snaps=SNAPS_CTE.format(dims="".join(f"s.{d}, " for d in DIMENSIONS), where=""),
            dims=", ".join(DIMENSIONS),
        )
        params = group_params(qt, defs, marketing_sources(con, qt, defs))
        frame = con.execute(sql, params).df()
        values: dict[str, tuple[str, ...]] = {}
        codes: dict[str, np.ndarray] = {}
        for d in DIMENSIONS:
            code, uniques = pd.factorize(frame[d], use_na_sentinel=True)
            values[d] = tuple(str(u) for u in uniques)
            codes[d] = (code + 1).astype(cuts.code_dtype(values[d]))
        day = frame["day"].to_numpy(dtype=np.int64)
        distinct = np.unique(day)
        return Groups(
            [EPOCH + timedelta(days=int(x)) for x in distinct],
            np.append(np.searchsorted(day, distinct), len(day)),
            cuts.DimCodes(values, codes),
            frame["open_cents"].to_numpy(dtype=np.int64),
            frame["weighted_pipeline"].to_numpy(dtype=np.float64),
            frame["won_cents"].to_numpy(dtype=np.int64),
            frame["marketing_cents"].to_numpy(dtype=np.int64),
        )

    got: Groups = memo.kept(con, "trend.groups", (qt.start, qt.end, defs.digest), read, _KEPT)
    return got


def sums(
    g: Groups, filters: Filters, as_of: date
) -> list[tuple[date, Decimal, float, Decimal, Decimal]]:
    """(snapshot, open, weighted, won, marketing) per snapshot up to as_of with a kept row,
    as the SQL's `group by snapshot_date` over the filtered rows gives them."""
    keep = g.dims.mask(filters, len(g.open_cents))
    out = []
    for i, d in enumerate(g.dates):
        if d > as_of:
            break
        a, b = int(g.starts[i]), int(g.starts[i + 1])
        sel: slice | np.ndarray = slice(a, b)
        if keep is not None:
            sel = np.flatnonzero(keep[a:b]) + a
            if not len(sel):
                continue
        out.append(
            (
                d,
                Decimal(int(g.open_cents[sel].sum())).scaleb(-2),
                float(g.weighted[sel].sum()),
                Decimal(int(g.won_cents[sel].sum())).scaleb(-2),
                Decimal(int(g.marketing_cents[sel].sum())).scaleb(-2),
            )
        )
    return out
