"""Derived tables maintained incrementally on import (owned by the metric layer).

The history-wide metrics (win rate, cohort conversion, time in stage, slippage, the
weekly waterfall trend ...) would otherwise scan and window the whole raw snapshot
table (10M rows) on every call. Instead, each import keeps these small tables current:

- ``opp_keys``      opportunity_id -> integer ``opp_key`` (joins on integers, not strings).
- ``opp_changes``   one row per opportunity and consecutive snapshot pair (A -> B) in
                    which something the metrics care about changed: presence, stage,
                    amount, close date, closed/won. The first appearance is a change
                    (present_a false), so the rows are a complete history: the state of
                    any opportunity at any snapshot S is its last change row at or before S.
                    ``next_date`` is the to_date of the opportunity's next change row (null
                    for its latest), so that row is the one with
                    ``to_date <= S and (next_date is null or next_date > S)``: a plain
                    range filter, no group-by over the history.
- ``stage_entries`` one row per opportunity and stage it was ever seen at: the first
                    snapshot at that stage, and the amount / source / segment then.
- ``stage_exits``   one row per stage entry the deal has left: the first later move
                    (stage change or reappearance) to a different stage, its date and
                    that stage. Time in stage then needs a join with the later moves only
                    for the few deals whose first move was backwards (stage ranks come
                    from the definitions at query time).
- ``opp_facts``     one row per opportunity: first and last snapshot seen, and every
                    attribute as of the last snapshot it appears in (the "latest" values
                    that history metrics filter by). A view over ``opp_facts_rows``,
                    which stores last_seen null for the deals in the latest snapshot
                    (the view fills in that date): nearly every deal is in every weekly
                    snapshot, so a stored last_seen would rewrite every row each week.
- ``derived_dates`` the snapshot dates the tables reflect.

Nothing here depends on the definitions: stages are stored by governed name, and the
metrics join stage ranks, probabilities and fiscal quarters at query time. So changing
data/definitions.toml needs no rebuild (`rebuild(con)` exists for repairs and tests).

`refresh(con, dates)` runs inside the caller's transaction (store.commit_snapshots,
store.delete_snapshot). Appending one new last date costs work proportional to that
snapshot (one join of it with the keys and the facts, which hold the previous snapshot's
state), and writes only what changed: the change rows, new stage entries and exits, and
the facts of the deals that changed, appeared, came back or left. Several new dates are
appended one at a time, oldest first, so an import's memory is that of one snapshot;
replacing or deleting a date in the middle recomputes the affected snapshot pairs and
rebuilds the per-opportunity tables from the raw table (slower, always correct).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

import duckdb

_DDL = [
    "create table if not exists derived_dates (snapshot_date date not null)",
    # A random token replaced on every refresh: lets readers memoise derived results.
    "create table if not exists derived_version (token varchar not null)",
    "create table if not exists opp_keys (opp_key integer not null, opportunity_id varchar not null)",
    """create table if not exists opp_changes (
  opp_key integer not null,
  from_date date,
  to_date date not null,
  present_a boolean not null,
  present_b boolean not null,
  stage_a varchar,
  stage_b varchar,
  amount_a decimal(18,2),
  amount_b decimal(18,2),
  close_a date,
  close_b date,
  closed_a boolean,
  closed_b boolean,
  won_a boolean,
  won_b boolean,
  next_date date
)""",
    """create table if not exists stage_entries (
  opp_key integer not null,
  stage varchar not null,
  entered_date date not null,
  amount decimal(18,2),
  source varchar,
  segment varchar
)""",
    """create table if not exists stage_exits (
  opp_key integer not null,
  stage varchar not null,
  entered_date date not null,
  left_date date not null,
  left_stage varchar
)""",
    """create table if not exists opp_facts_rows (
  opp_key integer not null,
  opportunity_id varchar not null,
  first_seen date not null,
  last_seen date,
  opportunity_name varchar,
  account_name varchar,
  segment varchar,
  region varchar,
  owner varchar,
  source varchar,
  product varchar,
  stage varchar,
  amount decimal(18,2),
  probability double,
  forecast_category varchar,
  close_date date,
  created_date date,
  is_closed boolean,
  is_won boolean
)""",
]

DERIVED_TABLES = (
    "derived_dates",
    "opp_keys",
    "opp_changes",
    "stage_entries",
    "stage_exits",
    "opp_facts_rows",
)

# Attributes of the latest row kept in opp_facts, in table order.
_FACT_ATTRS = (
    "opportunity_name",
    "account_name",
    "segment",
    "region",
    "owner",
    "source",
    "product",
    "stage",
    "amount",
    "probability",
    "forecast_category",
    "close_date",
    "created_date",
    "is_closed",
    "is_won",
)

# What readers see: opp_facts_rows with last_seen filled in. A deal in the latest snapshot
# is stored with last_seen null (see _facts_forward), so a weekly append writes only the
# deals that changed, appeared, came back or left, not every deal's row.
_FACTS_VIEW_SQL = (
    "create view if not exists opp_facts as\n"  # noqa: S608 - names from the constant
    "select f.opp_key, f.opportunity_id, f.first_seen,\n"
    "       coalesce(f.last_seen, (select max(snapshot_date) from derived_dates)) as last_seen,\n"
    "       " + ", ".join(f"f.{c}" for c in _FACT_ATTRS) + "\n"
    "from opp_facts_rows f"
)


# Stores made before opp_facts_rows: the old table's rows, last_seen null for the deals
# in the latest snapshot.
_FACTS_FROM_TABLE_SQL = (
    "insert into opp_facts_rows\n"  # noqa: S608 - names from the constant
    "select opp_key, opportunity_id, first_seen,\n"
    "       nullif(last_seen, (select max(snapshot_date) from derived_dates)),\n"
    "       " + ", ".join(_FACT_ATTRS) + "\n"
    "from opp_facts"
)


_PAIR_SQL = """
insert into opp_changes
with a as (
  select opportunity_id, stage, amount, close_date,
         coalesce(is_closed, false) as is_closed, coalesce(is_won, false) as is_won
  from snapshots where snapshot_date = $from_date
),
b as (
  select opportunity_id, stage, amount, close_date,
         coalesce(is_closed, false) as is_closed, coalesce(is_won, false) as is_won
  from snapshots where snapshot_date = $to_date
),
joined as (
  select coalesce(b.opportunity_id, a.opportunity_id) as opportunity_id,
         a.opportunity_id is not null as present_a,
         b.opportunity_id is not null as present_b,
         a.stage as stage_a, b.stage as stage_b,
         a.amount as amount_a, b.amount as amount_b,
         a.close_date as close_a, b.close_date as close_b,
         a.is_closed as closed_a, b.is_closed as closed_b,
         a.is_won as won_a, b.is_won as won_b
  from a full outer join b on a.opportunity_id = b.opportunity_id
)
select k.opp_key, $from_date::date, $to_date::date, j.present_a, j.present_b, j.stage_a, j.stage_b,
       j.amount_a, j.amount_b, j.close_a, j.close_b, j.closed_a, j.closed_b, j.won_a, j.won_b,
       null::date
