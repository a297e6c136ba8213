"""CLI: `steward plan needed|whatif|scenarios`, `steward maturity`, `steward maturity-assess`.

The as-of, period and filter arguments are the exports' (`cli.args.query_args`), so
a plan is cut exactly as the workbook is. `plan needed` defaults to the quarter after
the as-of date's; the others to the as-of quarter.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import date

import pandas as pd

from steward import definitions, store
from steward.cli.args import date_arg, query_args, query_from_args
from steward.cli.metric_cmds import _dump, _text_table, records
from steward.errors import StewardError
from steward.maturity import scorecard
from steward.metrics.core import Query, compute
from steward.plan import needed, scenarios, whatif


def _fmt_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's commands to the parser."""
    plan = sub.add_parser(
        "plan",
        parents=[common],
        help="scenario planner: pipeline needed by source, what-if forecasts, saved scenarios",
        description="Plan with finance: the pipeline a quarter's target needs by source, the "
        "forecast under changed assumptions, scenarios saved by name.",
    )
    psub = plan.add_subparsers(dest="plan_command", metavar="ACTION", required=True)

    p = psub.add_parser("needed", parents=[common], help="qualified pipeline needed by source")
    query_args(p, compare=False)
    p.add_argument("--target", type=float, help="bookings target (default: the stored target)")
    p.add_argument("--by-week", type=int, default=13, help="week N of the period (default 13)")
    _fmt_arg(p)
    p.set_defaults(func=run_needed)

    p = psub.add_parser("whatif", parents=[common], help="forecast and coverage under a scenario")
    query_args(p, compare=False)
    p.add_argument("--conversion-stage", help="stage k whose conversion to k+1 moves")
    p.add_argument("--conversion-pts", type=float, default=0.0, help="by this many points")
    p.add_argument("--cycle-days", type=int, default=0, help="move every open close date")
    p.add_argument("--remove-category", action="append", default=[], metavar="CATEGORY")
    p.add_argument("--remove-deal", action="append", default=[], metavar="OPPORTUNITY_ID")
    p.add_argument(
        "--source-creation",
        action="append",
        default=[],
        metavar="SOURCE:PERCENT",
        help="a source's pipeline creation changes by PERCENT (e.g. Marketing:20)",
    )
    p.add_argument("--save", metavar="NAME", help="save the scenario under this name")
    p.add_argument("--replace", action="store_true", help="replace a saved scenario of that name")
    _fmt_arg(p)
    p.set_defaults(func=run_whatif)

    p = psub.add_parser("scenarios", parents=[common], help="saved scenarios beside the baseline")
    query_args(p, compare=False)
    p.add_argument("--delete", metavar="NAME", help="delete this saved scenario")
    _fmt_arg(p)
    p.set_defaults(func=run_scenarios)

    p = sub.add_parser(
        "maturity",
        parents=[common],
        help="the maturity scorecard with its evidence; --record keeps the placements",
        description="Each dimension of the three maturity matrices at stage 1-3, by the "
        "governed evidence rules or the latest self-assessment.",
    )
    query_args(p, compare=False)
    p.add_argument("--record", action="store_true", help="store this snapshot's placements")
    p.add_argument("--history", action="store_true", help="show the recorded placements")
    _fmt_arg(p)
    p.set_defaults(func=run_maturity)

    p = sub.add_parser(
        "maturity-assess",
        parents=[common],
        help="record a dated self-assessment for a dimension the data cannot place",
    )
    p.add_argument("dimension", help="e.g. icp, enablement, operating_cadence")
    p.add_argument("stage", type=int, choices=(1, 2, 3))
    p.add_argument("--on", type=date_arg, default=None, help="assessment date (default: today)")
    p.add_argument("--note", default="", help="why this stage")
    p.add_argument("--assessor", default="", help="who assessed")
    p.set_defaults(func=run_assess)


def _emit(frame: pd.DataFrame, form: str, head: Mapping[str, object]) -> None:
    if form == "json":
        print(_dump({**head, "rows": records(frame)}))
    elif form == "csv":
        sys.stdout.write(frame.to_csv(index=False, date_format="%Y-%m-%d"))
    else:
        for key, value in head.items():
            if value is not None:
                print(f"{key}: {value}")
        print(_text_table(frame))


def _plan_query(con, args: argparse.Namespace, defs: definitions.Definitions) -> Query:
    q = query_from_args(con, args, defs)
    if args.period is None:
        q = q.with_(period=needed.next_quarter(q.as_of, defs))
    opts: list[tuple[str, object]] = [("by_week", args.by_week)]
    if args.target is not None:
        opts.append(("target", args.target))
    return q.with_(options=tuple(opts))


