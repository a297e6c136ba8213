"""`steward` — the command line for everything a scheduled job needs.

Each command group lives in its own module with a `register(subparsers, common)`
function; this module only wires them up and turns StewardError into a one-line
reason (stderr, exit 1) with the details below it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from steward import __version__
from steward.cli import data_cmds, demo_cmds, export_cmds, metric_cmds, plan_cmds
from steward.errors import StewardError

GROUPS = (data_cmds, demo_cmds, metric_cmds, export_cmds, plan_cmds)

EPILOG = """\
Weekly routine for RevOps:
  steward import opportunities_2026-11-20.csv      load this week's export
  steward snapshots                                 see what is loaded
  steward check                                     data-trust checks

The store is data/steward.duckdb unless --db or $STEWARD_DB says otherwise.
Run `steward COMMAND --help` for a command's options.
"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        help="DuckDB store file (default: $STEWARD_DB or data/steward.duckdb)",
    )
    parser = argparse.ArgumentParser(
        prog="steward",
        description="Pipeline Steward: weekly CRM opportunity snapshots -> board-ready pipeline story.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"steward {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not hasattr(args, "db"):
        args.db = None
    try:
        return int(args.func(args) or 0)
    except StewardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for line in exc.details:
            print(f"  {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
