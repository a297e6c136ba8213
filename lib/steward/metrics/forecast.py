"""The historical forecast, the forecast range, and the backtest of every method.

Historical method. For the as-of snapshot S and period P, let d = (end of P) - S in
days. For each earlier fiscal quarter Q whose outcome is known by S, the *comparable
point* is the loaded snapshot nearest to (end of Q) - d (within 3 days). Among the open
deals (any governed open stage, as the roll-ups count them) in that snapshot with close
date in Q, the share that were closed won
with close date in Q in the first snapshot on or after the end of Q (and on or before S)
is the learned probability, by stage and segment when that cell has at least
`min_obs` observations (default 30), else by stage alone, else the stage's governed
probability. Only snapshots up to S are read, so nothing from the future leaks in.

Two more things are learned per training quarter: its won / expected ratio (quarters run
hot or cold, for all deals at once) and its *late wins* (won in the quarter by deals not
open in it at the comparable point, as a ratio to the whole open pipeline then).

Each simulated draw picks one training quarter; every open deal in P at S closes won
with min(1, ratio × p), independently given that pick; the draw's total is won to date
+ Σ Bernoulli × amount + late ratio × today's whole open pipeline. Fixed seed. To stay fast with thousands of deals, the deals carrying the most variance
(p(1-p)amount², up to `EXACT_DEALS`) are drawn one by one and the rest, whose sum is
close to normal, is drawn from a normal with the same mean and variance.

The backtest reruns every method as of week N of past quarters; its `Learner` reads the
training counts of all those quarters in one pass.
"""

from __future__ import annotations

import bisect
import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

import duckdb
import numpy as np
import pandas as pd

from steward import memo
from steward.definitions import Definitions
from steward.metrics import cuts, forecast_cut
from steward.metrics import deals as deal_columns
from steward.metrics.asof import ZERO, category_sql, probability_sql
from steward.metrics.core import REGISTRY, Column, Query, Result, compute, drill_for, metric
from steward.periods import Quarter, quarter_of
from steward.sqlbind import merge

DRAWS = 10_000
SEED = 7
EXACT_DEALS = 400
MIN_OBS = 30
MAX_TRAINING_QUARTERS = 8
# answers kept per store version (one per query seen; steward.memo.kept)
BACKTESTS_KEPT = 64
FORECASTS_KEPT = 32  # each holds its open deals (~1 MB per 10,000 deals)
SNAP_TOLERANCE_DAYS = 3
# the backtest's past quarters simulated at once (STEWARD_SIMULATION_THREADS=1: in turn)
SIMULATION_THREADS = max(1, int(os.environ.get("STEWARD_SIMULATION_THREADS", "2")))
OTHER_METHODS: tuple[str, ...] = ("forecast_commit", "forecast_best_case", "forecast_weighted")


def open_stage_names(defs: Definitions) -> list[str]:
    """Every governed open stage: forecasts count any open deal, as the roll-ups do."""
    return [s.name for s in defs.open_stages]


# --- snapshot calendar ----------------------------------------------------------------


def current_derived_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last snapshot date when the derived tables reflect every snapshot, else None."""
    try:
        rows = con.execute(
            "select (select max(snapshot_date) from derived_dates), "
            "(select max(snapshot_date) from snapshots)"
        ).fetchall()
    except duckdb.CatalogException:
        return None
    derived_last, last = rows[0]
    return last if derived_last is not None and derived_last == last else None


def snapshot_dates(con: duckdb.DuckDBPyConnection, up_to: date) -> list[date]:
    """Loaded snapshot dates on or before `up_to`, ascending.

    Read from the small derived_dates table when it is current (a distinct over the raw
    table costs ~100 ms at 10M rows), else from the snapshots.
    """
    known = memo.snapshot_dates(con)
    if known is not None:
        return known[: bisect.bisect_right(known, up_to)]
    table = "derived_dates" if current_derived_date(con) else "snapshots"
    rows = con.execute(
        f"select distinct snapshot_date from {table} where snapshot_date <= $up_to order by 1",  # noqa: S608 - table from a fixed pair
        {"up_to": up_to},
    ).fetchall()
    return [r[0] for r in rows]


def nearest_snapshot(
    dates: list[date], target: date, tol_days: int = SNAP_TOLERANCE_DAYS
) -> date | None:
    """The loaded date nearest `target` within tol_days (earlier on ties), or None."""
    i = bisect.bisect_left(dates, target)
    best = None
    for j in (i - 1, i):
        if 0 <= j < len(dates):
            gap = abs((dates[j] - target).days)
            if gap <= tol_days and (best is None or gap < best[0]):
                best = (gap, dates[j])
    return best[1] if best else None


def first_snapshot_on_or_after(dates: list[date], d: date) -> date | None:
    i = bisect.bisect_left(dates, d)
    return dates[i] if i < len(dates) else None


@dataclass(frozen=True)
class TrainingQuarter:
    quarter: Quarter
    observed_on: date  # the comparable point: same days left before the quarter ends
    outcome_on: date  # first snapshot after the quarter ended


def training_quarters(
    dates: list[date], period: Quarter, as_of: date, max_quarters: int = MAX_TRAINING_QUARTERS
) -> list[TrainingQuarter]:
    """Earlier quarters with both a comparable snapshot and a known outcome by `as_of`."""
    days_left = (period.end - as_of).days
    out: list[TrainingQuarter] = []
    k = 1
    while len(out) < max_quarters and k <= 4 * 10:
        qk = period.shift(-k)
        k += 1
        if qk.end > as_of:
            continue
        target = qk.end - timedelta(days=days_left)
        if not dates or target < dates[0] - timedelta(days=SNAP_TOLERANCE_DAYS):
            break  # no snapshot near this comparable point, nor near any earlier one
        outcome = first_snapshot_on_or_after(dates, qk.end)
        observed = nearest_snapshot(dates, target)
        if outcome is None or observed is None or outcome > as_of or observed >= qk.end:
            continue
        out.append(TrainingQuarter(qk, observed, outcome))
    return out


# --- learning the probabilities ---------------------------------------------------------

# One pass over the training snapshots. Per training quarter k: (1) 'cell' rows: deals
# open at the comparable point with a close date in the quarter, and how many of them were
# won in it, by stage and segment; (2) one 'late' row: the whole open pipeline (any close
# date) at the comparable point, a measure of the business's size then, and the amount
# won in the quarter by deals that were then neither open with a close date in it nor
# already won in it (created later, pulled in from a later quarter, reopened).
# The dates are repeated as a literal `in ($observed_0, $observed_1, ...)` list so that DuckDB prunes the scan
# to those snapshots (the join alone would read the whole table).
_TRAINING_SQL = """
with pairs as (
  select unnest($ks::integer[]) as k, unnest($observed_on::date[]) as observed_on,
         unnest($outcome_on::date[]) as outcome_on, unnest($q_starts::date[]) as q_start,
         unnest($q_ends::date[]) as q_end
),
at_observed as materialized (
  select p.k, s.opportunity_id, s.stage, coalesce(s.segment, '') as segment,
         coalesce(s.amount, 0) as amount,
         s.close_date >= p.q_start and s.close_date < p.q_end as is_in_quarter,
         not s.is_closed and list_contains($open_stages::varchar[], s.stage) as is_open
  from snapshots s
  join pairs p on s.snapshot_date = p.observed_on
  where s.snapshot_date in ({observed_in})
    and ((not s.is_closed and list_contains($open_stages::varchar[], s.stage))
         or (s.is_won and s.close_date >= p.q_start and s.close_date < p.q_end))
),
won as materialized (
  select p.k, s.opportunity_id, coalesce(s.amount, 0) as amount
  from snapshots s
  join pairs p on s.snapshot_date = p.outcome_on
  where s.snapshot_date in ({outcome_in}) and s.is_won
    and s.close_date >= p.q_start and s.close_date < p.q_end
),
cells as (
  select o.k, o.stage, o.segment, count(*) as observations, count(w.opportunity_id) as won
  from at_observed o
  left join won w on w.k = o.k and w.opportunity_id = o.opportunity_id
  where o.is_open and o.is_in_quarter
  group by o.k, o.stage, o.segment
),
open_totals as (
  select k, sum(amount) filter (where is_open) as open_amount from at_observed group by k
),
late as (
  select w.k, sum(w.amount) as late_won
  from won w
  anti join at_observed o
    on o.k = w.k and o.opportunity_id = w.opportunity_id and o.is_in_quarter
  group by w.k
)
select 'cell' as kind, k, stage, segment, observations, won,
       null::double as open_amount, null::double as late_won