from joined j
join opp_keys k on k.opportunity_id = j.opportunity_id
where not (j.present_a and j.present_b)
   or j.stage_a is distinct from j.stage_b
   or j.amount_a is distinct from j.amount_b
   or j.close_a is distinct from j.close_b
   or j.closed_a is distinct from j.closed_b
   or j.won_a is distinct from j.won_b
"""

_NEW_KEYS_SQL = """
insert into opp_keys
with seen as (
  select opportunity_id, min(snapshot_date) as first_seen
  from snapshots
  where snapshot_date in (select unnest($dates::date[]))
  group by opportunity_id
),
fresh as (
  select s.opportunity_id, s.first_seen
  from seen s
  anti join opp_keys k on k.opportunity_id = s.opportunity_id
)
select (select coalesce(max(opp_key), 0) from opp_keys)
       + row_number() over (order by first_seen, opportunity_id),
       opportunity_id
from fresh
"""

_ENTRIES_REBUILD_SQL = """
insert into stage_entries
select k.opp_key, s.stage, min(s.snapshot_date),
       arg_min_null(s.amount, s.snapshot_date),
       arg_min_null(s.source, s.snapshot_date),
       arg_min_null(s.segment, s.snapshot_date)
from snapshots s
join opp_keys k on k.opportunity_id = s.opportunity_id
where s.stage is not null
group by k.opp_key, s.stage
"""


# The moves of a deal: present in B and at a different stage than in A, or back after
# being absent (the same rows time in stage treats as moves).
_MOVE = "c.present_b and (not c.present_a or c.stage_a is distinct from c.stage_b)"

# Exits of every stage entry that has none yet, from all change rows.
_EXITS_FILL_SQL = f"""
insert into stage_exits
select e.opp_key, e.stage, e.entered_date, min(c.to_date),
       arg_min_null(c.stage_b, c.to_date)
