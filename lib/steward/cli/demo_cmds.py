"""CLI: `steward demo` builds the deterministic demo store (Northwind Analytics)."""

from __future__ import annotations

import argparse
import sys

from steward import demo, store
from steward.cli.args import date_arg


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's commands to the parser."""
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="build the demo database (two years of weekly snapshots for a fictional company)",
        description=(
            "Generate the deterministic demo dataset for Northwind Analytics, a fictional B2B "
            "SaaS company, and load it into the store: weekly opportunity snapshots ending on "
            "--end-date, quarterly targets, marketing touches and leads. The same seed, end "
            "date and sizes always give the same data. The dataset contains a few deliberate "
            "data-quality problems (a missing week, past close dates, blank amounts ...) so "
            "the data-trust checks have something to find."
        ),
    )
    p.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="random seed (default 7)")
    p.add_argument(
        "--end-date",
        type=date_arg,
        default=demo.DEFAULT_END_DATE,
        help="date of the last weekly snapshot (default 2026-11-20, a Friday)",
    )
    p.add_argument(
        "--opportunities",
        type=int,
        default=demo.DEFAULT_OPPORTUNITIES,
        help=(
            "number of distinct opportunities (default 5000). Closed deals stay in later "
            "snapshots, so rows are about 60 x this at 104 weeks: 5000 -> ~310k rows, "
            "163000 -> ~10M rows"
        ),
    )
    p.add_argument(
        "--weeks", type=int, default=demo.DEFAULT_WEEKS, help="weekly snapshots (default 104)"
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="delete the store file first if it exists (otherwise a store with data is refused)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    def progress(msg: str) -> None:
        print(f"demo: {msg}", file=sys.stderr, flush=True)

    path = store.resolve_path(args.db)
    summary = demo.load(
        path,
        seed=args.seed,
        end_date=args.end_date,
        opportunities=args.opportunities,
        weeks=args.weeks,
        replace=args.replace,
        progress=progress,
    )
    missing = summary.missing_date.isoformat() if summary.missing_date else "none"
    print(
        f"demo loaded into {path}: {summary.rows:,} rows, {summary.snapshots} snapshots "
        f"(missing on purpose: {missing}), {summary.opportunities:,} opportunities, "
        f"{summary.targets} targets, {summary.touches:,} touches, {summary.leads:,} leads "
        f"in {summary.seconds:.1f}s"
    )
    return 0
