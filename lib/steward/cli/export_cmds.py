"""CLI: `steward narrative`, `steward export-xlsx`, `steward board-pack`.

All three read the store through a short-lived read-only connection and use the same
Query as the screen: --as-of (default: the latest snapshot), --period (default: the
as-of date's fiscal quarter) and the filters --segment/--region/--source/--owner/
--product/--stage (repeatable or comma-separated).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from steward import access, definitions, store
from steward.cli.args import document_args, query_args, query_from_args
from steward.errors import StewardError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's commands to the parser."""
    p = sub.add_parser(
        "narrative",
        parents=[common],
        help="the board narrative (headline, what changed, risks, decisions) as Markdown or JSON",
        description="Deterministic board narrative for one snapshot, period and filter set. "
        "JSON keeps, for every sentence, the metric id, query and value behind each number.",
    )
    query_args(p)
    document_args(p)
    p.set_defaults(func=run_narrative)

    p = sub.add_parser(
        "export-xlsx",
        parents=[common],
        help="the finance workbook (.xlsx)",
        description="Summary, Coverage (editable targets, live coverage formulas), Forecast, "
        "Waterfall, Pipeline, Win rates, Definitions; totals equal the app's to the cent.",
    )
    p.add_argument("out", type=Path, help="output file, e.g. pipeline.xlsx")
    query_args(p)
    p.set_defaults(func=run_xlsx)

    p = sub.add_parser(
        "board-pack",
        parents=[common],
        help="the board pack (.pptx, 16:9), optionally also as PDF",
        description="Title, key numbers, story, funnel, coverage, waterfall, forecast, risks "
        "and decisions, definitions. Charts need Chromium; --pdf needs LibreOffice.",
    )
    p.add_argument("out", type=Path, help="output file, e.g. board_pack.pptx")
    query_args(p)
    p.add_argument("--pdf", action="store_true", help="also write OUT with a .pdf suffix")
    p.set_defaults(func=run_pack)


def _write(path: Path, data: bytes) -> None:
    if path.parent and not path.parent.exists():
        raise StewardError(f"folder {path.parent} does not exist")
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def run_narrative(args: argparse.Namespace) -> int:
    from steward import narrative

    defs = definitions.load()
    with store.reader(args.db) as con:
        q = query_from_args(con, args, defs)
        story = narrative.build(con, q, defs)
    return emit(args, story)


def emit(args: argparse.Namespace, doc: Any) -> int:
    """A document (`to_json`, `to_markdown`) as --format says, to --output or stdout."""
    text = doc.to_json() + "\n" if args.format == "json" else doc.to_markdown()
    if args.output:
        _write(args.output, text.encode("utf-8"))
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _export(args: argparse.Namespace, build: Callable[..., bytes]) -> bytes:
    """Build one export from the store with the command's query, write it, say so."""
    defs = definitions.load()
    t0 = time.perf_counter()
    with store.reader(args.db) as con:
        q = query_from_args(con, args, defs)
        data = build(con, q, defs)
    _write(args.out, data)
    if getattr(args, "access", None) is not None:
        access.record(args.db, args.access, "export", str(args.out), q.filters.describe())
    print(
        f"wrote {args.out} ({len(data):,} bytes, {time.perf_counter() - t0:.1f} s)", file=sys.stderr
    )
    return data


def run_xlsx(args: argparse.Namespace) -> int:
    from steward.export.xlsx import build_workbook

    _export(args, build_workbook)
    return 0


def run_pack(args: argparse.Namespace) -> int:
    from steward.export.pptx import board_pack_pdf, build_board_pack

    data = _export(args, build_board_pack)
    if args.pdf:
        pdf = board_pack_pdf(data)
        out = args.out.with_suffix(".pdf")
        _write(out, pdf)
        print(f"wrote {out} ({len(pdf):,} bytes)", file=sys.stderr)
    return 0
