"""As-of metrics: where the pipeline stands in one snapshot S for one fiscal period P.

Every query starts with `snapshot_date = $as_of` (rows are stored in snapshot order, so the
zone maps skip every other week) and aggregates in SQL. "Open qualified" = not closed
and the stage at or after the qualified stage; stages unknown to the definitions are
never pipeline. Null amounts count 0; a null probability takes its stage default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from steward import memo
from steward.definitions import Definitions
from steward.metrics import deals
from steward.metrics.core import Column, Query, Result, drill_for, metric
from steward.metrics.targets import NO_TARGET_FOR_CUT, target_for, target_rows
from steward.periods import Quarter, parse_period, quarter_of
from steward.sqlbind import merge

ZERO = Decimal("0.00")


# ---- shared SQL fragments (aliases are literals; values are bound) -------------------
def qualified_open_stages(defs: Definitions) -> list[str]:
    """Open stages at or after the qualified stage."""
    return [s.name for s in defs.open_stages if s.rank >= defs.qualified_rank]


def open_qualified_sql(alias: str, defs: Definitions) -> tuple[str, dict[str, Any]]:
    return (
        f"(not {alias}.is_closed and list_contains($qualified_stages::varchar[], {alias}.stage))",
        {"qualified_stages": qualified_open_stages(defs)},
    )


def in_period_sql(alias: str, quarter: Quarter) -> tuple[str, dict[str, Any]]:
    return (
        f"({alias}.close_date >= $p_start and {alias}.close_date < $p_end)",
        {"p_start": quarter.start, "p_end": quarter.end},
    )


def probability_sql(alias: str, defs: Definitions) -> tuple[str, dict[str, Any]]:
    """The deal's probability, or its stage default when null (unknown stage -> 0)."""
    names = [s.name for s in defs.stages]
    probs = [s.probability for s in defs.stages]
    return (
        f"coalesce({alias}.probability, ($stage_probs::double[])"
        f"[list_position($stage_names::varchar[], {alias}.stage)], 0)",
        {"stage_probs": probs, "stage_names": names},
    )


def marketing_sql(alias: str, defs: Definitions) -> tuple[str, dict[str, Any]]:
    """Source in the governed marketing list, case- and space-insensitive."""
    norm = [" ".join(m.split()).casefold() for m in defs.marketing_sources]
    return (
        f"list_contains($marketing_sources::varchar[], lower(regexp_replace(trim(coalesce({alias}.source, '')), '\\s+', ' ', 'g')))",
        {"marketing_sources": norm},
    )


@dataclass(frozen=True)
class Cut:
    """A WHERE clause on alias `s` (starting with ' and') and its named parameters."""

    sql: str
    params: dict[str, Any]

    def and_(self, sql: str, params: dict[str, Any] | None = None) -> Cut:
        return Cut(f"{self.sql} and {sql}", merge(self.params, params or {}))


def base_cut(q: Query) -> Cut:
    fsql, fparams = q.filters.named_sql("s")
    return Cut(fsql, fparams)


def open_in_period_cut(q: Query, defs: Definitions, quarter: Quarter | None = None) -> Cut:
    quarter = quarter or q.quarter(defs)
    return base_cut(q).and_(*open_qualified_sql("s", defs)).and_(*in_period_sql("s", quarter))


def won_in_period_cut(q: Query, defs: Definitions, quarter: Quarter | None = None) -> Cut:
    quarter = quarter or q.quarter(defs)
    return base_cut(q).and_("s.is_won").and_(*in_period_sql("s", quarter))


def _one(
    con: duckdb.DuckDBPyConnection, select: str, q: Query, cut: Cut, post: dict[str, Any]
) -> Any:
    """One value: `select` (its named parameters `post`) over the snapshot rows in the cut."""
    sql = f"""
        with scoped as (
            select s.*
            from snapshots s
            where s.snapshot_date = $as_of{cut.sql}
        )
        select {select} from scoped s
    """  # noqa: S608 - select/cut built from literals and whitelisted names
    fetched = con.execute(sql, merge({"as_of": q.as_of}, cut.params, post)).fetchall()
    row = fetched[0] if fetched else None
    return row[0] if row else None


