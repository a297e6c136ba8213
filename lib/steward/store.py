"""The snapshot store: one DuckDB file holding every weekly snapshot ever loaded.

Concurrency. DuckDB lets one process write a file, and a writer excludes readers in
other processes. So nobody holds the file open for long: readers (the dashboard) open
short-lived read-only connections, and writers (imports) do all parsing and validation
in memory first and open the file only for the final transaction, which is short.
Both retry with back-off while the other holds the lock. An import is one transaction:
all rows or none.
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from steward import memo
from steward.errors import ImportRejected, StoreError

DEFAULT_DB = Path(__file__).resolve().parents[2] / "data" / "steward.duckdb"
ENV_VAR = "STEWARD_DB"

# The canonical snapshot row (BRIEF §3.1), in order, with its DuckDB type.
SNAPSHOT_COLUMNS: dict[str, str] = {
    "snapshot_date": "date",
    "opportunity_id": "varchar",
    "opportunity_name": "varchar",
    "account_id": "varchar",
    "account_name": "varchar",
    "segment": "varchar",
    "region": "varchar",
    "owner": "varchar",
    "source": "varchar",
    "lead_source": "varchar",
    "stage": "varchar",
    "amount": "decimal(18,2)",
    "currency": "varchar",
    "probability": "double",
    "forecast_category": "varchar",
    "close_date": "date",
    "created_date": "date",
    "is_closed": "boolean",
    "is_won": "boolean",
    "loss_reason": "varchar",
    "product": "varchar",
}
REQUIRED_COLUMNS = ("snapshot_date", "opportunity_id", "stage", "close_date")

TARGET_COLUMNS: dict[str, str] = {
    "period": "varchar",
    "segment": "varchar",
    "bookings_target": "decimal(18,2)",
    "pipeline_target": "decimal(18,2)",
}
TOUCH_COLUMNS: dict[str, str] = {
    "opportunity_id": "varchar",
    "account_id": "varchar",
    "touch_date": "date",
    "channel": "varchar",
    "campaign": "varchar",
    "weight": "double",
}
LEAD_COLUMNS: dict[str, str] = {
    "lead_id": "varchar",
    "created_at": "timestamp",
    "first_contact_at": "timestamp",
    "source": "varchar",
    "owner": "varchar",
    "status": "varchar",
    "mql_at": "timestamp",
    "sql_at": "timestamp",
    "opportunity_id": "varchar",
}


def _ddl(table: str, cols: dict[str, str], extra: str = "") -> str:
    body = ",\n  ".join(f"{name} {typ}" for name, typ in cols.items())
    return f"create table if not exists {table} (\n  {body}{extra}\n)"


# Migrations: index i brings a file from schema version i to i + 1. Append, never edit.
MIGRATIONS: list[list[str]] = [
    [
        "create table if not exists schema_info (version integer not null, migrated_at timestamp)",
        _ddl("snapshots", SNAPSHOT_COLUMNS, ",\n  import_id integer"),
        _ddl("targets", TARGET_COLUMNS, ",\n  primary key (period, segment)"),
        _ddl("touches", TOUCH_COLUMNS),
        _ddl("leads", LEAD_COLUMNS),
        """create table if not exists import_log (
  import_id integer primary key,
  kind varchar not null,
  file_name varchar,
  sha256 varchar,
  source_format varchar,
  row_count integer,
  snapshot_dates varchar,
  started_at timestamp,
  finished_at timestamp,
  outcome varchar not null,
  message varchar
)""",
    ],
    # Weekly review: decisions recorded against an agenda item (steward.review.decisions).
    [
        """create table if not exists decisions (
  decision_id integer primary key,
  recorded_at timestamp not null,
  as_of date not null,
  period varchar not null,
  rule_id varchar not null,
  item_key varchar not null,
  item_title varchar not null,
  what varchar not null,
  owner varchar not null,
  due_date date not null,
  metric_id varchar not null,
  metric_read varchar not null,
  direction varchar not null check (direction in ('up', 'down')),
  baseline_value double,
  opportunity_ids varchar[] not null
)""",
    ],
    # Scenario planner and maturity scorecard (issue 14): saved what-if scenarios, dated
    # self-assessments for the dimensions the data cannot place, and the placement history.
    [
        """create table if not exists scenarios (
  name varchar primary key,
  saved_at timestamp not null,
  as_of date not null,
  period varchar not null,
  filters varchar,
  assumptions varchar not null,
  results varchar not null
)""",
        """create table if not exists maturity_assessments (
  dimension_id varchar not null,
  assessed_on date not null,
  stage integer not null check (stage between 1 and 3),
  note varchar,
  assessor varchar,
  recorded_at timestamp not null,
  primary key (dimension_id, assessed_on)
)""",
        """create table if not exists maturity_placements (
  snapshot_date date not null,
  dimension_id varchar not null,
  stage integer,
  basis varchar not null,
  evidence varchar,
  definitions_digest varchar not null,
  recorded_at timestamp not null,
  primary key (snapshot_date, dimension_id)
)""",
    ],
    # Access: who imported, replaced, deleted or exported what, when (steward.access).
    [
        """create table if not exists audit_log (
  audit_id integer primary key,
  recorded_at timestamp not null,
  who varchar not null,
  action varchar not null,
  target varchar not null,
  scope varchar not null,
  detail varchar
)""",
    ],
    # opp_facts becomes a view over opp_facts_rows (derived.ensure moves the rows, after
    # the steps): a release before it would write into the view, so it must refuse the
    # file ("Upgrade Pipeline Steward") rather than fail in an import.
    [],
]
# The schema version a file reaches once every migration above has run.
SCHEMA_VERSION = len(MIGRATIONS)


def resolve_path(db: str | Path | None = None) -> Path:
    """--db, else $STEWARD_DB, else data/steward.duckdb."""
    return Path(db or os.environ.get(ENV_VAR) or DEFAULT_DB).expanduser().resolve()


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None):
    """First column of the first row, fetched completely.

    DuckDB 2 keeps a half-read result open after fetchone(), and the next register()
    on that connection fails; fetchall() closes it.
    """
    rows = con.execute(sql, params or {}).fetchall()
    return rows[0][0] if rows else None


def _is_lock_error(exc: Exception) -> bool:
    msg = str(exc).lower()
    return "lock" in msg or "being used by another process" in msg


# DuckDB's own defaults are a buffer pool of 80 % of the machine's memory and a thread
# per core for every open database. Set deliberately instead: the queries here scan a
# few columns of a file the OS already caches, so a small pool costs little time, and
# what does not fit (a rebuild's joins, a 30M-row history's window) spills to a
# temporary directory outside the store's folder. Both can be overridden per process.
MEMORY_LIMIT = os.environ.get("STEWARD_DUCKDB_MEMORY_LIMIT", "1GB")
THREADS = int(os.environ.get("STEWARD_DUCKDB_THREADS", "0")) or (os.cpu_count() or 1)
SPILL_DIR = os.environ.get("STEWARD_DUCKDB_TEMP") or str(
    Path(tempfile.gettempdir()) / "steward-duckdb-spill"
)


def duckdb_config() -> dict[str, str | bool | int | float | list[str]]:
    """The settings every store connection is opened with (see MEMORY_LIMIT)."""
    return {"memory_limit": MEMORY_LIMIT, "threads": THREADS, "temp_directory": SPILL_DIR}


def _open(path: Path, read_only: bool, timeout_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=duckdb_config())
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                who = "reading" if read_only else "writing"
                raise StoreError(f"{path}: cannot open the store for {who}", [str(exc)]) from exc
            time.sleep(delay + random.random() * delay)
            delay = min(delay * 2, 0.5)


@contextmanager
def reader(
    db: str | Path | None = None, timeout_s: float = 30.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection. Raises StoreError when there is no database."""
    path = resolve_path(db)
    if not path.exists():
        raise StoreError(
            f"no database at {path}",
            ["Load the demo with `steward demo`, or import a file with `steward import FILE`."],
        )
    con = _open(path, True, timeout_s)
    if schema_version(con) < SCHEMA_VERSION:
        # A store written by an earlier release: migrate it forward once (a short write,
        # all-or-nothing per step), so an upgraded app or CLI reads it without a manual step.
        con.close()
        with writer(path, timeout_s):
            pass
        con = _open(path, True, timeout_s)
    try:
        schema_version(con, check=True)
        yield con
    finally:
        con.close()


