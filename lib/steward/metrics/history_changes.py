"""History-wide metrics over consecutive snapshot pairs: the weekly waterfall trend,
slippage, push counts, and the trend of the headline KPIs across the snapshots of P.

The bridges read `opp_changes` (only the deals that changed between two snapshots);
the KPI trend reads the raw snapshots of the period (at most ~13 weekly snapshots).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from steward.definitions import Definitions
from steward.metrics import cuts, trend_cut
from steward.metrics.core import Column, Query, Result, metric
from steward.metrics.deals import deal_schema
from steward.metrics.history_sql import (
    ZERO,
    Sql,
    add_cut,
    add_ranks,
    add_state,
    dec,
    quarter_index_sql,
    ratio,
)
from steward.metrics.targets import target_for
from steward.sqlbind import merge

# BRIEF §4 order and kinds.
BUCKETS: tuple[tuple[str, str], ...] = (
    ("Start", "start"),
    ("Won", "leaving"),
    ("Lost", "leaving"),
    ("Pushed out", "leaving"),
    ("Disqualified", "leaving"),
    ("Removed", "leaving"),
    ("New", "entering"),
    ("Pulled in", "entering"),
    ("Qualified", "entering"),
    ("Reopened", "entering"),
    ("Increased", "change"),
    ("Decreased", "change"),
    ("End", "end"),
)

_CLASSIFY = """
select c.from_date, c.to_date,
  case
    when a_in and not b_in then
      case when c.present_b and c.won_b then 'Won'
           when c.present_b and c.closed_b then 'Lost'
           when c.present_b and not coalesce(c.close_b >= $p_start and c.close_b < $p_end, false)
             then 'Pushed out'
           when c.present_b then 'Disqualified'
           else 'Removed' end
    when b_in and not a_in then
      case when not c.present_a then 'New'
           when not coalesce(c.close_a >= $p_start and c.close_a < $p_end, false) then 'Pulled in'
           when not c.closed_a then 'Qualified'
           else 'Reopened' end
    when a_in and b_in and coalesce(c.amount_b, 0) > coalesce(c.amount_a, 0) then 'Increased'
    when a_in and b_in and coalesce(c.amount_b, 0) < coalesce(c.amount_a, 0) then 'Decreased'
  end as bucket,
  case when a_in and b_in then coalesce(c.amount_b, 0) - coalesce(c.amount_a, 0)
       when a_in then -coalesce(c.amount_a, 0)
       else coalesce(c.amount_b, 0) end as amount
