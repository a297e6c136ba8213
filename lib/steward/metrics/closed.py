"""The deals behind the win rate and the velocity, read once per store version and cut
by each view's filters in memory.

Which deals closed in a date range, and how each counts (won, qualified lost, never
seen open), depends only on the stored snapshots and the as-of date — not on the view's
filters, which pick deals by their latest attributes (`history_sql.add_cut`). So the
per-deal answer is read unfiltered once per store version (`steward.memo.kept`) as
integer arrays keyed by `opp_key`, and a view's filters become a boolean array over the
deals (`cut_of`: one bound query on `opp_facts`, the same clauses as `add_cut`). A new
filter then costs that one small query and a few array sums, at every as-of date the
Board asks (its tiles read the win rate and the velocity at three dates).

Amounts are kept as integer cents and summed as integers, so the sums equal the SQL
`sum()` of the DECIMAL amounts to the cent. With the store memo off (library callers,
tests) the same code reads the arrays fresh: one path, tested against plain SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np

from steward import memo
from steward.definitions import Definitions
from steward.metrics import cuts
from steward.metrics.core import Filters, Query
from steward.metrics.history_sql import (
    Sql,
    add_cut,
    add_ranks,
    add_reach,
    add_state,
    dec,
    qualified_reach_sql,
)

_KEPT = 32  # (as-of, range) answers kept per store version and kind


def _unfiltered(q: Query) -> Query:
    """q with no filter and no access scope: the kept arrays hold every deal."""
    return replace(q, filters=Filters())


def cut_of(con: duckdb.DuckDBPyConnection, q: Query) -> np.ndarray | None:
    """The view's filters as a boolean array indexed by opp_key (None: no filter, every
    deal passes); once per view. Where answers are kept per store version (the app),
    from every deal's latest attributes kept as codes (`cuts.latest`); else one query
    with `add_cut`'s clauses, bound the same way (tests compare the two)."""
    fsql, fparams = q.filters.named_sql("f")
    if not fsql:
        return None

    def read() -> np.ndarray:
        if cuts.kept_here(con):
            latest = cuts.latest(con)
            mask = latest.dims.mask(q.filters, latest.size)
            assert mask is not None  # there is a filter
            return mask
        keys = con.execute(
            f"select f.opp_key from opp_facts f where true{fsql}",  # noqa: S608 - whitelisted
            fparams,
        ).fetchnumpy()["opp_key"]
        mask = np.zeros(int(keys.max()) + 1 if len(keys) else 0, dtype=bool)
        mask[keys] = True
        return mask

    v = memo.current()
    return read() if v is None else v.get(("cut_of", q.filters), read)


def in_cut(keys: np.ndarray, cut: np.ndarray | None) -> np.ndarray:
    """Which of `keys` (opp_keys) pass the cut."""
    if cut is None:
        return np.ones(len(keys), dtype=bool)
    inside = keys < len(cut)
    out = np.zeros(len(keys), dtype=bool)
    out[inside] = cut[keys[inside]]
    return out


def closed_sql(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, start: date, end: date
) -> Sql:
    """CTE `closed(opp_key, is_won, amount, close_date, qualified, unseen)`: the deals
    closed with a close date in [start, end) by their state at as_of; `unseen` = no
    snapshot up to as_of showed the deal open."""
    sql = add_ranks(Sql(), defs)
    add_state(sql, con, q.as_of)
    add_cut(sql, q)
    # only the deals closed in the range need their reach
    closed_in_range = (
        "select opp_key from state where is_closed "
        "and close_date >= $closed_start and close_date < $closed_end"
    )
    add_reach(sql, q.as_of, among=closed_in_range)
    reach_sql, reach_params = qualified_reach_sql(defs)
    return sql.cte(
        "closed",
        f"""
        select st.opp_key, st.is_won, coalesce(st.amount, 0) as amount, st.stage,
               st.close_date,
               st.is_won or {reach_sql} >= $qualified_rank as qualified,
               not coalesce(rc.seen_open, false) as unseen
        from state st
        join cut using (opp_key)
        left join reach rc using (opp_key)
        where st.is_closed and st.close_date >= $closed_start and st.close_date < $closed_end
        """,  # noqa: S608 - fixed text
        {
            **reach_params,
            "qualified_rank": defs.qualified_rank,
            "closed_start": start,
            "closed_end": end,
        },
    )