from cells
union all
select 'late', p.k, null, null, null, null, coalesce(t.open_amount, 0), coalesce(l.late_won, 0)
from pairs p
left join open_totals t using (k)
left join late l using (k)
"""

LearnedRows = list[tuple[str, str, int, int]]  # (stage, segment, observations, won)


class Learner:
    """What each training quarter teaches, read once (see _TRAINING_SQL).

    The backtest runs the method for several past quarters whose training quarters
    overlap; `prefetch` reads all of them in one query.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, defs: Definitions) -> None:
        self.con, self.defs = con, defs
        self.rows: dict[TrainingQuarter, LearnedRows] = {}
        self.late: dict[TrainingQuarter, tuple[float, float]] = {}  # (open amount, late won)
        # What a training quarter teaches depends only on the stored snapshots and the
        # open stages: readers of one store version share it (steward.memo), so the
        # tiles, the range and the backtest of every view read it once per import.
        shared = memo.by_store(con, "forecast.learner")
        if shared is not None:
            both = shared.setdefault(tuple(open_stage_names(defs)), ({}, {}))
            self.rows, self.late = both

    def prefetch(self, training: list[TrainingQuarter]) -> None:
        todo = sorted({t for t in training if t not in self.late}, key=lambda t: t.quarter)
        if not todo:
            return
        observed = sorted({t.observed_on for t in todo})
        outcome = sorted({t.outcome_on for t in todo})
        sql = _TRAINING_SQL.format(
            observed_in=", ".join(f"$observed_{i}" for i in range(len(observed))),
            outcome_in=", ".join(f"$outcome_{i}" for i in range(len(outcome))),
        )
        params: dict[str, Any] = {
            "ks": list(range(len(todo))),
            "observed_on": [t.observed_on for t in todo],
            "outcome_on": [t.outcome_on for t in todo],
            "q_starts": [t.quarter.start for t in todo],
            "q_ends": [t.quarter.end for t in todo],
            "open_stages": open_stage_names(self.defs),
        }
        params.update({f"observed_{i}": d for i, d in enumerate(observed)})
        params.update({f"outcome_{i}": d for i, d in enumerate(outcome)})
        rows = self.con.execute(sql, params).fetchall()
        # Filled aside and published per quarter, rows before `late` (prefetch tests
        # `late`): a reader sharing these dicts never sees a half-filled quarter.
        cells: dict[TrainingQuarter, LearnedRows] = {t: [] for t in todo}
        late = dict.fromkeys(todo, (0.0, 0.0))
        for kind, k, stage, seg, n, won, open_amount, late_won in rows:
            if kind == "cell":
                cells[todo[k]].append((str(stage), str(seg), int(n), int(won)))
            else:
                late[todo[k]] = (float(open_amount), float(late_won))
        for t in todo:
            # sorted: DuckDB's group-by order varies, and the quarter multipliers sum
            # these rows in floating point; a fixed order gives the same last bit each run
            self.rows[t] = sorted(cells[t])
            self.late[t] = late[t]

    def late_ratios(self, training: list[TrainingQuarter]) -> list[float | None]:
        """Late wins / whole open pipeline at the comparable point, per training quarter."""
        self.prefetch(training)
        out: list[float | None] = []
        for t in training:
            open_amount, late_won = self.late[t]
            out.append(late_won / open_amount if open_amount > 0 else None)
        return out

    def learned(self, training: list[TrainingQuarter]) -> LearnedRows:
        """Summed over the training quarters: (stage, segment, observations, won) rows,
        sorted by (stage, segment)."""
        self.prefetch(training)
        total: dict[tuple[str, str], list[int]] = {}
        for t in training:
            for stage, seg, n, won in self.rows[t]:
                cell = total.setdefault((stage, seg), [0, 0])
                cell[0] += n
                cell[1] += won
        return [(st, seg, n, w) for (st, seg), (n, w) in sorted(total.items())]


def learn(
    con: duckdb.DuckDBPyConnection, training: list[TrainingQuarter], defs: Definitions
) -> LearnedRows:
    """Observations and wins by (stage, segment) over the training quarters."""
    return Learner(con, defs).learned(training)


