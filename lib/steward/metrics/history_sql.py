"""Shared SQL pieces for the history-wide metrics (they read the derived tables).

Semantics shared by every history metric (documented in docs/metrics.md):

- *State at S*: an opportunity's stage / amount / close date / closed / won as of the
  as-of date S is its last known row at or before S (`opp_changes`), and it is *present*
  when it appears in the last snapshot at or before S. A deal that vanished keeps its last
  known state (so a won deal dropped from later exports still counts as won).
- *Filters* cut by the opportunity's attributes in the latest snapshot it appears in
  (`opp_facts`), the same for every snapshot in the history, so that bridges and
  cohorts never lose a deal because its owner or segment changed.
- *Reach rank*: an open stage's rank; Closed Won counts as reaching every open stage
  (rank = number of open stages); Closed Lost reaches nothing (-1).
- *Qualified*: ever seen (at or before S) at an open stage at or after the qualified
  stage, or won, or (governed, on by default) lost without ever being seen open: its
  stage before the loss is unknown, so it counts as reaching the qualified stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

from steward import derived
from steward.definitions import Definitions
from steward.metrics.core import Query
from steward.periods import Quarter
from steward.sqlbind import merge

ZERO = Decimal("0.00")


@dataclass
class Sql:
    """A `with` chain built piece by piece; each piece brings its named parameters."""

    ctes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    uncut: bool = False  # no filters: `join cut using (opp_key)` is dropped (saves a join)

    def cte(self, name: str, body: str, params: Mapping[str, Any] | None = None) -> Sql:
        self.ctes.append(f"{name} as (\n{body}\n)")
        self.params = merge(self.params, params or {})
        return self

    def run(
        self,
        con: duckdb.DuckDBPyConnection,
        select: str,
        params: Mapping[str, Any] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        sql = "with " + ",\n".join(self.ctes) + "\n" + select
        if self.uncut:
            sql = sql.replace("join cut using (opp_key)", "")
        return con.execute(sql, merge(self.params, params or {}))


def reach_ranks(defs: Definitions) -> tuple[list[str], list[int], list[bool], list[bool]]:
    """(stage names, reach rank, is_closed, is_won) for every governed stage."""
    n_open = len(defs.open_stages)
    names, ranks, closed, won = [], [], [], []
    for s in defs.stages:
        names.append(s.name)
        closed.append(s.is_closed)
        won.append(s.is_won)
        if not s.is_closed:
            ranks.append(s.rank)
        else:
            ranks.append(n_open if s.is_won else -1)
    return names, ranks, closed, won


def add_ranks(sql: Sql, defs: Definitions) -> Sql:
    """CTE `ranks(stage, reach_rank, is_closed_stage, is_won_stage)` from the definitions."""
    names, ranks, closed, won = reach_ranks(defs)
    return sql.cte(
        "ranks",
        "  select unnest($rank_stages::varchar[]) as stage,\n"
        "         unnest($rank_values::integer[]) as reach_rank,\n"
        "         unnest($rank_closed::boolean[]) as is_closed_stage,\n"
        "         unnest($rank_won::boolean[]) as is_won_stage",
        {"rank_stages": names, "rank_values": ranks, "rank_closed": closed, "rank_won": won},
    )


def qualified_rank(defs: Definitions) -> int:
    return defs.qualified_rank


def last_derived_date(con: duckdb.DuckDBPyConnection) -> date | None:
    row = con.execute("select max(snapshot_date) from derived_dates").fetchall()
    return row[0][0] if row else None


def snapshot_at(con: duckdb.DuckDBPyConnection, as_of: date) -> date | None:
    """The last loaded snapshot date at or before as_of."""
    row = con.execute(
        "select max(snapshot_date) from derived_dates where snapshot_date <= $as_of",
        {"as_of": as_of},
    ).fetchall()
    return row[0][0] if row else None


_STATE_COLS = (
    "  select opp_key, present_b as present,\n"
    "         case when present_b then stage_b else stage_a end as stage,\n"
    "         case when present_b then amount_b else amount_a end as amount,\n"
    "         case when present_b then close_b else close_a end as close_date,\n"
    "         case when present_b then closed_b else closed_a end as is_closed,\n"
    "         case when present_b then won_b else won_a end as is_won\n"
)


def add_state(
    sql: Sql,
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    name: str = "state",
    force_changes: bool = False,
    force_group: bool = False,
) -> Sql:
    """CTE `<name>(opp_key, present, stage, amount, close_date, is_closed, is_won)` at as_of.

    At or after the last snapshot the latest facts are the state; otherwise each deal's
    last change row at or before as_of: the row whose validity range holds as_of
    (`to_date <= as_of < next_date`), a plain range filter. Stores whose opp_changes lack
    next_date (made before it, opened read-only) take the last row by a group-by. All
    three give the same answer (tests check it); `force_changes` / `force_group` pick
    the slower ones for those tests.
    """
    last = last_derived_date(con)
    if last is not None and as_of >= last and not force_changes:
        return sql.cte(
            name,
            "  select opp_key, last_seen = $state_last as present, stage, amount, close_date,\n"
            "         coalesce(is_closed, false) as is_closed, coalesce(is_won, false) as is_won\n"
            "  from opp_facts",
            {"state_last": last},
        )
    if not force_group and derived.has_next_date(con):
        return sql.cte(
            name,
            _STATE_COLS + "  from opp_changes\n"
            "  where to_date <= $state_as_of and (next_date is null or next_date > $state_as_of)",
            {"state_as_of": as_of},
        )
    return sql.cte(
        name,
        "  with lastrow as (\n"
        "    select opp_key, arg_max(struct_pack(\n"
        "        present := present_b,\n"
        "        stage := case when present_b then stage_b else stage_a end,\n"
        "        amount := case when present_b then amount_b else amount_a end,\n"
        "        close_date := case when present_b then close_b else close_a end,\n"
        "        is_closed := case when present_b then closed_b else closed_a end,\n"
        "        is_won := case when present_b then won_b else won_a end), to_date) as st\n"
        "    from opp_changes where to_date <= $state_as_of\n"
        "    group by opp_key\n"
        "  )\n"
        "  select opp_key, st.present as present, st.stage as stage, st.amount as amount,\n"
        "         st.close_date as close_date, st.is_closed as is_closed, st.is_won as is_won\n"
        "  from lastrow",
        {"state_as_of": as_of},
    )


def add_cut(sql: Sql, q: Query) -> Sql:
    """CTE `cut(opp_key)`: opportunities whose latest attributes pass the filters."""
    fsql, fparams = q.filters.named_sql("f")
    sql.uncut = not fsql
    body = f"  select f.opp_key from opp_facts f where true{fsql}"  # noqa: S608 - whitelisted
    return sql.cte("cut", body, fparams)


def add_reach(sql: Sql, as_of: date, among: str | None = None) -> Sql:
    """CTE `reach(opp_key, reach_rank, seen_open)`: the highest stage reached by as_of and
    whether any snapshot up to as_of showed the deal open (needs ranks). `among`, a
    subquery of opp_keys (fixed text over earlier CTEs), restricts it to those deals: the
    stage entries hold the whole history, a query often needs a quarter's closed deals.

    A deal first seen already closed (a one-snapshot import of a current-state export, a
    history that starts at the loss) has seen_open false: its past is unknown, and the
    win rate and the cohort decide how to count it (`lost_counts_sql`)."""
    only = f"\n    and e.opp_key in ({among})" if among else ""
    body = f"""  select e.opp_key, max(r.reach_rank) as reach_rank,
         bool_or(not r.is_closed_stage) as seen_open
  from stage_entries e join ranks r on r.stage = e.stage
  where e.entered_date <= $reach_as_of{only}
  group by e.opp_key"""  # noqa: S608 - `among` is fixed text from the callers
    return sql.cte("reach", body, {"reach_as_of": as_of})


def qualified_reach_sql(defs: Definitions, alias: str = "rc") -> tuple[str, dict[str, Any]]:
    """The reach rank a deal counts at, given the governed reading of an unknown past.

    A lost deal never seen open reached the qualified stage when the definitions count
    such deals (win_rate.lost_never_seen_open = "count"), else nothing (-1). Every other
    deal counts at the highest stage it was seen at (a won deal at every open stage)."""
    unseen_rank = defs.qualified_rank if defs.counts_unseen_lost else -1
    return (
        f"case when not coalesce({alias}.seen_open, false) "
        f"and coalesce({alias}.reach_rank, -1) < 0 then $unseen_rank::integer "
        f"else coalesce({alias}.reach_rank, -1) end",
        {"unseen_rank": unseen_rank},
    )


def period_bounds(q: Query, defs: Definitions) -> Quarter:
    return q.quarter(defs)


def quarter_index_sql(col: str, defs: Definitions) -> tuple[str, dict[str, Any]]:
    """An integer that increases by one per fiscal quarter (for 'later quarter' tests)."""
    return (
        f"((year({col}) * 12 + month({col}) - $fy_start_month) // 3)",
        {"fy_start_month": defs.fiscal_year_start_month},
    )


def quarter_case_sql(col: str, quarters: list[Quarter], prefix: str) -> tuple[str, dict[str, Any]]:
    """`case when col in quarters[0] then 0 when … end`: which of `quarters` a date falls
    in (null for none), with the bounds bound as `$<prefix>_start_i` / `$<prefix>_end_i`."""
    which = " ".join(
        f"when {col} >= ${prefix}_start_{i} and {col} < ${prefix}_end_{i} then {i}"
        for i in range(len(quarters))
    )
    params: dict[str, Any] = {}
    for i, qt in enumerate(quarters):
        params[f"{prefix}_start_{i}"] = qt.start
        params[f"{prefix}_end_{i}"] = qt.end
    return f"case {which} end", params


def dec(x: Any) -> Decimal:
    """A money value as Decimal to the cent (None -> 0.00)."""
    if x is None:
        return ZERO
    return Decimal(str(x)).quantize(Decimal("0.01"))


def ratio(num: float, den: float) -> float | None:
    return None if not den else float(num) / float(den)
