"""Each fact computed once (steward.memo): a view shares a metric between its callers,
the forecast's learning is shared per store version, and neither changes a number."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from browser_helpers import small_store

from steward import memo, store
from steward.definitions import Definitions
from steward.metrics import REGISTRY, Query, compute, current_period
from steward.metrics import forecast as fc
from steward.metrics.core import READS_COMPARE_TO


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_store(tmp_path_factory.mktemp("memo") / "steward.duckdb")


@pytest.fixture()
def store_memo() -> Iterator[None]:
    memo.use_store_memo(True)
    yield
    memo.use_store_memo(False)


def _query(con, defs: Definitions) -> Query:
    dates = [
        r[0] for r in con.execute("select snapshot_date from derived_dates order by 1").fetchall()
    ]
    return Query(as_of=dates[-1], period=current_period(dates[-1], defs), compare_to=dates[-4])


def _same(a, b) -> bool:
    if a.value != b.value or a.note != b.note:
        return False
    if a.table is None or b.table is None:
        return a.table is None and b.table is None
    try:
        pd.testing.assert_frame_equal(a.table, b.table)
    except AssertionError:
        return False
    return True


def test_a_view_computes_each_metric_once_and_hands_out_copies(pipeline_con, defs) -> None:
    calls = []
    spec = REGISTRY["coverage_matrix"]

    def counted(con, q, d):
        calls.append(q)
        return spec.fn(con, q, d)

    REGISTRY["coverage_matrix"] = replace(spec, fn=counted)
    try:
        from fixtures_pipeline import AS_OF, PREV

        q = Query(as_of=AS_OF, period=current_period(AS_OF, defs))
        plain = compute(pipeline_con, "coverage_matrix", q, defs)
        with memo.view() as v:
            first = compute(pipeline_con, "coverage_matrix", q, defs)
            # the same query with a compare_to: coverage does not read it, so it is shared
            second = compute(pipeline_con, "coverage_matrix", q.with_(compare_to=PREV), defs)
            first.table.loc[:, "goal"] = -1.0  # a caller mutating its copy ...
            third = compute(pipeline_con, "coverage_matrix", q, defs)
        # outside the view with 1 call, inside: 1 call for the three asks (2 shared)
        assert len(calls) == 2 and (v.computed, v.served) == (1, 2)
        assert second.query.compare_to == PREV and third.query.compare_to is None
        assert _same(plain, third)  # ... changes nobody else's answer
    finally:
        REGISTRY["coverage_matrix"] = spec


def test_no_metric_but_the_bridge_reads_compare_to(demo_db: Path, defs) -> None:
    """Why the view may share a metric across compare_to: every registered metric except
    READS_COMPARE_TO answers the same with or without it, on the demo store."""
    with store.reader(demo_db) as con:
        q = _query(con, defs)
        differs = []
        for mid in REGISTRY:
            if mid in READS_COMPARE_TO:
                continue
            a = compute(con, mid, q, defs)
            b = compute(con, mid, q.with_(compare_to=None), defs)
            if not _same(a, b):
                differs.append(mid)
    assert differs == []


def test_a_view_gives_every_metric_the_same_answer(demo_db: Path, defs) -> None:
    with store.reader(demo_db) as con:
        q = _query(con, defs)
        plain = {mid: compute(con, mid, q, defs) for mid in REGISTRY}
        with memo.view():
            for _ in range(2):
                viewed = {mid: compute(con, mid, q, defs) for mid in REGISTRY}
                assert [m for m in REGISTRY if not _same(plain[m], viewed[m])] == []


def test_the_learning_and_calendar_are_shared_per_store_version_and_change_nothing(
    demo_db: Path, defs, store_memo: None, tmp_path: Path
) -> None:
    with store.reader(demo_db) as con:
        q = _query(con, defs)
        one, two = fc.Learner(con, defs), fc.Learner(con, defs)
        assert one.rows is two.rows  # the same store version: one shared learning
        memo.use_store_memo(False)
        shared_ids = ("forecast_range", "forecast_backtest", "trust_checks", "trust_score")
        fresh = [compute(con, m, q, defs) for m in shared_ids]
        memo.use_store_memo(True)
        for _ in range(2):  # the first fills the shared learning, the second reads it
            shared = [compute(con, m, q, defs) for m in shared_ids]
            assert all(_same(a, b) for a, b in zip(fresh, shared, strict=True))
        learned = fc.Learner(con, defs)
        assert len(learned.late) > 0  # filled by the first round, read by the second
        assert memo.snapshot_dates(con) == [
            r[0]
            for r in con.execute(
                "select distinct snapshot_date from snapshots order by 1"
            ).fetchall()
        ]
    other = small_store(tmp_path / "other.duckdb")  # another import: another version
    with store.reader(other) as con:
        assert fc.Learner(con, defs).rows is not learned.rows


def test_a_view_shared_by_threads_computes_once_and_passes_errors_on() -> None:
    v = memo.View()
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def slow() -> int:
        runs.append(1)
        started.set()
        release.wait(10)
        return 42

    got: list[int] = []

    def worker() -> None:
        with memo.join(v):
            got.append(memo.current().get("k", slow))

    first = threading.Thread(target=worker)
    first.start()
    started.wait(10)
    second = threading.Thread(target=worker)
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert got == [42, 42] and runs == [1]

    def boom() -> int:
        raise ValueError("bad input")

    for _ in range(2):  # the owner and a later caller both see the error
        with pytest.raises(ValueError, match="bad input"):
            v.get("err", boom)
    assert memo.current() is None  # join restored the thread's (absent) view


def test_the_board_tiles_and_story_are_the_same_with_both_memos(
    demo_db: Path, defs, store_memo: None
) -> None:
    """The tiles (three dates each, the calendar from the store memo, the forecast
    through compute in a view) and the narrative: equal to a plain computation."""
    from steward import kpis, narrative

    with store.reader(demo_db) as con:
        q = _query(con, defs)
        memo.use_store_memo(False)
        plain_tiles = kpis.headline_kpis(con, q, defs)
        plain_story = narrative.build(con, q, defs).to_markdown()
        memo.use_store_memo(True)
        for _ in range(2):  # the second view reads what the first left per store version
            with memo.view() as v:
                tiles = kpis.headline_kpis(con, q, defs)
                story = narrative.build(con, q, defs).to_markdown()
            assert tiles == plain_tiles and story == plain_story
            assert v.served > 0  # the narrative reused what the tiles computed


def test_a_view_reads_the_store_version_once_and_again_after_its_own_write(
    tmp_path: Path, store_memo: None
) -> None:
    """The version token is read once per view (it was a query per kept read), and a
    write through `store.writer` inside the view makes the next kept read see the new
    version, so an import page's own view never shows the store before its import."""
    from steward import derived

    db = small_store(tmp_path / "steward.duckdb")
    with memo.view():
        with store.reader(db) as con:
            first = memo.by_store(con, "test.kept")
            assert first is not None
            first["answer"] = "before"
            calls = []
            real = derived.version
            derived.version = lambda c: calls.append(1) or real(c)  # type: ignore[assignment]
            try:
                assert memo.by_store(con, "test.kept") is first  # the view's token
                assert calls == []  # not read again
            finally:
                derived.version = real  # type: ignore[assignment]
        with store.writer(db) as w:
            derived.new_version(w)  # what every import does inside its transaction
        with store.reader(db) as con:
            after = memo.by_store(con, "test.kept")
            assert after is not None and "answer" not in after  # a new version's dict