def money_sum(con: duckdb.DuckDBPyConnection, q: Query, cut: Cut) -> Decimal:
    """Σ coalesce(amount, 0) over the cut, as an exact Decimal."""
    val = _one(con, "coalesce(sum(s.amount), 0)::decimal(18,2)", q, cut, {})
    return Decimal(val) if val is not None else ZERO


def _f(x: Decimal | float | None) -> float | None:
    return None if x is None else round(float(x), 2)


# ---- pipeline ------------------------------------------------------------------------
def open_pipeline_amount(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Decimal:
    return money_sum(con, q, open_in_period_cut(q, defs))


def won_amount(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Decimal:
    """Won to date in P at S; once per view (steward.memo): won_to_date and the commit,
    best-case and stage-weighted forecasts all add it."""
    v = memo.current()
    if v is None:
        return money_sum(con, q, won_in_period_cut(q, defs))
    key_q = q.with_(compare_to=None, options=())
    got: Decimal = v.get(
        ("asof.won_amount", key_q, defs.digest),
        lambda: money_sum(con, key_q, won_in_period_cut(key_q, defs)),
    )
    return got


def open_and_won(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> tuple[Decimal, Decimal]:
    """(open pipeline, won to date) for P in one scan of the snapshot."""
    qsql, qparams = open_qualified_sql("s", defs)
    cut = base_cut(q).and_(*in_period_sql("s", q.quarter(defs)))
    sql = f"""
        with scoped as (
            select s.amount, s.is_won, {qsql} as is_open_qualified
            from snapshots s
            where s.snapshot_date = $as_of{cut.sql}
        )
        select coalesce(sum(amount) filter (where is_open_qualified), 0)::decimal(18,2),
               coalesce(sum(amount) filter (where is_won), 0)::decimal(18,2)
        from scoped
    """  # noqa: S608 - cut built from whitelisted names
    fetched = con.execute(sql, merge(qparams, {"as_of": q.as_of}, cut.params)).fetchall()
    row = fetched[0] if fetched else None
    assert row is not None
    return Decimal(row[0]), Decimal(row[1])


@metric(
    "open_pipeline",
    label="Open pipeline",
    description="Open qualified pipeline closing in the period, as of the snapshot.",
    formula="Σ amount of opportunities in snapshot S that are open, at or after the qualified "
    "stage, with close date in P (null amount = 0)",
    unit="usd",
)
def open_pipeline(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    return Result("open_pipeline", q, _f(open_pipeline_amount(con, q, defs)))


@metric(
    "weighted_pipeline",
    label="Weighted pipeline",
    description="Open qualified pipeline closing in the period, each deal weighted by its probability.",
    formula="Σ amount × probability over open pipeline(P, S); probability null -> stage default",
    unit="usd",
)
def weighted_pipeline(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    psql, pparams = probability_sql("s", defs)
    val = _one(
        con,
        f"coalesce(sum(coalesce(s.amount, 0) * {psql}), 0)",
        q,
        open_in_period_cut(q, defs),
        pparams,
    )
    return Result("weighted_pipeline", q, _f(val))


@metric(
    "open_count",
    label="Open deals",
    description="Number of open qualified opportunities closing in the period.",
    formula="count of open pipeline(P, S) opportunities",
    unit="count",
)
def open_count(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    val = _one(con, "count(*)", q, open_in_period_cut(q, defs), {})
    return Result("open_count", q, float(val or 0))


@metric(
    "won_to_date",
    label="Won to date",
    description="Closed-won bookings with a close date in the period, as of the snapshot.",
    formula="Σ amount of closed-won opportunities in snapshot S with close date in P",
    unit="usd",
)
def won_to_date(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    return Result("won_to_date", q, _f(won_amount(con, q, defs)))


@metric(
    "lost_to_date",
    label="Lost to date",
    description="Closed-lost amount with a close date in the period, as of the snapshot.",
    formula="Σ amount of closed, not won opportunities in snapshot S with close date in P",
    unit="usd",
)
def lost_to_date(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    cut = base_cut(q).and_("(s.is_closed and not s.is_won)")
    cut = cut.and_(*in_period_sql("s", q.quarter(defs)))
    return Result("lost_to_date", q, _f(money_sum(con, q, cut)))


# ---- targets and coverage --------------------------------------------------------------
def _join_notes(*notes: str | None) -> str | None:
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


@metric(
    "bookings_target",
    label="Bookings target",
    description="The bookings target for the period and segment cut, from the targets table.",
    formula="targets row for P and the filtered segment(s) (sum when several); no segment "
    "filter: the 'All' row, else the sum of segment rows; a cut by any other dimension, or "
    "a segment without a row: none ('no target for this cut')",
    unit="usd",
)
def bookings_target(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    val, note = target_for(con, q.quarter(defs).label, q.filters)
    return Result("bookings_target", q, _f(val), note=note)


def coverage_value(
    open_amt: Decimal, won_amt: Decimal, target: Decimal | None
) -> tuple[float | None, str | None]:
    """open / (target − won), or None with the reason. Never divides by ≤ 0."""
    if target is None:
        return None, "no target"
    remaining = target - won_amt
    if remaining <= 0:
        return None, "target already met"
    return float(open_amt) / float(remaining), None


@metric(
    "coverage",
    label="Pipeline coverage",
    description="How many times the open pipeline covers the bookings still needed this period.",
    formula="open pipeline(P, S) / (bookings target(P) − won to date(P, S)); "
    "'target already met' when the denominator is ≤ 0; 'no target for this cut' when the "
    "cut has no target (a region, source, owner, product or stage cut never has one)",
    unit="multiple",
)
def coverage(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    target, tnote = target_for(con, q.quarter(defs).label, q.filters)
    open_amt, won_amt = open_and_won(con, q, defs)
    val, cnote = coverage_value(open_amt, won_amt, target)
    if target is None:  # the target note says which target is missing
        cnote = None
    return Result("coverage", q, val, note=_join_notes(cnote, tnote))


def period_offset(q: Query, defs: Definitions) -> int:
    return q.quarter(defs).offset_from(quarter_of(q.as_of, defs.fiscal_year_start_month))


@metric(
    "coverage_goal",
    label="Coverage goal",
    description="The governed coverage goal for the period's distance from the as-of quarter.",
    formula="definitions.coverage_goals[offset], offset = P − quarter(S) in quarters",
    unit="multiple",
)
def coverage_goal(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    off = period_offset(q, defs)
    goal = defs.coverage_goal(off)
    note = None if goal is not None else f"no coverage goal for period offset {off}"
    return Result("coverage_goal", q, goal, note=note)


def coverage_status(cov: float | None, goal: float | None, note: str | None) -> str:
    if note is not None and note.startswith(NO_TARGET_FOR_CUT):
        return NO_TARGET_FOR_CUT
    if note == "no target":
        return "no target"
    if note == "target already met":
        return "target met"
    if goal is None:
        return "no goal"
    if cov is not None and cov < goal:
        return "below goal"
    return "at or above goal"


MATRIX_SCHEMA: tuple[Column, ...] = (
    Column("period", "Period"),
    Column("offset", "Quarters ahead", "count", "0 = the as-of date's quarter"),
    Column("segment", "Segment"),
    Column("open_pipeline", "Open pipeline", "usd"),
    Column("won_to_date", "Won to date", "usd"),
    Column("bookings_target", "Bookings target", "usd"),
    Column("remaining_target", "Remaining target", "usd", "bookings target − won to date"),
    Column("coverage", "Coverage", "multiple", "open pipeline ÷ remaining target"),
    Column("goal", "Coverage goal", "multiple"),
    Column("status", "Status"),
)
MATRIX_COLUMNS = tuple(c.name for c in MATRIX_SCHEMA)


@metric(
    "coverage_matrix",
    label="Coverage by quarter and segment",
    description="Coverage for this quarter and the next three, for each segment and all segments.",
    formula="coverage(P+k, S) and goal(k) for k = 0..3 from quarter(S), per segment and 'All'",
    unit="table",
    columns=MATRIX_SCHEMA,
)
def coverage_matrix(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    first = quarter_of(q.as_of, defs.fiscal_year_start_month)
    quarters = [first.shift(k) for k in range(4)]
    qsql, qparams = open_qualified_sql("s", defs)
    cut = base_cut(q)
    bounds = [qq.end for qq in quarters]
    sql = f"""
        with scoped as (
            select s.segment, s.amount, s.is_won, {qsql} as is_open_qualified,
                   case when s.close_date < $end_0 then 0 when s.close_date < $end_1 then 1
                        when s.close_date < $end_2 then 2 else 3 end as period_offset
            from snapshots s
            where s.snapshot_date = $as_of and s.close_date >= $first_start
              and s.close_date < $last_end{cut.sql}
        ),
        by_cell as (
            select period_offset, coalesce(segment, 'Unassigned') as segment,
                   coalesce(sum(amount) filter (where is_open_qualified), 0) as open_amount,
                   coalesce(sum(amount) filter (where is_won), 0) as won_amount
            from scoped
            group by all
        )
        select * from by_cell
    """  # noqa: S608
    params = merge(
        qparams,
        {f"end_{k}": bounds[k] for k in range(3)},
        {"as_of": q.as_of, "first_start": first.start, "last_end": quarters[-1].end},
        cut.params,
    )
    cells = {
        (int(o), str(seg)): (Decimal(a), Decimal(w))
        for o, seg, a, w in con.execute(sql, params).fetchall()
    }
    segments = list(q.filters.segment) or sorted({seg for _, seg in cells})
    # 'All' is the company: under a segment filter it would only repeat the chosen
    # segments' rows (a double count waiting to happen in a sum), so it is left out.
    totals = [] if q.filters.segment else ["All"]
    rows = []
    for k, qq in enumerate(quarters):
        goal = defs.coverage_goal(k)
        period_rows = target_rows(con, qq.label)
        for seg in [*segments, *totals]:
            if seg == "All":
                open_amt = sum((a for (o, _), (a, _w) in cells.items() if o == k), ZERO)
                won_amt = sum((w for (o, _), (_a, w) in cells.items() if o == k), ZERO)
                cut_filters = q.filters
            else:
                open_amt, won_amt = cells.get((k, seg), (ZERO, ZERO))
                cut_filters = dataclasses.replace(q.filters, segment=(seg,))
            target, tnote = target_for(con, qq.label, cut_filters, rows=period_rows)
            cov, note = coverage_value(open_amt, won_amt, target)
            if target is None and tnote is not None and tnote.startswith(NO_TARGET_FOR_CUT):
                note = tnote
            rows.append(
                {
                    "period": qq.label,
                    "offset": k,
                    "segment": seg,
                    "open_pipeline": float(open_amt),
                    "won_to_date": float(won_amt),
                    "bookings_target": None if target is None else float(target),
                    "remaining_target": None if target is None else float(target - won_amt),
                    "coverage": cov,
                    "goal": goal,
                    "status": coverage_status(cov, goal, note),
                }
            )
    table = pd.DataFrame(rows, columns=list(MATRIX_COLUMNS))
    return Result("coverage_matrix", q, table=table)


# ---- funnel ----------------------------------------------------------------------------
FUNNEL_COLUMNS = (
    "stage",
    "is_qualified",
    "count_open",
    "amount_open",
    "count_pct_prev",
    "count_pct_top",
    "amount_pct_prev",
    "amount_pct_top",
)


BOARD_QUARTERS = 2  # the board looks at this quarter and the next


def board_coverage_rows(matrix: pd.DataFrame | None) -> pd.DataFrame | None:
    """The coverage rows the board sees, on the Board story and in the board pack alike.

    The cut's total ('All' for the company; under a segment filter there is no 'All'
    row, so the chosen segments), for this quarter and the next, where a goal is set.
    One function, so the slide a CMO presents is the chart on the screen.
    """
    if matrix is None or matrix.empty:
        return matrix
    total = matrix["segment"] == "All"
    rows = matrix[total] if total.any() else matrix
    keep = (rows["offset"] < BOARD_QUARTERS) & rows["goal"].notna()
    return rows[keep].reset_index(drop=True)


def _ratio(a: float, b: float) -> float | None:
    return None if b == 0 else a / b


@metric(
    "funnel_asof",
    label="Stage funnel (as of)",
    description="Where open deals closing in the period sit now, by stage: count and amount, "
    "as % of the previous stage and of the top stage.",
    formula="per open stage k: count and Σ amount of open deals in S at k with close date in P; "
    "pct_prev = k / (k−1), pct_top = k / first open stage (option all_periods drops the close-date filter)",
    unit="table",
    columns=(
        Column("stage", "Stage"),
        Column("is_qualified", "Qualified", None, "at or after the qualified stage"),
        Column("count_open", "Open deals", "count"),
        Column("amount_open", "Open amount", "usd"),
        Column("count_pct_prev", "% of previous (count)", "ratio"),
        Column("count_pct_top", "% of top (count)", "ratio"),
        Column("amount_pct_prev", "% of previous (amount)", "ratio"),
        Column("amount_pct_top", "% of top (amount)", "ratio"),
    ),
)
def funnel_asof(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    cut = base_cut(q).and_("not s.is_closed")
    if not q.option("all_periods", False):
        cut = cut.and_(*in_period_sql("s", q.quarter(defs)))
    sql = f"""
        with scoped as (
            select s.stage, s.amount
            from snapshots s
            where s.snapshot_date = $as_of{cut.sql}
        ),
        by_stage as (
            select stage, count(*) as count_open, coalesce(sum(amount), 0) as amount_open
            from scoped
            group by stage
        )
        select * from by_stage
    """  # noqa: S608
    got = {
        st: (int(n), float(a))
        for st, n, a in con.execute(sql, {"as_of": q.as_of, **cut.params}).fetchall()
    }
    rows: list[dict[str, Any]] = []
    stages = defs.open_stages
    top_n, top_a = got.get(stages[0].name, (0, 0.0)) if stages else (0, 0.0)
    prev: tuple[int, float] | None = None
    for st in stages:
        n, a = got.get(st.name, (0, 0.0))
        rows.append(
            {
                "stage": st.name,
                "is_qualified": st.rank >= defs.qualified_rank,
                "count_open": n,
                "amount_open": round(a, 2),
                "count_pct_prev": None if prev is None else _ratio(n, prev[0]),
                "count_pct_top": _ratio(n, top_n),
                "amount_pct_prev": None if prev is None else _ratio(a, prev[1]),
                "amount_pct_top": _ratio(a, top_a),
            }
        )
        prev = (n, a)
    table = pd.DataFrame(rows, columns=list(FUNNEL_COLUMNS))
    unknown = sorted(set(got) - {s.name for s in stages})
    note = (
        f"open deals at stages not in the definitions are left out: {', '.join(unknown)}"
        if unknown
        else None
    )
    return Result("funnel_asof", q, table=table, note=note)


# ---- marketing ---------------------------------------------------------------------------
def marketing_amount(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Decimal:
    return money_sum(con, q, open_in_period_cut(q, defs).and_(*marketing_sql("s", defs)))


@metric(
    "marketing_sourced_pipeline",
    label="Marketing-sourced pipeline",
    description="Open pipeline whose originating source is in the governed marketing list.",
    formula="Σ amount of open pipeline(P, S) with source in definitions.sources.marketing",
    unit="usd",
)
def marketing_sourced_pipeline(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> Result:
    return Result("marketing_sourced_pipeline", q, _f(marketing_amount(con, q, defs)))


@metric(
    "marketing_sourced_share",
    label="Marketing-sourced share",
    description="Share of open pipeline that marketing sourced.",
    formula="marketing-sourced pipeline(P, S) / open pipeline(P, S); none when there is no pipeline",
    unit="ratio",
)
def marketing_sourced_share(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    total = open_pipeline_amount(con, q, defs)
    if total == 0:
        return Result("marketing_sourced_share", q, None, note="no open pipeline")
    return Result("marketing_sourced_share", q, float(marketing_amount(con, q, defs) / total))


# ---- forecast ------------------------------------------------------------------------------
def _forecast_open(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Cut:
    return base_cut(q).and_("not s.is_closed").and_(*in_period_sql("s", q.quarter(defs)))


def category_sql(
    alias: str, cats: tuple[str, ...], name: str = "categories"
) -> tuple[str, dict[str, Any]]:
    """The deal's forecast category is one of `cats` (case- and space-insensitive),
    bound as `$<name>`."""
    return (
        f"list_contains(${name}::varchar[], lower(trim(coalesce({alias}.forecast_category, ''))))",
        {name: [c.strip().casefold() for c in cats]},
    )


def _category_sum(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, cats: tuple[str, ...]
) -> Decimal:
    return money_sum(con, q, _forecast_open(con, q, defs).and_(*category_sql("s", cats)))


@metric(
    "forecast_commit",
    label="Forecast: commit",
    description="Won to date plus open deals closing in the period that reps call Commit.",
    formula="won to date(P, S) + Σ amount of open deals (any stage) in S with close date in P "
    "and forecast category in the commit roll-up",
    unit="usd",
)
def forecast_commit(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    val = won_amount(con, q, defs) + _category_sum(con, q, defs, defs.commit_categories)
    return Result("forecast_commit", q, _f(val))


@metric(
    "forecast_best_case",
    label="Forecast: best case",
    description="Won to date plus open deals closing in the period called Best Case or Commit.",
    formula="won to date(P, S) + Σ amount of open deals (any stage) in S with close date in P "
    "and forecast category in the best-case roll-up",
    unit="usd",
)
def forecast_best_case(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    val = won_amount(con, q, defs) + _category_sum(con, q, defs, defs.best_case_categories)
    return Result("forecast_best_case", q, _f(val))


@metric(
    "forecast_weighted",
    label="Forecast: stage-weighted",
    description="Won to date plus every open deal closing in the period weighted by its probability.",
    formula="won to date(P, S) + Σ amount × probability of open deals (any stage) in S with "
    "close date in P; probability null -> stage default",
    unit="usd",
)
def forecast_weighted(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    psql, pparams = probability_sql("s", defs)
    weighted = _one(
        con,
        f"coalesce(sum(coalesce(s.amount, 0) * {psql}), 0)",
        q,
        _forecast_open(con, q, defs),
        pparams,
    )
    val = float(won_amount(con, q, defs)) + float(weighted or 0)
    return Result("forecast_weighted", q, _f(val))


# ---- drills ----------------------------------------------------------------------------------
@drill_for("open_pipeline")
def open_pipeline_deals(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, **_: Any
) -> pd.DataFrame:
    cut = open_in_period_cut(q, defs)
    return deals.deal_list(con, defs, q.as_of, cut.sql, cut.params)


@drill_for("won_to_date")
def won_deals(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, **_: Any
) -> pd.DataFrame:
    cut = won_in_period_cut(q, defs)
    return deals.deal_list(con, defs, q.as_of, cut.sql, cut.params)


@drill_for("funnel_asof")
def funnel_deals(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    stage: str | None = None,
    **_: Any,
) -> pd.DataFrame:
    cut = base_cut(q).and_("not s.is_closed")
    if not q.option("all_periods", False):
        cut = cut.and_(*in_period_sql("s", q.quarter(defs)))
    if stage is not None:
        cut = cut.and_("s.stage = $stage", {"stage": stage})
    return deals.deal_list(con, defs, q.as_of, cut.sql, cut.params)


@drill_for("coverage_matrix")
def coverage_cell_deals(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    period: str | None = None,
    segment: str | None = None,
    **_: Any,
) -> pd.DataFrame:
    """Deals behind one coverage cell: its open pipeline and its won deals (column counts_as)."""
    quarter = parse_period(period, defs.fiscal_year_start_month) if period else q.quarter(defs)
    frames = []
    for role, cut in (
        ("open_pipeline", open_in_period_cut(q, defs, quarter)),
        ("won_to_date", won_in_period_cut(q, defs, quarter)),
    ):
        if segment and segment != "All":
            cut = cut.and_("coalesce(s.segment, 'Unassigned') = $segment", {"segment": segment})
        frame = deals.deal_list(con, defs, q.as_of, cut.sql, cut.params)
        frame["counts_as"] = role
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
