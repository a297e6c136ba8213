"""The forecast's fast paths give the same numbers as the plain ones, to the last bit.

The historical forecast, the backtest and the time in stage are kept per store version
and query (steward.memo.by_store): equal to a fresh computation, never served after an
import.

`simulate` draws each block of 100 deals in whole-array operations; `reference_simulate`
below is the deal-by-deal loop it replaced (kept here, verbatim in what it computes), and
every total must be identical: same random stream, same additions in the same order.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from browser_helpers import small_store
from hypothesis import given, settings
from hypothesis import strategies as st

from steward import definitions, memo, store
from steward.metrics import Filters, Query, compute, current_period, drill
from steward.metrics import forecast as fc
from steward.metrics.forecast import EXACT_DEALS, simulate
from steward.store import SNAPSHOT_COLUMNS

DEFS = definitions.load(Path(__file__).resolve().parents[1] / "data" / "definitions.toml")


def reference_simulate(
    p: np.ndarray,
    amounts: np.ndarray,
    draws: int,
    seed: int,
    multipliers: list[float] | None = None,
    extra: list[float] | None = None,
) -> np.ndarray:
    """The simulation as it was before the block version: one deal at a time."""
    rng = np.random.default_rng(seed)
    totals = np.zeros(draws)
    scale = None
    factors = np.ones(1)
    pick = np.zeros(draws, dtype=np.int64)
    if multipliers:
        factors = np.asarray(multipliers, dtype=float)
        pick = rng.integers(0, len(multipliers), draws)
        scale = factors[pick]
        if extra:
            totals += np.asarray(extra, dtype=float)[pick]
    if len(p) == 0:
        return totals
    variance = p * (1.0 - p) * amounts**2
    order = np.argsort(-variance, kind="stable")
    exact, rest = order[:EXACT_DEALS], order[EXACT_DEALS:]
    threshold = np.round(p * 65536.0).astype(np.int64)
    for i in range(0, len(exact), 100):
        idx = exact[i : i + 100]
        n_raw = -(-len(idx) * draws // 4)
        u = rng.bit_generator.random_raw(n_raw).view(np.uint16)[: len(idx) * draws]
        u = u.reshape(len(idx), draws)
        for row, k in enumerate(idx):
            if scale is None:
                totals += (u[row] < threshold[k]) * amounts[k]
            else:
                levels = np.round(np.minimum(p[k] * factors, 1.0) * 65536.0).astype(np.int32)
                totals += (u[row] < levels[pick]) * amounts[k]
    if len(rest):
        normal = rng.standard_normal(draws)
        for r in [1.0] if scale is None else sorted(set(scale.tolist())):
            pr = np.minimum(p[rest] * r, 1.0)
            mean = float((pr * amounts[rest]).sum())
            sd = math.sqrt(float((pr * (1.0 - pr) * amounts[rest] ** 2).sum()))
            part = np.clip(mean + sd * normal, 0.0, float(amounts[rest].sum()))
            if scale is None:
                totals += part
            else:
                totals += np.where(scale == r, part, 0.0)
    return totals


def _case(n: int, seed: int, cents: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    p[rng.random(n) < 0.1] = 1.0  # some certain deals (threshold 65536)
    p[rng.random(n) < 0.1] = 0.0
    amounts = rng.integers(1, 2_000_000, n).astype(float)
    if cents:  # amounts with cents: float sums depend on their order
        amounts = amounts / 100.0 + 0.01
    return p, amounts


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 650),
    seed=st.integers(0, 10_000),
    draws=st.integers(1, 600),
    n_mult=st.integers(0, 5),
    with_extra=st.booleans(),
    cents=st.booleans(),
)
def test_block_simulation_equals_the_deal_by_deal_loop(
    n: int, seed: int, draws: int, n_mult: int, with_extra: bool, cents: bool
) -> None:
    p, amounts = _case(n, seed, cents)
    mult_rng = np.random.default_rng(seed + 1)
    multipliers = [float(x) for x in mult_rng.uniform(0.3, 2.5, n_mult)] or None
    extra = [float(x) for x in mult_rng.uniform(0, 1e6, n_mult)] if with_extra else None
    want = reference_simulate(p, amounts, draws, seed, multipliers, extra)
    got = simulate(p, amounts, draws, seed, multipliers, extra)
    assert got.tobytes() == want.tobytes()  # bit for bit, not approximately


def test_block_simulation_at_full_size() -> None:
    """10,000 draws, 1,500 deals (400 drawn one by one), 8 quarter multipliers, cents."""
    p, amounts = _case(1500, 11, cents=True)
    multipliers = [0.61, 0.8, 0.95, 1.0, 1.07, 1.2, 1.33, 2.4]
    extra = [1234.56 * k for k in range(8)]
    for mult, ext in ((None, None), (multipliers, None), (multipliers, extra)):
        want = reference_simulate(p, amounts, 10_000, 7, mult, ext)
        assert simulate(p, amounts, 10_000, 7, mult, ext).tobytes() == want.tobytes()


def test_simulations_sharing_a_stream_each_equal_the_loop() -> None:
    """The generator's words are drawn once per (seed, multipliers, draws) and read by
    every simulation after (`forecast._stream`): sizes that end in a short block, one
    whole block, or more deals than are drawn one by one, after one another and with an
    odd number of draws, each give the loop's totals bit for bit."""
    multipliers = [0.7, 1.0, 1.3]
    extra = [10.0, 20.0, 30.0]
    for draws in (1001, 10_000):
        for n in (EXACT_DEALS + 250, 37, 100, 250, EXACT_DEALS, EXACT_DEALS + 1, 37):
            p, amounts = _case(n, n, cents=True)
            for mult, ext in ((None, None), (multipliers, extra)):
                want = reference_simulate(p, amounts, draws, 5, mult, ext)
                assert simulate(p, amounts, draws, 5, mult, ext).tobytes() == want.tobytes()


