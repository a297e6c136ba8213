"""Stalled deals for any cut, from rows read once per store version.

A deal is stalled when its days in its current stage exceed the p75 of that stage's
completed stays (time in stage), both cut by the deals' latest attributes. At 31M
rows the two queries behind it cost ~100-250 ms per new cut; but only the cut depends
on the view: the completed stays of every deal, the open deals' days in stage and the
latest attributes of every deal are the same for every cut of one store version. So
they are read once (steward.memo.kept, by as-of date) and each view cuts them in
numpy, then reads the deal columns of the stalled deals alone.

The p75 is DuckDB's `quantile_cont(days, 0.75)`: with n stays sorted, position
(n − 1) × 0.75 between two neighbours and `lo + (hi − lo) × fraction`; the fraction is a
multiple of 0.25 and the days are whole, so every step is exact in doubles and both
give the same number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from steward import memo
from steward.definitions import Definitions
from steward.metrics import cuts
from steward.metrics.core import Filters, Query
from steward.metrics.history_sql import Sql, add_cut, add_ranks, add_state

_KEPT = 4  # as-of dates kept per store version (~10 MB each at 31M rows)


@dataclass(frozen=True)
class Stays:
    """Completed stays that exited in the look-back window, sorted by (rank, days)."""

    keys: np.ndarray  # opp_key
    ranks: np.ndarray  # reach rank of the stage stayed at
    days: np.ndarray  # exit − entry, whole days


@dataclass(frozen=True)
class Running:
    """Deals present and open at the as-of date: stage (index + 1 into the governed
    stage names, 0 for another) and days since first seen at it."""

    keys: np.ndarray
    stages: np.ndarray
    days: np.ndarray


def stays(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    since: date,
    add_stays: Callable[[Sql, Query], None],
) -> Stays:
    """Every deal's stays ended by as_of and exited after `since` (`add_stays` builds the
    CTE `stays` as time in stage does)."""

    def read() -> Stays:
        whole = replace(q, filters=Filters())
        sql = add_ranks(Sql(), defs)
        add_cut(sql, whole)
        add_stays(sql, whole)
        frame = sql.run(
            con,
            """
            select opp_key, reach_rank, (exit_date - entered_date)::bigint as days
            from stays
            where exit_date > $since
            order by reach_rank, days
            """,
            {"since": since},
        ).fetchnumpy()
        return Stays(
            np.asarray(frame["opp_key"], dtype=np.int32),
            np.asarray(frame["reach_rank"], dtype=np.int16),
            np.asarray(frame["days"], dtype=np.int32),
        )

    got: Stays = memo.kept(con, "stalled.stays", (q.as_of, since, defs.digest), read, _KEPT)
    return got


def running(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Running:
    def read() -> Running:
        sql = add_state(Sql(), con, q.as_of)
        frame = sql.run(
            con,
            """
            select st.opp_key,
                   coalesce(list_position($stage_names::varchar[], st.stage), 0)::integer
                     as stage,
                   ($as_of::date - e.entered_date)::bigint as days
            from state st
            join stage_entries e on e.opp_key = st.opp_key and e.stage = st.stage
            where st.present and not st.is_closed
            """,
            {"stage_names": [s.name for s in defs.stages], "as_of": q.as_of},
        ).fetchnumpy()
        return Running(
            np.asarray(frame["opp_key"], dtype=np.int32),
            np.asarray(frame["stage"], dtype=np.int16),
            np.asarray(frame["days"], dtype=np.int32),
        )

    got: Running = memo.kept(con, "stalled.running", (q.as_of, defs.digest), read, _KEPT)
    return got


def quantile_cont(sorted_days: np.ndarray, fraction: float) -> float:
    """DuckDB's quantile_cont of sorted whole numbers (exact: see the module doc)."""
    pos = (len(sorted_days) - 1) * fraction
    lo = int(np.floor(pos))
    hi = int(np.ceil(pos))
    low = float(sorted_days[lo])
    return low + (float(sorted_days[hi]) - low) * (pos - lo)


def p75_by_stage(st: Stays, keep: np.ndarray | None, defs: Definitions) -> dict[str, float]:
    """The p75 of each open stage's kept stays (stages with none left out)."""
    out: dict[str, float] = {}
    ranks = st.ranks
    for s in defs.open_stages:
        a, b = np.searchsorted(ranks, [s.rank, s.rank + 1])
        days = st.days[a:b] if keep is None else st.days[a:b][keep[st.keys[a:b]]]
        if len(days):
            out[s.name] = quantile_cont(days, 0.75)
    return out


def stalled(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    since: date,
    add_stays: Callable[[Sql, Query], None],
    stage: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(opp_key, days in stage, p75) of the stalled deals of q's cut, or None when no
    stage has a p75 (no completed stay in the window)."""
    fa = cuts.latest(con)
    keep = fa.dims.mask(q.filters, fa.size)
    limits = p75_by_stage(stays(con, q, defs, since, add_stays), keep, defs)
    if not limits:
        return None
    run = running(con, q, defs)
    names = [s.name for s in defs.stages]
    # per stage code (0 = not a governed stage): its p75, NaN where it has none
    table = np.full(len(names) + 1, np.nan)
    for i, name in enumerate(names, start=1):
        if name in limits and (stage is None or name == stage):
            table[i] = limits[name]
    p75 = table[run.stages]
    with np.errstate(invalid="ignore"):
        picked = run.days > p75  # NaN compares false: no limit, not stalled
    if keep is not None:
        picked &= keep[run.keys]
    return run.keys[picked], run.days[picked], p75[picked]


def pick(
    rows: pd.DataFrame, keys: np.ndarray, days: np.ndarray, limits: np.ndarray
) -> pd.DataFrame:
    """The stalled deals' rows of `rows` (deal columns sorted by `_key`), with their days
    in stage and p75, ordered as the SQL orders them: most days first, then by id. A
    key with no row is left out, as the SQL's inner join leaves it."""
    sorted_keys = rows["_key"].to_numpy()
    pos = np.searchsorted(sorted_keys, keys)
    found = pos < len(sorted_keys)
    found[found] = sorted_keys[pos[found]] == keys[found]
    out = rows.take(pos[found]).drop(columns="_key")
    out["days_in_stage"] = days[found].astype(np.int64)
    out["p75_days"] = limits[found].astype(np.float64)
    out = out.sort_values(["days_in_stage", "opportunity_id"], ascending=[False, True])
    return out.reset_index(drop=True)


def since_of(q: Query, lookback_days: int) -> date:
    return q.as_of - timedelta(days=lookback_days)