def run_needed(args: argparse.Namespace) -> int:
    defs = definitions.load()
    with store.reader(args.db) as con:
        q = _plan_query(con, args, defs)
        res = compute(con, "pipeline_needed", q, defs)
        inputs = needed.gather(con, q, defs)
    head = {
        "period": q.period,
        "as_of": q.as_of.isoformat(),
        "bookings_target": inputs.target,
        "won_to_date": inputs.won_to_date,
        "remaining": inputs.remaining,
        "pipeline_needed": res.value,
        "note": res.note,
    }
    assert res.table is not None
    _emit(res.table, args.format, head)
    return 0


def _assumptions(args: argparse.Namespace) -> whatif.Assumptions:
    creation = []
    for item in args.source_creation:
        name, sep, pct = item.rpartition(":")
        try:
            creation.append((name.strip(), float(pct)))
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise StewardError(f"--source-creation {item!r}: use SOURCE:PERCENT, e.g. Marketing:20")
    return whatif.Assumptions(
        conversion_stage=args.conversion_stage,
        conversion_pts=args.conversion_pts,
        cycle_days=args.cycle_days,
        remove_categories=tuple(args.remove_category),
        remove_deals=tuple(args.remove_deal),
        source_creation=tuple(creation),
    )


def run_whatif(args: argparse.Namespace) -> int:
    defs = definitions.load()
    a = _assumptions(args)
    if a.conversion_stage and a.conversion_stage not in defs.stage_names:
        raise StewardError(f"--conversion-stage {a.conversion_stage!r} is not a governed stage")
    if args.save:
        with store.writer(args.db) as con:
            q = query_from_args(con, args, defs)
            scenarios.save(con, args.save, q, defs, a, replace=args.replace)
        print(f"saved scenario {args.save!r}", file=sys.stderr)
    with store.reader(args.db) as con:
        q = query_from_args(con, args, defs)
        try:
            table = whatif.compare(whatif.baseline(con, q, defs), [("Scenario", a)])
        except ValueError as exc:
            raise StewardError(str(exc)) from exc
    if args.format == "table":
        table = table[[*whatif.RESULT_COLUMNS, "assumptions"]]
    _emit(table, args.format, {"period": q.period, "as_of": q.as_of.isoformat()})
    return 0


def run_scenarios(args: argparse.Namespace) -> int:
    defs = definitions.load()
    if args.delete:
        with store.writer(args.db) as con:
            if not scenarios.delete(con, args.delete):
                raise StewardError(f"no saved scenario named {args.delete!r}")
        print(f"deleted scenario {args.delete!r}", file=sys.stderr)
        return 0
    with store.reader(args.db) as con:
        q = query_from_args(con, args, defs)
        table = scenarios.comparison(con, q, defs)
    if args.format == "table":
        table = table[[*whatif.RESULT_COLUMNS, "assumptions"]]
    _emit(table, args.format, {"period": q.period, "as_of": q.as_of.isoformat()})
    return 0


def run_maturity(args: argparse.Namespace) -> int:
    defs = definitions.load()
    if args.record:
        with store.writer(args.db) as con:
            q = query_from_args(con, args, defs)
            scorecard.record(con, q, defs)
        print(f"recorded the placements of {q.as_of.isoformat()}", file=sys.stderr)
    with store.reader(args.db) as con:
        q = query_from_args(con, args, defs)
        if args.history:
            wide = scorecard.history_matrix(scorecard.history(con, q.as_of))
            _emit(wide.astype("string").fillna("—"), args.format, {})
            return 0
        res = compute(con, "maturity_scorecard", q, defs)
    assert res.table is not None
    if args.format == "table":
        print(f"as_of: {q.as_of.isoformat()} · {defs.stamp}")
        print(f"dimensions at stage 3: {res.value:.0f}" + (f" · {res.note}" if res.note else ""))
        print(scorecard.to_text(res.table))
        return 0
    _emit(res.table, args.format, {"as_of": q.as_of.isoformat(), "at_stage_3": res.value})
    return 0


def run_assess(args: argparse.Namespace) -> int:
    with store.writer(args.db) as con:
        scorecard.assess(
            con, args.dimension, args.stage, args.on or date.today(), args.note, args.assessor
        )
    print(f"recorded {args.dimension} at stage {args.stage}", file=sys.stderr)
    return 0
