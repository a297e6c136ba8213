"""Cached loaders: the only place the app reads the store.

Loaders read through a short-lived read-only connection (`store.reader`), shared
within one script run and closed when the run ends, so an import running in another
process can take the write lock between two reruns. Results are cached with `st.cache_data` keyed on the store's
`data_version` (changes whenever the file changes) plus the definitions digest and the
Query, so a new import is seen on the next rerun without a restart, and a repeated view
is served from memory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from steward import access, definitions, listings, memo, pages, query, store
from steward import kpis as kpis_lib
from steward import narrative as narrative_lib
from steward.definitions import Definitions
from steward.metrics import DIMENSIONS, Filters, Query, Result, RowScope, compute, drill
from steward.periods import Quarter, quarter_of
from steward.plan import needed

# Dimensions offered as sidebar filters (stage lives on the drilldown page).
FILTER_DIMS: tuple[str, ...] = tuple(d for d in DIMENSIONS if d != "stage")


# --- one read connection per script run ----------------------------------------------
#
# Opening the store costs ~150 ms on a 1M-row file (schema check included), so a rerun
# that misses the cache for ten metrics would spend 1.5 s just opening. Within one script
# run, loaders share one read-only connection, opened on the first miss and closed when
# the run ends (`run_scope` in app.py) — still short-lived: nothing is held between runs,
# so an import in another process gets the lock between two reruns.

_local = threading.local()
# Concurrent prefetch of a page's metrics (STEWARD_PREFETCH=0 turns it off). On the
# 10M-row bench store it cut the board's filter-change rerun from ~5 s to ~4 s.
PREFETCH = os.environ.get("STEWARD_PREFETCH", "1") != "0"

# Keys already computed in this process (so a cached rerun starts no prefetch at all).
_DONE: set[tuple[str, ...]] = set()


@contextmanager
def run_scope() -> Iterator[None]:
    """Share one lazily opened read connection for the duration of a script run, and
    one view memo (steward.memo): each fact the run asks twice is computed once."""
    _local.batch = True
    # What depends only on the store version (the forecast's learning, the calendar) is
    # shared by every session of this server until the next import (steward.memo).
    memo.use_store_memo(True)
    try:
        with memo.view():
            yield
    finally:
        _local.batch = False
        release()


def release() -> None:
    """Close the run's shared connection (before a write in this process, and at the end)."""
    cm = getattr(_local, "cm", None)
    _local.cm = _local.con = _local.db = None
    if cm is not None:
        cm.__exit__(None, None, None)


@contextmanager
def _reader(db: str) -> Iterator[Any]:
    con = getattr(_local, "con", None)
    if con is not None and getattr(_local, "db", None) == db:
        yield con
        return
    if getattr(_local, "batch", False):
        release()
        cm = store.reader(db)
        _local.con, _local.db, _local.cm = cm.__enter__(), db, cm
        yield _local.con
        return
    with _reader(db) as con:
        yield con


def prefetch_page(page_id: str, q: Query) -> None:
    """Prefetch what `steward.pages` declares for this page (the benchmark reads it too)."""
    declared = pages.page(page_id)
    ahead: list[tuple[str, Query]] = []
    if declared.next_quarter:
        nq = q.with_(period=needed.next_quarter(q.as_of, defs()))
        ahead = [(m, nq) for m in declared.next_quarter]
    prefetch(q, list(declared.metrics), story=declared.story, ahead=ahead)


