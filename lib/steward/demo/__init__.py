"""A deterministic demo dataset: Northwind Analytics, a fictional B2B analytics SaaS vendor.

`generate(seed, end_date, opportunities, weeks)` returns weekly opportunity snapshots
(the canonical store frame), quarterly targets, marketing touches and leads. The same
arguments always give identical frames: every random draw comes from
`numpy.random.default_rng(seed)` in a fixed order, nothing reads the clock.

`load(db, ...)` writes it into a store, one weekly snapshot per transaction so derived
tables refresh incrementally, exactly like weekly imports would.

What the data holds (see simulate.py): ~2 years of weekly snapshots plus a year of CRM
history before them; 3 segments with different deal sizes and cycles; 4 regions; 12
owners each with a territory; 5 sources; stage progression with losses and reasons at
every stage; pushed close dates; amount changes; quarter-end and seasonal effects; growth.
And on purpose, a few data-quality problems for the trust checks: one missing snapshot
week, open deals with past close dates, blank and zero amounts, probabilities that
contradict the stage, a deal created after it closed, an amount outlier, deals that
vanish without closing, lost deals that reopen.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from steward import definitions, store
from steward.definitions import Definitions
from steward.demo import frames, simulate, tables
from steward.errors import StewardError

DEFAULT_SEED = 7
DEFAULT_END_DATE = date(2026, 11, 20)
DEFAULT_OPPORTUNITIES = 5000
DEFAULT_WEEKS = 104
CHUNK_WEEKS = 13


@dataclass
class DemoData:
    """The generated tables, each with exactly the store's columns (store.SNAPSHOT_COLUMNS,
    TARGET_COLUMNS, TOUCH_COLUMNS, LEAD_COLUMNS) as Arrow-backed pandas dtypes: date32
    dates, decimal128(18, 2) money, string[pyarrow] text, double and bool. Snapshots are
    ordered by (snapshot_date, opportunity_id). `special` names the opportunities that
    carry each deliberate data-quality problem (and the story's big pushed deal)."""

    snapshots: pd.DataFrame
    targets: pd.DataFrame
    touches: pd.DataFrame
    leads: pd.DataFrame
    snapshot_dates: list[date]  # the dates loaded (the missing week excluded)
    missing_date: date | None  # the one weekly date deliberately absent
    special: dict[str, list[str]] = field(default_factory=dict)  # problem name -> opp ids


def _check_args(end_date: date, opportunities: int, weeks: int) -> None:
    if opportunities < 50:
        raise StewardError(f"--opportunities must be at least 50 (got {opportunities})")
    if not 2 <= weeks <= 520:
        raise StewardError(f"--weeks must be between 2 and 520 (got {weeks})")
    if not isinstance(end_date, date):
        raise StewardError(f"end date must be a date (got {end_date!r})")


class _Plan:
    """The simulated company, ready to be turned into frames week by week."""

    def __init__(
        self, seed: int, end_date: date, opportunities: int, weeks: int, defs: Definitions | None
    ) -> None:
        _check_args(end_date, opportunities, weeks)
        self.defs = defs or definitions.load()
        self.tl = simulate.simulate(
            seed,
            simulate.epoch_day(end_date),
            opportunities,
            weeks,
            self.defs.fiscal_year_start_month,
        )
        self.labels = frames.labels(self.tl, self.defs)

    def snapshots(self, weeks: list[int]) -> pd.DataFrame:
        return frames.snapshot_frame(self.tl, self.labels, weeks, self.defs.currency)

    def special_ids(self) -> dict[str, list[str]]:
        ids = self.labels.opportunity_id
        return {k: [ids[i].as_py() for i in v] for k, v in sorted(self.tl.special.items())}

    @property
    def snapshot_dates(self) -> list[date]:
        return [simulate.day_to_date(int(self.tl.snap_days[w])) for w in self.tl.loaded_weeks]

    @property
    def missing_date(self) -> date | None:
        w = self.tl.missing_week
        return simulate.day_to_date(int(self.tl.snap_days[w])) if w >= 0 else None


def _release_freed_memory() -> None:
    """Hand memory the generator has freed back to the operating system (glibc only).

    Simulating and labelling half a million deals makes many short-lived arrays and
    strings; glibc keeps the freed pages in the process (about 0.5 GB at 510k deals), so
    the build's peak was that much higher than what it holds. Elsewhere: nothing to do.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def generate(
    seed: int = DEFAULT_SEED,
    end_date: date = DEFAULT_END_DATE,
    opportunities: int = DEFAULT_OPPORTUNITIES,
    weeks: int = DEFAULT_WEEKS,
    defs: Definitions | None = None,
) -> DemoData:
    """The whole demo dataset in memory (for 10M rows prefer `load`, which streams)."""
    plan = _Plan(seed, end_date, opportunities, weeks, defs)
    return DemoData(
        snapshots=plan.snapshots(plan.tl.loaded_weeks),
        targets=tables.targets(plan.tl, plan.labels, plan.defs.qualified_rank),
        touches=tables.touches(plan.tl, plan.labels, plan.defs.lookback_days),
        leads=tables.leads(plan.tl, plan.labels),
        snapshot_dates=plan.snapshot_dates,
        missing_date=plan.missing_date,
        special=plan.special_ids(),
    )


def estimate_rows(
    opportunities: int, weeks: int = DEFAULT_WEEKS, seed: int = DEFAULT_SEED, sample: int = 20_000
) -> int:
    """Snapshot rows `generate`/`load` would produce, from a simulation of at most `sample`
    opportunities (no frames built). Closed deals stay in every later snapshot and deals
    appear from their creation, so rows are about 60 x opportunities at 104 weeks."""
    n = min(opportunities, sample)
    _check_args(DEFAULT_END_DATE, n, weeks)
    tl = simulate.simulate(seed, simulate.epoch_day(DEFAULT_END_DATE), n, weeks)
    rows = int((tl.last_week - tl.first_week + 1).sum())
    if tl.missing_week >= 0:
        rows -= int(((tl.first_week <= tl.missing_week) & (tl.last_week >= tl.missing_week)).sum())
    return round(rows * opportunities / n)


def opportunities_for_rows(rows: int, weeks: int = DEFAULT_WEEKS, seed: int = DEFAULT_SEED) -> int:
    """How many opportunities give about `rows` snapshot rows (e.g. 10M for the benchmark)."""
    per_opp = estimate_rows(20_000, weeks, seed) / 20_000
    return max(50, round(rows / per_opp / 1000) * 1000)


@dataclass
class LoadSummary:
    rows: int
    snapshots: int
    opportunities: int
    seconds: float
    targets: int
    touches: int
    leads: int
    missing_date: date | None


def load(
    db: str | Path | None = None,
    seed: int = DEFAULT_SEED,
    end_date: date = DEFAULT_END_DATE,
    opportunities: int = DEFAULT_OPPORTUNITIES,
    weeks: int = DEFAULT_WEEKS,
    replace: bool = False,
    progress: Callable[[str], None] | None = None,
    defs: Definitions | None = None,
) -> LoadSummary:
    """Generate the demo and write it into the store at `db`.

    Refuses a store that already holds snapshots unless replace, which starts from an
    empty file. Snapshots go in one week per transaction, oldest first (13 weeks per
    opening of the store), each week's frame built just before its import: the build's
    memory is that of one week, not of the whole history or a quarter.
    """
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    _check_args(end_date, opportunities, weeks)  # before anything is deleted
    path = store.resolve_path(db)
    if path.exists():
        if not replace:
            with store.reader(path) as con:
                fetched = con.execute("select count(*) from snapshots").fetchall()
                row = fetched[0] if fetched else None
            if row and row[0]:
                raise StewardError(
                    f"{path} already holds {row[0]:,} snapshot rows",
                    ["Re-run with --replace to start from an empty store (deletes the file)."],
                )
        else:
            say(f"replacing {path}")
            for p in (path, path.with_name(path.name + ".wal")):
                if p.exists():
                    os.remove(p)
    say(f"simulating {opportunities:,} opportunities over {weeks} weeks (seed {seed})")
    plan = _Plan(seed, end_date, opportunities, weeks, defs)
    _release_freed_memory()
    loaded = plan.tl.loaded_weeks
    rows = 0
    tag = f"demo seed={seed} end={end_date.isoformat()} n={opportunities} weeks={weeks}"
    for i in range(0, len(loaded), CHUNK_WEEKS):
        chunk = loaded[i : i + CHUNK_WEEKS]
        counted = 0
        with store.writer(path) as con:
            for w in chunk:
                # One transaction per week, like weekly imports: DuckDB holds a
                # transaction's new rows and undo data until it commits, so 13 weeks in one
                # transaction made the build's peak grow with the chunk (1.9 GB at 10M).
                frame = plan.snapshots([w])
                store.commit_snapshots(con, frame, file_name=tag, source_format="demo")
                counted += len(frame)
                del frame
        _release_freed_memory()
        rows += counted
        first = simulate.day_to_date(int(plan.tl.snap_days[chunk[0]]))
        last = simulate.day_to_date(int(plan.tl.snap_days[chunk[-1]]))
        say(
            f"snapshots {first} .. {last}: {counted:,} rows "
            f"({rows:,} total, {time.perf_counter() - t0:.1f}s)"
        )
    tgt = tables.targets(plan.tl, plan.labels, plan.defs.qualified_rank)
    tch = tables.touches(plan.tl, plan.labels, plan.defs.lookback_days)
    lds = tables.leads(plan.tl, plan.labels)
    with store.writer(path) as con:
        store.commit_table(con, "targets", tgt, file_name=tag)
        store.commit_table(con, "touches", tch, file_name=tag)
        store.commit_table(con, "leads", lds, file_name=tag)
    say(f"targets {len(tgt):,}, touches {len(tch):,}, leads {len(lds):,}")
    return LoadSummary(
        rows=rows,
        snapshots=len(loaded),
        opportunities=opportunities,
        seconds=time.perf_counter() - t0,
        targets=len(tgt),
        touches=len(tch),
        leads=len(lds),
        missing_date=plan.missing_date,
    )


__all__ = ["DemoData", "LoadSummary", "estimate_rows", "generate", "load", "opportunities_for_rows"]