def probabilities(
    learned: LearnedRows, defs: Definitions, min_obs: int = MIN_OBS
) -> dict[tuple[str, str], tuple[float, str, int]]:
    """(stage, segment) -> (p, basis, observations); key (stage, '*') for stage-only.
    `learned`: the rows of `learn`."""
    out: dict[tuple[str, str], tuple[float, str, int]] = {}
    stage_n: dict[str, int] = {}
    stage_won: dict[str, int] = {}
    for stage, seg, n, won in learned:
        stage_n[stage] = stage_n.get(stage, 0) + int(n)
        stage_won[stage] = stage_won.get(stage, 0) + int(won)
        if int(n) >= min_obs:
            out[(str(stage), str(seg))] = (int(won) / int(n), "stage and segment", int(n))
    for stage in open_stage_names(defs):
        n = stage_n.get(stage, 0)
        if n > 0:
            out[(stage, "*")] = (stage_won[stage] / n, "stage", n)
        else:
            out[(stage, "*")] = (defs.stage(stage).probability, "stage default", 0)
    return out


# --- the deals of P at S ------------------------------------------------------------------

_OPEN_SQL = """
with open_deals as (
  select s.opportunity_id, s.stage, coalesce(s.segment, '') as segment,
         cast(coalesce(s.amount, 0) as double) as amount
  from snapshots s
  where s.snapshot_date = $as_of and not s.is_closed
    and list_contains($open_stages::varchar[], s.stage)
    and s.close_date >= $p_start and s.close_date < $p_end{filters}
)
select * from open_deals order by opportunity_id
"""
_OPEN_ALL_SQL = """
with open_deals as (
  select coalesce(s.amount, 0) as amount
  from snapshots s
  where s.snapshot_date = $as_of and not s.is_closed
    and list_contains($open_stages::varchar[], s.stage){filters}
)
select coalesce(sum(amount), 0) from open_deals
"""
_WON_SQL = """
with won as (
  select coalesce(s.amount, 0) as amount
  from snapshots s
  where s.snapshot_date = $as_of and s.is_won
    and s.close_date >= $p_start and s.close_date < $p_end{filters}
)
select coalesce(sum(amount), 0) from won
"""


# Won to date in P and the whole open pipeline (any close date) at S, in one scan of the
# snapshot: the same sums (exact decimals) as _WON_SQL and _OPEN_ALL_SQL apart.
_SUMS_SQL = """
select coalesce(sum(coalesce(s.amount, 0)) filter (
           where s.is_won and s.close_date >= $p_start and s.close_date < $p_end), 0),
       coalesce(sum(coalesce(s.amount, 0)) filter (
           where not s.is_closed and list_contains($open_stages::varchar[], s.stage)), 0)
from snapshots s
where s.snapshot_date = $as_of{filters}
"""