def prefetch(
    q: Query,
    metric_ids: list[str],
    story: bool = False,
    ahead: list[tuple[str, Query]] | None = None,
) -> None:
    """Compute a page's uncached metrics concurrently, each on a cursor of the run's
    connection (DuckDB releases the GIL while it runs a query), so the page's own calls
    that follow are cache hits. A failure here is ignored: the page's call raises it
    again inside its error boundary.
    """
    base = (version(), defs().digest, _key(q))
    calls: list[tuple[Any, tuple[Any, ...]]] = [
        (metric, (m, q)) for m in metric_ids if (*base, m) not in _DONE
    ]
    # metrics the page reads at another query (`ahead`: the next quarter's plan)
    calls += [
        (metric, (m, aq))
        for m, aq in ahead or []
        if (version(), defs().digest, _key(aq), m) not in _DONE
    ]
    if story:
        late = [
            (f, (q,)) for f, n in ((kpis, "kpis"), (narrative, "story")) if (*base, n) not in _DONE
        ]
        if late:  # the tiles' metrics at their three dates first, spread over the threads
            calls = [(_warm, (mid, x)) for mid, x in _tile_requests(q)] + calls + late
    if len(calls) < 2 or not getattr(_local, "batch", False) or not PREFETCH:
        return
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    db, ctx, view = db_path(), get_script_run_ctx(), memo.current()
    with _reader(db) as con:
        pending = list(calls)
        lock = threading.Lock()

        def work() -> None:
            cursor = con.cursor()
            _local.con, _local.db, _local.batch = cursor, db, False
            try:
                with memo.join(view):
                    while True:
                        with lock:
                            if not pending:
                                return
                            fn, args = pending.pop(0)
                        try:
                            fn(*args)
                        except Exception:  # noqa: S112 - shown by the page's own call
                            continue
            finally:
                _local.con = _local.db = None
                cursor.close()

        threads = [threading.Thread(target=work, daemon=True) for _ in range(3)]
        for t in threads:
            add_script_run_ctx(t, ctx)
            t.start()
        for t in threads:
            t.join()


def _tile_requests(q: Query) -> list[tuple[str, Query]]:
    with _reader(db_path()) as con:
        return kpis_lib.requests(con, q, defs())


def _warm(metric_id: str, q: Query) -> None:
    """Compute a metric into the run's view memo (steward.memo), for a later caller."""
    with _reader(db_path()) as con:
        compute(con, metric_id, q, defs())


def db_path() -> str:
    return str(store.resolve_path(None))


def version() -> str:
    """Changes whenever the store file (or its WAL) changes: part of every cache key."""
    return store.data_version(db_path())


@st.cache_resource(show_spinner=False)
def _defs(path: str | None, mtime_ns: int) -> Definitions:
    return definitions.load(path)


def defs() -> Definitions:
    """The governed definitions in force (reloaded when the file changes), looked up
    once per script run (steward.memo's view): a page asks for them at every call."""
    v = memo.current()
    return _current_defs() if v is None else v.get(("dashboard.defs",), _current_defs)


def _current_defs() -> Definitions:
    path = os.environ.get("STEWARD_DEFINITIONS")
    target = (
        Path(path)
        if path
        else Path(definitions.__file__).resolve().parents[2] / "data" / "definitions.toml"
    )
    try:
        mtime = target.stat().st_mtime_ns
    except OSError:
        mtime = 0
    return _defs(path, mtime)


def has_store() -> bool:
    return Path(db_path()).exists()


# --- store listings -------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16)
def _snapshots(db: str, ver: str, scope: RowScope | None) -> pd.DataFrame:
    with _reader(db) as con:
        return listing(con, scope)


def listing(con: Any, scope: RowScope | None = None) -> pd.DataFrame:
    """`store.list_snapshots`, kept per store version (steward.memo.by_store) as well: the
    sidebar of every session's first run reads it (a scan of every row), and the warm
    launcher (dashboard/launch.py) fills it before the first visit."""
    shared = memo.by_store(con, "dashboard.listing")
    if shared is None:
        return store.list_snapshots(con, scope)
    if scope not in shared:
        shared[scope] = store.list_snapshots(con, scope)
    return shared[scope].copy()


def picker_values(con: Any, dim: str, scope: RowScope | None = None) -> list[str]:
    """`store.dim_values` for a sidebar picker, kept per store version like `listing`."""
    if dim not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dim!r}")
    shared = memo.by_store(con, "dashboard.picker_values")
    if shared is not None and (dim, scope) in shared:
        return list(shared[(dim, scope)])
    ssql, sparams = scope.named_sql("s") if scope is not None else ("", {})
    got = store.dim_values(con, dim, ssql, sparams)
    if shared is not None:
        shared[(dim, scope)] = tuple(got)
    return got


def snapshots(scope: RowScope | None = None) -> pd.DataFrame:
    """One row per loaded snapshot (empty frame when there is no store yet); with `scope`,
    the rows, amounts and open counts are those the viewer may see."""
    if not has_store():
        return pd.DataFrame(columns=[c.name for c in listings.SNAPSHOT_COLUMNS])
    return _snapshots(db_path(), version(), scope)


