"""Data-trust checks and the trust score: can the board believe this week's numbers?

Each check counts the deals it flags in the as-of snapshot (filters applied, on the
snapshot's own attributes; the period does not apply: trust is about the whole
snapshot) and the amount they touch. The trust score rolls them into 0-100:

    score = 100 − 70 × f − 10 × v − min(20, 5 × w)

    f = share of open deals flagged by at least one deal check, half by amount and
        half by count: 0.5 × flagged amount / open amount + 0.5 × flagged / open deals
    v = amount that vanished since the previous snapshot / that snapshot's open amount
        (capped at 1)
    w = snapshot weeks missing up to the as-of date

rounded to one decimal and floored at 0. With no open deals, f = 0.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import duckdb
import pandas as pd

from steward import memo
from steward.definitions import Definitions
from steward.metrics import cuts, deals, history, trust_cut
from steward.metrics.core import Column, Filters, Query, Result, drill_for, metric
from steward.sqlbind import merge

PROBABILITY_TOLERANCE = 0.25


@dataclass(frozen=True)
class Check:
    id: str
    label: str
    description: str
    severity: str  # 'high' | 'medium' | 'low'
    in_score: bool  # a per-deal flag on open deals that counts towards f


CHECKS: tuple[Check, ...] = (
    Check(
        "past_close_date",
        "Open deals with a past close date",
        "Open deals whose expected close date is before the as-of date.",
        "high",
        True,
    ),
    Check(
        "blank_amount",
        "Blank or zero amount",
        "Open deals with no amount or an amount of 0 (counted as 0 in every sum).",
        "medium",
        True,
    ),
    Check(
        "unknown_stage",
        "Unknown stage",
        "Deals at a stage the definitions do not list (definitions changed after import); "
        "never counted as pipeline.",
        "high",
        True,
    ),
    Check(
        "probability_mismatch",
        "Probability contradicts the stage",
        "Open deals whose probability differs from the stage default by more than 25 points; "
        "closed-won below 100%; closed-lost above 0%.",
        "low",
        True,
    ),
    Check(
        "duplicate_ids",
        "Duplicate ids in the snapshot",
        "Extra rows for an opportunity id already in the snapshot (refused on import; "
        "checked anyway).",
        "high",
        False,
    ),
    Check(
        "vanished",
        "Deals that vanished without closing",
        "Open in the previous snapshot, missing from this one (amount as in the previous "
        "snapshot).",
        "high",
        False,
    ),
    Check(
        "pushed_often",
        "Close date pushed {push_count}+ times",
        "Open deals whose close date moved to a later quarter at least the governed number "
        "of times (definitions: trust.push_count) across the snapshots up to the as-of date.",
        "medium",
        True,
    ),
    Check(
        "stale",
        "No change in {stale_weeks}+ weeks",
        "Open deals whose stage, amount, close date and open/won status have not changed for "
        "the governed number of weeks (definitions: trust.stale_weeks).",
        "low",
        True,
    ),
    Check(
        "amount_outlier",
        "Amount outliers",
        "Open deals above the governed multiple (definitions: trust.outlier_multiple) of the "
        "median open amount.",
        "low",
        True,
    ),
    Check(
        "created_after_close",
        "Created after close",
        "Deals whose created date is after their close date.",
        "medium",
        True,
    ),
    Check(
        "closed_in_future",
        "Closed deals with a future close date",
        "Closed deals whose close date is after the snapshot date: a closed deal's close date "
        "is the day it closed, so the row cannot be true as of the snapshot (in a "
        "reconstruction: a closed state carried back before the history row that records it).",
        "high",
        False,
    ),
    Check(
        "closed_never_open",
        "Closed deals with no open history",
        "Deals closed in the period (close date in P, state as of the as-of date) that no "
        "snapshot up to the as-of date showed open, e.g. every closed deal of a one-snapshot "
        "import. Their stage before closing is unknown, so the win rate counts the lost ones "
        "by the governed reading (definitions win_rate.lost_never_seen_open); the label gives "
        "their share of the period's closed deals. The only check that uses the period.",
        "medium",
        False,
    ),
    Check(
        "missing_weeks",
        "Missing snapshot weeks",
        "Weeks with no snapshot between the first snapshot and the as-of date (gaps over 7 "
        "days; a 14-day gap is one missing week).",
        "high",
        False,
    ),
)
CHECK_IDS = tuple(c.id for c in CHECKS)
# checks computed per deal in one pass over the snapshot (duplicates, vanished deals and
# missing weeks have their own queries)
OWN_QUERY_CHECKS = ("duplicate_ids", "vanished", "missing_weeks", "closed_never_open")
DEAL_CHECKS = tuple(c.id for c in CHECKS if c.id not in OWN_QUERY_CHECKS)
COLUMNS = ("check_id", "label", "description", "count", "amount", "severity")


def snapshot_calendar(con: duckdb.DuckDBPyConnection, as_of: date) -> list[date]:
    known = memo.snapshot_dates(con)
    if known is not None:
        return known[: bisect.bisect_right(known, as_of)]
    rows = con.execute(
        "select distinct snapshot_date from snapshots where snapshot_date <= $as_of order by 1",
        {"as_of": as_of},
    ).fetchall()
    return [r[0] for r in rows]


def missing_weeks(calendar: list[date]) -> int:
    """Weeks with no snapshot: ceil(gap / 7) − 1 for every gap over 7 days."""
    return sum(
        -(-(b - a).days // 7) - 1
        for a, b in zip(calendar, calendar[1:], strict=False)
        if (b - a).days > 7
    )


def _quarter_sql(col: str) -> str:
    """Fiscal quarter index of a date column (monotone; the start month is bound)."""
    return f"(year({col}) * 12 + month({col}) - $fy_start_month) // 3"


def _history_sql(
    q: Query, defs: Definitions, anchor: date | None, derived: bool
) -> tuple[str, dict[str, Any]]:
    """CTEs `pushed_ids(opportunity_id)` (pushed at least push_count times) and
    `stale_ids(opportunity_id)` (unchanged since the anchor snapshot); from the derived
    change table when it is current, else from the raw snapshots."""
    params = {
        "as_of": q.as_of,
        "fy_start_month": defs.fiscal_year_start_month,
        "push_count": defs.push_count,
        "anchor": anchor,
    }
    if derived:
        sql = f"""
    open_keys as (
        select k.opp_key, k.opportunity_id
        from opp_keys k
        where k.opportunity_id in (select opportunity_id from open_ids)
    ),
    pushed_ids as (
        select ok.opportunity_id
        from opp_changes c
        join open_keys ok on ok.opp_key = c.opp_key
        where c.to_date <= $as_of and c.present_a and c.present_b and c.close_b > c.close_a
          and {_quarter_sql("c.close_b")} > {_quarter_sql("c.close_a")}
        group by ok.opportunity_id
        having count(*) >= $push_count
    ),
    moved_keys as (
        select distinct c.opp_key from opp_changes c
        where c.to_date > $anchor::date and c.to_date <= $as_of
    ),
    stale_ids as (
        select ok.opportunity_id
        from open_keys ok
        join opp_facts f on f.opp_key = ok.opp_key
        where $anchor::date is not null and f.first_seen <= $anchor::date
          and ok.opp_key not in (select opp_key from moved_keys)
    ),"""  # noqa: S608 - no identifiers from input; values bound
        return sql, params
    sql = f"""
    calendar as (
        select snapshot_date, lag(snapshot_date) over (order by snapshot_date) as prev_date
        from (select distinct snapshot_date from snapshots where snapshot_date <= $as_of)
    ),
    hist as (
        select h.opportunity_id, h.snapshot_date, {_quarter_sql("h.close_date")} as close_quarter
        from snapshots h
        where h.snapshot_date <= $as_of
          and h.opportunity_id in (select opportunity_id from open_ids)
    ),
    moves as (
        select opportunity_id, snapshot_date, close_quarter,
               lag(close_quarter) over w as prev_quarter,
               lag(snapshot_date) over w as prev_seen
        from hist
        window w as (partition by opportunity_id order by snapshot_date)
    ),
    pushed_ids as (
        select m.opportunity_id
        from moves m
        join calendar c on c.snapshot_date = m.snapshot_date and c.prev_date = m.prev_seen
        where m.close_quarter > m.prev_quarter
        group by m.opportunity_id
        having count(*) >= $push_count
    ),
    recent as (
        select w.opportunity_id,
               count(distinct hash(w.stage, w.amount, w.close_date, w.is_closed, w.is_won)) as versions,
               min(w.snapshot_date) as first_seen,
               count(*) as times_seen
        from snapshots w
        where w.snapshot_date >= coalesce($anchor::date, $as_of::date)
          and w.snapshot_date <= $as_of
          and w.opportunity_id in (select opportunity_id from open_ids)
        group by w.opportunity_id
    ),
    stale_ids as (
        select opportunity_id
        from recent
        where $anchor::date is not null and versions = 1 and first_seen <= $anchor::date
          and times_seen = (select count(*) from calendar where snapshot_date >= $anchor::date)
    ),"""  # noqa: S608 - no identifiers from input; values bound
    return sql, params


def _derived_current(con: duckdb.DuckDBPyConnection, calendar: list[date]) -> bool:
    """derived_is_current, kept per store version (every view's trust checks ask it)."""
    if not calendar:
        return False
    got: bool = memo.kept(
        con,
        "trust.derived_current",
        (calendar[-1], len(calendar)),
        lambda: derived_is_current(con, calendar),
        _KEPT,
    )
    return got


def derived_is_current(con: duckdb.DuckDBPyConnection, calendar: list[date]) -> bool:
    """True when the derived change tables reflect every snapshot up to the as-of date."""
    if not calendar:
        return False
    try:
        fetched = con.execute(
            "select count(distinct snapshot_date) from derived_dates where snapshot_date <= $last",
            {"last": calendar[-1]},
        ).fetchall()
        row = fetched[0] if fetched else None
    except duckdb.CatalogException:
        return False
    return row is not None and int(row[0]) == len(calendar)


_HISTORY_IDS_SQL = """
    with open_ids as (
        select s.opportunity_id
        from snapshots s
        where s.snapshot_date = $as_of and not coalesce(s.is_closed, false)
    ),{hist_sql}
    picked as (
        select 'pushed' as flag, opportunity_id from pushed_ids
        union all
        select 'stale' as flag, opportunity_id from stale_ids
    )
    select flag, list(opportunity_id order by opportunity_id) from picked group by flag
"""


_KEPT = 64  # as-of dates whose history is kept per store version


def _history_ids(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, anchor: date | None
) -> tuple[list[str], list[str]]:
    """(ids pushed often, ids stale) among every deal open in the as-of snapshot, from
    the derived change tables, with no filter applied.

    This is the part of the checks that reads the history, and it depends only on the
    stored snapshots and the as-of date, not on the view's filters: the flags query
    intersects it with the filtered snapshot (a flag counts only on an open deal, and a
    filtered open deal is open unfiltered too). So it is kept per store version
    (steward.memo.by_store): the Board's trust tile at its three dates, under any
    filter, reads the history once per import."""

    def read() -> tuple[tuple[str, ...], tuple[str, ...]]:
        hist_sql, params = _history_sql(q, defs, anchor, derived=True)
        rows = con.execute(_HISTORY_IDS_SQL.format(hist_sql=hist_sql), params).fetchall()
        got = {flag: tuple(ids) for flag, ids in rows}
        return got.get("pushed", ()), got.get("stale", ())

    key = (q.as_of, anchor, defs.digest)
    pushed, stale = memo.kept(con, "trust.history_ids", key, read, _KEPT)
    return list(pushed), list(stale)


def _flags_sql(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    calendar: list[date],
    derived: bool = False,
) -> tuple[str, dict[str, Any]]:
    """CTEs ending in `flags`: one row per deal of the as-of snapshot with a column per check
    and the row's dimensions.

    With current derived tables the history part (pushed, stale) comes from
    `_history_ids` as two bound id lists; otherwise from the raw snapshots inline."""
    fsql, fparams = q.filters.named_sql("s")
    names = [s.name for s in defs.stages]
    probs = [s.probability for s in defs.stages]
    stale_cutoff = q.as_of - timedelta(weeks=defs.stale_weeks)
    anchors = [d for d in calendar if d <= stale_cutoff]
    anchor = anchors[-1] if anchors else None
    if derived:
        pushed, stale = _history_ids(con, q, defs, anchor)
        hist_sql = """
    pushed_ids as (select unnest($pushed_ids::varchar[]) as opportunity_id),
    stale_ids as (select unnest($stale_ids::varchar[]) as opportunity_id),"""
        hist_params: dict[str, Any] = {"pushed_ids": pushed, "stale_ids": stale}
    else:
        hist_sql, hist_params = _history_sql(q, defs, anchor, derived)
    sql = f"""
    with cur as (
        select s.opportunity_id, s.stage, s.amount, s.probability, s.is_closed, s.is_won,
               s.close_date, s.created_date, s.segment, s.region, s.source, s.owner, s.product
        from snapshots s
        where s.snapshot_date = $as_of{fsql}
    ),
    open_ids as (
        select opportunity_id from cur where not coalesce(is_closed, false)
    ),
    med as (
        select median(amount) as median_amount
        from cur
        where not coalesce(is_closed, false) and amount > 0
    ),{hist_sql}
    stage_defaults as (
        select unnest($stage_names::varchar[]) as stage,
               unnest($stage_probs::double[]) as default_probability
    ),
    flags as (
        select c.opportunity_id, coalesce(c.amount, 0) as amt,
               c.segment, c.region, c.source, c.owner, c.product, c.stage,
               not coalesce(c.is_closed, false) as is_open,
               not coalesce(c.is_closed, false) and c.close_date < $as_of as past_close_date,
               not coalesce(c.is_closed, false) and coalesce(c.amount, 0) = 0 as blank_amount,
               sd.stage is null as unknown_stage,
               coalesce(c.probability is not null and sd.stage is not null and (
                   (coalesce(c.is_won, false) and c.probability < 1)
                   or (coalesce(c.is_closed, false) and not coalesce(c.is_won, false) and c.probability > 0)
                   or (not coalesce(c.is_closed, false)
                       and abs(c.probability - sd.default_probability) > $tolerance)
               ), false) as probability_mismatch,
               not coalesce(c.is_closed, false) and p.opportunity_id is not null as pushed_often,
               not coalesce(c.is_closed, false) and z.opportunity_id is not null as stale,
               coalesce(not coalesce(c.is_closed, false) and c.amount > $outlier_multiple * m.median_amount, false) as amount_outlier,
               coalesce(c.created_date > c.close_date, false) as created_after_close,
               coalesce(coalesce(c.is_closed, false) and c.close_date > $as_of, false)
                 as closed_in_future
        from cur c
        cross join med m
        left join stage_defaults sd on sd.stage = c.stage
        left join pushed_ids p on p.opportunity_id = c.opportunity_id
        left join stale_ids z on z.opportunity_id = c.opportunity_id
    )"""  # noqa: S608 - filter clause from whitelisted dimension names
    params = merge(
        fparams,
        hist_params,
        {
            "as_of": q.as_of,
            "stage_names": names,
            "stage_probs": probs,
            "tolerance": PROBABILITY_TOLERANCE,
            "outlier_multiple": defs.outlier_multiple,
        },
    )
    return sql, params


def _vanished(
    con: duckdb.DuckDBPyConnection, q: Query, prev: date | None
) -> tuple[int, float, float]:
    """(count, amount, previous open amount) of deals open in prev and missing in as_of."""
    if prev is None:
        return 0, 0.0, 0.0
    fsql, fparams = q.filters.named_sql("p")
    sql = f"""
    with prev_open as (
        select p.opportunity_id, coalesce(p.amount, 0) as amt
        from snapshots p
        where p.snapshot_date = $prev and not coalesce(p.is_closed, false){fsql}
    ),
    gone_ids as (
        select unnest($gone_ids::varchar[]) as opportunity_id
    ),
    gone as (
        select * from prev_open where opportunity_id in (select opportunity_id from gone_ids)
    )
    select (select count(*) from gone), (select coalesce(sum(amt), 0) from gone),
           (select coalesce(sum(amt), 0) from prev_open)
    """  # noqa: S608
    gone_ids = _gone_ids(con, prev, q.as_of)
    fetched = con.execute(sql, {"prev": prev, "gone_ids": gone_ids, **fparams}).fetchall()
    row = fetched[0] if fetched else None
    assert row is not None
    return int(row[0]), float(row[1]), float(row[2])


_GONE_IDS_SQL = """
    select coalesce(list(distinct p.opportunity_id order by p.opportunity_id), [])
    from snapshots p
    where p.snapshot_date = $prev and not coalesce(p.is_closed, false)
      and p.opportunity_id not in (
          select s.opportunity_id from snapshots s where s.snapshot_date = $as_of
      )
"""


def _gone_ids(con: duckdb.DuckDBPyConnection, prev: date, as_of: date) -> list[str]:
    """Ids open in prev and missing from as_of, with no filter applied. Whether a deal is
    missing does not depend on the filters (they select which rows of prev count), so
    the list is kept per store version (steward.memo.by_store) like `_history_ids`."""

    def read() -> tuple[str, ...]:
        rows = con.execute(_GONE_IDS_SQL, {"prev": prev, "as_of": as_of}).fetchall()
        return tuple(rows[0][0]) if rows and rows[0][0] is not None else ()

    return list(memo.kept(con, "trust.gone_ids", (prev, as_of), read, _KEPT))


_DUPLICATES_SQL = """
    with copies as (
        select s.opportunity_id, count(*) as n, sum(coalesce(s.amount, 0)) as total,
               max(coalesce(s.amount, 0)) as kept
        from snapshots s
        where s.snapshot_date = $as_of{fsql}
        group by s.opportunity_id
        having count(*) > 1
    )
    select coalesce(sum(n - 1), 0), coalesce(sum(total - kept), 0) from copies
"""


_SCREEN_SQL = """
    select count(*) = count(distinct hash(s.opportunity_id))
    from snapshots s
    where s.snapshot_date = $as_of{fsql}
"""


def _no_duplicate_ids(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    """No id hash repeats in the whole as-of snapshot (so no id does), kept per store
    version: every cut's duplicate-id check reads it."""

    def read() -> bool:
        rows = con.execute(_SCREEN_SQL.format(fsql=""), {"as_of": as_of}).fetchall()
        return bool(rows and rows[0][0])

    got: bool = memo.kept(con, "trust.no_duplicate_ids", as_of, read, _KEPT)
    return got


def _duplicates(con: duckdb.DuckDBPyConnection, q: Query) -> tuple[int, float]:
    """Extra rows for ids already in the snapshot, and their amount (the largest copy is
    taken as the real one)."""
    if _no_duplicate_ids(con, q.as_of):
        return 0, 0.0  # none in the whole snapshot: none in any cut of it
    fsql, fparams = q.filters.named_sql("s")
    # Fast screen: equal ids have equal hashes, so no repeated hash means no duplicate.
    screen_rows = con.execute(
        _SCREEN_SQL.format(fsql=fsql), {"as_of": q.as_of, **fparams}
    ).fetchall()
    screen = screen_rows[0] if screen_rows else None
    if screen is not None and screen[0]:
        return 0, 0.0
    fetched = con.execute(
        _DUPLICATES_SQL.format(fsql=fsql), {"as_of": q.as_of, **fparams}
    ).fetchall()
    row = fetched[0] if fetched else None
    assert row is not None
    return int(row[0]), float(row[1])


@dataclass(frozen=True)
class TrustReport:
    table: pd.DataFrame
    score: float
    flagged_open_amount: float
    flagged_open_count: int
    open_amount: float
    open_count: int
    vanished_share: float
    missing_weeks: int
    previous: date | None


def _label(c: Check, defs: Definitions, never: tuple[int, int, float]) -> str:
    """The check's label with the governed thresholds, and for closed deals with no open
    history their share of the period's closed deals (what the win rate rests on)."""
    label = c.label.format(push_count=defs.push_count, stale_weeks=defs.stale_weeks)
    closed, unseen, _amount = never
    if c.id == "closed_never_open" and unseen:
        label += f" ({unseen / closed:.0%} of the {closed:,} deals closed in the period)"
    return label


_NEVER_OPEN_PLAIN_SQL = """
    with upto as (
        select s.* from snapshots s where s.snapshot_date <= $as_of
    ),
    latest as (
        select * from upto
        qualify row_number() over (partition by opportunity_id order by snapshot_date desc) = 1
    ),
    cut as (
        select s.opportunity_id from latest s where true{fsql}
    ),
    seen as (
        select opportunity_id, bool_or(stage in (select unnest($open_stages::varchar[]))) as seen_open
        from upto group by opportunity_id
    ),
    closed as (
        select l.opportunity_id, coalesce(l.amount, 0) as amt, s.seen_open
        from latest l join cut using (opportunity_id) join seen s using (opportunity_id)
        where coalesce(l.is_closed, false) and l.close_date >= $p_start and l.close_date < $p_end
    )
    select count(*), count(*) filter (where not seen_open),
           coalesce(sum(amt) filter (where not seen_open), 0)
    from closed
"""


def _never_open_plain(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> tuple[int, int, float]:
    """(closed in P, of them never seen open, their amount) from the raw snapshots, for
    stores whose derived tables lag (same answer as history.win_loss; a test checks it)."""
    fsql, fparams = q.filters.named_sql("s")
    qt = q.quarter(defs)
    rows = con.execute(
        _NEVER_OPEN_PLAIN_SQL.format(fsql=fsql),
        {
            "as_of": q.as_of,
            "open_stages": [s.name for s in defs.open_stages],
            "p_start": qt.start,
            "p_end": qt.end,
            **fparams,
        },
    ).fetchall()
    return int(rows[0][0]), int(rows[0][1]), float(rows[0][2])


def trust_report(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> TrustReport:
    """The checks, counts and score for q (compare_to is not read: the previous snapshot
    is the one before as_of). Computed once per view: trust_checks, trust_score, the
    footer and the narrative all read it."""
    v = memo.current()
    if v is None:
        return _trust_report(con, q, defs)
    key_q = q.with_(compare_to=None)
    got = v.get(("trust_report", key_q, defs.digest), lambda: _trust_report(con, key_q, defs))
    return replace(got, table=got.table.copy())


@dataclass(frozen=True)
class _Core:
    """What the score rests on: the per-deal checks, the vanished deals and the missing
    weeks. The duplicate-id and closed-never-open checks are not in the score, so the
    trust score (the Board's tile at three dates) does not compute them."""

    deal_checks: dict[str, tuple[int, float]]
    open_count: int
    open_amount: float
    flagged_count: int
    flagged_amount: float
    vanished: tuple[int, float]
    vanished_share: float
    weeks: int
    score: float
    previous: date | None
    calendar: list[date]
    derived: bool


def _core(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> _Core:
    """The score's part of the report, once per view (trust_score and trust_report share
    it)."""
    v = memo.current()
    if v is None:
        return _compute_core(con, q, defs)
    key_q = q.with_(compare_to=None)
    got: _Core = v.get(("trust_core", key_q, defs.digest), lambda: _compute_core(con, key_q, defs))
    return got


# as-of dates whose deal flags are kept per store version (~11 MB each at 510k deals)
_FLAGS_KEPT = 6
STATIC_CHECKS = tuple(c for c in DEAL_CHECKS if c != "amount_outlier")


def _deal_flags(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, calendar: list[date]
) -> trust_cut.DealFlags:
    """Every row of the as-of snapshot with its filter-independent flags (trust_cut), no
    filter applied, kept per store version: the Board's tile at three dates and under
    any filter reads each snapshot once per import. Needs current derived tables."""

    def read() -> trust_cut.DealFlags:
        whole = replace(q, filters=Filters())
        upto = [d for d in calendar if d <= q.as_of]
        sql, params = _flags_sql(con, whole, defs, upto, derived=True)
        return trust_cut.read(con, sql, params, STATIC_CHECKS)

    got: trust_cut.DealFlags = memo.kept(
        con, "trust.deal_flags", (q.as_of, defs.digest), read, _FLAGS_KEPT
    )
    return got


def _cut_core(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    calendar: list[date],
    prev: date | None,
) -> tuple[trust_cut.Tally, tuple[int, float, float]]:
    """The per-deal checks cut from the kept deal flags, and the vanished deals (SQL)."""
    cur = _deal_flags(con, q, defs, calendar)
    tally = trust_cut.tally(
        cur, trust_cut.mask(cur, q.filters), "amount_outlier", defs.outlier_multiple
    )
    return tally, _vanished(con, q, prev)


def _compute_core(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> _Core:
    """With current derived tables and the store memo on, the per-deal checks are cut from
    the kept deal flags (trust_cut); otherwise one query for this cut (the reference the
    tests compare the cut with)."""
    calendar = snapshot_calendar(con, q.as_of)
    prev = max((d for d in calendar if d < q.as_of), default=None)
    derived = _derived_current(con, calendar)
    if derived and cuts.kept_here(con):
        tally, (v_count, v_amount, prev_open) = _cut_core(con, q, defs, calendar, prev)
        return _score(
            {c: tally.checks[c] for c in DEAL_CHECKS},
            (tally.open_count, tally.open_amount, tally.flagged_count, tally.flagged_amount),
            (v_count, v_amount, prev_open),
            (calendar, prev, derived),
        )
    sql, params = _flags_sql(con, q, defs, calendar, derived)
    agg = ",\n".join(
        f"count(*) filter (where {c}), coalesce(sum(amt) filter (where {c}), 0)"
        for c in DEAL_CHECKS
    )
    any_flag = " or ".join(c for c in DEAL_CHECKS)
    final = f"""
    select {agg},
           count(*) filter (where is_open), coalesce(sum(amt) filter (where is_open), 0),
           count(*) filter (where is_open and ({any_flag})),
           coalesce(sum(amt) filter (where is_open and ({any_flag})), 0)
    from flags
    """  # noqa: S608 - check ids are module constants
    fetched = con.execute(sql + final, params).fetchall()
    row = fetched[0] if fetched else None
    assert row is not None
    got: dict[str, tuple[int, float]] = {}
    for i, c in enumerate(DEAL_CHECKS):
        got[c] = (int(row[2 * i]), round(float(row[2 * i + 1]), 2))
    n = 2 * len(DEAL_CHECKS)
    open_count, open_amount, flagged_count, flagged_amount = (
        int(row[n]),
        float(row[n + 1]),
        int(row[n + 2]),
        float(row[n + 3]),
    )
    return _score(
        got,
        (open_count, open_amount, flagged_count, flagged_amount),
        _vanished(con, q, prev),
        (calendar, prev, derived),
    )


def _score(
    got: dict[str, tuple[int, float]],
    counts: tuple[int, float, int, float],
    vanished: tuple[int, float, float],
    context: tuple[list[date], date | None, bool],
) -> _Core:
    """The score from the per-deal checks, the open and flagged (count, amount), the
    vanished (count, amount, previous open amount) and the calendar."""
    open_count, open_amount, flagged_count, flagged_amount = counts
    v_count, v_amount, prev_open = vanished
    calendar, prev, derived = context
    weeks = missing_weeks(calendar)

    f = 0.0
    if open_count:
        amount_share = flagged_amount / open_amount if open_amount else flagged_count / open_count
        f = 0.5 * amount_share + 0.5 * flagged_count / open_count
    v = min(1.0, v_amount / prev_open) if prev_open else (1.0 if v_count else 0.0)
    score = max(0.0, round(100 - 70 * f - 10 * v - min(20, 5 * weeks), 1))
    return _Core(
        got,
        open_count,
        open_amount,
        flagged_count,
        flagged_amount,
        (v_count, round(v_amount, 2)),
        v,
        weeks,
        score,
        prev,
        calendar,
        derived,
    )


def _trust_report(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> TrustReport:
    core = _core(con, q, defs)
    got = dict(core.deal_checks)
    got["duplicate_ids"] = _duplicates(con, q)
    got["vanished"] = core.vanished
    got["missing_weeks"] = (core.weeks, 0.0)
    if core.derived:
        wl = history.win_loss(con, q, defs)
        never = (wl["closed_count"], wl["never_open_count"], float(wl["never_open_amount"]))
    else:
        never = _never_open_plain(con, q, defs)
    got["closed_never_open"] = (never[1], round(never[2], 2))

    rows = [
        {
            "check_id": c.id,
            "label": _label(c, defs, never),
            "description": c.description,
            "count": got[c.id][0],
            "amount": got[c.id][1],
            "severity": c.severity if got[c.id][0] else "ok",
        }
        for c in CHECKS
    ]
    return TrustReport(
        pd.DataFrame(rows, columns=list(COLUMNS)),
        core.score,
        round(core.flagged_amount, 2),
        core.flagged_count,
        round(core.open_amount, 2),
        core.open_count,
        core.vanished_share,
        core.weeks,
        core.previous,
    )


@metric(
    "trust_checks",
    label="Data-trust checks",
    description="Data-quality checks on the as-of snapshot, each with the deals and amount it "
    "touches: past close dates, blank amounts, unknown stages, probabilities that contradict "
    "the stage, duplicate ids, vanished deals, repeated pushes, stale deals, outliers, "
    "created after close, missing snapshot weeks.",
    formula="per check: count and Σ amount of flagged deals in snapshot S (filters applied; "
    "period ignored); severity 'ok' when the count is 0",
    unit="table",
    scope="history",
    columns=(
        Column("check_id", "Check id"),
        Column("label", "Check"),
        Column("description", "Description"),
        Column("count", "Count", "count", "deals (or weeks) the check flags"),
        Column("amount", "Amount", "usd", "their amount in the as-of snapshot"),
        Column("severity", "Severity", None, "high, medium or low (ok: nothing flagged)"),
    ),
)
def trust_checks(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    rep = trust_report(con, q, defs)
    return Result("trust_checks", q, rep.score, table=rep.table)


@metric(
    "trust_score",
    label="Trust score",
    description="One 0-100 figure for how far the snapshot's numbers can be trusted.",
    formula="100 − 70 × f − 10 × v − min(20, 5 × w); f = 0.5 × flagged open amount / open "
    "amount + 0.5 × flagged open deals / open deals; v = vanished amount / previous "
    "snapshot's open amount (≤ 1); w = missing snapshot weeks; floored at 0",
    unit="score",
    scope="history",
)
def trust_score(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    core = _core(con, q, defs)  # the score's part only (trust_report adds the other checks)
    note = f"{core.flagged_count} of {core.open_count} open deals flagged; {core.weeks} missing week(s)"
    return Result("trust_score", q, core.score, note=note)


@drill_for("trust_checks")
def trust_deals(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    check_id: str | None = None,
    **_: Any,
) -> pd.DataFrame:
    """Deals flagged by one check (or any), with a `checks` column naming the flags."""
    if check_id is not None and check_id not in CHECK_IDS:
        raise ValueError(f"unknown check {check_id!r}; one of {', '.join(CHECK_IDS)}")
    calendar = snapshot_calendar(con, q.as_of)
    if check_id == "missing_weeks":
        return deals.empty()
    if check_id == "duplicate_ids":
        fsql, fparams = q.filters.named_sql("s")
        dup = (
            " and s.opportunity_id in (select d.opportunity_id from snapshots d"
            " where d.snapshot_date = $snapshot_date group by d.opportunity_id having count(*) > 1)"
        )
        frame = deals.deal_list(con, defs, q.as_of, fsql + dup, fparams)
        frame["checks"] = "duplicate_ids"
        return frame
    if check_id == "closed_never_open":
        frame = history.never_open_deals(con, q, defs)
        frame["checks"] = "closed_never_open"
        return frame
    if check_id == "vanished":
        prev = max((d for d in calendar if d < q.as_of), default=None)
        if prev is None:
            return deals.empty()
        fsql, fparams = q.filters.named_sql("s")
        gone = " and s.opportunity_id not in (select c.opportunity_id from snapshots c where c.snapshot_date = $as_of)"
        where = " and not coalesce(s.is_closed, false)" + fsql + gone
        frame = deals.deal_list(con, defs, prev, where, {**fparams, "as_of": q.as_of})
        frame["checks"] = "vanished"
        return frame
    sql, params = _flags_sql(con, q, defs, calendar, derived_is_current(con, calendar))
    wanted = (check_id,) if check_id else DEAL_CHECKS
    labels = ", ".join(f"case when {c} then '{c}' end" for c in DEAL_CHECKS)
    final = f"""
    , picked as (
        select opportunity_id, concat_ws(', ', {labels}) as checks
        from flags
        where {" or ".join(wanted)}
    )
    select {deals.select_list("s")}, p.checks
    from snapshots s
    join picked p on p.opportunity_id = s.opportunity_id
    where s.snapshot_date = $as_of
    order by s.amount desc nulls last, s.opportunity_id
    """  # noqa: S608 - check ids are module constants
    frame = con.execute(sql + final, params).df()
    frame = frame.drop_duplicates("opportunity_id")  # one line per deal, even for duplicate ids
    return deals.finish(frame, defs)
