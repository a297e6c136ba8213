"""Per-source history the plan builds on: win rate by value, bookings mix, sales cycle.

Read from the metric layer (`win_rate_value`, `sales_cycle_days`) for each of the last
`LOOKBACK_QUARTERS` fiscal quarters that ended by the as-of date, one source at a time,
and pooled: win rate = Σ won / Σ (won + lost) amount over the quarters; mix = the
source's share of all won amount; cycle = mean days created → close of the won deals
(Σ deals × mean / Σ deals). Pooling amounts (not averaging quarterly rates) keeps a
quiet quarter from weighing as much as a busy one.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from steward.definitions import Definitions
from steward.metrics.core import Filters, Query, compute
from steward.periods import Quarter, quarter_of

LOOKBACK_QUARTERS = 4

_SOURCES_SQL = """
with deals as (
  select distinct s.source
  from snapshots s
  where s.snapshot_date = $as_of and s.source is not null and s.source <> ''{scope}
)
select source from deals order by source
"""


@dataclass(frozen=True)
class SourceHistory:
    source: str
    won_amount: float  # pooled over the lookback quarters
    lost_amount: float
    won_deals: int
    cycle_days: float | None  # mean created -> close of won deals

    @property
    def win_rate(self) -> float | None:
        total = self.won_amount + self.lost_amount
        return self.won_amount / total if total > 0 else None


def lookback(as_of: Quarter | None, q: Query, defs: Definitions) -> list[Quarter]:
    """The last LOOKBACK_QUARTERS fiscal quarters that ended on or before the as-of date."""
    here = as_of or quarter_of(q.as_of, defs.fiscal_year_start_month)
    return [here.shift(-k) for k in range(LOOKBACK_QUARTERS, 0, -1)]


def sources(con: duckdb.DuckDBPyConnection, q: Query) -> list[str]:
    """Sources in the as-of snapshot (or the source filter, when one is set)."""
    if q.filters.source:
        return list(q.filters.source)
    # Only the sources of the rows the viewer's access scope allows (steward.access).
    ssql, sparams = q.filters.scope.named_sql("s")
    rows = con.execute(_SOURCES_SQL.format(scope=ssql), {"as_of": q.as_of, **sparams}).fetchall()
    return [str(r[0]) for r in rows]


def with_source(f: Filters, source: str) -> Filters:
    values = f.as_dict()
    values["source"] = [source]
    return Filters.of(**values)


def source_history(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> list[SourceHistory]:
    """One pooled row per source over the lookback quarters (filters other than source kept)."""
    out: list[SourceHistory] = []
    quarters = lookback(None, q, defs)
    for src in sources(con, q):
        won = lost = days_x_deals = 0.0
        deals = 0
        for k in quarters:
            sq = q.with_(period=k.label, filters=with_source(q.filters, src), options=())
            wr = compute(con, "win_rate_value", sq, defs).table
            if wr is not None and len(wr):
                won += float(wr["won_amount"].iloc[0] or 0)
                lost += float(wr["lost_amount"].iloc[0] or 0)
            cyc = compute(con, "sales_cycle_days", sq, defs).table
            if cyc is not None and len(cyc) and int(cyc["deals"].iloc[0] or 0) > 0:
                n = int(cyc["deals"].iloc[0])
                deals += n
                days_x_deals += n * float(cyc["mean_days"].iloc[0])
        out.append(
            SourceHistory(
                src, round(won, 2), round(lost, 2), deals, days_x_deals / deals if deals else None
            )
        )
    return out