# --- answers kept per store version: forecast, backtest, time in stage -----------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_store(tmp_path_factory.mktemp("fcspeed") / "steward.duckdb")


# what is kept per store version and query: the forecast, the backtest, and the time in
# stage (read by the stalled deals)
KEPT_METRICS = (
    "forecast_historical",
    "forecast_range",
    "forecast_backtest",
    "time_in_stage",
    "stalled_deals",
)


def _answers(con: duckdb.DuckDBPyConnection, q: Query, cut_q: Query) -> list[Any]:
    """The forecast page's forecast answers (and the P50's deal list) for two cuts."""
    out: list[Any] = []
    for query in (q, cut_q):
        for mid in KEPT_METRICS:
            r = compute(con, mid, query, DEFS)
            out.append((r.value, r.note, r.table))
        out.append(drill(con, "forecast_historical", query, DEFS))
    return out


def _same(a: list[Any], b: list[Any]) -> bool:
    for x, y in zip(a, b, strict=True):
        for u, v in zip(
            x if isinstance(x, tuple) else (x,), y if isinstance(y, tuple) else (y,), strict=True
        ):
            if isinstance(u, pd.DataFrame):
                try:
                    pd.testing.assert_frame_equal(u, v, check_exact=True)
                except AssertionError:
                    return False
            elif u != v:
                return False
    return True


def test_kept_forecasts_equal_fresh_ones_and_follow_every_import(
    demo_db: Path, tmp_path: Path
) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, db)
    with store.writer(db) as con:
        dates = [
            r[0]
            for r in con.execute("select snapshot_date from derived_dates order by 1").fetchall()
        ]
        as_of = dates[-1]
        q = Query(as_of=as_of, period=current_period(as_of, DEFS), compare_to=dates[-2])
        cut_q = q.with_(filters=Filters.of(segment="Enterprise"))
        memo.use_store_memo(False)
        fresh = _answers(con, q, cut_q)
        memo.use_store_memo(True)
        try:
            first = _answers(con, q, cut_q)  # computes and keeps
            kept = _answers(con, q, cut_q)  # reads what was kept
            assert _same(fresh, first) and _same(fresh, kept)
            for name in ("forecast.backtest", "forecast.historical", "history.time_in_stage"):
                assert memo.by_store(con, name)  # kept, then read, not recomputed
            # Re-import the as-of snapshot with every amount doubled (below), and the outcome
            # snapshot of the last finished quarter without its won deals: a new store
            # version, so the kept answers must not be served.
            current = con.execute("select * from snapshots where snapshot_date = ?", [as_of]).df()[
                list(SNAPSHOT_COLUMNS)
            ]
            current["amount"] = current["amount"].astype(float) * 2
            # and every deal at the first open stage a stage further: stays end at S
            first, second = (st.name for st in DEFS.open_stages[:2])
            current.loc[current["stage"] == first, "stage"] = second
            store.commit_snapshots(con, current, file_name="doubled.csv", replace=True)
            outcome = fc.first_snapshot_on_or_after(dates, q.quarter(DEFS).shift(-1).end)
            assert outcome is not None and outcome < as_of
            past = con.execute(
                "select * from snapshots where snapshot_date = ? and not is_won", [outcome]
            ).df()[list(SNAPSHOT_COLUMNS)]
            store.commit_snapshots(con, past, file_name="no-wins.csv", replace=True)
            after = _answers(con, q, cut_q)
            memo.use_store_memo(False)
            fresh_after = _answers(con, q, cut_q)
        finally:
            memo.use_store_memo(False)
    assert _same(fresh_after, after)
    assert not _same(fresh, after)  # the imports did change the answers
    # the P50 itself moved (amounts doubled) and the backtest's last quarter lost its wins
    assert after[0][0] != fresh[0][0]
    assert not after[2][2]["actual"].equals(fresh[2][2]["actual"])


