"""History-wide metrics: win rate, cohort conversion, time in stage, stalled deals,
sales cycle, pipeline velocity and pipeline created.

They read the derived tables (steward.derived), never window the raw history. Shared
semantics (state at S, latest-attribute filters, reach rank) are in history_sql.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

import duckdb
import numpy as np
import pandas as pd

from steward import derived, memo
from steward.definitions import Definitions
from steward.metrics import closed, cuts, stalled_cut
from steward.metrics.core import Column, Query, Result, drill_for, metric, remember
from steward.metrics.deals import DEAL_COLUMNS, DEAL_TABLE_COLUMNS, deal_schema, select_list
from steward.metrics.deals import finish as finish_deals
from steward.metrics.history_sql import (
    ZERO,
    Sql,
    add_cut,
    add_ranks,
    add_reach,
    add_state,
    dec,
    last_derived_date,
    qualified_reach_sql,
    quarter_case_sql,
    ratio,
    snapshot_at,
)
from steward.metrics.targets import target_for
from steward.periods import Quarter

LOOKBACK_DAYS = 365  # trailing window for time in stage and the velocity averages
LATEST_CUTS = (
    "Filters apply to each deal's attributes in the latest snapshot it appears in "
    "(stage filter: its latest stage)."
)


def _lookback(q: Query) -> int:
    return int(q.option("lookback_days", LOOKBACK_DAYS))


# ---- win rate --------------------------------------------------------------------------
def win_loss(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> dict[str, Any]:
    """Won / lost counts and amounts among qualified deals closed in P (state at as_of).

    Once per view (steward.memo): both win rates and the trust checks read it."""
    qt = q.quarter(defs)
    v = memo.current()
    if v is None:
        return _win_loss_between(con, q, defs, qt.start, qt.end)
    key_q = q.with_(compare_to=None)
    got = v.get(
        ("win_loss", key_q, defs.digest),
        lambda: _win_loss_between(con, key_q, defs, qt.start, qt.end),
    )
    return dict(got)


def never_open_deals(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> pd.DataFrame:
    """The deals behind `never_open_count`: closed in P, never seen open by as_of (stage,
    amount and close date as of as_of; the other columns from the latest snapshot)."""
    qt = q.quarter(defs)
    sql = closed.closed_sql(con, q, defs, qt.start, qt.end)
    latest = ", ".join(
        f"c.{c}" if c in ("stage", "amount", "close_date") else f"f.{c}" for c in DEAL_COLUMNS
    )
    frame = sql.run(
        con,
        f"""
        select {latest}
        from closed c join opp_facts f using (opp_key)
        where c.unseen
        order by c.amount desc, f.opportunity_id
        """,  # noqa: S608 - column names from DEAL_COLUMNS
    ).df()
    return finish_deals(frame, defs)


def _win_loss_between(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, start: date, end: date
) -> dict[str, Any]:
    """Every deal closed in [start, end) by its state at as_of, sorted into won, qualified
    lost and left out, plus how many of them no snapshot ever showed open (the deals
    whose place in the win rate rests on the governed assumption). The deals are read
    once per store version and cut by the view's filters in memory (steward.metrics.closed)."""
    deals = closed.closed_deals(con, q, defs, start, end)
    wl = closed.win_loss_counts(deals, closed.in_cut(deals.opp_key, closed.cut_of(con, q)))
    won_n, lost_n = wl["won_count"], wl["lost_count"]
    won_amt, lost_amt = wl["won_amount"], wl["lost_amount"]
    return {  # the win rate table's columns, in this order
        "won_count": won_n,
        "lost_count": lost_n,
        "won_amount": won_amt,
        "lost_amount": lost_amt,
        "win_rate_count": ratio(won_n, won_n + lost_n),
        "win_rate_value": ratio(float(won_amt), float(won_amt + lost_amt)),
        "closed_count": wl["closed_count"],
        "never_open_count": wl["never_open_count"],
        "never_open_amount": wl["never_open_amount"],
        "never_open_lost_count": wl["never_open_lost_count"],
        "never_open_share": ratio(wl["never_open_count"], wl["closed_count"]),
        "lost_never_seen_open": defs.lost_never_seen_open,
    }


