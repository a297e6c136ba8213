"""`steward` — the command line for everything a scheduled job needs.

Each command group lives in its own module with a `register(subparsers, common)`
function; this module only wires them up and turns StewardError into a one-line
reason (stderr, exit 1) with the details below it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from steward import __version__, access
from steward.cli import data_cmds, demo_cmds, export_cmds, metric_cmds, plan_cmds, review_cmds
from steward.errors import StewardError, describe

GROUPS = (data_cmds, demo_cmds, metric_cmds, export_cmds, review_cmds, plan_cmds)
# Commands that change the store's snapshots: admins only (see steward.access).
ADMIN_COMMANDS = {
    "import",
    "import-targets",
    "import-table",
    "reconstruct",
    "delete-snapshot",
    "demo",
}

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
    common.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        default=argparse.SUPPRESS,
        help="run as USER from the access file (their row scope; default: the local admin)",
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
        args.access = access.for_cli(getattr(args, "as_user", None))
        if args.command in ADMIN_COMMANDS:
            access.require_admin(args.access, args.command)
        if args.command == "maturity" and getattr(args, "record", False):
            # The placement history is the company's: recorded by an admin seeing every row.
            access.require_admin(args.access, "record maturity placements")
            if not args.access.scope.is_all:
                raise access.AccessError("maturity --record needs a view of every deal")
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at exit
        return code
    except BrokenPipeError:
        return _reader_went_away()
    except StewardError as exc:
        reason, details = describe(exc)
        print(f"error: {reason}", file=sys.stderr)
        for line in details:
            print(f"  {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130


def _reader_went_away() -> int:
    """`steward ... | head`: the reader closed the pipe. Stop quietly, as a shell tool does.

    stdout is pointed at /dev/null so the interpreter's final flush of what is still
    buffered cannot raise a second time; 141 is 128 + SIGPIPE, the status shells report.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