@pytest.mark.parametrize("kept", [False, True])
def test_reads_of_many_pairs_equal_the_reads_pair_by_pair(demo_db: Path, kept: bool) -> None:
    """The backtest reads its past quarters' deals and sums together (reads_many,
    sums_many): the same rows in the same order and the same exact sums as one pair at
    a time, also for a cut that leaves some pairs empty. Kept: where answers are kept per
    store version (the app), cut in memory from rows read once (forecast_cut)."""
    with store.reader(demo_db) as con, _store_memo(kept):
        dates = fc.snapshot_dates(con, date(2100, 1, 1))
        as_of = dates[-1]
        here = fc.quarter_of(as_of, DEFS.fiscal_year_start_month)
        pairs = [(dates[-1], here), (dates[-1], here.shift(1))]  # same date, two periods
        pairs += [(dates[-1 - 13 * k], here.shift(-k)) for k in (1, 2) if 13 * k < len(dates)]
        pairs.append((dates[-20], here.shift(-1)))
        cuts = [Filters(), Filters.of(segment="Enterprise"), Filters.of(region="Nowhere")]
        for cut in cuts:
            q = Query(as_of=as_of, period=here.label, filters=cut)
            many = fc.reads_many(con, pairs, q, DEFS)
            sums_only = fc.sums_many(con, pairs, q, DEFS)
            fsql, fparams = cut.named_sql("s")
            for (d, p), (cols, sums), just_sums in zip(pairs, many, sums_only, strict=True):
                params = {
                    "as_of": d,
                    "open_stages": fc.open_stage_names(DEFS),
                    "p_start": p.start,
                    "p_end": p.end,
                    **fparams,
                }
                one = con.execute(fc._OPEN_SQL.format(filters=fsql), params).fetchnumpy()
                for c in ("opportunity_id", "stage", "segment", "amount"):
                    assert list(cols[c]) == list(one[c])
                    assert np.asarray(cols[c]).dtype == np.asarray(one[c]).dtype
                one_sums = con.execute(fc._SUMS_SQL.format(filters=fsql), params).fetchall()[0]
                assert tuple(sums) == tuple(one_sums) == tuple(just_sums)
                assert fc.won_in_period(con, d, p, q) == round(float(sums[0]), 2)
            assert bool(memo.by_store(con, "forecast_cut.rows")) == kept  # the path taken
            if cut == cuts[-1]:
                assert all(len(cols["stage"]) == 0 for cols, _ in many)
            else:
                assert sum(len(cols["stage"]) for cols, _ in many) > 0


@pytest.mark.parametrize("kept", [False, True])
def test_other_methods_of_many_pairs_equal_the_metrics_pair_by_pair(
    demo_db: Path, kept: bool
) -> None:
    """The backtest reads the commit, best-case and stage-weighted forecasts of its past
    quarters in one query (others_many): each value is what the metric gives for that
    pair, to the cent, under no filter, a cut, a cut that matches nothing and a scope
    (kept: cut in memory, as in the app)."""
    from steward.metrics import RowScope

    with store.reader(demo_db) as con:
        dates = fc.snapshot_dates(con, date(2100, 1, 1))
        here = fc.quarter_of(dates[-1], DEFS.fiscal_year_start_month)
        pairs = [(dates[-1], here), (dates[-1], here.shift(1))]
        pairs += [(dates[-1 - 13 * k], here.shift(-k)) for k in (1, 2, 3) if 13 * k < len(dates)]
        pairs.append((dates[-20], here.shift(-1)))
        cuts = [
            Filters(),
            Filters.of(segment="Enterprise"),
            Filters.of(region="Nowhere"),
            Filters.of(source=["Marketing", "Partner"]).restricted(RowScope.of(region="EMEA")),
        ]
        queries = [Query(as_of=dates[-1], period=here.label, filters=cut) for cut in cuts]
        wants = [  # the metrics themselves, in SQL, pair by pair
            {
                mid: compute(con, mid, q.with_(as_of=d, period=p.label, options=()), DEFS).value
                for mid in fc.OTHER_METHODS
            }
            for q in queries
            for d, p in pairs
        ]
        with _store_memo(kept):
            got = [one for q in queries for one in fc.others_many(con, pairs, q, DEFS)]
            assert bool(memo.by_store(con, "forecast_cut.rows")) == kept  # the path taken
    assert got == wants
    assert sum(abs(v or 0) for one in got for v in one.values()) > 0  # not all empty


@contextmanager
def _store_memo(on: bool) -> Iterator[None]:
    memo.use_store_memo(on)
    try:
        yield
    finally:
        memo.use_store_memo(False)


def test_backtest_is_the_same_simulated_in_turn_or_two_at_a_time(
    demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.reader(demo_db) as con:
        dates = fc.snapshot_dates(con, date(2100, 1, 1))
        q = Query(as_of=dates[-1], period=current_period(dates[-1], DEFS))
        tables = []
        for threads in (1, 2):
            monkeypatch.setattr(fc, "SIMULATION_THREADS", threads)
            tables.append(compute(con, "forecast_backtest", q, DEFS).table)
    assert tables[0] is not None and tables[1] is not None
    assert (tables[0]["method"] == "forecast_historical").sum() >= 2  # two quarters or more
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