def unseen_note(wl: dict[str, Any]) -> str | None:
    """Which reading of an unknown past is in force, said only when it matters: when some
    lost deal closed in the period was never seen open."""
    n = wl["never_open_lost_count"]
    if not n:
        return None
    deals = "deal" if n == 1 else "deals"
    if wl["lost_never_seen_open"] == "count":
        return f"{n:,} lost {deals} never seen open counted as qualified"
    return f"{n:,} lost {deals} never seen open left out"


def _win_note(wl: dict[str, Any], key: str, empty: str) -> str | None:
    if wl[key] is None:
        return empty
    return unseen_note(wl)


def _win_table(wl: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([wl])


@metric(
    "win_rate_count",
    label="Win rate (by count)",
    description="Of the qualified deals that closed in the period, the share won, by count. "
    "A deal's state is its last snapshot row up to the as-of date (a deal that vanished keeps "
    "its last state); closed in P = closed with close date in P. A won deal always counts; a "
    "lost deal counts when a snapshot showed it open at or after the qualified stage, or when "
    "no snapshot ever showed it open (its stage before the loss is unknown: counted, the "
    'conservative choice; definitions win_rate.lost_never_seen_open = "exclude" leaves those '
    "out). Lost deals seen open only below the qualified stage are out. The note says how "
    "many lost deals were never seen open; the trust check 'Closed deals with no open "
    "history' gives their share. " + LATEST_CUTS,
    formula="won / (won + lost), qualified deals with close date in P, state as of S",
    unit="ratio",
    scope="history",
)
def win_rate_count(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    wl = win_loss(con, q, defs)
    note = _win_note(wl, "win_rate_count", "no qualified deals closed in the period")
    return Result("win_rate_count", q, wl["win_rate_count"], _win_table(wl), note)


@metric(
    "win_rate_value",
    label="Win rate (by value)",
    description="Of the qualified deals that closed in the period, the share of their amount "
    "that was won (same deals as the win rate by count; amount in the deal's last state, "
    "blank = 0). " + LATEST_CUTS,
    formula="Σ won amount / Σ (won + lost) amount, qualified deals with close date in P",
    unit="ratio",
    scope="history",
)
def win_rate_value(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    wl = win_loss(con, q, defs)
    note = _win_note(wl, "win_rate_value", "no qualified amount closed in the period")
    return Result("win_rate_value", q, wl["win_rate_value"], _win_table(wl), note)


# ---- cohort conversion -----------------------------------------------------------------
CohortGroup = tuple[int, bool, int, Decimal, int]
COHORT_BY = ("segment", "source")  # the dimensions a batch of cohorts can be split by


def _cohort_groups(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> list[CohortGroup]:
    """(reach_rank, in_progress, count, amount, lost never seen open) for the cohort
    created in P; a group at rank -1 holds lost deals never seen open that the
    definitions leave out (counted only for the note)."""
    qt = q.quarter(defs)
    return cohort_groups_by(con, q, defs, [qt]).get((0, None), [])


def cohort_groups_by(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    quarters: list[Quarter],
    by: str | None = None,
) -> dict[tuple[int, str | None], list[CohortGroup]]:
    """The cohort groups of `_cohort_groups` for several quarters (and, with `by`, per
    value of that latest attribute) in one query: keyed (index in `quarters`, value).

    The deals' state and reach at as_of are the same for every quarter, so one pass
    groups them by creation quarter instead of one query per quarter and cut. Each
    group's counts and amounts (exact decimals) are what the per-quarter query gives;
    a deal whose `by` value is blank is in no group (a filter on a value never matches
    it either). `q.filters` should not filter on `by` itself (the caller splits)."""
    if by is not None and by not in COHORT_BY:
        raise ValueError(f"cannot split cohorts by {by!r}; allowed: {', '.join(COHORT_BY)}")
    sql = add_ranks(Sql(), defs)
    add_state(sql, con, q.as_of)
    add_cut(sql, q)
    created = "coalesce(f.created_date, f.first_seen)"
    # the reach of the cohort's deals only: a few quarters' creations, not the history
    sql.cte(
        "cands",
        f"""
        select f.opp_key from opp_facts f
        join cut using (opp_key)
        where {created} >= $p_min and {created} < $p_max and f.first_seen <= $as_of
        """,  # noqa: S608 - fixed text
    )
    add_reach(sql, q.as_of, among="select opp_key from cands")
    reach_sql, reach_params = qualified_reach_sql(defs)
    which, bounds = quarter_case_sql(created, quarters, "p")
    group_col = f"f.{by}" if by else "null::varchar"
    sql.cte(
        "cohort",
        f"""
        select {which} as period_idx, {group_col} as grp,
               {reach_sql} as reach_rank,
               coalesce(st.present and not st.is_closed, false) as in_progress,
               coalesce(st.amount, 0) as amount,
               not coalesce(rc.seen_open, false) and not st.is_won as unseen_lost
        from opp_facts f
        join cut using (opp_key)
        join reach rc using (opp_key)
        join state st using (opp_key)
        where {created} >= $p_min and {created} < $p_max
          and f.first_seen <= $as_of
        """,  # noqa: S608 - fixed text; `by` is whitelisted above
        {
            **reach_params,
            **bounds,
            "p_min": min(qt.start for qt in quarters),
            "p_max": max(qt.end for qt in quarters),
            "as_of": q.as_of,
        },
    )
    rows = sql.run(
        con,
        """
        select period_idx, grp, reach_rank, in_progress, count(*) as deals,
               coalesce(sum(amount), 0) as amount,
               count(*) filter (where unseen_lost) as unseen_lost
        from cohort
        where period_idx is not null and (reach_rank >= 0 or unseen_lost)
          and (grp is not null or $ungrouped)
        group by period_idx, grp, reach_rank, in_progress
        """,
        {"ungrouped": by is None},
    ).fetchall()
    out: dict[tuple[int, str | None], list[CohortGroup]] = {}
    for r in rows:
        out.setdefault((int(r[0]), r[1]), []).append(
            (int(r[2]), bool(r[3]), int(r[4]), dec(r[5]), int(r[6]))
        )
    return out


def funnel_cohorts(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    periods: list[str],
    by: str | None = None,
    values: list[str] | None = None,
) -> dict[tuple[str, str | None], Result]:
    """`funnel_cohort` for each period (and each of `values` of `by`) in one query:
    {(period, value): the Result compute would give for q in that period, cut to
    `by` = value}. Within a view, each answer is remembered as that compute's, so the
    page's later reads of one of them are served from the batch."""
    quarters = [q.with_(period=p).quarter(defs) for p in periods]
    split = list(values or []) if by else [None]
    base = q.with_(filters=q.filters.with_(**{by: []})) if by else q
    groups = cohort_groups_by(con, base, defs, quarters, by)
    out: dict[tuple[str, str | None], Result] = {}
    for val in split:
        vq = q.with_(filters=q.filters.with_(**{by: [val]})) if by else q
        for i, p in enumerate(periods):
            pq = vq.with_(period=p)
            result = _cohort_result(pq, defs, groups.get((i, val), []))
            out[(p, val)] = remember("funnel_cohort", pq, defs, result)
    return out


@metric(
    "funnel_cohort",
    label="Stage conversion (cohort)",
    description="The cohort is the opportunities created in the period (created date, or the "
    "first snapshot when blank) seen by the as-of date. Of those that reached each stage (seen "
    "at it or a later open stage in any snapshot up to the as-of date; closed won reaches "
    "every stage), the share that reached the next. A deal that stopped at a stage is 'in "
    "progress' when still open in the as-of snapshot, else lost (closed lost or gone from the "
    "CRM). A deal no snapshot showed open counts as having reached the qualified stage (a won "
    "one every stage) and, if lost, as lost there (definitions win_rate.lost_never_seen_open "
    '= "exclude" leaves lost ones out, as the win rate does). Amounts are each deal\'s last amount up to the as-of date. '
    + LATEST_CUTS,
    formula="reached(k) = cohort deals with max stage reached ≥ k by S; conversion = "
    "reached(k+1) / reached(k); % of top = reached(k) / reached(first stage)",
    unit="table",
    scope="history",
    columns=(
        Column("stage", "Stage"),
        Column("reached_count", "Reached count", "count", "cohort deals that reached the stage"),
        Column("reached_amount", "Reached amount", "usd", "their last amount up to the as-of date"),
        Column("advanced_count", "Advanced count", "count", "of them, reached the next stage"),
        Column("in_progress_count", "In progress count", "count", "stopped here, still open at S"),
        Column("lost_count", "Lost count", "count", "stopped here, closed lost or gone"),
        Column("conversion_to_next", "Conversion to next", "ratio", "advanced ÷ reached"),
        Column("pct_of_top", "% of top", "ratio", "reached ÷ reached at the first stage"),
    ),
)
def funnel_cohort(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    return _cohort_result(q, defs, _cohort_groups(con, q, defs))


def _cohort_result(q: Query, defs: Definitions, groups: list[CohortGroup]) -> Result:
    """The funnel_cohort table from the cohort's groups (pure arithmetic)."""
    unseen = sum(g[4] for g in groups)
    groups = [g for g in groups if g[0] >= 0]
    levels = [s.name for s in defs.open_stages] + [defs.won_stage.name]
    rows = []
    top = None
    for k, stage in enumerate(levels):
        reached = sum(n for r, _p, n, _a, _u in groups if r >= k)
        amount = sum((a for r, _p, _n, a, _u in groups if r >= k), ZERO)
        last = k == len(levels) - 1
        advanced = None if last else sum(n for r, _p, n, _a, _u in groups if r >= k + 1)
        in_prog = 0 if last else sum(n for r, p, n, _a, _u in groups if r == k and p)
        lost = 0 if last else sum(n for r, p, n, _a, _u in groups if r == k and not p)
        top = reached if top is None else top
        rows.append(
            {
                "stage": stage,
                "reached_count": reached,
                "reached_amount": float(amount),
                "advanced_count": advanced,
                "in_progress_count": in_prog,
                "lost_count": lost,
                "conversion_to_next": None if advanced is None else ratio(advanced, reached),
                "pct_of_top": ratio(reached, top),
            }
        )
    note = None if top else "no opportunities created in the period"
    if top and unseen:
        deals = "deal" if unseen == 1 else "deals"
        note = (
            f"{unseen:,} lost {deals} never seen open counted as lost at {defs.qualified_stage}"
            if defs.counts_unseen_lost
            else f"{unseen:,} lost {deals} never seen open left out"
        )
    return Result("funnel_cohort", q, None, pd.DataFrame(rows), note)


# ---- time in stage and stalled deals ---------------------------------------------------
_TIS_MEMO: dict[tuple[Any, ...], pd.DataFrame] = {}
_TIS_KEPT = 32
_tis_lock = threading.Lock()


def time_in_stage_table(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> pd.DataFrame:
    """Completed stays per open stage, exited in the look-back window up to as_of.

    Kept per store version (steward.memo.by_store when the app or the benchmark turn it
    on, else this module's memo keyed by the derived tables' version token, random and
    replaced on every import), the query and the definitions: the stalled deals reuse
    the p75 of the same page, and the next view of the same cut reads it (an answer per
    cut: not kept when `memo.keep_answers(False)`).
    """
    if not memo.answers_kept():
        return _time_in_stage_table(con, q, defs)
    shared = memo.by_store(con, "history.time_in_stage")
    kept: dict[Any, Any]
    key: tuple[Any, ...]
    if shared is not None:
        kept, key = shared, (q.as_of, q.filters, _lookback(q), defs.digest)
    else:
        token = derived.version(con)
        if token is None:
            return _time_in_stage_table(con, q, defs)
        kept, key = _TIS_MEMO, (token, q.as_of, q.filters, _lookback(q), defs.digest)
    found = kept.get(key)
    if found is not None:
        return cast(pd.DataFrame, found).copy()
    table = _time_in_stage_table(con, q, defs)
    with _tis_lock:
        while len(kept) >= _TIS_KEPT:
            del kept[next(iter(kept))]
        kept[key] = table.copy()
    return table


def _time_in_stage_table(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> pd.DataFrame:
    since = q.as_of - timedelta(days=_lookback(q))
    sql = add_ranks(Sql(), defs)
    add_cut(sql, q)
    if derived.has_stage_exits(con):
        _add_stays_from_exits(sql, q)
    else:
        _add_stays_from_moves(sql, q)
    frame = sql.run(
        con,
        """
        select r.stage, x.median_days, x.p75_days, x.deals
        from (
          select reach_rank,
                 median(exit_date - entered_date) as median_days,
                 quantile_cont(exit_date - entered_date, 0.75) as p75_days,
                 count(*) as deals
          from stays
          where exit_date > $since
          group by reach_rank
        ) x
        join ranks r on r.reach_rank = x.reach_rank and not r.is_closed_stage
        """,
        {"since": since},
    ).df()
    by_stage = {r.stage: r for r in frame.itertuples()}
    out = []
    for s in defs.open_stages:
        r = by_stage.get(s.name)
        out.append(
            {
                "stage": s.name,
                "median_days": None if r is None else float(r.median_days),
                "p75_days": None if r is None else float(r.p75_days),
                "deals": 0 if r is None else int(r.deals),
            }
        )
    return pd.DataFrame(out)


# A stay at an open stage ends at the first later move (stage change or reappearance)
# to a later stage or a closed one. Both builders give the CTE
# `stays(opp_key, reach_rank, entered_date, exit_date)` of the stays ended by as_of.
_MOVES_CTE = """
        select c.opp_key, c.to_date, r.reach_rank, r.is_closed_stage
        from opp_changes c
        join ranks r on r.stage = c.stage_b
        where c.present_b and c.to_date <= $as_of
          and (not c.present_a or c.stage_a is distinct from c.stage_b)
        """


def _add_stays_from_exits(sql: Sql, q: Query) -> None:
    """From stage_exits: when the first move away from a stage goes forward (or closes),
    it is the exit; only the entries whose first move went backwards (or to a stage the
    definitions no longer know) are joined with their later moves."""
    sql.cte(
        "left_by",
        """
        select x.opp_key, r.reach_rank, x.entered_date, x.left_date,
               coalesce(n.is_closed_stage or n.reach_rank > r.reach_rank, false) as forward
        from stage_exits x
        join ranks r on r.stage = x.stage
        join cut using (opp_key)
        left join ranks n on n.stage = x.left_stage
        where not r.is_closed_stage and x.left_date <= $as_of
        """,
        {"as_of": q.as_of},
    )
    sql.cte(
        "back",
        "select * from left_by where not forward",
    )
    sql.cte(
        "moves",
        _MOVES_CTE + "          and c.opp_key in (select opp_key from back)",  # noqa: S608
        {"as_of": q.as_of},
    )
    sql.cte(
        "stays",
        """
        select opp_key, reach_rank, entered_date, left_date as exit_date
        from left_by where forward
        union all
        select b.opp_key, b.reach_rank, b.entered_date, min(m.to_date) as exit_date
        from back b
        join moves m on m.opp_key = b.opp_key and m.to_date > b.entered_date
         and (m.is_closed_stage or m.reach_rank > b.reach_rank)
        group by b.opp_key, b.reach_rank, b.entered_date
        """,
    )


def _add_stays_from_moves(sql: Sql, q: Query) -> None:
    """Stores without stage_exits (opened read-only before a writer added it): every
    entry joined with every later move of the same deal."""
    sql.cte(
        "entries",
        """
        select e.opp_key, e.stage, r.reach_rank, e.entered_date
        from stage_entries e
        join ranks r on r.stage = e.stage
        join cut using (opp_key)
        where not r.is_closed_stage and e.entered_date <= $as_of
        """,
        {"as_of": q.as_of},
    )
    sql.cte("moves", _MOVES_CTE, {"as_of": q.as_of})
    sql.cte(
        "stays",
        """
        select e.opp_key, e.reach_rank, min(e.entered_date) as entered_date,
               min(m.to_date) as exit_date
        from entries e
        join moves m on m.opp_key = e.opp_key and m.to_date > e.entered_date
         and (m.is_closed_stage or m.reach_rank > e.reach_rank)
        group by e.opp_key, e.reach_rank
        """,
    )


@metric(
    "time_in_stage",
    label="Time in stage",
    description="Days from the first snapshot a deal is seen at a stage to the first snapshot "
    "after it in which the deal is at a later stage or closed; median and 75th percentile "
    "(linear interpolation) of the stays that ended in the 365 days up to the as-of date "
    "(option lookback_days). Stays still running are left out. " + LATEST_CUTS,
    formula="exit date − entry date per completed stay; median, p75 by stage",
    unit="table",
    scope="history",
    columns=(
        Column("stage", "Stage"),
        Column("median_days", "Median days", "days"),
        Column("p75_days", "P75 days", "days", "75th percentile, linear interpolation"),
        Column("deals", "Deals", "count", "completed stays in the look-back window"),
    ),
)
def time_in_stage(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    table = time_in_stage_table(con, q, defs)
    note = None if table["deals"].sum() else "no completed stage stays in the look-back window"
    return Result("time_in_stage", q, None, table, note)


def stalled_frame(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    stage: str | None = None,
    in_sql: bool = False,
) -> pd.DataFrame:
    """Open deals at as_of whose current stay is longer than the p75 of that stage.

    Which deals: cut in memory from rows kept per store version (stalled_cut) when the
    store memo is on; else, or with `in_sql`, from time_in_stage_table and one query
    (the reference; tests compare)."""
    snap = snapshot_at(con, q.as_of)
    cols = [*DEAL_COLUMNS, "days_in_stage", "p75_days"]
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in [*cols, "crm_url"]})
    if snap is None:
        return empty
    sql = Sql()
    if in_sql or not cuts.kept_here(con):
        p75 = time_in_stage_table(con, q, defs)
        p75 = p75[p75["p75_days"].notna()]
        if p75.empty:
            return empty
        _add_stalled_sql(sql, con, q, defs, p75, stage)
    else:
        adder = _add_stays_from_exits if derived.has_stage_exits(con) else _add_stays_from_moves
        since = q.as_of - timedelta(days=_lookback(q))
        got = stalled_cut.stalled(con, q, defs, since, adder, stage)
        if got is None:
            return empty
        rows = _running_deals(con, q, defs, snap)
        frame = None if rows is None else stalled_cut.pick(rows, *got)
        if frame is not None and len(frame):  # (no rows: the SQL's empty frame and dtypes)
            frame["crm_url"] = [defs.record_url(str(i)) for i in frame["opportunity_id"].tolist()]
            return frame
        keys, days, limits = got
        sql.cte(
            "stalled",
            "select unnest($stalled_keys::integer[]) as opp_key,\n"
            "       unnest($stalled_days::bigint[]) as days_in_stage,\n"
            "       unnest($stalled_p75::double[]) as p75_days",
            {
                "stalled_keys": keys.tolist(),
                "stalled_days": days.tolist(),
                "stalled_p75": limits.tolist(),
            },
        )
    source, params = _deal_source(con, q, snap)
    frame = sql.run(
        con,
        f"""
        select {select_list("s")}, x.days_in_stage, x.p75_days
        from stalled x
        {source}
        order by x.days_in_stage desc, s.opportunity_id
        """,  # noqa: S608 - column names from DEAL_COLUMNS, joins fixed text
        params,
    ).df()
    frame["crm_url"] = [defs.record_url(str(i)) for i in frame["opportunity_id"].tolist()]
    return frame


def _deal_source(
    con: duckdb.DuckDBPyConnection, q: Query, snap: date
) -> tuple[str, dict[str, Any]]:
    """Joins from `x(opp_key)` to the deal's row `s` at the as-of date."""
    if q.as_of >= snap and snap == last_derived_date(con):
        # The latest facts are the rows of the as-of snapshot: no join on the raw table.
        return "join opp_facts s using (opp_key)", {}
    return (
        "join opp_facts f using (opp_key) "
        "join snapshots s on s.snapshot_date = $snap and s.opportunity_id = f.opportunity_id",
        {"snap": snap},
    )


def _running_deals(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, snap: date
) -> pd.DataFrame | None:
    """The deal columns of every deal open at as_of (the stalled deals of any cut are
    among them), sorted by `_key` (opp_key); kept per store version. None when a deal
    has two rows there (the caller binds the stalled keys instead)."""

    def read() -> pd.DataFrame | None:
        run = stalled_cut.running(con, q, defs)
        source, params = _deal_source(con, q, snap)
        frame = con.execute(
            f"""
            with x as (select unnest($running_keys::integer[]) as opp_key)
            select x.opp_key as _key, {select_list("s")}
            from x
            {source}
            order by x.opp_key
            """,  # noqa: S608 - column names from DEAL_COLUMNS, joins fixed text
            {"running_keys": run.keys.tolist(), **params},
        ).df()
        return None if frame["_key"].duplicated().any() else frame

    got: pd.DataFrame | None = memo.kept(
        con, "stalled.deals", (q.as_of, snap, defs.digest), read, 2
    )
    return got


def _add_stalled_sql(
    sql: Sql,
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    p75: pd.DataFrame,
    stage: str | None,
) -> None:
    """CTE `stalled(opp_key, days_in_stage, p75_days)` in SQL, from the p75 table."""
    add_ranks(sql, defs)
    add_state(sql, con, q.as_of)
    add_cut(sql, q)
    sql.cte(
        "limits",
        "select unnest($p75_stages::varchar[]) as stage, unnest($p75_values::double[]) as p75_days",
        {"p75_stages": list(p75["stage"]), "p75_values": [float(x) for x in p75["p75_days"]]},
    )
    sql.cte(
        "stalled",
        """
        select st.opp_key, ($as_of::date - e.entered_date) as days_in_stage, l.p75_days
        from state st
        join cut using (opp_key)
        join stage_entries e on e.opp_key = st.opp_key and e.stage = st.stage
        join limits l on l.stage = st.stage
        where st.present and not st.is_closed and ($as_of::date - e.entered_date) > l.p75_days
          and ($stage::varchar is null or st.stage = $stage)
        """,
        {"as_of": q.as_of, "stage": stage},
    )


@metric(
    "stalled_deals",
    label="Stalled deals",
    description="Open deals in the as-of snapshot whose days in their current stage (since "
    "the first snapshot they were seen at it, as time in stage counts) exceed that stage's "
    "75th-percentile time in stage. Value = number of stalled deals; the table and the drill list them. "
    + LATEST_CUTS,
    formula="open at S and (S − first snapshot at the current stage) > p75(time in stage)",
    unit="table",
    scope="history",
    columns=deal_schema(
        DEAL_TABLE_COLUMNS,
        Column("days_in_stage", "Days in stage", "days", "since first seen at the current stage"),
        Column("p75_days", "P75 days", "days", "the stage's 75th-percentile time in stage"),
    ),
)
def stalled_deals(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    frame = stalled_frame(con, q, defs)
    note = None if len(frame) else "no stalled deals"
    return Result("stalled_deals", q, float(len(frame)), frame, note)


@drill_for("stalled_deals")
def stalled_deals_drill(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, stage: str | None = None, **_: Any
) -> pd.DataFrame:
    return stalled_frame(con, q, defs, stage)


# ---- sales cycle and velocity ----------------------------------------------------------
def _won_in(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, start: date, end: date
) -> tuple[np.ndarray, np.ndarray]:
    """(amounts in cents, cycle days) of the deals won with close date in [start, end) by
    their state at as_of, in the view's cut (read per store version, steward.metrics.closed)."""
    won = closed.won_deals(con, q, defs, start, end)
    sel = closed.in_cut(won.opp_key, closed.cut_of(con, q))
    return won.cents[sel], won.cycle_days[sel]


@metric(
    "sales_cycle_days",
    label="Sales cycle",
    description="Median days from created date (first snapshot when blank) to close date of "
    "the deals won with a close date in the period, as of the as-of date (mean in the "
    "table). " + LATEST_CUTS,
    formula="median(close date − created date), won deals with close date in P",
    unit="days",
    scope="history",
)
def sales_cycle_days(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    qt = q.quarter(defs)
    _, days = _won_in(con, q, defs, qt.start, qt.end)
    if not len(days):
        return Result("sales_cycle_days", q, None, None, "no deals won in the period")
    days = days.astype(float)
    table = pd.DataFrame(
        [
            {
                "deals": len(days),
                "median_days": float(np.median(days)),
                "mean_days": float(days.mean()),
            }
        ]
    )
    return Result("sales_cycle_days", q, float(np.median(days)), table, None)


@metric(
    "pipeline_velocity",
    label="Pipeline velocity",
    description="Dollars per day the open qualified pipeline converts at: open qualified "
    "deals in the as-of snapshot (any close date) × average won deal size × win rate (count) "
    "/ mean sales cycle, the averages and the win rate over deals closed in the 365 days up "
    "to the as-of date (option lookback_days). The win rate is the win rate (count)'s, with "
    "the same reading of lost deals never seen open. " + LATEST_CUTS,
    formula="open qualified count × avg won amount × win rate (count) / mean cycle days",
    unit="usd_per_day",
    scope="history",
)
def pipeline_velocity(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    start = q.as_of - timedelta(days=_lookback(q) - 1)
    end = q.as_of + timedelta(days=1)
    cents, days = _won_in(con, q, defs, start, end)
    wl = _win_loss_between(con, q, defs, start, end)
    cut = closed.cut_of(con, q)
    n_open = int(closed.in_cut(closed.open_qualified(con, q, defs), cut).sum())
    n_won = len(cents)
    avg_size = int(cents.sum(dtype=np.int64)) / 100 / n_won if n_won else None
    avg_cycle = float(days.astype(float).mean()) if n_won else None
    rate = wl["win_rate_count"]
    parts = {
        "open_qualified_count": n_open,
        "avg_won_amount": avg_size,
        "win_rate_count": rate,
        "avg_cycle_days": avg_cycle,
        "lookback_from": start,
        "lookback_to": q.as_of,
    }
    value = None
    note = None
    if avg_size is None or rate is None or not avg_cycle:
        note = "no deals won in the look-back window"
    else:
        value = n_open * avg_size * rate / avg_cycle
        note = unseen_note(wl)
    return Result("pipeline_velocity", q, value, pd.DataFrame([parts]), note)


# ---- pipeline created ------------------------------------------------------------------
def created_by_source(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> pd.DataFrame:
    qt = q.quarter(defs)
    sql = add_ranks(Sql(), defs)
    add_cut(sql, q)
    sql.cte(
        "firsts",
        """
        select e.opp_key,
               arg_min(struct_pack(d := e.entered_date, amount := e.amount,
                                   source := e.source), e.entered_date) as fq
        from stage_entries e
        join ranks r on r.stage = e.stage
        join cut using (opp_key)
        where r.reach_rank >= $qualified_rank and e.entered_date <= $as_of
        group by e.opp_key
        """,
        {"qualified_rank": defs.qualified_rank, "as_of": q.as_of},
    )
    frame = sql.run(
        con,
        """
        select coalesce(fq.source, 'Unknown') as source,
               coalesce(sum(coalesce(fq.amount, 0)), 0) as amount,
               count(*) as count
        from firsts
        where fq.d >= $p_start and fq.d < $p_end
        group by 1
        order by amount desc, source
        """,
        {"p_start": qt.start, "p_end": qt.end},
    ).df()
    frame["amount"] = [float(dec(x)) for x in frame["amount"]]
    frame["count"] = frame["count"].astype(int)
    frame["is_marketing"] = [defs.is_marketing(s) for s in frame["source"]]
    return frame


@metric(
    "pipeline_created",
    label="Pipeline created",
    description="Amount at first qualification of the deals first seen at or after the "
    "qualified stage (or won) in a snapshot dated in the period, by source at that snapshot, "
    "against the period's pipeline target (segment rule as for the bookings target). Deals "
    "already qualified in the first loaded snapshot count as qualified then. " + LATEST_CUTS,
    formula="Σ amount at the first snapshot seen qualified, first qualified in P, by source",
    unit="table",
    scope="history",
    columns=(
        Column("source", "Source"),
        Column("amount", "Pipeline created", "usd", "amount at first qualification"),
        Column("count", "Deals", "count"),
        Column("is_marketing", "Marketing source", None, "the source is a governed marketing one"),
        Column("pipeline_target", "Pipeline target", "usd", "the period's, for the whole cut"),
    ),
)
def pipeline_created(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    frame = created_by_source(con, q, defs)
    total = sum((dec(x) for x in frame["amount"]), ZERO)
    target, tnote = target_for(con, q.quarter(defs).label, q.filters, "pipeline_target")
    frame["pipeline_target"] = None if target is None else float(target)
    if target is not None and target > 0:
        note = f"pipeline target {target:,.2f}; created {float(total / target):.1%} of it"
    else:
        note = tnote or "no pipeline target"
    return Result("pipeline_created", q, float(total), frame, note)


@metric(
    "pipeline_created_total",
    label="Pipeline created (total)",
    description="Total amount at first qualification of the deals first qualified in the "
    "period (the total of pipeline created). " + LATEST_CUTS,
    formula="Σ amount at first qualification, first qualified in P",
    unit="usd",
    scope="history",
)
def pipeline_created_total(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    frame = created_by_source(con, q, defs)
    total = sum((dec(x) for x in frame["amount"]), ZERO)
    return Result("pipeline_created_total", q, float(total), None, None)