def snapshot_dates() -> list[date]:
    df = snapshots()
    return [pd.Timestamp(d).date() for d in df["snapshot_date"]] if len(df) else []


@st.cache_data(show_spinner=False, max_entries=64)
def _dim_values(db: str, ver: str, dim: str, scope: RowScope | None) -> list[str]:
    with _reader(db) as con:
        return picker_values(con, dim, scope)


def dim_values(dim: str, scope: RowScope | None = None) -> list[str]:
    """The values of one dimension in the latest snapshot (for the filter pickers), among
    the rows `scope` allows: a regional VP is not offered the other regions' names."""
    return _dim_values(db_path(), version(), dim, scope) if has_store() else []


@st.cache_data(show_spinner=False, max_entries=8)
def _audit_log(db: str, ver: str) -> pd.DataFrame:
    with _reader(db) as con:
        return store.audit_log(con)


def audit_log() -> pd.DataFrame:
    """Who imported, replaced, deleted or exported what, when (admins see it)."""
    return _audit_log(db_path(), version()) if has_store() else pd.DataFrame()


@st.cache_data(show_spinner=False, max_entries=8)
def _import_log(db: str, ver: str) -> pd.DataFrame:
    with _reader(db) as con:
        return store.import_log(con)


def import_log() -> pd.DataFrame:
    return _import_log(db_path(), version()) if has_store() else pd.DataFrame()


# --- the view's query -----------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=256)
def _resolve(
    db: str,
    ver: str,
    digest: str,
    as_of: date | None,
    period: str | None,
    compare_to: date | None,
    cut: tuple[tuple[str, tuple[str, ...]], ...],
    scope: RowScope | None,
) -> Query:
    with _reader(db) as con:
        return query.resolve(
            con,
            defs(),
            as_of=as_of,
            period=period,
            compare_to=compare_to,
            filters=dict(cut),
            scope=scope,
        )


def resolve(
    as_of: date | None = None,
    period: str | None = None,
    compare_to: date | None = None,
    filters: Filters | None = None,
    scope: RowScope | None = None,
) -> Query:
    """The sidebar's choices through `steward.query.resolve`, the resolver the CLI,
    the narrative and the exports use (its defaults are the sidebar's defaults), seen
    through the viewer's access `scope`."""
    cut = tuple((filters or Filters()).items())
    return _resolve(db_path(), version(), defs().digest, as_of, period, compare_to, cut, scope)


# --- metrics --------------------------------------------------------------------------


def _key(q: Query) -> str:
    return repr(q)


@st.cache_data(show_spinner=False, max_entries=2048)
def _metric(db: str, ver: str, digest: str, metric_id: str, qkey: str, _q: Query) -> Result:
    with _reader(db) as con:
        return compute(con, metric_id, _q, defs())


def metric(metric_id: str, q: Query) -> Result:
    """One metric through the registry, cached on (data version, definitions, query)."""
    ver, digest, qkey = version(), defs().digest, _key(q)
    result = _metric(db_path(), ver, digest, metric_id, qkey, q)
    _remember(ver, digest, qkey, metric_id)
    return result


def _remember(*key: str) -> None:
    if len(_DONE) > 20_000:
        _DONE.clear()
    _DONE.add(key)


@st.cache_data(show_spinner=False, max_entries=256)
def _drill(
    db: str,
    ver: str,
    digest: str,
    metric_id: str,
    qkey: str,
    sel: tuple[tuple[str, Any], ...],
    _q: Query,
) -> pd.DataFrame:
    with _reader(db) as con:
        return drill(con, metric_id, _q, defs(), **dict(sel))


def deals(metric_id: str, q: Query, **selection: Any) -> pd.DataFrame:
    """The deals behind a metric (one bar / bucket / cell with `selection`)."""
    sel = tuple(sorted((k, v) for k, v in selection.items() if v is not None))
    return _drill(db_path(), version(), defs().digest, metric_id, _key(q), sel, q)