from flagged c
"""


def _pairs(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> list[tuple[date, date]]:
    """Consecutive loaded snapshot pairs (A, B) with B in P and B <= as_of."""
    qt = q.quarter(defs)
    rows = con.execute(
        """
        with d as (
          select snapshot_date, lag(snapshot_date) over (order by snapshot_date) as prev
          from derived_dates
        )
        select prev, snapshot_date from d
        where prev is not null and snapshot_date >= $p_start and snapshot_date < $p_end
          and snapshot_date <= $as_of
        order by snapshot_date
        """,
        {"p_start": qt.start, "p_end": qt.end, "as_of": q.as_of},
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _start(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, at: date
) -> tuple[Decimal, int]:
    """Open pipeline (amount, count) in P at the loaded snapshot `at`, latest-attribute
    filters (read from the raw snapshot: one date, found by zone maps)."""
    qt = q.quarter(defs)
    qualified = [s.name for s in defs.open_stages if s.rank >= defs.qualified_rank]
    fsql, fparams = q.filters.named_sql("f")
    join = " join opp_facts f on f.opportunity_id = s.opportunity_id" if fsql else ""
    row = con.execute(
        f"""
        select coalesce(sum(coalesce(s.amount, 0)), 0), count(*)
        from snapshots s{join}
        where s.snapshot_date = $at and not coalesce(s.is_closed, false)
          and list_contains($qualified_stages::varchar[], s.stage)
          and s.close_date >= $p_start and s.close_date < $p_end{fsql}
        """,  # noqa: S608 - filter clause from whitelisted dimensions
        {"at": at, "qualified_stages": qualified, "p_start": qt.start, "p_end": qt.end, **fparams},
    ).fetchall()[0]
    return dec(row[0]), int(row[1])


def bridge_rows(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> list[dict[str, Any]]:
    """One waterfall per consecutive pair in P: rows (from_date, to_date, bucket, kind,
    amount, count), in BRIEF order; each pair's End is the next pair's Start."""
    pairs = _pairs(con, q, defs)
    if not pairs:
        return []
    qt = q.quarter(defs)
    sql = add_ranks(Sql(), defs)
    add_cut(sql, q)
    sql.cte(
        "flagged",
        """
        select c.*,
          coalesce(c.present_a and not c.closed_a and ra.reach_rank >= $qualified_rank
                   and c.close_a >= $p_start and c.close_a < $p_end, false) as a_in,
          coalesce(c.present_b and not c.closed_b and rb.reach_rank >= $qualified_rank
                   and c.close_b >= $p_start and c.close_b < $p_end, false) as b_in
        from opp_changes c
        join cut using (opp_key)
        left join ranks ra on ra.stage = c.stage_a
        left join ranks rb on rb.stage = c.stage_b
        where c.to_date >= $first_to and c.to_date <= $last_to and c.from_date is not null
        """,
        {
            "qualified_rank": defs.qualified_rank,
            "p_start": qt.start,
            "p_end": qt.end,
            "first_to": pairs[0][1],
            "last_to": pairs[-1][1],
        },
    )
    sql.cte("classified", _CLASSIFY, {"p_start": qt.start, "p_end": qt.end})
    got = sql.run(
        con,
        """
        select from_date, to_date, bucket, sum(amount) as amount, count(*) as deals
        from classified where bucket is not null
        group by all
        """,
    ).fetchall()
    by = {(r[1], r[2]): (dec(r[3]), int(r[4])) for r in got}
    start_amt, start_n = _start(con, q, defs, pairs[0][0])
    out: list[dict[str, Any]] = []
    for a, b in pairs:
        amt, n = start_amt, start_n
        out.append(_row(a, b, "Start", "start", start_amt, start_n))
        for bucket, kind in BUCKETS[1:-1]:
            x, k = by.get((b, bucket), (ZERO, 0))
            out.append(_row(a, b, bucket, kind, x, k))
            amt += x
            n += -k if kind == "leaving" else (k if kind == "entering" else 0)
        out.append(_row(a, b, "End", "end", amt, n))
        start_amt, start_n = amt, n
    return out


def _row(a: date, b: date, bucket: str, kind: str, amount: Decimal, count: int) -> dict[str, Any]:
    return {
        "from_date": a,
        "to_date": b,
        "bucket": bucket,
        "kind": kind,
        "amount": float(amount),
        "count": count,
    }


@metric(
    "waterfall_trend",
    label="Weekly waterfall trend",
    description="The pipeline bridge for each pair of consecutive loaded snapshots whose "
    "later snapshot is in the period, up to the as-of date: start, what left (won, lost, "
    "pushed out, disqualified, removed), what entered (new, pulled in, qualified, reopened), "
    "amount changes, end; the buckets and their priority are the waterfall metric's, and "
    "each pair's end is the next pair's start. Rows: from_date, to_date, bucket, kind, "
    "amount (leaving negative), count. Filters apply to each deal's attributes in the latest "
    "snapshot it appears in (the waterfall metric cuts each snapshot by its own attributes: "
    "the two agree whenever the filtered attributes did not change).",
    formula="waterfall(P, A → B) for each consecutive snapshot pair with B in P",
    unit="table",
    scope="history",
    columns=(
        Column("from_date", "From", "date"),
        Column("to_date", "To", "date"),
        Column("bucket", "Bucket"),
        Column("kind", "Kind", None, "start, leaving, entering, change, end"),
        Column("amount", "Amount", "usd", "leaving buckets negative"),
        Column("count", "Deals", "count"),
    ),
)
def waterfall_trend(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    rows = bridge_rows(con, q, defs)
    note = None if rows else "fewer than two snapshots in the period"
    cols = ["from_date", "to_date", "bucket", "kind", "amount", "count"]
    return Result("waterfall_trend", q, None, pd.DataFrame(rows, columns=cols), note)


@metric(
    "slippage",
    label="Slippage",
    description="For each consecutive pair of snapshots in the period (as in the waterfall "
    "trend): the Pushed out amount as a share of the open pipeline at the start. Value = "
    "Σ pushed / Σ start over the pairs. Filters: latest attributes, as the waterfall trend.",
    formula="pushed-out amount(A → B) / open pipeline(P, A)",
    unit="table",
    scope="history",
    columns=(
        Column("from_date", "From", "date"),
        Column("to_date", "To", "date"),
        Column("start_amount", "Open pipeline at the start", "usd"),
        Column("pushed_amount", "Pushed out", "usd"),
        Column("pushed_count", "Deals pushed", "count"),
        Column("slippage_ratio", "Slippage", "ratio", "pushed out ÷ start"),
    ),
)
def slippage(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    rows = bridge_rows(con, q, defs)
    out = []
    start: dict[tuple[date, date], float] = {}
    for r in rows:
        key = (r["from_date"], r["to_date"])
        if r["bucket"] == "Start":
            start[key] = r["amount"]
        elif r["bucket"] == "Pushed out":
            pushed = -r["amount"]
            out.append(
                {
                    "from_date": key[0],
                    "to_date": key[1],
                    "start_amount": start[key],
                    "pushed_amount": pushed,
                    "pushed_count": r["count"],
                    "slippage_ratio": ratio(pushed, start[key]),
                }
            )
    cols = [
        "from_date",
        "to_date",
        "start_amount",
        "pushed_amount",
        "pushed_count",
        "slippage_ratio",
    ]
    total_start = sum(r["start_amount"] for r in out)
    total_pushed = sum(r["pushed_amount"] for r in out)
    value = ratio(total_pushed, total_start)
    note = None if out else "fewer than two snapshots in the period"
    return Result("slippage", q, value, pd.DataFrame(out, columns=cols), note)


@metric(
    "push_counts",
    label="Push counts",
    description="For each deal pushed during the period: how many times (up to the as-of "
    "date) its close date moved to a later fiscal quarter while it was open; flagged at "
    "the governed push-count threshold.",
    formula="count of consecutive snapshot pairs where quarter(close date) increased",
    unit="table",
    scope="history",
    columns=deal_schema(
        (
            "opportunity_id",
            "opportunity_name",
            "account_name",
            "segment",
            "owner",
            "stage",
            "amount",
            "close_date",
        ),
        Column("push_count", "Times pushed", "count", "pushes up to the as-of date"),
        Column("pushes_in_period", "Pushes in period", "count"),
        Column("flagged", "Flagged", None, "at or above the governed push-count threshold"),
        *deal_schema(("crm_url",)),
    ),
)
def push_counts(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    qt = q.quarter(defs)
    qa, pa = quarter_index_sql("c.close_a", defs)
    qb, pb = quarter_index_sql("c.close_b", defs)
    sql = add_ranks(Sql(), defs)
    add_state(sql, con, q.as_of)
    add_cut(sql, q)
    sql.cte(
        "pushes",
        f"""
        select c.opp_key, count(*) as push_count,
               count(*) filter (where c.to_date >= $p_start and c.to_date < $p_end)
                 as pushes_in_period
        from opp_changes c
        where c.present_a and c.present_b and not c.closed_a and c.to_date <= $as_of
          and {qb} > {qa}
        group by c.opp_key
        """,  # noqa: S608 - fragments are fixed text
        merge({"p_start": qt.start, "p_end": qt.end, "as_of": q.as_of}, pb, pa),
    )
    frame = sql.run(
        con,
        """
        select f.opportunity_id, f.opportunity_name, f.account_name, f.segment, f.owner,
               st.stage, st.amount, st.close_date, p.push_count, p.pushes_in_period,
               p.push_count >= $push_count as flagged
        from pushes p
        join state st using (opp_key)
        join cut using (opp_key)
        join opp_facts f using (opp_key)
        where p.pushes_in_period > 0
        order by p.push_count desc, f.opportunity_id
        """,
        {"push_count": defs.push_count},
    ).df()
    frame["crm_url"] = [defs.record_url(str(i)) for i in frame["opportunity_id"]]
    value = float(len(frame))
    note = None if len(frame) else "no deal in the period was pushed"
    return Result("push_counts", q, value, frame, note)


@metric(
    "kpi_trend",
    label="KPI trend",
    description="The headline KPIs at every snapshot of the period: open pipeline, weighted "
    "pipeline, won to date, coverage and marketing-sourced share (filters at the time).",
    formula="the as-of KPIs of P evaluated at each snapshot S' in P with S' <= S",
    unit="table",
    scope="history",
    columns=(
        Column("snapshot_date", "Snapshot", "date"),
        Column("open_pipeline", "Open pipeline", "usd"),
        Column("weighted_pipeline", "Weighted pipeline", "usd"),
        Column("won_to_date", "Won to date", "usd"),
        Column("coverage", "Coverage", "multiple", "open pipeline ÷ remaining target"),
        Column("marketing_sourced_share", "Marketing-sourced share", "ratio"),
    ),
)
def kpi_trend(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    return kpi_trend_result(con, q, defs)


def _trend_sums_sql(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> list[tuple[Any, ...]]:
    """(snapshot, open, weighted, won, marketing) per snapshot of P up to as_of, in one
    scan of the period's rows (the reference for trend_cut, which tests compare)."""
    qt = q.quarter(defs)
    fsql, fparams = q.filters.named_sql("s")
    # Marketing-sourced per distinct raw source value (the governed, case- and
    # space-insensitive match), so the scan compares plain strings.
    params = trend_cut.group_params(qt, defs, trend_cut.marketing_sources(con, qt, defs))
    snaps = trend_cut.SNAPS_CTE.format(dims="", where=" and s.snapshot_date <= $as_of" + fsql)
    return con.execute(
        snaps  # noqa: S608 - the filter clause is built from whitelisted dimensions
        + """
        select snapshot_date,
               coalesce(sum(coalesce(amount, 0)) filter (where is_open_q and in_p), 0)
                 as open_pipeline,
               coalesce(sum(coalesce(amount, 0) * p) filter (where is_open_q and in_p), 0)
                 as weighted_pipeline,
               coalesce(sum(coalesce(amount, 0)) filter (where is_won and in_p), 0)
                 as won_to_date,
               coalesce(sum(coalesce(amount, 0)) filter (where is_open_q and in_p and is_mkt), 0)
                 as marketing_pipeline
        from snaps
        group by snapshot_date
        order by snapshot_date
        """,
        {**params, "as_of": q.as_of, **fparams},
    ).fetchall()


