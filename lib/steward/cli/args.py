"""The arguments every command shares, parsed one way (one parser for every command).

- Dates: `date_arg` is the only parser of a date on the command line; a bad one reads the
  same on every command ("'2026-13-01' is not a date like 2026-11-20 (YYYY-MM-DD)").
- Filters: `--segment Enterprise,SMB` and `--segment Enterprise --segment SMB` are the
  same cut on every command (`FilterList` splits on commas, strips spaces, drops repeats).
  One value per option, so a filter never swallows a positional argument after it.
- The query: `query_args` adds --as-of, --period, --compare-to and the filters;
  `query_from_args` hands them to `steward.query.resolve`, the one resolver the sidebar,
  the narrative, the exports and the review use too.
- A document (the narrative, the agenda): `document_args` adds --format md|json and
  -o/--output; `export_cmds.emit` writes it as they say.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from steward import query
from steward.definitions import Definitions
from steward.metrics.core import DIMENSIONS, Query

DATE_EXAMPLE = "2026-11-20"


def date_arg(text: str) -> date:
    """An ISO date for argparse (type=date_arg)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date like {DATE_EXAMPLE} (YYYY-MM-DD)"
        ) from exc


def split_values(raw: str | Sequence[str] | None) -> list[str]:
    """'A, B' / ['A,B', 'C'] -> ['A', 'B', 'C']: commas split, blanks dropped, no repeats."""
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        for v in str(item).split(","):
            v = v.strip()
            if v and v not in out:
                out.append(v)
    return out


class FilterList(argparse.Action):
    """`--segment A,B --segment C` -> ['A', 'B', 'C'] (repeatable, comma-separated)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        current = list(getattr(namespace, self.dest, None) or [])
        setattr(namespace, self.dest, split_values([*current, *split_values(values)]))


def query_args(p: argparse.ArgumentParser, compare: bool = True) -> None:
    """--as-of, --period, (--compare-to) and one option per filter dimension."""
    p.add_argument("--as-of", type=date_arg, help="snapshot date (default: the latest loaded)")
    p.add_argument(
        "--period", help="fiscal quarter like FY2026-Q4 (default: the as-of date's quarter)"
    )
    if compare:
        p.add_argument(
            "--compare-to",
            type=date_arg,
            help="earlier snapshot for what changed (default: the previous snapshot)",
        )
    for dim in DIMENSIONS:
        p.add_argument(
            f"--{dim}",
            action=FilterList,
            default=[],
            metavar=dim.upper(),
            help=f"only deals with this {dim}: repeat the option or use commas (A,B)",
        )


def query_from_args(
    con: duckdb.DuckDBPyConnection,
    args: argparse.Namespace,
    defs: Definitions,
    options: tuple[tuple[str, Any], ...] = (),
) -> Query:
    """The Query for a command's arguments, resolved once by `steward.query.resolve`,
    seen through the access scope of the person `--as` names (set by steward.cli.main)."""
    who = getattr(args, "access", None)
    return query.resolve(
        con,
        defs,
        as_of=args.as_of,
        period=args.period,
        compare_to=getattr(args, "compare_to", None),
        filters={d: split_values(getattr(args, d, None)) for d in DIMENSIONS},
        options=options,
        scope=who.scope if who is not None else None,
    )


def document_args(p: argparse.ArgumentParser) -> None:
    """--format md|json and -o/--output, for a command that prints a document."""
    p.add_argument("--format", choices=("md", "json"), default="md", help="output format")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