from stage_entries e
join opp_changes c on c.opp_key = e.opp_key and c.to_date > e.entered_date
where {_MOVE} and c.stage_b is distinct from e.stage
  and not exists (
    select 1 from stage_exits x where x.opp_key = e.opp_key and x.stage = e.stage
  )
group by e.opp_key, e.stage, e.entered_date
"""  # noqa: S608 - fixed text

# Exits taken in the (latest) pair ending at $to_date: entries without an exit that moved then.
_EXITS_PAIR_SQL = f"""
insert into stage_exits
select e.opp_key, e.stage, e.entered_date, c.to_date, c.stage_b
from opp_changes c
join stage_entries e on e.opp_key = c.opp_key
where c.to_date = $to_date and e.entered_date < c.to_date
  and {_MOVE} and c.stage_b is distinct from e.stage
  and not exists (
    select 1 from stage_exits x where x.opp_key = e.opp_key and x.stage = e.stage
  )
"""  # noqa: S608 - fixed text


def _facts_rebuild_sql() -> str:
    latest = ",\n       ".join(f"arg_max_null(s.{c}, s.snapshot_date)" for c in _FACT_ATTRS)
    return f"""
insert into opp_facts_rows
select k.opp_key, k.opportunity_id, min(s.snapshot_date),
       nullif(max(s.snapshot_date), (select max(snapshot_date) from snapshots)),
       {latest}
from snapshots s
join opp_keys k on k.opportunity_id = s.opportunity_id
group by k.opp_key, k.opportunity_id
"""  # noqa: S608 - column names from the constant above


# After the pair ending at `d` is inserted: the previous change row of every opportunity
# that changed in that pair now ends at `d`. Only valid when `d` is the latest pair.
_LINK_SQL = """
update opp_changes set next_date = $to_date
where next_date is null and to_date < $to_date
  and opp_key in (select opp_key from opp_changes where to_date = $to_date)
"""

# Every row's next_date from scratch (rebuilds, middle replacements, migration).
_LINK_ALL_SQL = """
update opp_changes c set next_date = n.next_date
from (
  select opp_key, to_date,
         lead(to_date) over (partition by opp_key order by to_date) as next_date
  from opp_changes
) n
where c.opp_key = n.opp_key and c.to_date = n.to_date
  and c.next_date is distinct from n.next_date
"""


def _link(con: duckdb.DuckDBPyConnection, d: date) -> None:
    con.execute(_LINK_SQL, {"to_date": d})


def _link_all(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_LINK_ALL_SQL)


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    rows = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'main' and table_name = $table",
        {"table": table},
    ).fetchall()
    return bool(rows and rows[0][0])


def has_next_date(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether opp_changes has the next_date column (stores made before it lack it until
    a writer opens them; readers then use the slower group-by). Needs opp_changes."""
    rows = con.execute(
        "select count(*) from pragma_table_info('opp_changes') where name = 'next_date'"
    ).fetchall()
    return bool(rows and rows[0][0])