def kpi_trend_result(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, in_sql: bool = False
) -> Result:
    """kpi_trend: the sums cut from the period's groups kept per store version
    (trend_cut) when the store memo is on; else, or with `in_sql`, in one scan (the
    reference)."""
    qt = q.quarter(defs)
    if in_sql or not cuts.kept_here(con):
        frame = _trend_sums_sql(con, q, defs)
    else:
        frame = trend_cut.sums(trend_cut.groups(con, qt, defs), q.filters, q.as_of)
    target, tnote = target_for(con, qt.label, q.filters, "bookings_target")
    rows = []
    for d, open_p, weighted, won, mkt in frame:
        open_d, won_d = dec(open_p), dec(won)
        remaining = None if target is None else target - won_d
        rows.append(
            {
                "snapshot_date": d,
                "open_pipeline": float(open_d),
                "weighted_pipeline": round(float(weighted), 2),
                "won_to_date": float(won_d),
                "coverage": None
                if remaining is None or remaining <= 0
                else float(open_d) / float(remaining),
                "marketing_sourced_share": ratio(float(dec(mkt)), float(open_d)),
            }
        )
    cols = [
        "snapshot_date",
        "open_pipeline",
        "weighted_pipeline",
        "won_to_date",
        "coverage",
        "marketing_sourced_share",
    ]
    note = tnote if target is None else None
    if not rows:
        note = "no snapshots in the period"
    return Result("kpi_trend", q, None, pd.DataFrame(rows, columns=cols), note)
