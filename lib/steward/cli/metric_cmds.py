"""Metric commands: metrics, report, check, glossary.

steward metrics open_pipeline --as-of 2026-11-16 --period FY2026-Q4 --segment Enterprise
steward metrics waterfall --compare-to 2026-11-02 --format table
steward metrics waterfall --drill bucket=Won --format csv
steward metrics --list
steward report --as-of 2026-11-16 --format json
steward check
steward glossary --write
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pandas as pd

from steward import definitions, fmt, glossary, kpis, store
from steward.cli.args import date_arg, query_args, query_from_args
from steward.errors import StewardError
from steward.metrics.core import (
    REGISTRY,
    Query,
    compute,
    current_period,
    drill,
)
from steward.query import loaded_snapshot

FORMATS = ("table", "json", "csv")


def _pair(text: str) -> tuple[str, str]:
    key, sep, val = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key.strip(), val.strip()


def _option_value(text: str) -> Any:
    """'true'/'false' -> bool, integers and decimals -> numbers, anything else as given."""
    low = text.strip().lower()
    if low in ("true", "yes", "1"):
        return True
    if low in ("false", "no", "0"):
        return False
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


# ---- output --------------------------------------------------------------------------
def _plain(x: Any) -> Any:
    if isinstance(x, Decimal):
        return float(x)
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, datetime):  # pandas Timestamps too; dates in the store have no time
        return x.date().isoformat() if x.time() == time() else x.isoformat()
    if isinstance(x, date):
        return x.isoformat()
    return x


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    return [{k: _plain(v) for k, v in row.items()} for row in out.to_dict(orient="records")]


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=_plain, ensure_ascii=False)


def _text_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(no rows)"
    shown = pd.DataFrame(records(frame)).fillna("")
    return shown.to_string(index=False)


def _emit_frame(frame: pd.DataFrame, form: str, head: dict[str, Any] | None = None) -> None:
    if form == "json":
        print(_dump({**(head or {}), "rows": records(frame)}))
    elif form == "csv":
        sys.stdout.write(frame.to_csv(index=False, date_format="%Y-%m-%d"))
    else:
        print(_text_table(frame))


# ---- commands ------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's commands to the parser."""
    p = sub.add_parser(
        "metrics",
        parents=[common],
        help="compute one metric (or --list them)",
        description="Compute a governed metric for a snapshot, a fiscal period and a cut; "
        "--drill lists the deals behind it.",
        epilog="examples:\n  steward metrics coverage --period FY2026-Q4 --segment Enterprise\n"
        "  steward metrics waterfall --compare-to 2026-11-02 --drill bucket=Won\n"
        "  steward metrics --list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("metric_id", nargs="?", metavar="ID", help="metric id (see --list)")
    p.add_argument("--list", action="store_true", help="list every metric with its label")
    query_args(p)
    p.add_argument(
        "--drill",
        nargs="*",
        type=_pair,
        metavar="KEY=VALUE",
        help="the deals behind the number, e.g. --drill bucket=Won, --drill stage=Proposal",
    )
    p.add_argument(
        "--option",
        action="append",
        type=_pair,
        default=[],
        metavar="KEY=VALUE",
        help="metric option",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help="output format")
    p.set_defaults(func=run_metrics)

    r = sub.add_parser(
        "report",
        parents=[common],
        help="the headline KPIs of the Board story",
        description="Headline KPIs with deltas vs the previous snapshot and vs the same week "
        "of the previous quarter.",
    )
    query_args(r, compare=False)
    r.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    r.set_defaults(func=run_report)

    c = sub.add_parser(
        "check",
        parents=[common],
        help="data-trust checks and the trust score",
        description="Run the data-trust checks on a snapshot (default: the latest). Always "
        "exits 0 when it could run: findings are information, not failure.",
    )
    c.add_argument("--as-of", type=date_arg, help="snapshot date (default: the latest loaded)")
    c.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    c.set_defaults(func=run_check)

    g = sub.add_parser(
        "glossary",
        parents=[common],
        help="print (or --write) the metrics glossary docs/metrics.md",
        description="The glossary is generated from the metric registry.",
    )
    g.add_argument("--write", action="store_true", help=f"write {glossary.DOC_PATH}")
    g.add_argument("--check", action="store_true", help="exit 1 when docs/metrics.md is stale")
    g.set_defaults(func=run_glossary)


def run_list(form: str) -> int:
    rows = [
        {
            "id": m.id,
            "label": m.label,
            "unit": m.unit,
            "scope": m.scope,
            "drill": m.drill is not None,
        }
        for m in sorted(REGISTRY.values(), key=lambda m: m.id)
    ]
    _emit_frame(pd.DataFrame(rows), form)
    return 0


def run_metrics(args: argparse.Namespace) -> int:
    if args.list:
        return run_list(args.format)
    if not args.metric_id:
        raise StewardError(
            "name a metric id, or use --list", ["e.g. steward metrics open_pipeline"]
        )
    if args.metric_id not in REGISTRY:
        raise StewardError(
            f"unknown metric {args.metric_id!r}", ["`steward metrics --list` shows every id."]
        )
    m = REGISTRY[args.metric_id]
    defs = definitions.load()
    with store.reader(args.db) as con:
        options = tuple((k, _option_value(v)) for k, v in args.option)
        q = query_from_args(con, args, defs, options)
        if args.drill is not None:
            if m.drill is None:
                raise StewardError(f"metric {m.id!r} has no deal drill-down")
            try:
                frame = drill(con, m.id, q, defs, **dict(args.drill))
            except (TypeError, ValueError) as exc:
                raise StewardError(f"cannot drill {m.id}: {exc}") from exc
            _emit_frame(
                frame,
                args.format,
                {"metric": m.id, "query": q.describe(), "drill": dict(args.drill)},
            )
            return 0
        res = compute(con, m.id, q, defs)
    head = {
        "metric": m.id,
        "label": m.label,
        "unit": m.unit,
        "query": res.query.describe(),
        "value": res.value,
        "formatted": fmt.value(res.value, m.unit) if m.unit != "table" else None,
        "note": res.note,
        "definitions": defs.stamp,
    }
    if args.format == "json":
        print(_dump({**head, "table": None if res.table is None else records(res.table)}))
    elif args.format == "csv":
        if res.table is not None:
            sys.stdout.write(res.table.to_csv(index=False, date_format="%Y-%m-%d"))
        else:
            pd.DataFrame([{k: head[k] for k in ("metric", "value", "unit", "note")}]).to_csv(
                sys.stdout, index=False
            )
    else:
        desc = res.query.describe()
        print(f"{m.label} ({m.id}) · {', '.join(f'{k}={v}' for k, v in desc.items())}")
        if m.unit != "table":
            print(fmt.value(res.value, m.unit))
        if res.table is not None:
            print(_text_table(res.table))
        if res.note:
            print(f"note: {res.note}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    defs = definitions.load()
    with store.reader(args.db) as con:
        q = query_from_args(con, args, defs)
        tiles = kpis.headline_kpis(con, q, defs)
    if args.format == "json":
        print(
            _dump(
                {
                    "query": q.describe(),
                    "definitions": defs.stamp,
                    "kpis": [k.as_dict() for k in tiles],
                }
            )
        )
        return 0
    print(f"Headline KPIs · as of {q.as_of.isoformat()} · {q.period} · {q.filters.describe()}")
    rows = [
        {
            "KPI": k.label,
            "value": k.formatted,
            "vs prev": k.delta_prev_formatted,
            "vs QoQ": k.delta_qoq_formatted,
            "note": k.note or "",
        }
        for k in tiles
    ]
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


def run_check(args: argparse.Namespace) -> int:
    defs = definitions.load()
    with store.reader(args.db) as con:
        as_of = loaded_snapshot(con, args.as_of)
        q = Query(as_of=as_of, period=current_period(as_of, defs))
        res = compute(con, "trust_checks", q, defs)
    assert res.table is not None
    if args.format == "json":
        print(
            _dump(
                {"as_of": as_of.isoformat(), "trust_score": res.value, "checks": records(res.table)}
            )
        )
        return 0
    print(f"Data trust · as of {as_of.isoformat()} · score {fmt.score(res.value)}")
    shown = res.table[["label", "count", "amount", "severity"]].copy()
    shown["amount"] = [fmt.money_exact(a) for a in shown["amount"]]
    print(shown.to_string(index=False))
    return 0


def run_glossary(args: argparse.Namespace) -> int:
    if args.check:
        if glossary.is_stale():
            print(f"{glossary.DOC_PATH} is stale: run `steward glossary --write`", file=sys.stderr)
            return 1
        print(f"{glossary.DOC_PATH} is up to date")
        return 0
    if args.write:
        path = glossary.write()
        print(f"wrote {path} ({len(REGISTRY)} metrics)")
        return 0
    sys.stdout.write(glossary.render())
    return 0