@dataclass(frozen=True)
class Closed:
    """Every deal closed with a close date in [start, end) by its state at as_of, one
    entry per deal: the flags the win rate counts by (each as the SQL filter reads it,
    NULL = false) and the amount in cents (blank = 0)."""

    opp_key: np.ndarray
    won: np.ndarray
    lost: np.ndarray  # qualified and not won
    unseen: np.ndarray  # no snapshot up to as_of showed it open
    unseen_lost: np.ndarray
    cents: np.ndarray


def closed_deals(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, start: date, end: date
) -> Closed:
    """The unfiltered `Closed` for (q.as_of, [start, end)), kept per store version."""

    def read() -> Closed:
        sql = closed_sql(con, _unfiltered(q), defs, start, end)
        got = sql.run(
            con,
            """
            select opp_key, coalesce(is_won, false) as won,
                   coalesce(qualified and not is_won, false) as lost,
                   coalesce(unseen, false) as unseen,
                   coalesce(unseen and not is_won, false) as unseen_lost,
                   (amount * 100)::bigint as cents
            from closed
            """,
        ).fetchnumpy()
        return Closed(**{k: np.asarray(got[k]) for k in Closed.__dataclass_fields__})

    key = (q.as_of, start, end, defs.digest)
    got: Closed = memo.kept(con, "closed.deals", key, read, _KEPT)
    return got


def _money(cents: np.ndarray) -> Decimal:
    return dec(Decimal(int(cents.sum(dtype=np.int64))) / 100)


def win_loss_counts(c: Closed, sel: np.ndarray) -> dict[str, Any]:
    """The win/loss counts and amounts of the deals `sel` picks (see history.win_loss)."""
    won, lost, unseen = c.won & sel, c.lost & sel, c.unseen & sel
    return {
        "won_count": int(won.sum()),
        "lost_count": int(lost.sum()),
        "won_amount": _money(c.cents[won]),
        "lost_amount": _money(c.cents[lost]),
        "closed_count": int(sel.sum()),
        "never_open_count": int(unseen.sum()),
        "never_open_amount": _money(c.cents[unseen]),
        "never_open_lost_count": int((c.unseen_lost & sel).sum()),
    }


@dataclass(frozen=True)
class Won:
    """Deals won with a close date in [start, end) by their state at as_of: amount in
    cents and cycle days (close date − created date, first snapshot when blank)."""

    opp_key: np.ndarray
    cents: np.ndarray
    cycle_days: np.ndarray


def won_deals(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, start: date, end: date
) -> Won:
    """The unfiltered `Won` for (q.as_of, [start, end)), kept per store version."""

    def read() -> Won:
        sql = add_state(Sql(), con, q.as_of)
        got = sql.run(
            con,
            """
            select st.opp_key, (coalesce(st.amount, 0) * 100)::bigint as cents,
                   st.close_date - coalesce(f.created_date, f.first_seen) as cycle_days
            from state st
            join opp_facts f using (opp_key)
            where st.is_won and st.close_date >= $won_start and st.close_date < $won_end
            """,
            {"won_start": start, "won_end": end},
        ).fetchnumpy()
        return Won(**{k: np.asarray(got[k]) for k in Won.__dataclass_fields__})

    key = (q.as_of, start, end, defs.digest)
    got: Won = memo.kept(con, "closed.won", key, read, _KEPT)
    return got


def open_qualified(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> np.ndarray:
    """opp_keys of the deals open at or after the qualified stage in the as-of snapshot
    (state at as_of, any close date), unfiltered, kept per store version."""

    def read() -> np.ndarray:
        sql = add_ranks(Sql(), defs)
        add_state(sql, con, q.as_of)
        got = sql.run(
            con,
            """
            select st.opp_key from state st
            join ranks r on r.stage = st.stage
            where st.present and not st.is_closed and r.reach_rank >= $qualified_rank
            """,
            {"qualified_rank": defs.qualified_rank},
        ).fetchnumpy()
        return np.asarray(got["opp_key"])

    key = (q.as_of, defs.digest)
    got: np.ndarray = memo.kept(con, "closed.open_qualified", key, read, _KEPT)
    return got
