"""The arguments every command shares, parsed one way (one parser for every command).

- Dates: `date_arg` is the only parser of a date on the command line; a bad one reads the
  same on every command ("'2026-13-01' is not a date like 2026-11-20 (YYYY-MM-DD)").
- Filters: `--segment Enterprise,SMB` and `--segment Enterprise --segment SMB` are the
  same cut on every command (`FilterList` splits on commas, strips spaces, drops repeats).
  One value per option, so a filter never swallows a positional argument after it.
- The query: `query_args` adds --as-of, --period, --compare-to and the filters;
  `query_from_args` resolves them once against the store (the as-of must be a loaded
  snapshot; the period defaults to the as-of date's fiscal quarter).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb

from steward import access
from steward.definitions import Definitions
from steward.errors import StewardError
from steward.metrics.core import DIMENSIONS, Filters, Query, current_period
from steward.periods import parse_period

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


def latest_snapshot(con: duckdb.DuckDBPyConnection) -> date:
    fetched = con.execute("select max(snapshot_date) from snapshots").fetchall()
    row = fetched[0] if fetched else None
    if not row or row[0] is None:
        raise StewardError(
            "no snapshots are loaded",
            ["Load the demo with `steward demo`, or `steward import FILE`."],
        )
    latest: date = row[0]
    return latest


def loaded_snapshot(
    con: duckdb.DuckDBPyConnection, when: date | None, option: str = "--as-of"
) -> date:
    """`when`, which must be a loaded snapshot (default: the latest)."""
    if when is None:
        return latest_snapshot(con)
    fetched = con.execute(
        "select count(*) from snapshots where snapshot_date = ?", [when]
    ).fetchall()
    if fetched and fetched[0][0]:
        return when
    near_rows = con.execute(
        "select max(snapshot_date) filter (where snapshot_date < ?), "
        "min(snapshot_date) filter (where snapshot_date > ?) from snapshots",
        [when, when],
    ).fetchall()
    near = near_rows[0] if near_rows else None
    hint = ", ".join(d.isoformat() for d in (near or ()) if d is not None)
    raise StewardError(
        f"no snapshot dated {when.isoformat()} is loaded ({option})",
        [f"Nearest loaded: {hint}." if hint else "No snapshots are loaded."],
    )


def query_from_args(
    con: duckdb.DuckDBPyConnection,
    args: argparse.Namespace,
    defs: Definitions,
    options: tuple[tuple[str, Any], ...] = (),
) -> Query:
    """The Query for a command's arguments, resolved once (nothing downstream guesses)."""
    as_of = loaded_snapshot(con, args.as_of)
    compare_to = getattr(args, "compare_to", None)
    if compare_to is not None:
        compare_to = loaded_snapshot(con, compare_to, "--compare-to")
    if args.period:
        try:
            period = parse_period(args.period, defs.fiscal_year_start_month).label
        except ValueError as exc:
            raise StewardError(str(exc)) from exc
    else:
        period = current_period(as_of, defs)
    values = {d: split_values(getattr(args, d, None)) for d in DIMENSIONS}
    q = Query(
        as_of=as_of,
        period=period,
        filters=Filters.of(**values),
        compare_to=compare_to,
        options=options,
    )
    who = getattr(args, "access", None)  # set by steward.cli.main from --as
    return access.scoped(q, who) if who is not None else q
