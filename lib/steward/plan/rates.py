"""Per-source history the plan builds on: win rate by value, bookings mix, sales cycle.

The figures of `win_rate_value` and `sales_cycle_days` for each source and each of the
last `LOOKBACK_QUARTERS` fiscal quarters that ended by the as-of date (read by one
grouped query, not one metric call per source and quarter), pooled: win rate = Σ won / Σ (won + lost) amount over the quarters; mix = the
source's share of all won amount; cycle = mean days created → close of the won deals
(Σ deals × mean / Σ deals). Pooling amounts (not averaging quarterly rates) keeps a
quiet quarter from weighing as much as a busy one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import duckdb

from steward.definitions import Definitions
from steward.metrics.core import Filters, Query, compute
from steward.metrics.history_sql import (
    ZERO,
    Sql,
    add_cut,
    add_ranks,
    add_reach,
    add_state,
    dec,
    qualified_reach_sql,
    quarter_case_sql,
)
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
    """One pooled row per source over the lookback quarters (filters other than source kept).

    Per source and quarter the figures are `win_rate_value`'s won / lost amounts and
    `sales_cycle_days`' deals and mean for that quarter with the source filter, read by
    one grouped query (`_quarter_figures`) instead of two metric calls per source and
    quarter; pooled in the same order, so the sums are the same to the last bit
    (`source_history_by_metrics` is the reference the tests compare with)."""
    out: list[SourceHistory] = []
    quarters = lookback(None, q, defs)
    names = sources(con, q)
    figures = _quarter_figures(con, q, defs, quarters) if names else {}
    for src in names:
        won = lost = days_x_deals = 0.0
        deals = 0
        for i in range(len(quarters)):
            won_q, lost_q, n, cycle_sum = figures.get((i, src), (ZERO, ZERO, 0, 0))
            won += float(won_q or 0)
            lost += float(lost_q or 0)
            if n > 0:
                deals += n
                days_x_deals += n * (float(cycle_sum) / n)
        out.append(
            SourceHistory(
                src, round(won, 2), round(lost, 2), deals, days_x_deals / deals if deals else None
            )
        )
    return out


def source_history_by_metrics(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> list[SourceHistory]:
    """`source_history` the slow way, through the metric layer one source and quarter at
    a time: the reference the grouped query is tested against."""
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


def _quarter_figures(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, quarters: list[Quarter]
) -> dict[tuple[int, str], tuple[Decimal, Decimal, int, int]]:
    """{(quarter index, source): (won amount, qualified lost amount, won deals, Σ cycle
    days of the won deals)} for the deals closed in each quarter, by their state at
    as_of, cut by q's filters other than source and split by the latest source.

    The same rows as `win_rate_value` (closed in the quarter; lost ones counted when
    qualified, per the governed reading of deals never seen open) and
    `sales_cycle_days` (won in the quarter; created, or first seen, to close date)."""
    cq = q.with_(filters=q.filters.with_(source=[]), options=())
    sql = add_ranks(Sql(), defs)
    add_state(sql, con, q.as_of)
    add_cut(sql, cq)
    # only the deals closed in the lookback need their reach
    closed = (
        "select opp_key from state where is_closed and close_date >= $c_min and close_date < $c_max"
    )
    add_reach(sql, q.as_of, among=closed)
    reach_sql, reach_params = qualified_reach_sql(defs)
    which, bounds = quarter_case_sql("st.close_date", quarters, "c")
    sql.cte(
        "closed",
        f"""
        select {which} as period_idx, f.source, st.is_closed, st.is_won,
               coalesce(st.amount, 0) as amount,
               st.is_won or {reach_sql} >= $qualified_rank as qualified,
               st.close_date - coalesce(f.created_date, f.first_seen) as cycle_days
        from state st
        join cut using (opp_key)
        join opp_facts f using (opp_key)
        left join reach rc using (opp_key)
        where (st.is_closed or st.is_won) and f.source is not null
          and st.close_date >= $c_min and st.close_date < $c_max
        """,  # noqa: S608 - fixed text
        {
            **reach_params,
            **bounds,
            "qualified_rank": defs.qualified_rank,
            "c_min": min(qt.start for qt in quarters),
            "c_max": max(qt.end for qt in quarters),
        },
    )
    rows = sql.run(
        con,
        """
        select period_idx, source,
               coalesce(sum(amount) filter (where is_closed and is_won), 0),
               coalesce(sum(amount) filter (where is_closed and qualified and not is_won), 0),
               count(*) filter (where is_won),
               coalesce(sum(cycle_days) filter (where is_won), 0)
        from closed
        where period_idx is not null
        group by period_idx, source
        """,
    ).fetchall()
    return {(int(r[0]), str(r[1])): (dec(r[2]), dec(r[3]), int(r[4]), int(r[5])) for r in rows}