@contextmanager
def writer(
    db: str | Path | None = None, timeout_s: float = 120.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A write connection with the schema migrated to the current version. Keep it short."""
    path = resolve_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, False, timeout_s)
    try:
        migrate(con)
        yield con
    finally:
        con.close()
        memo.store_written()  # a view that wrote reads the store's version again


def schema_version(con: duckdb.DuckDBPyConnection, check: bool = False) -> int:
    """The file's schema version (0 when empty). With check, refuse files newer than us."""
    has = _scalar(
        con, "select count(*) from information_schema.tables where table_name = 'schema_info'"
    )
    version = 0
    if has:
        latest = _scalar(con, "select max(version) from schema_info")
        version = int(latest) if latest is not None else 0
    if check and version > SCHEMA_VERSION:
        raise StoreError(
            f"the store has schema version {version}; this release reads up to {SCHEMA_VERSION}",
            ["Upgrade Pipeline Steward to read this file."],
        )
    if check and version < SCHEMA_VERSION:
        raise StoreError(
            f"the store has schema version {version}; run any write command to migrate it to {SCHEMA_VERSION}",
        )
    return version


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the file up to SCHEMA_VERSION, one transaction per step. Returns the version."""
    from steward import derived  # derived tables are part of the schema

    current = schema_version(con)
    if current > SCHEMA_VERSION:
        schema_version(con, check=True)
    for step in range(current, SCHEMA_VERSION):
        con.execute("begin transaction")
        try:
            for stmt in MIGRATIONS[step]:
                con.execute(stmt)
            con.execute("insert into schema_info values ($version, now())", {"version": step + 1})
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    derived.ensure(con)
    return SCHEMA_VERSION


def init_memory() -> duckdb.DuckDBPyConnection:
    """An in-memory store with the current schema (tests, previews)."""
    con = duckdb.connect(":memory:")
    migrate(con)
    return con


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(_scalar(con, "select coalesce(max(import_id), 0) + 1 from import_log") or 1)


def log_outcome(
    con: duckdb.DuckDBPyConnection,
    *,
    kind: str,
    file_name: str,
    sha256: str | None,
    source_format: str | None,
    row_count: int,
    snapshot_dates: list[date],
    started_at: datetime,
    outcome: str,
    message: str,
    import_id: int | None = None,
) -> int:
    """Append one line to the import log (inside the caller's transaction, if any)."""
    iid = import_id or _next_import_id(con)
    con.execute(
        "insert into import_log values ($import_id, $kind, $file_name, $sha256, $source_format, "
        "$row_count, $snapshot_dates, $started_at, $finished_at, $outcome, $message)",
        {
            "import_id": iid,
            "kind": kind,
            "file_name": file_name,
            "sha256": sha256,
            "source_format": source_format,
            "row_count": row_count,
            "snapshot_dates": ",".join(d.isoformat() for d in sorted(set(snapshot_dates))),
            "started_at": started_at,
            "finished_at": _now(),
            "outcome": outcome,
            "message": message[:2000],
        },
    )
    return iid


def _canonical_frame(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ImportRejected(f"internal: frame lacks canonical columns {missing}")
    return frame[list(columns)]


def existing_dates(con: duckdb.DuckDBPyConnection) -> set[date]:
    return {r[0] for r in con.execute("select distinct snapshot_date from snapshots").fetchall()}


def loaded_among(con: duckdb.DuckDBPyConnection, dates: set[date]) -> set[date]:
    """Which of `dates` are loaded. Reads only the row groups that can hold them (the rows
    are stored in date order), not every date of the history like existing_dates."""
    if not dates:
        return set()
    rows = con.execute(
        "select distinct snapshot_date from snapshots "
        "where snapshot_date in (select unnest($dates::date[]))",
        {"dates": sorted(dates)},
    ).fetchall()
    return {r[0] for r in rows}


def _dates_of(data: pd.DataFrame) -> set[date]:
    # unique first: converting every row's date is slow at millions of rows
    return set(pd.to_datetime(pd.Series(data["snapshot_date"].unique())).dt.date)


def commit_snapshots(
    con: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame | Iterable[pd.DataFrame],
    *,
    file_name: str,
    sha256: str | None = None,
    source_format: str | None = None,
    replace: bool = False,
    started_at: datetime | None = None,
) -> int:
    """Write canonical snapshot rows in one transaction; returns the import id.

    `frame` is one frame, or several parts (an iterable, e.g. one frame per week made
    lazily) that share no snapshot date: the parts go in one after another inside the one
    transaction, so a large import needs the memory of one part, not of the whole (the
    demo writes 13 weeks per import this way).

    Refuses (ImportRejected, nothing written) when a snapshot date is already loaded and
    replace is False, or when (snapshot_date, opportunity_id) repeats. On any failure the
    transaction is rolled back and a 'rejected' line is written to the import log.
    """
    started_at = started_at or _now()
    parts: Iterable[pd.DataFrame]
    if isinstance(frame, pd.DataFrame):
        parts = [_canonical_frame(frame, SNAPSHOT_COLUMNS)]
    else:
        parts = frame
    small = isinstance(frame, pd.DataFrame) and len(frame) <= IN_MEMORY_ROWS
    with _rows_in_memory(con) if small else contextlib.nullcontext():
        return _commit_parts(con, parts, file_name, sha256, source_format, replace, started_at)


# DuckDB's rows per row group (its default row_group_size, which these stores use).
ROW_GROUP_ROWS = 122_880
# An import of one frame of at most this many rows keeps its new rows in memory until the
# commit (see _rows_in_memory); larger ones, and the parts of an iterable, keep DuckDB's
# default. At 10.8M rows a 169,886-row week spent ~250 ms in the insert with the default
# and ~125 ms in the insert and the commit without. A 509,659-row week (31M) took ~0.9 s
# either way, but its close (the checkpoint) grew from ~0.2 s to 0.5-0.9 s: from a few row
# groups on, the insert's threads presumably share the row groups, and writing the rows
# to the log costs about what it saves.
IN_MEMORY_ROWS = 2 * ROW_GROUP_ROWS


@contextmanager
def _rows_in_memory(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block with DuckDB's enable_optimistic_write off, then set it back to what
    it was (a setting of the database, not of one connection; the writer is alone).

    On, an insert compresses and writes each full row group to the file as it goes, one
    row group per thread; the rows of a weekly import then sit in one or two row groups,
    so one thread did nearly all of it (~190 ms of the 250 ms insert at 10.8M), and the
    checkpoint when the store closes merged them with the previous week's partial row
    group and compressed them again. Off, the rows stay in the transaction's memory and
    the commit writes them to the write-ahead log (~50 MB for 170k rows); the checkpoint
    compresses them once, when the store closes or, if the writer goes on, at its next
    commit (the log is then past DuckDB's checkpoint threshold). All-or-nothing is the
    same: a rollback drops the rows either way.
    """
    before = bool(_scalar(con, "select current_setting('enable_optimistic_write')"))
    con.execute("set enable_optimistic_write = false")
    try:
        yield
    finally:
        con.execute(f"set enable_optimistic_write = {str(before).lower()}")


def _commit_parts(
    con: duckdb.DuckDBPyConnection,
    parts: Iterable[pd.DataFrame],
    file_name: str,
    sha256: str | None,
    source_format: str | None,
    replace: bool,
    started_at: datetime,
) -> int:
    """commit_snapshots' transaction: every part, the derived tables, the log line."""
    dates: set[date] = set()
    replaced: set[date] = set()
    rows = 0
    con.execute("begin transaction")
    try:
        iid = _next_import_id(con)
        for part in parts:
            data = _canonical_frame(part, SNAPSHOT_COLUMNS)
            part_dates = _dates_of(data)
            if part_dates & dates:
                raise ImportRejected(f"internal: {file_name}: parts share a snapshot date")
            clash = loaded_among(con, part_dates)
            _insert_part(con, data, file_name, iid, clash, replace)
            dates |= part_dates
            replaced |= clash
            rows += len(data)
        from steward import derived

        derived.refresh(con, sorted(dates))
        msg = f"{rows:,} rows, {len(dates)} snapshot(s)" + (" (replaced)" if replaced else "")
        log_outcome(
            con,
            kind="snapshot",
            file_name=file_name,
            sha256=sha256,
            source_format=source_format,
            row_count=rows,
            snapshot_dates=sorted(dates),
            started_at=started_at,
            outcome="committed",
            message=msg,
            import_id=iid,
        )
        con.execute("commit")
        return iid
    except Exception as exc:
        con.execute("rollback")
        log_rejection(con, "snapshot", file_name, sha256, source_format, started_at, exc)
        raise


def _in_key_order(data: pd.DataFrame) -> bool:
    """Whether a part holds one snapshot date with strictly increasing opportunity ids
    (then no id repeats and the rows are in stored order; a weekly export sorted by id).

    Checked on Arrow-backed string ids only (pandas' default string dtype; ~2 ms for
    510k ids). Code-point order of the strings is DuckDB's varchar order (UTF-8 bytes).
    False means "not known": the caller checks for repeats and sorts in SQL.
    """
    ids, dates = data["opportunity_id"], data["snapshot_date"]
    if len(data) < 2 or isinstance(ids.dtype, np.dtype) or not pd.api.types.is_string_dtype(ids):
        return False
    if dates.isna().any() or dates.min() != dates.max():
        return False
    try:
        arr = pa.array(ids.array)
    except (TypeError, ValueError, pa.ArrowException):
        return False
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        return False
    if arr.null_count:
        return False
    return bool(pc.all(pc.less(arr[:-1], arr[1:]), skip_nulls=False).as_py())


def _as_arrow(data: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """The part as one Arrow table (zero-copy for pandas' Arrow-backed strings): DuckDB
    inserts from it on every thread (510k rows: 0.38 s against 0.77 s from the frame,
    which it scanned on one). The same values either way (NaN and NaT become null, as
    DuckDB's pandas scan reads them); a frame Arrow cannot convert goes in as it is."""
    try:
        return pa.Table.from_pandas(data, preserve_index=False).combine_chunks()
    except (TypeError, ValueError, pa.ArrowException):
        return data


def _insert_part(
    con: duckdb.DuckDBPyConnection,
    data: pd.DataFrame,
    file_name: str,
    import_id: int,
    clash: set[date],
    replace: bool,
) -> None:
    """Check and insert one part of an import (inside commit_snapshots' transaction)."""
    in_order = _in_key_order(data)
    con.register("_incoming", _as_arrow(data))
    try:
        dup = (
            []
            if in_order
            else con.execute(
                "select snapshot_date, opportunity_id, count(*) as n from _incoming "
                "group by all having count(*) > 1 order by 1, 2 limit 5"
            ).fetchall()
        )
        if dup:
            shown = "; ".join(f"{d} {oid!r} x{n}" for d, oid, n in dup)
            raise ImportRejected(
                f"{file_name}: duplicate opportunity_id within a snapshot: {shown}"
            )
        if clash and not replace:
            raise ImportRejected(
                f"{file_name}: snapshot date(s) already loaded: "
                + ", ".join(d.isoformat() for d in sorted(clash)[:10]),
                ["Re-run with --replace to replace them."],
            )
        if clash:
            con.execute(
                "delete from snapshots where snapshot_date in (select unnest($dates::date[]))",
                {"dates": sorted(clash)},
            )
        cols = ", ".join(SNAPSHOT_COLUMNS)
        # Stored ordered by (snapshot_date, opportunity_id): a part already in that order
        # goes in as it is (the insert keeps the order it is given; the sort cost ~100 ms
        # of a 510k-row week), any other is sorted on the way in.
        order = "" if in_order else " order by snapshot_date, opportunity_id"
        con.execute(
            f"insert into snapshots ({cols}, import_id) "  # noqa: S608 - whitelisted names
            f"select {cols}, $import_id from _incoming{order}",
            {"import_id": import_id},
        )
    finally:
        con.unregister("_incoming")


def log_rejection(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    file_name: str,
    sha256: str | None,
    source_format: str | None,
    started_at: datetime,
    exc: BaseException,
) -> None:
    """Record a refused import in the log, in its own transaction. Never raises."""
    with contextlib.suppress(Exception):  # logging must not hide the real error
        log_outcome(
            con,
            kind=kind,
            file_name=file_name,
            sha256=sha256,
            source_format=source_format,
            row_count=0,
            snapshot_dates=[],
            started_at=started_at,
            outcome="rejected",
            message=str(exc),
        )


def commit_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    *,
    file_name: str,
    sha256: str | None = None,
    replace_all: bool = True,
) -> int:
    """Load targets / touches / leads in one transaction (replacing the table by default)."""
    columns = {"targets": TARGET_COLUMNS, "touches": TOUCH_COLUMNS, "leads": LEAD_COLUMNS}[table]
    started_at = _now()
    data = _canonical_frame(frame, columns)
    con.register("_incoming", data)
    try:
        con.execute("begin transaction")
        try:
            if replace_all:
                con.execute(f"delete from {table}")  # noqa: S608 - table from the whitelist above
            cols = ", ".join(columns)
            con.execute(f"insert into {table} ({cols}) select {cols} from _incoming")  # noqa: S608
            from steward import derived

            # a new store version: answers kept for the old one (attribution's journeys,
            # steward.memo.kept) read these tables too
            derived.new_version(con)
            iid = log_outcome(
                con,
                kind=table,
                file_name=file_name,
                sha256=sha256,
                source_format=table,
                row_count=len(data),
                snapshot_dates=[],
                started_at=started_at,
                outcome="committed",
                message=f"{len(data):,} {table} rows",
            )
            con.execute("commit")
            return iid
        except Exception as exc:
            con.execute("rollback")
            log_rejection(con, table, file_name, sha256, table, started_at, exc)
            raise
    finally:
        con.unregister("_incoming")


def delete_snapshot(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> int:
    """Remove one snapshot date (and its derived rows). Returns the rows removed."""
    started_at = _now()
    con.execute("begin transaction")
    try:
        n = int(
            _scalar(
                con,
                "select count(*) from snapshots where snapshot_date = $snapshot_date",
                {"snapshot_date": snapshot_date},
            )
            or 0
        )
        if n == 0:
            raise ImportRejected(f"no snapshot dated {snapshot_date.isoformat()} is loaded")
        con.execute(
            "delete from snapshots where snapshot_date = $snapshot_date",
            {"snapshot_date": snapshot_date},
        )
        from steward import derived

        derived.refresh(con, [snapshot_date])
        log_outcome(
            con,
            kind="delete",
            file_name="",
            sha256=None,
            source_format=None,
            row_count=n,
            snapshot_dates=[snapshot_date],
            started_at=started_at,
            outcome="committed",
            message=f"deleted snapshot {snapshot_date.isoformat()} ({n} rows)",
        )
        con.execute("commit")
        return n
    except Exception:
        con.execute("rollback")
        raise


def list_snapshots(con: duckdb.DuckDBPyConnection, scope: Any = None) -> pd.DataFrame:
    """One row per loaded snapshot date: rows, total amount, the import that loaded it.

    `scope` (a `steward.metrics.RowScope`) counts only the rows a person may see; every
    loaded date is still listed (the calendar is the store's, the totals are the rows').
    """
    ssql, sparams = scope.named_sql("s") if scope is not None else ("", {})
    sql = f"""
        with dates as (
            select snapshot_date, max(import_id) as import_id
            from snapshots
            group by snapshot_date
        ),
        visible as (
            select s.snapshot_date,
                   count(*) as row_count,
                   sum(s.amount) as amount_total,
                   count(*) filter (where not s.is_closed) as count_open
            from snapshots s
            where true{ssql}
            group by s.snapshot_date
        )
        select d.snapshot_date,
               coalesce(v.row_count, 0) as row_count,
               v.amount_total,
               coalesce(v.count_open, 0) as count_open,
               d.import_id
        from dates d
        left join visible v using (snapshot_date)
        order by d.snapshot_date
    """  # noqa: S608 - the scope's clauses name whitelisted columns; values are bound
    return con.execute(sql, sparams).df()


def audit(
    con: duckdb.DuckDBPyConnection,
    who: str,
    action: str,
    target: str,
    scope: str = "All deals",
    detail: str = "",
) -> None:
    """Append one row to the audit table (who imported, replaced, deleted or exported what).

    Runs inside the caller's transaction when there is one, so an import and its audit row
    are written together or not at all.
    """
    con.execute(
        "insert into audit_log select coalesce(max(audit_id), 0) + 1, $at, $who, $action, "
        "$target, $scope, $detail from audit_log",
        {
            "at": _now(),
            "who": who or "unknown",
            "action": action,
            "target": target,
            "scope": scope,
            "detail": detail,
        },
    )


def audit_log(con: duckdb.DuckDBPyConnection, limit: int = 500) -> pd.DataFrame:
    """The latest audit rows, newest first."""
    return con.execute(
        "select * from audit_log order by audit_id desc limit $limit", {"limit": limit}
    ).df()


def dim_values(
    con: duckdb.DuckDBPyConnection,
    dim: str,
    cut: str = "",
    params: Mapping[str, Any] | None = None,
) -> list[str]:
    """The distinct values of one snapshot column in the latest snapshot (filter pickers),
    within `cut` (' and s.… ' clauses on alias s with their named `params`, e.g. a scope)."""
    if dim not in SNAPSHOT_COLUMNS:
        raise ValueError(f"unknown column {dim!r}")
    # The column name comes from the SNAPSHOT_COLUMNS whitelist; nothing else is spliced.
    sql = f"""
        with latest as (
          select max(snapshot_date) as d from snapshots
        ),
        vals as (
          select distinct s.{dim} as v
          from snapshots s, latest
          where s.snapshot_date = latest.d and s.{dim} is not null{cut}
        )
        select v from vals order by v
    """  # noqa: S608 - `cut` is built from whitelisted names; its values are bound
    return [str(r[0]) for r in con.execute(sql, dict(params or {})).fetchall()]


def import_log(con: duckdb.DuckDBPyConnection, limit: int = 200) -> pd.DataFrame:
    return con.execute(
        "select * from import_log order by import_id desc limit $limit", {"limit": limit}
    ).df()


def data_version(db: str | Path | None = None) -> str:
    """A cheap token that changes whenever the store file changes (for cache keys)."""
    path = resolve_path(db)
    parts = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            st = p.stat()
            parts.append(f"{st.st_mtime_ns}:{st.st_size}")
        except FileNotFoundError:
            parts.append("-")
    return "|".join(parts)