def movers(q: Query, n: int = 15) -> pd.DataFrame:
    """The deals that moved the bridge most, by their signed effect on it.

    The effect is the waterfall drill's own column (leaving −amount in A, entering
    +amount in B, staying B − A), so a pushed-out $685K deal ranks above a $20K increase
    even though its own amount did not change. Ranking is presentation: the top `n`.
    """
    frame = deals("waterfall", q)
    if frame.empty:
        return pd.DataFrame()
    top = frame["effect"].abs().sort_values(ascending=False, kind="stable").index[:n]
    wanted = (
        "bucket",
        "opportunity_name",
        "effect",
        "amount_from",
        "amount_to",
        "owner",
        "crm_url",
    )
    return frame.loc[top, [c for c in wanted if c in frame.columns]].reset_index(drop=True)


def per_value(metric_id: str, q: Query, dim: str) -> pd.DataFrame:
    """A table metric computed once per value of `dim` (each a cached call), stacked.

    For small dimensions (segments, regions): 'conversion by segment' is the cohort
    funnel computed with the segment filter set to each segment in turn.
    """
    frames = []
    current = dict(q.filters.items())
    for value in dim_values(dim, q.filters.scope):
        if current.get(dim) and value not in current[dim]:
            continue
        sub = q.with_(filters=q.filters.with_(**{dim: [value]}))
        table = metric(metric_id, sub).table
        if table is not None and len(table):
            frames.append(table.assign(**{dim: value}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --- the story and the exports (lib functions, cached) ---------------------------------


@st.cache_data(show_spinner=False, max_entries=256)
def _kpis(db: str, ver: str, digest: str, qkey: str, _q: Query) -> list[kpis_lib.KPI]:
    with _reader(db) as con:
        return list(kpis_lib.headline_kpis(con, _q, defs()))


def kpis(q: Query) -> list[kpis_lib.KPI]:
    ver, digest, qkey = version(), defs().digest, _key(q)
    out = _kpis(db_path(), ver, digest, qkey, q)
    _remember(ver, digest, qkey, "kpis")
    return out


@st.cache_data(show_spinner=False, max_entries=128)
def _narrative(db: str, ver: str, digest: str, qkey: str, _q: Query) -> narrative_lib.Narrative:
    with _reader(db) as con:
        return narrative_lib.build(con, _q, defs())


def narrative(q: Query) -> narrative_lib.Narrative:
    ver, digest, qkey = version(), defs().digest, _key(q)
    out = _narrative(db_path(), ver, digest, qkey, q)
    _remember(ver, digest, qkey, "story")
    return out


# The two exports, built by their lib function on the run's read connection and cached
# on (data version, definitions, query). Their modules (python-pptx, openpyxl: ~0.4 s of
# imports) are imported when a file is first asked for, not by every page view.
def _build(kind: str, con: Any, q: Query, d: Definitions) -> bytes:
    if kind == "pptx":
        from steward.export import pptx

        return bytes(pptx.build_board_pack(con, q, d))
    from steward.export import xlsx

    return bytes(xlsx.build_workbook(con, q, d))


@st.cache_data(show_spinner="Building the file…", max_entries=8)
def _export(kind: str, db: str, ver: str, digest: str, qkey: str, _q: Query) -> bytes:
    with _reader(db) as con:
        return _build(kind, con, _q, defs())


def board_pack(q: Query) -> bytes:
    return _export("pptx", db_path(), version(), defs().digest, _key(q), q)


def workbook(q: Query) -> bytes:
    return _export("xlsx", db_path(), version(), defs().digest, _key(q), q)


def export(what: str, q: Query) -> bytes:
    """A file made for someone in the app: built (cached) and recorded in the audit log."""
    built = board_pack(q) if what == "board pack" else workbook(q)
    record_export(what, q)
    return built


# --- figures --------------------------------------------------------------------------


@st.cache_resource(show_spinner=False, max_entries=256)
def _figure(
    ver: str, digest: str, qkey: str, name: str, extra: str, _build: Any, _args: Any, _kw: Any
) -> Any:
    return _build(*_args, **_kw)


def figure(name: str, q: Query, build: Any, *args: Any, **kwargs: Any) -> Any:
    """A chart built once per (data version, query, name, options) and reused.

    Building and validating a Plotly figure costs tens of milliseconds; a cached rerun
    should not pay it again. The figure's inputs are metric results for `q`, so `q`,
    the data version and the keyword options identify it (`name` tells charts apart).
    The same object is returned each time: callers must not mutate it.
    """
    extra = repr(sorted((k, repr(v)) for k, v in kwargs.items() if k != "title")) + repr(
        kwargs.get("title")
    )
    return _figure(version(), defs().digest, _key(q), name, extra, build, args, kwargs)


# --- periods --------------------------------------------------------------------------


def period_choices(as_of: date, d: Definitions, back: int = 4, ahead: int = 3) -> list[str]:
    """Fiscal quarters around the as-of date: `back` before to `ahead` after."""
    cur: Quarter = quarter_of(as_of, d.fiscal_year_start_month)
    return [cur.shift(n).label for n in range(-back, ahead + 1)]


def _admin(action: str) -> Any:
    """The signed-in admin, or refuse: the pages hide these actions, this enforces them."""
    from dashboard import auth

    who = auth.current()
    access.require_admin(who, action)
    return who


def commit_import(prepared: Any, replace: bool = False) -> int:
    """Commit a prepared import (the CLI's importer), audit it, drop every cached result."""
    from steward import ingest

    who = _admin("replace snapshots" if replace else "import")
    release()  # a read connection of ours would block our own write
    try:
        with store.writer(db_path()) as con:  # one write lock: the import, then its audit row
            iid = int(ingest.commit(con, prepared, replace=replace))
            dates = ", ".join(d.isoformat() for d in prepared.snapshot_dates)
            store.audit(con, who.who, "replace" if replace else "import", prepared.file_name,
                        who.scope.label, f"import {iid} {dates}".strip())  # fmt: skip
        return iid
    finally:
        clear_caches()


def load_demo() -> Any:
    """Build the bundled demo into the (empty) store, as `steward demo` does."""
    from steward import demo

    who = _admin("load the demo")
    release()
    try:
        summary = demo.load(db_path())
        access.record(db_path(), who, "import", "demo data")
        return summary
    finally:
        clear_caches()


def delete_snapshot(snapshot_date: date) -> int:
    """Delete one snapshot date in one transaction (derived tables follow), audited."""
    who = _admin("delete snapshots")
    release()
    try:
        with store.writer(db_path()) as con:
            n = store.delete_snapshot(con, snapshot_date)
            store.audit(con, who.who, "delete", f"snapshot {snapshot_date}", who.scope.label,
                        f"{n} rows")  # fmt: skip
            return n
    finally:
        clear_caches()


def record_export(what: str, q: Query) -> None:
    """Audit an export made in the app (who, what, under which scope and cut)."""
    from dashboard import auth

    release()
    access.record(db_path(), auth.current(), "export", what, q.filters.describe())


def clear_caches() -> None:
    """After an import/delete from the app: drop everything cached."""
    st.cache_data.clear()


def check_import(
    raw_bytes: bytes, name: str, kind: str, *, progress: Any = None, **options: Any
) -> Any:
    """Parse and validate an upload (the CLI's importer, nothing written to the data).

    A refused file is recorded in the store's import log, as `steward import` records
    it, so the page's import history shows rejected uploads too (once per file and
    reason, however often "Check the file" is pressed).
    """
    from steward import ingest
    from steward.errors import StewardError

    try:
        if kind == "snapshot":
            prepared = ingest.prepare(raw_bytes, defs(), name=name, progress=progress, **options)
        else:
            prepared = ingest.prepare_table(kind, raw_bytes, defs(), name=name, progress=progress)
    except StewardError as exc:
        _log_rejected(name, str(exc))
        raise
    if not prepared.ok:
        _log_rejected(
            prepared, f"{prepared.file_name}: {prepared.error_count} error(s); nothing was written"
        )
    return prepared


def _log_rejected(prepared_or_name: Any, message: str) -> None:
    from steward.ingest.importer import log_rejected

    name = getattr(prepared_or_name, "file_name", prepared_or_name)
    logged = st.session_state.setdefault("_import_rejections_logged", set())
    if (name, message) in logged or not has_store():
        return
    release()
    try:
        log_rejected(db_path(), prepared_or_name, message)
    finally:
        clear_caches()
    logged.add((name, message))
