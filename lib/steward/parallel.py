"""Run a page's independent reads concurrently, each on its own cursor, in the caller's view.

The maturity scorecard's rules and the weekly review's agenda each read a handful of
metrics that do not depend on one another (a backtest, two velocities, the trust
checks, a bridge ...). Read one after another, a page waits for the sum; read together,
one read's query runs while another's Python builds its table (DuckDB releases the GIL
while a query runs), as the page prefetch does (`dashboard.data.prefetch`).

Each call gets a cursor of `con` (a connection to the same database) and joins the
caller's view (steward.memo), so a metric two calls read is still computed once. A
cursor does not see a transaction left open on `con`: callers read committed data
(every page and report does: they compute before they write).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

import duckdb

from steward import memo

T = TypeVar("T")
# as the page prefetch; STEWARD_READ_THREADS=1 reads one after another
THREADS = max(1, int(os.environ.get("STEWARD_READ_THREADS", "3")))


def run_all(
    con: duckdb.DuckDBPyConnection,
    calls: Sequence[Callable[[duckdb.DuckDBPyConnection], T]],
    threads: int | None = None,
) -> list[Future[T]]:
    """Start every call (each given its own cursor; `threads` at a time, default
    THREADS), wait for all; the futures in the calls' order. A call's error is raised when its future's `result()` is read, so a
    caller reading them in order raises the first failure, as a sequential loop would."""
    threads = THREADS if threads is None else threads
    view = memo.current()

    def one(call: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        cursor = con.cursor()
        try:
            with memo.join(view):
                return call(cursor)
        finally:
            cursor.close()

    if threads <= 1 or len(calls) < 2:
        done: list[Future[T]] = []
        for call in calls:
            f: Future[T] = Future()
            try:
                f.set_result(call(con))
            except Exception as exc:  # kept for the caller to raise in order
                f.set_exception(exc)
            done.append(f)
        return done
    with ThreadPoolExecutor(threads, thread_name_prefix="steward-read") as pool:
        futures = [pool.submit(one, call) for call in calls]
        wait(futures)
    return futures
