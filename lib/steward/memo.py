"""Compute each fact once: a per-view memo and a per-store-version memo.

The Board story asks the same metric many times in one view: the headline tiles (at
three dates), the narrative and the charts overlap (open pipeline, coverage, win
rates, the historical forecast, the trust score ...). And some work depends only on the
stored snapshots, not on the filters or the view: what the historical forecast learns
from past quarters, read again by every forecast tile, range and backtest.

- `view()` opens a view: inside it, `metrics.compute` runs each (metric, query) once and
  hands every caller its own copy. Threads that work for the view (the page prefetch)
  join it with `join(v)`. Nothing outlives the view, so a write to the store between
  two views (an import, a decision) is always seen.
- `by_store(con, name)` is a dict shared by every caller reading the same store
  version: keyed by the derived tables' version token, which every snapshot import,
  replacement or deletion and every touches / leads / targets import replaces inside its
  own transaction (`derived.new_version`), so an entry can never outlive the data it was
  computed from. It is off unless `use_store_memo(True)` was
  called (the app and the benchmark do; library callers and tests compute fresh).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import duckdb

_local = threading.local()
_store_lock = threading.Lock()
_by_store: dict[tuple[str, str], dict[Any, Any]] = {}
_STORE_VERSIONS_KEPT = 4
_store_memo_on = False
_answers_on = True
_TOKEN = ("memo.store_version",)  # the view's key for the store's version token


class _Slot:
    """One memoised call: the first caller computes, the others wait for its answer."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class View:
    """The memo of one view (see the module doc); safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[Any, _Slot] = {}
        self.computed = 0  # calls that ran (the others were served from the memo)
        self.served = 0

    def get(self, key: Any, fn: Callable[[], Any]) -> Any:
        with self._lock:
            slot = self._slots.get(key)
            owner = slot is None
            if slot is None:
                slot = self._slots[key] = _Slot()
                self.computed += 1
            else:
                self.served += 1
        if owner:
            try:
                slot.value = fn()
            except BaseException as exc:
                slot.error = exc
                raise
            finally:
                slot.done.set()
            return slot.value
        slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return slot.value

    def forget(self, key: Any) -> None:
        """Drop one entry: the next `get` computes it again."""
        with self._lock:
            self._slots.pop(key, None)


def current() -> View | None:
    """The view this thread works for, if any."""
    return getattr(_local, "view", None)


@contextmanager
def view() -> Iterator[View]:
    """Open a view for this thread (nested calls reuse the open one)."""
    outer = current()
    if outer is not None:
        yield outer
        return
    v = View()
    _local.view = v
    try:
        yield v
    finally:
        _local.view = None


@contextmanager
def join(v: View | None) -> Iterator[None]:
    """Make this (worker) thread compute for the view `v`."""
    before = current()
    _local.view = v
    try:
        yield
    finally:
        _local.view = before


def store_written() -> None:
    """This view wrote to the store (an import, a deletion): read its version again."""
    v = current()
    if v is not None:
        v.forget(_TOKEN)


def use_store_memo(on: bool) -> None:
    """Turn the per-store-version memo on (the app, the benchmark) or off."""
    global _store_memo_on
    _store_memo_on = on
    if not on:
        forget_store()


def forget_store() -> None:
    """Drop every per-store-version entry (the benchmark's cold measurements)."""
    with _store_lock:
        _by_store.clear()


def by_store(con: duckdb.DuckDBPyConnection, name: str) -> dict[Any, Any] | None:
    """The shared dict `name` for this store version, or None (memo off, or a store
    without a version token: compute fresh)."""
    if not _store_memo_on:
        return None
    from steward import derived

    # Read once per view: a view reads one store (its memo is keyed by metric and query
    # alone); a write from the view itself says so (`store_written`).
    v = current()
    token = derived.version(con) if v is None else v.get(_TOKEN, lambda: derived.version(con))
    if token is None:
        return None
    with _store_lock:
        found = _by_store.get((token, name))
        if found is None:
            tokens = list(dict.fromkeys(t for t, _ in _by_store))
            for old in tokens[: max(0, len(tokens) - _STORE_VERSIONS_KEPT + 1)]:
                for key in [k for k in _by_store if k[0] == old]:
                    del _by_store[key]
            found = _by_store[(token, name)] = {}
        return found


def keep_answers(on: bool) -> None:
    """Keep (the default) or not the answers kept per query (`kept(..., answer=True)`).

    The benchmark turns them off to time a filter not seen before: what depends on the
    store alone (the forecast's learning, the closed deals, the trust history) stays
    kept, as in the app; the answer for one cut (a forecast's simulation) is computed."""
    global _answers_on
    _answers_on = on


def answers_kept() -> bool:
    return _answers_on


def kept(
    con: duckdb.DuckDBPyConnection,
    name: str,
    key: Any,
    fn: Callable[[], Any],
    at_most: int,
    answer: bool = False,
) -> Any:
    """fn(), kept for this store version under `key` in `by_store(con, name)`, at most
    `at_most` keys per name (the oldest goes first); fn() itself when the memo is off.

    For what depends only on the stored snapshots, the key and the definitions (put
    `defs.digest` in the key): every view of one store version reads it once; an import,
    a replacement or a deletion of a snapshot starts a new version. `answer=True` marks
    a key that holds a query's filters (one cut's answer, see `keep_answers`).
    """
    shared = by_store(con, name) if _answers_on or not answer else None
    if shared is None:
        return fn()
    got = shared.get(key)
    if got is None:
        got = fn()
        with _store_lock:
            while len(shared) >= at_most:
                del shared[next(iter(shared))]
            shared[key] = got
    return got


def snapshot_dates(con: duckdb.DuckDBPyConnection) -> list[date] | None:
    """Every loaded snapshot date, ascending, read once per store version (None when
    the memo is off: the caller reads them itself). The trust checks, the forecast and
    the tiles ask for this calendar at every as-of date of a view."""
    shared = by_store(con, "snapshot_dates")
    if shared is None:
        return None
    dates = shared.get("all")
    if dates is None:
        rows = con.execute("select distinct snapshot_date from snapshots order by 1").fetchall()
        dates = shared["all"] = [r[0] for r in rows]
    return list(dates)
