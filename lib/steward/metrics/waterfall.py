"""The pipeline waterfall: the bridge from open pipeline(P, A) to open pipeline(P, B).

One query joins snapshot A and snapshot B on opportunity_id and puts every deal that is
in the start set or the end set into exactly one bucket, in BRIEF §4's priority order.
Start + entering − leaving ± changes = End holds exactly (Decimal) for every filter,
because each deal contributes its own A amount to Start and its own B amount to End,
and its bucket carries exactly the difference.

Filters (segment, owner ...) are read on each side's own attributes: the start set uses
A's attributes, the end set B's. A deal that moved out of the cut between A and B
leaves as *Removed* (unless it closed: Won / Lost first); one that moved into the cut
enters as *New*. See the glossary's "choices we made".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from steward.definitions import Definitions
from steward.metrics import deals
from steward.metrics.asof import ZERO, qualified_open_stages
from steward.metrics.core import Column, Query, Result, drill_for, metric

LEAVING = ("Won", "Lost", "Pushed out", "Disqualified", "Removed")
ENTERING = ("New", "Pulled in", "Qualified", "Reopened")
CHANGES = ("Increased", "Decreased")
BUCKETS = (*LEAVING, *ENTERING, *CHANGES)
ROW_ORDER = ("Start", *BUCKETS, "End")
# One-line axis labels for the chart (a two-word name would wrap into a second line that
# collides with its neighbours once the chart is phone-narrow and the labels turn).
SHORT_LABELS = {"Pushed out": "Pushed", "Pulled in": "Pulled", "Disqualified": "Disqual."}
SCHEMA: tuple[Column, ...] = (
    Column("bucket", "Bucket", None, "Start, each movement, End (BRIEF §4 order)"),
    Column("kind", "Kind", None, "start, leaving, entering, change, end"),
    Column("amount", "Amount", "usd", "Start/End: open pipeline; a movement: its signed effect"),
    Column("count", "Deals", "count"),
)
COLUMNS = tuple(c.name for c in SCHEMA)


def kind_of(bucket: str) -> str:
    if bucket in LEAVING:
        return "leaving"
    if bucket in ENTERING:
        return "entering"
    if bucket in CHANGES:
        return "change"
    return bucket.lower()  # start / end


_SIDE_COLS = ("opportunity_id", "stage", "amount", "close_date", "is_closed", "is_won")

# {side} is 'a' or 'b'; the flags are computed on that side's own attributes. Only rows
# that can matter are kept: the side's own set (open qualified in P, in the cut) and the
# rows of deals in the other side's set. Every other deal is in neither set, so it would
# be dropped after the join anyway; skipping it first makes the join ~10x smaller (most
# rows of a snapshot are long-closed deals). Parameters are named: $a_date, $b_date,
# $p_start, $p_end, $qualified_stages and the filters' $f_<dimension>.
_SIDE = """
    {side} as (
        select {cols},
               coalesce(s.amount, 0) as amt,
               coalesce({open_q}, false) as is_open_q,
               coalesce(s.close_date >= $p_start and s.close_date < $p_end, false) as in_p,
               coalesce(true{cut}, false) as in_cut
        from snapshots s
        where s.snapshot_date = ${side}_date
          and ((coalesce({open_q}, false) and s.close_date >= $p_start and s.close_date < $p_end{cut})
               or s.opportunity_id in (
                   select o.opportunity_id
                   from snapshots o
                   where o.snapshot_date = ${other}_date and {open_q_o}
                     and o.close_date >= $p_start and o.close_date < $p_end{cut_o}))
    )"""


def _open_q(alias: str) -> str:
    return f"(not {alias}.is_closed and list_contains($qualified_stages::varchar[], {alias}.stage))"


_CLASSIFY = """
    joined as (
        select coalesce(b.opportunity_id, a.opportunity_id) as opportunity_id,
               a.opportunity_id is not null as in_a,
               b.opportunity_id is not null as in_b,
               coalesce(a.is_open_q and a.in_p and a.in_cut, false) as in_start,
               coalesce(b.is_open_q and b.in_p and b.in_cut, false) as in_end,
               coalesce(a.amt, 0) as amount_from,
               coalesce(b.amt, 0) as amount_to,
               a.in_p as a_in_p, a.in_cut as a_in_cut, coalesce(a.is_closed, false) as a_closed,
               b.in_p as b_in_p, b.in_cut as b_in_cut, coalesce(b.is_closed, false) as b_closed,
               coalesce(b.is_won, false) as b_won,
               a.stage as stage_from, a.close_date as close_date_from
        from a full outer join b on a.opportunity_id = b.opportunity_id
    ),
    classified as (
        select *,
               case
                   when in_start and in_end then
                       case when amount_to > amount_from then 'Increased'
                            when amount_to < amount_from then 'Decreased'
                            else 'Unchanged' end
                   when in_start then
                       case when not in_b then 'Removed'
                            when b_won then 'Won'
                            when b_closed then 'Lost'
                            when not b_in_cut then 'Removed'
                            when not b_in_p then 'Pushed out'
                            else 'Disqualified' end
                   when in_end then
                       case when not in_a or not a_in_cut then 'New'
                            when not a_in_p then 'Pulled in'
                            when not a_closed then 'Qualified'
                            else 'Reopened' end
               end as bucket
        from joined
        where in_start or in_end
    )"""


def _sql(q: Query, defs: Definitions, final: str) -> tuple[str, dict[str, Any]]:
    """The A/B join and classification CTEs plus `final`, with their named parameters."""
    quarter = q.quarter(defs)
    fsql, fparams = q.filters.named_sql("s")
    fsql_o, _ = q.filters.named_sql("o")
    a_date, b_date = resolve_dates(q)
    cols = ", ".join(f"s.{c}" for c in _SIDE_COLS)
    parts = [
        _SIDE.format(
            side=side,
            other=other,
            cols=cols,
            open_q=_open_q("s"),
            cut=fsql,
            open_q_o=_open_q("o"),
            cut_o=fsql_o,
        )
        for side, other in (("a", "b"), ("b", "a"))
    ]
    params: dict[str, Any] = {
        "a_date": a_date,
        "b_date": b_date,
        "p_start": quarter.start,
        "p_end": quarter.end,
        "qualified_stages": qualified_open_stages(defs),
        **fparams,
    }
    sql = "with" + ",".join(parts) + "," + _CLASSIFY + "\n" + final
    return sql, params


def resolve_dates(q: Query) -> tuple[date, date]:
    """(A, B): A = compare_to (already resolved to a loaded snapshot by `compare_date`)."""
    return (q.compare_to or q.as_of), q.as_of


def compare_date(con: duckdb.DuckDBPyConnection, q: Query) -> tuple[date | None, str | None]:
    """The snapshot to compare with: the latest loaded on or before compare_to, else the
    snapshot before as_of. Returns (date or None, note)."""
    if q.compare_to is not None:
        fetched = con.execute(
            "select max(snapshot_date) from snapshots where snapshot_date <= $compare_to",
            {"compare_to": q.compare_to},
        ).fetchall()
        row = fetched[0] if fetched else None
        found = row[0] if row else None
        if found is None:
            return None, f"no snapshot on or before {q.compare_to.isoformat()}"
        note = (
            None
            if found == q.compare_to
            else f"compared with {found.isoformat()}, the latest snapshot on or before {q.compare_to.isoformat()}"
        )
        return found, note
    fetched = con.execute(
        "select max(snapshot_date) from snapshots where snapshot_date < $as_of", {"as_of": q.as_of}
    ).fetchall()
    row = fetched[0] if fetched else None
    found = row[0] if row else None
    if found is None:
        return None, "no earlier snapshot to compare with"
    return found, None


@dataclass(frozen=True)
class Bridge:
    """The waterfall in exact Decimals: start, {bucket: (amount signed, count)}, end."""

    a: date
    b: date
    start: Decimal
    buckets: dict[str, tuple[Decimal, int]]
    end: Decimal
    start_count: int
    end_count: int
    unchanged_count: int

    def reconciles(self) -> bool:
        return self.start + sum((v for v, _ in self.buckets.values()), ZERO) == self.end


def bridge(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> tuple[Bridge, str | None]:
    """Compute the bridge (one query). q.compare_to is resolved to a loaded snapshot."""
    a_date, note = compare_date(con, q)
    q = q.with_(compare_to=a_date or q.as_of)
    final = """
    select bucket,
           count(*) as n,
           sum(case when bucket in ('Won', 'Lost', 'Pushed out', 'Disqualified', 'Removed')
                    then -amount_from
                    when bucket in ('New', 'Pulled in', 'Qualified', 'Reopened') then amount_to
                    else amount_to - amount_from end) as amount_signed,
           sum(case when in_start then amount_from else 0 end) as start_amount,
           sum(case when in_end then amount_to else 0 end) as end_amount,
           count(*) filter (where in_start) as start_count,
           count(*) filter (where in_end) as end_count
    from classified
    group by bucket
    """
    sql, params = _sql(q, defs, final)
    rows = con.execute(sql, params).fetchall()
    start, end = ZERO, ZERO
    start_n = end_n = unchanged = 0
    buckets: dict[str, tuple[Decimal, int]] = {b: (ZERO, 0) for b in BUCKETS}
    for bucket, n, signed, s_amt, e_amt, s_n, e_n in rows:
        start += Decimal(s_amt)
        end += Decimal(e_amt)
        start_n += int(s_n)
        end_n += int(e_n)
        if bucket == "Unchanged":
            unchanged = int(n)
        else:
            buckets[bucket] = (Decimal(signed), int(n))
    br = Bridge(q.compare_to or q.as_of, q.as_of, start, buckets, end, start_n, end_n, unchanged)
    if not br.reconciles():  # cannot happen by construction; never show a bridge that lies
        raise AssertionError(f"waterfall does not reconcile: {br}")
    return br, note


def bridge_table(br: Bridge) -> pd.DataFrame:
    rows = [
        {"bucket": "Start", "kind": "start", "amount": float(br.start), "count": br.start_count}
    ]
    for b in BUCKETS:
        amt, n = br.buckets[b]
        rows.append({"bucket": b, "kind": kind_of(b), "amount": float(amt), "count": n})
    rows.append({"bucket": "End", "kind": "end", "amount": float(br.end), "count": br.end_count})
    return pd.DataFrame(rows, columns=list(COLUMNS))


@metric(
    "waterfall",
    label="Pipeline waterfall",
    description="How open pipeline for the period moved from snapshot A (compare-to) to "
    "snapshot B (as-of): what left, what entered, what changed size.",
    formula="Start = open pipeline(P, A); each deal in exactly one bucket, first match wins: "
    "leaving Won, Lost, Pushed out, Disqualified, Removed (at A amount); entering New, "
    "Pulled in, Qualified, Reopened (at B amount); staying Increased / Decreased by B − A; "
    "Start − leaving + entering ± changes = End = open pipeline(P, B)",
    unit="table",
    columns=SCHEMA,
)
def waterfall(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    br, note = bridge(con, q, defs)
    q = q.with_(compare_to=br.a)
    value = float(br.end - br.start)
    if br.a > br.b:
        backwards = f"compare-to {br.a.isoformat()} is after as-of {br.b.isoformat()}: the bridge runs backwards"
        note = f"{note}; {backwards}" if note else backwards
    return Result("waterfall", q, value, table=bridge_table(br), note=note)


@drill_for("waterfall")
def waterfall_deals(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    bucket: str | None = None,
    **_: Any,
) -> pd.DataFrame:
    """Deals in one bucket (or every moving deal), with amount_from/amount_to/amount_change
    and `effect`: the deal's signed contribution to the bridge (leaving: −amount in A,
    entering: +amount in B, staying: B − A), so each bucket's deals sum to its bar and the
    movers, the workbook and the screen rank deals by one rule."""
    if bucket is not None and bucket not in BUCKETS:
        raise ValueError(f"unknown waterfall bucket {bucket!r}; one of {', '.join(BUCKETS)}")
    a_date, _note = compare_date(con, q)
    q = q.with_(compare_to=a_date or q.as_of)
    b_cols = ", ".join(f"coalesce(b.{c}, a.{c}) as {c}" for c in deals.DEAL_COLUMNS)
    final = f"""
    , moving as (
        select opportunity_id, bucket, amount_from, amount_to, stage_from, close_date_from
        from classified
        where bucket <> 'Unchanged' and ($bucket::varchar is null or bucket = $bucket)
    ),
    a_attrs as (
        select {deals.select_list("s")} from snapshots s
        where s.snapshot_date = $a_date and s.opportunity_id in (select opportunity_id from moving)
    ),
    b_attrs as (
        select {deals.select_list("s")} from snapshots s
        where s.snapshot_date = $b_date and s.opportunity_id in (select opportunity_id from moving)
    )
    select {b_cols}, m.bucket, m.amount_from, m.amount_to,
           m.amount_to - m.amount_from as amount_change,
           case when list_contains($leaving::varchar[], m.bucket) then -coalesce(m.amount_from, 0)
                when list_contains($entering::varchar[], m.bucket) then coalesce(m.amount_to, 0)
                else coalesce(m.amount_to, 0) - coalesce(m.amount_from, 0)
           end as effect,
           m.stage_from, m.close_date_from
    from moving m
    left join a_attrs a on a.opportunity_id = m.opportunity_id
    left join b_attrs b on b.opportunity_id = m.opportunity_id
    order by list_position($bucket_order::varchar[], m.bucket), abs(m.amount_to - m.amount_from) desc,
             m.opportunity_id
    """  # noqa: S608 - columns from deals.DEAL_COLUMNS
    sql, params = _sql(q, defs, "")
    params.update(
        bucket=bucket, leaving=list(LEAVING), entering=list(ENTERING), bucket_order=list(BUCKETS)
    )
    frame = con.execute(sql.rstrip() + final, params).df()
    return deals.finish(frame, defs)


__all__ = ["BUCKETS", "Bridge", "bridge", "qualified_open_stages", "waterfall"]