def has_stage_exits(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store has stage_exits (same story as has_next_date)."""
    return _has(con, "stage_exits")


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Create the derived tables if missing; in stores made before them, add and fill
    opp_changes.next_date and stage_exits, and move an opp_facts table into
    opp_facts_rows behind the opp_facts view. One transaction (called by store.migrate and
    rebuild, outside a transaction)."""
    older = _has(con, "stage_entries")
    add_next = older and not has_next_date(con)
    add_exits = older and not has_stage_exits(con)
    facts_table = _has(con, "opp_facts")  # a table before opp_facts_rows, a view since
    con.execute("begin transaction")
    try:
        for stmt in _DDL:
            con.execute(stmt)
        if add_next:
            con.execute("alter table opp_changes add column next_date date")
            _link_all(con)
        if add_exits:
            con.execute(_EXITS_FILL_SQL)
        if facts_table:
            con.execute(_FACTS_FROM_TABLE_SQL)
            con.execute("drop table opp_facts")
        con.execute(_FACTS_VIEW_SQL)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _dates(con: duckdb.DuckDBPyConnection, table: str) -> list[date]:
    if table == "snapshots":
        sql = "select distinct snapshot_date from snapshots order by 1"
    else:
        sql = "select snapshot_date from derived_dates order by 1"
    return [r[0] for r in con.execute(sql).fetchall()]


def _pair(con: duckdb.DuckDBPyConnection, prev: date | None, d: date) -> None:
    """Changes for the consecutive pair (prev -> d); prev None = the first snapshot."""
    con.execute(_PAIR_SQL, {"from_date": prev, "to_date": d})


def _day_sql() -> str:
    """The rows the weekly step writes, in one pass over the new snapshot beside its keys
    and the facts (the previous snapshot's state): the new snapshot's deals whose stored
    facts differ (present_b: new, back, or an attribute changed), with all their
    attributes, and the deals of the previous snapshot that are not in the new one
    (not present_b: they left). Each with the pair's A side (the stored facts).

    The pair's change rows and the new stage entries are a subset of these (a deal whose
    stage, amount, close date or closed / won flags moved differs from its facts), so the
    nine tenths of a week that did not change are compared and dropped here, not written
    to _day (the table held every deal of the week and the facts were looked up again
    from the snapshot: ~50 ms of ~120 at 10.8M rows). Which attributes changed (a bit per
    attribute of _FACT_ATTRS) is worked out for the kept rows only.
    """
    attrs = ", ".join(f"s.{c}" for c in _FACT_ATTRS)
    differs = "\n      or ".join(f"f.{c} is distinct from s.{c}" for c in _FACT_ATTRS)
    mask = " + ".join(
        f"(case when f_{c} is distinct from {c} then {1 << i} else 0 end)"
        for i, c in enumerate(_FACT_ATTRS)
    )
    return f"""
create or replace temp table _day as
with s as (
  select k.opp_key, s.opportunity_id, {attrs}
  from snapshots s
  left join opp_keys k on k.opportunity_id = s.opportunity_id
  where s.snapshot_date = $to_date
),
j as (
  select coalesce(s.opp_key, f.opp_key) as opp_key, s.opportunity_id,
         s.opportunity_id is not null as present_b,
         f.opp_key is not null and f.last_seen is null as present_a,
         f.first_seen as kept_first_seen,
         {attrs},
         {", ".join(f"f.{c} as f_{c}" for c in _FACT_ATTRS)},
         f.opp_key is null or f.last_seen is not null
      or {differs} as differs
  from s
  full join opp_facts_rows f on f.opp_key = s.opp_key
  where s.opportunity_id is not null or f.last_seen is null
)
select opp_key, opportunity_id, present_b, present_a, kept_first_seen,
       {", ".join(_FACT_ATTRS)},
       f_stage as stage_a, f_amount as amount_a, f_close_date as close_a,
       f_is_closed as closed_a, f_is_won as won_a,
       present_b and differs as facts_changed,
       case when present_b and differs then {mask} else 0 end as changed_attrs
from j
where not present_b or differs
"""  # noqa: S608 - column names from the constant


# Keys for the deals first seen in _day (numbered by id, after the largest key), then
# written into _day: only the new rows are looked up again.
_DAY_NEW_KEYS_SQL = [
    """insert into opp_keys
select $max_key + row_number() over (order by opportunity_id), opportunity_id
from _day where opp_key is null""",
    """update _day set opp_key = k.opp_key
from opp_keys k
where _day.opp_key is null and k.opp_key > $max_key and k.opportunity_id = _day.opportunity_id""",
]

# The pair (previous last snapshot -> new) from _day: the deals present in the new one ...
_PAIR_PRESENT_SQL = """
insert into opp_changes
select opp_key, $from_date::date, $to_date::date, present_a, true,
       case when present_a then stage_a end, stage,
       case when present_a then amount_a end, amount,
       case when present_a then close_a end, close_date,
       case when present_a then coalesce(closed_a, false) end, coalesce(is_closed, false),
       case when present_a then coalesce(won_a, false) end, coalesce(is_won, false),
       null::date
from _day
where present_b and (
      not present_a
   or stage_a is distinct from stage
   or amount_a is distinct from amount
   or close_a is distinct from close_date
   or coalesce(closed_a, false) is distinct from coalesce(is_closed, false)
   or coalesce(won_a, false) is distinct from coalesce(is_won, false))
"""

# ... and the deals of the previous one that are not in the new one (they left).
_PAIR_LEFT_SQL = """
insert into opp_changes
select opp_key, $from_date::date, $to_date::date, true, false,
       stage_a, null, amount_a, null, close_a, null,
       coalesce(closed_a, false), null, coalesce(won_a, false), null, null::date
from _day
where not present_b
"""


def _facts_forward(con: duckdb.DuckDBPyConnection, prev: date | None, d: date) -> None:
    """Bring opp_facts forward to the new last snapshot held in _day, writing only what
    changed: deals in it stay stored with last_seen null ("in the latest snapshot") and
    are not touched when no attribute changed; a deal that changed gets the attributes
    that changed updated (from _day), one that came back its last_seen null again
    (first_seen kept), a new deal is inserted, and a deal that left (not present_b) gets
    last_seen = prev.

    (Issue 11 rewrote every deal's row each week, ~190 ms at 10M rows; moving last_seen
    forward with an update of every deal instead filled the write-ahead log past
    DuckDB's checkpoint threshold at 31M rows. Keeping it implicit writes neither. The
    changed rows are updated in place, not deleted and inserted again: deleting a tenth
    of the rows of every row group made the next checkpoint rewrite the whole table,
    +0.4 s when the store closes at 31M rows; and only in the attributes that changed:
    updating all fifteen cost ~0.35 s at 31M, one update per changed attribute ~5 ms.)
    """
    con.execute(
        "update opp_facts_rows set last_seen = $prev where last_seen is null "
        "and opp_key in (select opp_key from _day where not present_b)",
        {"prev": prev},
    )
    # Per attribute, only the rows where it changed: an update rewrites, at the next
    # checkpoint, the columns it touched, so unchanged columns stay as they are.
    back, mask = con.execute(
        "select count(*) filter (where kept_first_seen is not null and not present_a), "
        "bit_or(changed_attrs) filter (where kept_first_seen is not null) "
        "from _day where facts_changed"
    ).fetchall()[0]
    if back:
        con.execute(
            "update opp_facts_rows set last_seen = null where last_seen is not null "
            "and opp_key in (select opp_key from _day "
            "where facts_changed and kept_first_seen is not null)"
        )
    for i, c in enumerate(_FACT_ATTRS):
        if (mask or 0) >> i & 1:
            con.execute(
                f"update opp_facts_rows set {c} = n.{c} from _day n "  # noqa: S608
                f"where n.facts_changed and opp_facts_rows.opp_key = n.opp_key "
                f"and opp_facts_rows.{c} is distinct from n.{c}"
            )
    con.execute(
        "insert into opp_facts_rows "  # noqa: S608 - column names from the constant
        f"select opp_key, opportunity_id, $d, null, {', '.join(_FACT_ATTRS)} "
        "from _day where facts_changed and kept_first_seen is null",
        {"d": d},
    )


def _append_one(con: duckdb.DuckDBPyConnection, prev: date | None, d: date) -> None:
    """The weekly case: one new last snapshot. Reads the snapshot once, beside the keys
    and the facts (the previous snapshot's state), into _day, and works on integer keys
    from there; writes what changed, not every deal."""
    max_key = con.execute("select coalesce(max(opp_key), 0) from opp_keys").fetchall()[0][0]
    con.execute(_day_sql(), {"to_date": d})
    for stmt in _DAY_NEW_KEYS_SQL:
        con.execute(stmt, {"max_key": max_key})
    pair = {"from_date": prev, "to_date": d}
    con.execute(_PAIR_PRESENT_SQL, pair)
    con.execute(_PAIR_LEFT_SQL, pair)
    _link(con, d)
    con.execute(_EXITS_PAIR_SQL, {"to_date": d})
    # A deal still at the stage it had in the previous snapshot already has that entry.
    con.execute(
        "insert into stage_entries "
        "select d.opp_key, d.stage, $d, d.amount, d.source, d.segment "
        "from _day d anti join stage_entries e on e.opp_key = d.opp_key and e.stage = d.stage "
        "where d.present_b and d.stage is not null "
        "and (not d.present_a or d.stage is distinct from d.stage_a)",
        {"d": d},
    )
    _facts_forward(con, prev, d)
    con.execute("drop table _day")
    con.execute("insert into derived_dates values ($d)", {"d": d})


def _insert_dates(con: duckdb.DuckDBPyConnection, dates: list[date]) -> None:
    """Record `dates` as derived (none: nothing to insert)."""
    con.execute("insert into derived_dates select unnest($dates::date[])", {"dates": list(dates)})


def _rebuild_per_opportunity(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("delete from stage_entries")
    con.execute(_ENTRIES_REBUILD_SQL)
    con.execute("delete from stage_exits")
    con.execute(_EXITS_FILL_SQL)
    con.execute("delete from opp_facts_rows")
    con.execute(_facts_rebuild_sql())


def _recompute_pairs(
    con: duckdb.DuckDBPyConnection, existing: list[date], to_dates: Iterable[date]
) -> None:
    """Recompute the change rows of the pairs ending at `to_dates` (those still loaded)."""
    todo = sorted(set(to_dates))
    if todo:
        con.execute(
            "delete from opp_changes where to_date in (select unnest($dates::date[]))",
            {"dates": todo},
        )
    index = {d: i for i, d in enumerate(existing)}
    for d in todo:
        i = index.get(d)
        if i is not None:
            _pair(con, existing[i - 1] if i > 0 else None, d)


def new_version(con: duckdb.DuckDBPyConnection) -> None:
    """Start a new store version (inside the caller's transaction): every write that
    changes what a kept answer read calls it, so `memo.kept` entries of the old version
    are never served again. Snapshot imports, replacements and deletions (`refresh`,
    `rebuild`) and the touches / leads / targets imports (`store.commit_table`) do."""
    con.execute("delete from derived_version")
    con.execute("insert into derived_version values ($token)", {"token": uuid.uuid4().hex})


def version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The token of the derived tables' current content (None when unknown)."""
    try:
        rows = con.execute("select max(token) from derived_version").fetchall()
    except duckdb.CatalogException:
        return None
    return rows[0][0] if rows else None


def refresh(con: duckdb.DuckDBPyConnection, snapshot_dates: list[date]) -> None:
    """Recompute what depends on the given snapshot dates (added, replaced or deleted).

    Runs inside the caller's transaction; raises on failure so the caller rolls back.
    """
    changed = sorted(set(snapshot_dates))
    if not changed:
        return
    new_version(con)
    known = _dates(con, "derived_dates")
    last_known = known[-1] if known else None
    if last_known is None or changed[0] > last_known:
        # Only new dates after the last one: check they are loaded (cheap: zone maps).
        present = {
            r[0]
            for r in con.execute(
                "select distinct snapshot_date from snapshots "
                "where snapshot_date in (select unnest($dates::date[]))",
                {"dates": changed},
            ).fetchall()
        }
        if present == set(changed):
            # One week at a time, oldest first: each step costs one snapshot's work and
            # memory (a 13-week import no longer groups all its rows at once).
            prev = last_known
            for d in changed:
                _append_one(con, prev, d)
                prev = d
            return
    existing = _dates(con, "snapshots")
    # General case: a date replaced or deleted in the middle.
    # The pairs ending at a changed date, or at the first loaded date after one, change.
    con.execute(_NEW_KEYS_SQL, {"dates": [d for d in changed if d in existing]})
    gone = {d for d in known if d not in existing}
    if gone:
        con.execute(
            "delete from opp_changes where to_date in (select unnest($dates::date[]))",
            {"dates": sorted(gone)},
        )
    affected = set()
    for d in changed:
        if d in existing:
            affected.add(d)
        later = [e for e in existing if e > d]
        if later:
            affected.add(later[0])
    _recompute_pairs(con, existing, affected)
    _link_all(con)
    # opp_keys keeps the keys of opportunities no longer loaded (harmless, never joined
    # from snapshots); the per-opportunity tables are rebuilt from the raw rows.
    if gone:
        con.execute(
            "delete from opp_keys where opportunity_id not in "
            "(select distinct opportunity_id from snapshots)"
        )
    _rebuild_per_opportunity(con)
    con.execute("delete from derived_dates")
    _insert_dates(con, existing)


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every derived table from the raw snapshots (own transaction)."""
    ensure(con)
    con.execute("begin transaction")
    try:
        for table in DERIVED_TABLES:
            con.execute(f"delete from {table}")  # noqa: S608 - names from the constant
        new_version(con)
        existing = _dates(con, "snapshots")
        if existing:
            con.execute(_NEW_KEYS_SQL, {"dates": existing})
            _recompute_pairs(con, existing, existing)
            _link_all(con)
            _rebuild_per_opportunity(con)
            _insert_dates(con, existing)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