def learned_p(
    cols: dict[str, Any], probs: dict[tuple[str, str], tuple[float, str, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each open deal's (columns as read by _OPEN_SQL) learned probability, its basis and
    observations: looked up once per (stage, segment) pair, not per deal."""
    stage = np.asarray(cols["stage"], dtype=object)
    segment = np.asarray(cols["segment"], dtype=object)
    stage_codes, stage_names = pd.factorize(stage)
    seg_codes, seg_names = pd.factorize(segment)
    pair = stage_codes.astype(np.int64) * max(1, len(seg_names)) + seg_codes
    found, inverse = np.unique(pair, return_inverse=True)
    chosen = [
        probs.get((st, seg), probs[(st, "*")])
        for st, seg in (
            (
                str(stage_names[c // max(1, len(seg_names))]),
                str(seg_names[c % max(1, len(seg_names))]),
            )
            for c in found.tolist()
        )
    ]
    p_win = np.array([c[0] for c in chosen], dtype=float)
    basis = np.array([c[1] for c in chosen], dtype=object)
    observations = np.array([c[2] for c in chosen], dtype=np.int64)
    return p_win[inverse], basis[inverse], observations[inverse]


@functools.cache
def _no_deals() -> pd.DataFrame:
    """The deals of a forecast asked without them: no rows, the columns of _deals_frame."""
    none = np.array([], dtype=object)
    return _deals_frame(
        {"opportunity_id": none, "stage": none, "segment": none, "amount": np.array([])},
        np.array([]),
        none,
        np.array([], dtype=np.int64),
    )


def _deals_frame(
    cols: dict[str, Any], p_win: np.ndarray, basis: np.ndarray, observations: np.ndarray
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": np.asarray(cols["opportunity_id"], dtype=object),
            "stage": [str(x) for x in cols["stage"]],
            "segment": [str(x) for x in cols["segment"]],
            "amount": np.asarray(cols["amount"], dtype=float),
            "p_win": p_win,
            "basis": basis.tolist(),
            "observations": observations,
        }
    )


# The same reads for several (S, P) pairs at once (the backtest's past quarters): the
# rows, their order and the sums of _OPEN_SQL and _SUMS_SQL, pair by pair (key k).
_PAIRS_CTE = """
with pairs as (
  select unnest($ks::integer[]) as k, unnest($as_ofs::date[]) as as_of,
         unnest($p_starts::date[]) as p_start, unnest($p_ends::date[]) as p_end
)
"""
_OPEN_MANY_SQL = (
    _PAIRS_CTE  # noqa: S608 - constant SQL text, values bound
    + """
select p.k, s.opportunity_id, s.stage, coalesce(s.segment, '') as segment,
       cast(coalesce(s.amount, 0) as double) as amount
from snapshots s
join pairs p on s.snapshot_date = p.as_of
where s.snapshot_date in ({dates_in}) and not s.is_closed
  and list_contains($open_stages::varchar[], s.stage)
  and s.close_date >= p.p_start and s.close_date < p.p_end{filters}
order by p.k, s.opportunity_id
"""
)
_SUMS_MANY_SQL = (
    _PAIRS_CTE  # noqa: S608 - constant SQL text, values bound
    + """
select p.k,
       coalesce(sum(coalesce(s.amount, 0)) filter (
           where s.is_won and s.close_date >= p.p_start and s.close_date < p.p_end), 0),
       coalesce(sum(coalesce(s.amount, 0)) filter (
           where not s.is_closed and list_contains($open_stages::varchar[], s.stage)), 0)
from snapshots s
join pairs p on s.snapshot_date = p.as_of
where s.snapshot_date in ({dates_in}){filters}
group by p.k
"""
)

# What _historical_forecast reads at S: the open deals of P (columns) and (won, open) sums.
Reads = tuple[dict[str, np.ndarray], tuple[Any, Any]]


# The other methods' values (forecast_commit, forecast_best_case, forecast_weighted) for
# several (S, P) pairs in one scan: won to date, the commit and best-case categories' open
# amounts (exact decimals, as asof.money_sum) and the stage-weighted open amount, each
# over the rows the per-pair metric reads (asof: won_in_period_cut, _forecast_open).
# (Folding these into _SUMS_MANY_SQL, which scans the same snapshots, was slower: the
# backtest for a new cut at 31M rows 194-201 -> 205-228 ms; so they stay apart.)
_OTHERS_MANY_SQL = (
    _PAIRS_CTE  # noqa: S608 - constant SQL text, values bound
    + """
select p.k,
       coalesce(sum(s.amount) filter (where s.is_won and {in_p}), 0)::decimal(18,2),
       coalesce(sum(s.amount) filter (where not s.is_closed and {in_p} and {commit}), 0)
         ::decimal(18,2),
       coalesce(sum(s.amount) filter (where not s.is_closed and {in_p} and {best_case}), 0)
         ::decimal(18,2),
       coalesce(sum(coalesce(s.amount, 0) * {probability})
           filter (where not s.is_closed and {in_p}), 0)
from snapshots s
join pairs p on s.snapshot_date = p.as_of
where s.snapshot_date in ({{dates_in}}){{filters}}
group by p.k
"""
)


def others_many(
    con: duckdb.DuckDBPyConnection, pairs: list[tuple[date, Quarter]], q: Query, defs: Definitions
) -> list[dict[str, float | None]]:
    """Per (S, P) pair: the value of each of OTHER_METHODS, as `compute` gives it for
    that pair (the backtest's past quarters: one query instead of one per method and
    quarter; tests compare them)."""
    if not pairs:
        return []
    if cuts.kept_here(con):
        rows = forecast_cut.rows_of(con, pairs, defs)
        return [_others(*forecast_cut.others(r, q.filters)) for r in rows]
    psql, pparams = probability_sql("s", defs)
    commit_sql, commit_params = category_sql("s", defs.commit_categories, "commit_categories")
    best_sql, best_params = category_sql("s", defs.best_case_categories, "best_case_categories")
    in_p = "(s.close_date >= p.p_start and s.close_date < p.p_end)"
    sql = _OTHERS_MANY_SQL.format(
        in_p=in_p, commit=commit_sql, best_case=best_sql, probability=psql
    )
    own = merge(pparams, commit_params, best_params)
    got = {
        int(k): (won, commit, best, weighted)
        for k, won, commit, best, weighted in _many(con, sql, pairs, q, own).fetchall()
    }
    return [_others(*got.get(k, (ZERO, ZERO, ZERO, 0.0))) for k in range(len(pairs))]


def _others(won: Any, commit: Any, best: Any, weighted: Any) -> dict[str, float | None]:
    return {
        "forecast_commit": _cents(Decimal(won) + Decimal(commit)),
        "forecast_best_case": _cents(Decimal(won) + Decimal(best)),
        "forecast_weighted": _cents(float(Decimal(won)) + float(weighted or 0)),
    }


def _cents(x: Decimal | float) -> float:
    return round(float(x), 2)


def _many(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    pairs: list[tuple[date, Quarter]],
    q: Query,
    own: dict[str, Any],
) -> duckdb.DuckDBPyConnection:
    """Run a *_MANY_SQL for the (as-of date, period) pairs, with the pairs, the dates and
    the filters bound here and `own`, the query's other parameters (exactly those: DuckDB
    refuses a name the SQL does not use). The dates are repeated as a literal list so
    that DuckDB prunes the scan to those snapshots."""
    fsql, fparams = q.filters.named_sql("s")
    dates = sorted({d for d, _ in pairs})
    params = merge(
        {
            "ks": list(range(len(pairs))),
            "as_ofs": [d for d, _ in pairs],
            "p_starts": [p.start for _, p in pairs],
            "p_ends": [p.end for _, p in pairs],
            **{f"d_{i}": d for i, d in enumerate(dates)},
        },
        fparams,
        own,
    )
    dates_in = ", ".join(f"$d_{i}" for i in range(len(dates)))
    return con.execute(sql.format(dates_in=dates_in, filters=fsql), params)


def sums_many(
    con: duckdb.DuckDBPyConnection, pairs: list[tuple[date, Quarter]], q: Query, defs: Definitions
) -> list[tuple[Any, Any]]:
    """Per (S, P) pair: (won to date in P, whole open pipeline) at S, exact decimals."""
    if not pairs:
        return []
    if cuts.kept_here(con):
        return [forecast_cut.sums(r, q.filters) for r in forecast_cut.rows_of(con, pairs, defs)]
    got = {
        int(k): (won, open_)
        for k, won, open_ in _many(
            con, _SUMS_MANY_SQL, pairs, q, {"open_stages": open_stage_names(defs)}
        ).fetchall()
    }
    return [got.get(k, (0, 0)) for k in range(len(pairs))]


def reads_many(
    con: duckdb.DuckDBPyConnection, pairs: list[tuple[date, Quarter]], q: Query, defs: Definitions
) -> list[Reads]:
    """What _historical_forecast reads, for several (S, P) pairs in two queries (or,
    where answers are kept per store version, cut from rows read once: forecast_cut)."""
    if not pairs:
        return []
    if cuts.kept_here(con):
        return [forecast_cut.reads(r, q.filters) for r in forecast_cut.rows_of(con, pairs, defs)]
    own = {"open_stages": open_stage_names(defs)}
    cols = _many(con, _OPEN_MANY_SQL, pairs, q, own).fetchnumpy()
    ks = np.asarray(cols["k"])
    sums = sums_many(con, pairs, q, defs)
    out: list[Reads] = []
    for k in range(len(pairs)):
        mine = ks == k
        one = {
            c: np.asarray(cols[c])[mine] for c in ("opportunity_id", "stage", "segment", "amount")
        }
        out.append((one, sums[k]))
    return out


def won_in_period(con: duckdb.DuckDBPyConnection, snapshot: date, p: Quarter, q: Query) -> float:
    fsql, fparams = q.filters.named_sql("s")
    rows = con.execute(
        _WON_SQL.format(filters=fsql),  # noqa: S608 - filter clauses are whitelisted
        {"as_of": snapshot, "p_start": p.start, "p_end": p.end, **fparams},
    ).fetchall()  # fetchall, not fetchone: DuckDB 2 keeps a half-read result open
    return round(float(rows[0][0]), 2) if rows else 0.0


def simulate(
    p: np.ndarray,
    amounts: np.ndarray,
    draws: int = DRAWS,
    seed: int = SEED,
    multipliers: list[float] | None = None,
    extra: list[float] | None = None,
) -> np.ndarray:
    """`draws` simulated totals of Σ Bernoulli(p_i) × amount_i (deterministic for a seed).

    With `multipliers`, each draw first picks one of them at random (a past quarter's
    won / expected ratio) and scales every p_i by it, capped at 1: good and bad quarters
    move all deals together, as they do in life. `extra` (same length) is an amount that
    the picked quarter adds to the draw (its late wins, scaled to today's pipeline).
    """
    stream = _stream(seed, len(multipliers or ()), draws)
    totals = np.zeros(draws)
    scale = None
    factors = np.ones(1)
    pick = np.zeros(draws, dtype=np.int64)
    if multipliers:
        factors = np.asarray(multipliers, dtype=float)
        pick = stream.pick
        scale = factors[pick]
        if extra:
            totals += np.asarray(extra, dtype=float)[pick]
    if len(p) == 0:
        return totals
    variance = p * (1.0 - p) * amounts**2
    order = np.argsort(-variance, kind="stable")
    exact, rest = order[:EXACT_DEALS], order[EXACT_DEALS:]
    # 16-bit uniform integers (four per raw 64-bit draw) against p scaled to 65536: a
    # probability resolution of 1/65536, at a quarter of the cost of float draws.
    threshold = np.round(p * 65536.0).astype(np.int64)
    for block, i in enumerate(range(0, len(exact), BLOCK)):
        idx = exact[i : i + BLOCK]
        u = stream.uniforms(block, len(idx))
        totals = _add_block(
            totals, u, _levels(p, idx, threshold, factors, scale), pick, amounts[idx]
        )
    if len(rest):  # then every block was whole: the normals come after all of them
        normal = stream.normal
        p_rest, a_rest = p[rest], amounts[rest]
        # the normal part under each multiplier drawn (the deal-by-deal loop's order)
        picked = factors[np.bincount(pick, minlength=len(factors)) > 0]
        rs = [1.0] if scale is None else sorted(set(picked.tolist()))
        means, sds = np.empty(len(rs)), np.empty(len(rs))
        for j, r in enumerate(rs):
            pr = np.minimum(p_rest * r, 1.0)
            means[j] = float((pr * a_rest).sum())
            sds[j] = math.sqrt(float((pr * (1.0 - pr) * a_rest**2).sum()))
        # each draw adds its own multiplier's part (the loop added 0.0 for the others)
        at = np.zeros(draws, dtype=np.int64)
        if scale is not None:
            at = np.searchsorted(np.asarray(rs), factors)[pick]
        totals += np.clip(means[at] + sds[at] * normal, 0.0, float(a_rest.sum()))
    return totals


BLOCK = 100  # deals drawn at once; EXACT_DEALS is whole blocks (see _Stream.normal)
if EXACT_DEALS % BLOCK:
    raise ValueError("EXACT_DEALS must be a multiple of BLOCK")


@dataclass(frozen=True)
class _Stream:
    """What `simulate` draws from its generator, in the order it draws: the pick of a
    multiplier per draw (when there are any), the raw 64-bit words of each block of
    deals, and after every whole block the normals. The stream depends only on the seed,
    the number of multipliers and of draws, so every forecast with the same three (the
    tiles', the range's, the backtest's six quarters', every cut's) reads the same words:
    drawn once (`_stream`), then read, they give the same totals to the last bit."""

    draws: int
    pick: np.ndarray
    raw: tuple[np.ndarray, ...]  # per whole block: ceil(BLOCK × draws / 4) words
    normal: np.ndarray

    def uniforms(self, block: int, deals: int) -> np.ndarray:
        """The 16-bit uniforms of `deals` deals (a block, the last possibly short), one
        row of draws per deal. A short block's words are the first of a whole one's:
        the generator gives a prefix of the same words when asked for fewer."""
        words = -(-deals * self.draws // 4)
        u = self.raw[block][:words].view(np.uint16)[: deals * self.draws]
        return u.reshape(deals, self.draws)


# one per number of multipliers (0..MAX_TRAINING_QUARTERS: the backtest's six quarters
# use six) at the default seed and draws; 8 MB each at 10,000 draws
@functools.lru_cache(maxsize=MAX_TRAINING_QUARTERS + 1)
def _stream(seed: int, n_multipliers: int, draws: int) -> _Stream:
    rng = np.random.default_rng(seed)
    pick = np.zeros(draws, dtype=np.int64)
    if n_multipliers:
        pick = rng.integers(0, n_multipliers, draws)
    blocks = -(-EXACT_DEALS // BLOCK)
    raw = tuple(rng.bit_generator.random_raw(-(-BLOCK * draws // 4)) for _ in range(blocks))
    normal = rng.standard_normal(draws)
    for a in (pick, *raw, normal):
        a.flags.writeable = False  # shared by every caller
    return _Stream(draws, pick, raw, normal)


def _levels(
    p: np.ndarray,
    idx: np.ndarray,
    threshold: np.ndarray,
    factors: np.ndarray,
    scale: np.ndarray | None,
) -> np.ndarray:
    """Each deal's threshold in 0..65536 (a draw below it is a win): one column, or one
    per multiplier (the same products and roundings as deal by deal)."""
    if scale is None:
        return threshold[idx][:, None]
    return np.round(np.minimum(p[idx][:, None] * factors, 1.0) * 65536.0).astype(np.int32)


def _add_block(
    totals: np.ndarray, u: np.ndarray, levels: np.ndarray, pick: np.ndarray, amounts: np.ndarray
) -> np.ndarray:
    """totals + each deal's win (u < its level under the draw's multiplier) × amount,
    added deal after deal in the block's order: every total is the same to the last bit
    as the deal-by-deal loop's (tests/test_forecast_speed.py). The wins of the whole block
    are one comparison; the sum is one reduction down the deals, which numpy adds row
    after row for a C-ordered block of two or more draws (after `totals`, put into the
    first row: a + b is b + a).
    """
    narrow = bool(levels.min() >= 1)  # u < level as u <= level - 1, in 16 bits: u not widened
    if narrow:
        levels = (levels - 1).astype(np.uint16)
    if levels.shape[1] > 1:  # per draw, its multiplier's level
        levels = levels.take(pick, axis=1)
    wins = np.less_equal(u, levels) if narrow else np.less(u, levels)
    block = wins * amounts[:, None]
    if len(totals) < 2:  # one draw: numpy would sum a lone column pairwise, not in order
        for row in block:
            totals = totals + row
        return totals
    block[0] += totals
    return np.add.reduce(block, axis=0)


def quarter_multipliers(
    learner: Learner,
    training: list[TrainingQuarter],
    probs: dict[tuple[str, str], tuple[float, str, int]],
) -> list[float | None]:
    """Per training quarter: deals won / deals expected under the pooled probabilities."""
    out: list[float | None] = []
    for t in training:
        expected = sum(
            n * probs.get((st, seg), probs[(st, "*")])[0] for st, seg, n, _ in learner.rows[t]
        )
        won = sum(w for *_, w in learner.rows[t])
        out.append(won / expected if expected > 0 else None)
    return out


def _is_on(q: Query, name: str) -> bool:
    return str(q.option(name, True)).strip().lower() not in ("false", "0", "no", "off")


@dataclass
class HistoricalForecast:
    won_to_date: float
    deals: pd.DataFrame  # open deals with p_win, basis, observations
    expected: float
    p10: float
    p50: float
    p90: float
    training: list[TrainingQuarter]
    multipliers: list[float] | None = None  # past quarters' won / expected, when used
    late_expected: float = 0.0  # expected wins from deals not yet open in P (late wins)


def historical_forecast(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    known_dates: list[date] | None = None,
    learner: Learner | None = None,
    reads: Reads | None = None,
) -> HistoricalForecast:
    """The historical method for (S, P, filters), reading only snapshots on or before S.

    `known_dates` (any loaded dates, ascending) saves re-reading the calendar; only those
    on or before S are used. A shared `learner` reuses training counts already read, and
    `reads` (reads_many) the deals and sums at S read together with other pairs.
    Once per view (steward.memo): the range, the P50 metric, the tiles and the deal list
    of one view share it; compare_to is not read. And once per store version and query
    (steward.memo.kept): the next view of the same cut reads it; a new cut computes it.
    """
    key_q = q.with_(compare_to=None)

    def kept() -> HistoricalForecast:
        # the same answer whatever known_dates and learner (they only save reads)
        return cast(
            HistoricalForecast,
            memo.kept(
                con,
                "forecast.historical",
                (key_q, defs.digest),
                lambda: _historical_forecast(con, key_q, defs, known_dates, learner, reads),
                FORECASTS_KEPT,
                answer=True,
            ),
        )

    v = memo.current()
    got = kept() if v is None else v.get(("historical_forecast", key_q, defs.digest), kept)
    return replace(got, deals=got.deals.copy())


def _historical_forecast(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    known_dates: list[date] | None,
    learner: Learner | None,
    reads: Reads | None = None,
    with_deals: bool = True,
) -> HistoricalForecast:
    """See historical_forecast; `with_deals=False` leaves `deals` empty (the backtest
    reads only the range: building the frame of every past quarter's deals costs)."""
    period = q.quarter(defs)
    if known_dates is None:
        dates = snapshot_dates(con, q.as_of)
    else:
        dates = known_dates[: bisect.bisect_right(known_dates, q.as_of)]
    training = training_quarters(dates, period, q.as_of)
    learner = learner or Learner(con, defs)
    probs = probabilities(learner.learned(training), defs, int(q.option("min_obs", MIN_OBS)))
    ratios = quarter_multipliers(learner, training, probs)
    use_late = _is_on(q, "late_wins")
    lates = learner.late_ratios(training) if use_late else [0.0] * len(training)
    fsql, fparams = q.filters.named_sql("s")
    open_params = {"as_of": q.as_of, "open_stages": open_stage_names(defs), **fparams}
    if reads is None and cuts.kept_here(con):  # the snapshot's rows read once, then cut
        reads = forecast_cut.reads(
            forecast_cut.rows_of(con, [(q.as_of, period)], defs)[0], q.filters
        )
    if reads is None:
        cols = con.execute(
            _OPEN_SQL.format(filters=fsql),  # noqa: S608 - filter clauses are whitelisted
            {**open_params, "p_start": period.start, "p_end": period.end},
        ).fetchnumpy()
        # won to date and the whole open pipeline in one read of the as-of snapshot
        sums = con.execute(
            _SUMS_SQL.format(filters=fsql),  # noqa: S608 - filter clauses are whitelisted
            {**open_params, "p_start": period.start, "p_end": period.end},
        ).fetchall()
    else:  # read already, with other (S, P) pairs (reads_many)
        cols, sums = reads[0], [reads[1]]
    p_learned, basis, observations = learned_p(cols, probs)
    deals = _deals_frame(cols, p_learned, basis, observations) if with_deals else _no_deals()
    won = round(float(sums[0][0]), 2)
    p = p_learned.astype(float)
    amounts = np.asarray(cols["amount"], dtype=float)
    pipeline_now = float(sums[0][1]) if use_late else 0.0  # the late-win base
    if (period.end - q.as_of).days <= 0:  # P is over: nothing open can still close in it
        p = np.zeros_like(p)
        lates = [0.0] * len(training)
    # scenarios: the training quarters with both a multiplier and a late-win ratio
    scenarios = [
        (r, late)
        for r, late in zip(ratios, lates, strict=True)
        if r is not None and late is not None
    ]
    known_lates = [late for late in lates if late is not None]
    late_mean = sum(known_lates) / len(known_lates) if known_lates else 0.0
    multipliers: list[float] | None = None
    extra: list[float] | None = None
    if _is_on(q, "quarter_variation") and len(scenarios) >= 2:
        multipliers = [r for r, _ in scenarios]
        extra = [late * pipeline_now for _, late in scenarios]
    draws, seed = int(q.option("draws", DRAWS)), int(q.option("seed", SEED))
    totals = won + simulate(p, amounts, draws, seed, multipliers, extra)
    if extra is None:
        totals += late_mean * pipeline_now
    p10, p50, p90 = (round(float(x), 2) for x in np.percentile(totals, [10, 50, 90]))
    late_expected = round(late_mean * pipeline_now, 2)
    expected = round(won + float((p * amounts).sum()) + late_expected, 2)
    return HistoricalForecast(
        won, deals, expected, p10, p50, p90, training, multipliers, late_expected
    )


@metric(
    "forecast_historical",
    label="Forecast (historical, P50)",
    description=(
        "Won to date plus each open deal (any governed open stage, as in the roll-ups) "
        "closing in the period weighted by its "
        "chance to close won within the period, learned from past snapshots: in each earlier "
        "quarter already closed by the as-of date (up to 8), take the snapshot with the same "
        "number of days left before the quarter's end (nearest loaded snapshot within 3 days), "
        "and among the open deals then closing in that quarter, the share that were "
        "closed won with a close date in that quarter in the first snapshot after it ended. "
        "Learned by stage and segment where that cell has at least 30 observations, else by "
        "stage, else the stage's governed probability. A simulation (10,000 draws, fixed "
        "seed) of won/lost outcomes gives the P10 / P50 / P90 range; the value is the P50. "
        "Deals close independently given a quarter's level, but quarters differ: with two or "
        "more training quarters, each draw scales every probability (capped at 1) by one "
        "training quarter's won / expected ratio picked at random, so a good or bad quarter "
        "moves all deals together (option quarter_variation=false turns this off). The 400 "
        "deals with the largest variance are drawn one by one, the sum of any others from a "
        "normal with the same mean and variance. Late wins: deals won in a quarter that were "
        "not open in it at the comparable point (created later, pulled in, reopened) are "
        "learned too, as a ratio to the whole open pipeline then (any close date: the size of "
        "the business), and added at that ratio times today's whole open pipeline (each draw takes the picked quarter's ratio; option "
        "late_wins=false leaves them out). 'expected' is won to date + Σ p × amount with the "
        "learned p + the mean late wins (column late_expected). When the period is already over, nothing open can still close "
        "in it. Only snapshots up to the as-of date are read. Probabilities, quarter ratios and "
        "late-win ratios are learned from all deals; filters choose which deals (and which "
        "open pipeline, for the late wins) are forecast."
    ),
    formula="won_to_date + P50 of [Σ Bernoulli(min(1, r_k × p_stage,segment)) × amount over open "
    "deals in P + late_k × whole open pipeline], k a past quarter drawn at random",
    unit="usd",
)
def forecast_historical(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    f = historical_forecast(con, q, defs)
    table = pd.DataFrame(
        [
            {
                "won_to_date": f.won_to_date,
                "open_deals": len(f.deals),
                "open_amount": round(float(f.deals["amount"].astype(float).sum()), 2),
                "expected": f.expected,
                "late_expected": f.late_expected,
                "p10": f.p10,
                "p50": f.p50,
                "p90": f.p90,
                "training_quarters": len(f.training),
            }
        ]
    )
    note = None
    if q.as_of >= q.quarter(defs).end:
        note = "the period is over: the forecast is what was won"
    elif not f.training:
        note = "no earlier quarter to learn from: governed stage probabilities used"
    return Result("forecast_historical", q, value=f.p50, table=table, note=note)


@drill_for("forecast_historical")
def forecast_historical_deals(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, **_: Any
) -> pd.DataFrame:
    """The open deals of the forecast with their learned probability and its basis."""
    learned = historical_forecast(con, q, defs).deals
    period = q.quarter(defs)
    fsql, fparams = q.filters.named_sql("s")
    where = (
        " and not s.is_closed and list_contains($open_stages::varchar[], s.stage)"
        " and s.close_date >= $p_start and s.close_date < $p_end" + fsql
    )
    params = {
        "open_stages": open_stage_names(defs),
        "p_start": period.start,
        "p_end": period.end,
        **fparams,
    }
    deals = deal_columns.deal_list(con, defs, q.as_of, where, params)
    extra = learned[["opportunity_id", "p_win", "basis", "observations"]]
    return deals.merge(extra, on="opportunity_id", how="left")


# --- forecast range -----------------------------------------------------------------------


def _other(
    con: duckdb.DuckDBPyConnection, metric_id: str, q: Query, defs: Definitions
) -> float | None:
    """Another method's value, to the cent."""
    value = compute(con, metric_id, q, defs).value
    return None if value is None else round(float(value), 2)


@metric(
    "forecast_range",
    label="Forecast range",
    description=(
        "The forecast methods side by side for the period as of the snapshot: commit roll-up, "
        "best case, stage-weighted and historical (P50 with its P10 / P90 range), each "
        "including won to date, and the bookings target for reference."
    ),
    formula="rows: forecast_commit, forecast_best_case, forecast_weighted, "
    "forecast_historical (p10, p50, p90), target (bookings_target)",
    unit="table",
    columns=(
        Column("method", "Method id", None, "the forecast metric's id, or target"),
        Column("label", "Method"),
        Column("value", "Forecast (P50 / point)", "usd"),
        Column("p10", "P10", "usd", "historical method only"),
        Column("p90", "P90", "usd", "historical method only"),
    ),
)
def forecast_range(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    rows: list[dict[str, Any]] = []
    for mid in OTHER_METHODS:
        value = _other(con, mid, q, defs)
        rows.append({"method": mid, "label": REGISTRY[mid].label, "value": value})
    h = historical_forecast(con, q, defs)
    rows.append(
        {
            "method": "forecast_historical",
            "label": REGISTRY["forecast_historical"].label,
            "value": h.p50,
            "p10": h.p10,
            "p90": h.p90,
        }
    )
    target = _other(con, "bookings_target", q, defs)
    rows.append(
        {
            "method": "target",
            "label": REGISTRY["bookings_target"].label,
            "value": target,
        }
    )
    table = pd.DataFrame(rows, columns=["method", "label", "value", "p10", "p90"])
    return Result("forecast_range", q, table=table)


# --- backtest -----------------------------------------------------------------------------


def week_of_quarter(d: date, defs: Definitions) -> int:
    """Whole weeks since the start of d's fiscal quarter (0 in the first week)."""
    return (d - quarter_of(d, defs.fiscal_year_start_month).start).days // 7


@metric(
    "forecast_backtest",
    label="Forecast backtest",
    description=(
        "How each forecast method would have done: for each of up to 6 fiscal quarters that "
        "ended by the as-of date, every method is run as of week N of that quarter (the loaded "
        "snapshot nearest the quarter start + N weeks, within 3 days; N is option week, "
        "default the as-of date's own week of its quarter) using only the snapshots available "
        "then, and compared with what actually closed won with a close date in that quarter, "
        "as seen in the first snapshot after it ended. error = forecast − actual; "
        "abs_pct_error = |error| / actual. The historical rows also carry their P10 / P90 "
        "and whether the actual fell inside (in_range): the range reflects only which deals "
        "close, given the learned probabilities, not doubt about the probabilities themselves. "
        "The note gives each method's mean absolute percentage error (MAPE) and how often "
        "the actual fell in the range."
    ),
    formula="abs_pct_error = |forecast(week N) − actual won| / actual won; MAPE = mean",
    unit="table",
    scope="history",
    columns=(
        Column("period", "Period", None, "the past fiscal quarter"),
        Column("as_of", "As of", "date", "the snapshot the forecast was made from"),
        Column("method", "Method"),
        Column("forecast", "Forecast", "usd"),
        Column("actual", "Actual", "usd", "closed won in the quarter"),
        Column("error", "Forecast − actual", "usd"),
        Column("abs_pct_error", "Abs. % error", "ratio", "|error| ÷ actual"),
        Column("p10", "P10", "usd"),
        Column("p90", "P90", "usd"),
        Column("in_range", "Actual in P10–P90", None, "historical method only"),
    ),
)
def forecast_backtest(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    # The backtest depends only on the stored snapshots (those up to the as-of date), the
    # query and the definitions: readers of one store version share it, so the Forecast
    # page pays its six past-quarter simulations once per import and query. compare_to
    # is not read.
    key_q = q.with_(compare_to=None)
    got = memo.kept(
        con,
        "forecast.backtest",
        (key_q, defs.digest),
        lambda: _forecast_backtest(con, key_q, defs),
        BACKTESTS_KEPT,
        answer=True,
    )
    return replace(got, query=q, table=None if got.table is None else got.table.copy())


def _forecast_backtest(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    week = int(q.option("week", week_of_quarter(q.as_of, defs)))
    n_quarters = int(q.option("quarters", 6))
    dates = snapshot_dates(con, q.as_of)
    here = quarter_of(q.as_of, defs.fiscal_year_start_month)
    tests: list[tuple[Quarter, date, date]] = []  # (quarter, week-N snapshot, outcome snapshot)
    k = 1
    while len(tests) < n_quarters and dates and here.shift(-k).end > dates[0]:
        qk = here.shift(-k)
        k += 1
        if qk.end > q.as_of:
            continue
        bt_as_of = nearest_snapshot(dates, qk.start + timedelta(days=7 * week))
        outcome = first_snapshot_on_or_after(dates, qk.end)
        if bt_as_of is None or outcome is None or not qk.contains(bt_as_of):
            continue
        tests.append((qk, bt_as_of, outcome))
    learner = Learner(con, defs)  # one read for every quarter's training data
    learner.prefetch(
        [
            t
            for qk, bt_as_of, _ in tests
            for t in training_quarters(dates[: bisect.bisect_right(dates, bt_as_of)], qk, bt_as_of)
        ]
    )
    outcomes = [(outcome, qk) for qk, _, outcome in tests]
    at_week_n = [(bt_as_of, qk) for qk, bt_as_of, _ in tests]
    # every quarter's actual, and what its historical forecast reads: three queries, or
    # where answers are kept per store version, cuts of every pair's rows read in one
    if cuts.kept_here(con):
        forecast_cut.rows_of(con, outcomes + at_week_n, defs)
    actuals = [round(float(won), 2) for won, _ in sums_many(con, outcomes, q, defs)]
    reads = reads_many(con, at_week_n, q, defs)
    every_other = others_many(con, at_week_n, q, defs)

    def historical(i: int) -> HistoricalForecast:
        # not historical_forecast: its deals, kept per view and store version, are not read
        qk, bt_as_of, _ = tests[i]
        bq = q.with_(as_of=bt_as_of, period=qk.label, options=())
        return _historical_forecast(con, bq, defs, dates, learner, reads[i], with_deals=False)

    # The quarters' simulations are independent and spend their time in numpy, which lets
    # go of the GIL: two at a time on two cores. The learner is filled (prefetch above) and
    # the reads are in hand, so no thread queries the store.
    if SIMULATION_THREADS > 1 and len(tests) > 1:
        with ThreadPoolExecutor(SIMULATION_THREADS) as pool:
            historicals = list(pool.map(historical, range(len(tests))))
    else:
        historicals = [historical(i) for i in range(len(tests))]
    rows: list[dict[str, Any]] = []
    for (qk, bt_as_of, _), actual, others, hist in zip(
        tests, actuals, every_other, historicals, strict=True
    ):
        forecasts = dict(others)
        forecasts["forecast_historical"] = hist.p50
        for mid, fc in forecasts.items():
            if fc is None:
                continue
            err = round(fc - actual, 2)
            is_hist = mid == "forecast_historical"
            rows.append(
                {
                    "period": qk.label,
                    "as_of": bt_as_of,
                    "method": mid,
                    "forecast": fc,
                    "actual": actual,
                    "error": err,
                    "abs_pct_error": abs(err) / actual if actual > 0 else None,
                    "p10": hist.p10 if is_hist else None,
                    "p90": hist.p90 if is_hist else None,
                    "in_range": (hist.p10 <= actual <= hist.p90) if is_hist else None,
                }
            )
    cols = [
        "period",
        "as_of",
        "method",
        "forecast",
        "actual",
        "error",
        "abs_pct_error",
        "p10",
        "p90",
        "in_range",
    ]
    table = pd.DataFrame(rows, columns=cols)
    if table.empty:
        return Result("forecast_backtest", q, table=table, note="no past quarter to backtest")
    mape = table.dropna(subset=["abs_pct_error"]).groupby("method", sort=False)["abs_pct_error"]
    summary = "; ".join(f"{m} {v:.1%}" for m, v in mape.mean().items())
    hits = table.loc[table["method"] == "forecast_historical", "in_range"]
    note = (
        f"MAPE at week {week} over {len(tests)} quarter(s): {summary}. "
        f"Actual within the historical P10-P90 range in {int(hits.sum())} of {len(hits)}."
    )
    return Result("forecast_backtest", q, table=table, note=note)
