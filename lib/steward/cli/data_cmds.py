"""Data commands: import, import-targets / import-table, reconstruct, snapshots,
delete-snapshot, export-parquet.

Every import parses and validates the whole file in memory first and opens the store
only for the final transaction, so the dashboard keeps working while it runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from steward import access, definitions, ingest, store
from steward.cli.args import date_arg
from steward.errors import ImportRejected, StewardError
from steward.ingest.importer import log_rejected
from steward.ingest.model import Prepared

IMPORT_EPILOG = """\
examples:
  steward import opportunities_2026-11-20.csv          date taken from the file name
  steward import report.csv --snapshot-date 2026-11-20
  steward import Opportunity.csv --preset salesforce_data_export --snapshot-date 2026-11-20
  steward import export.csv --mapping my_crm.toml       columns described in a mapping file
  steward import week47.csv --replace                    replace an already loaded date
  steward import week47.csv --dry-run                    check only, write nothing

formats (--preset): {presets}
The snapshot date comes from a snapshot_date column, else --snapshot-date, else a date in
the file name, else the import is refused. Any error refuses the whole file: nothing is
written. See docs/import-formats.md.
"""


BIG_FILE_BYTES = 2_000_000


class Progress:
    """Prints one line to stderr each time another 10% of the work is done (big files only)."""

    def __init__(self, label: str, quiet: bool = False, size: int | None = None) -> None:
        self.label = label
        self.quiet = quiet or (size is not None and size < BIG_FILE_BYTES)
        self.shown = -1

    def __call__(self, fraction: float, message: str) -> None:
        step = int(max(0.0, min(fraction, 1.0)) * 10)
        if self.quiet or step <= self.shown:
            return
        self.shown = step
        print(f"{self.label}: {step * 10:3d}% {message}", file=sys.stderr, flush=True)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's commands to the parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "import",
        parents=[common],
        help="load weekly opportunity snapshot file(s) (CSV, XLSX, Parquet)",
        description="Load opportunity snapshot files into the store, all-or-nothing per file.",
        epilog=IMPORT_EPILOG.format(presets=", ".join(ingest.PRESETS)),
        formatter_class=fmt,
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        type=Path,
        help="CSV, XLSX or Parquet; each file is its own all-or-nothing import",
    )
    p.add_argument(
        "--snapshot-date",
        type=date_arg,
        metavar="YYYY-MM-DD",
        help="snapshot date for rows without one (beats a date in the file name)",
    )
    p.add_argument(
        "--preset", choices=list(ingest.PRESETS), help="the export format (default: detect)"
    )
    p.add_argument("--mapping", type=Path, help="TOML mapping file for other formats")
    p.add_argument("--replace", action="store_true", help="replace snapshot dates already loaded")
    p.add_argument("--dry-run", action="store_true", help="check the file(s), write nothing")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_import)

    t = sub.add_parser(
        "import-targets",
        parents=[common],
        help="load bookings/pipeline targets (replaces all targets)",
        description="Load targets: columns period (FY2026-Q3), segment (or All), "
        "bookings_target, pipeline_target. Replaces the targets table.",
    )
    t.add_argument("file", metavar="FILE", type=Path)
    t.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
    t.set_defaults(func=cmd_import_table, kind="targets")
    tt = sub.add_parser(
        "import-table",
        parents=[common],
        help="load targets, touches or leads (replaces that table)",
        description="Load an optional table, replacing its content. targets: period, segment, "
        "bookings_target, pipeline_target. touches: opportunity_id or account_id, touch_date, "
        "channel, campaign, weight. leads: lead_id, created_at, first_contact_at, source, owner, "
        "status, mql_at, sql_at, opportunity_id.",
    )
    tt.add_argument("kind", choices=list(ingest.TABLE_KINDS))
    tt.add_argument("file", metavar="FILE", type=Path)
    tt.add_argument("--dry-run", action="store_true")
    tt.set_defaults(func=cmd_import_table)

    r = sub.add_parser(
        "reconstruct",
        parents=[common],
        help="rebuild weekly snapshots from Salesforce OpportunityHistory",
        description="Rebuild one snapshot per week from a Salesforce OpportunityHistory export "
        "plus the current opportunities (Opportunity.csv or a report export), so a team with "
        "no snapshot history gets one on day one.",
        epilog="example:\n  steward reconstruct --history OpportunityHistory.csv "
        "--opportunities Opportunity.csv --weekday fri --from 2025-01-03",
        formatter_class=fmt,
    )
    r.add_argument("--history", required=True, type=Path, help="OpportunityHistory.csv")
    r.add_argument("--opportunities", required=True, type=Path, help="the current opportunities")
    r.add_argument(
        "--from",
        dest="start",
        type=date_arg,
        metavar="YYYY-MM-DD",
        help="first day (default: the earliest created date)",
    )
    r.add_argument(
        "--to",
        dest="end",
        type=date_arg,
        metavar="YYYY-MM-DD",
        help="last day (default: the latest history row)",
    )
    r.add_argument("--weekday", default="fri", help="week end day: mon..sun (default fri)")
    r.add_argument("--preset", choices=list(ingest.PRESETS), help="format of --opportunities")
    r.add_argument(
        "--mapping",
        type=Path,
        help="TOML mapping file for --opportunities (the same file `import --mapping` reads)",
    )
    r.add_argument("--replace", action="store_true", help="replace snapshot dates already loaded")
    r.add_argument("--dry-run", action="store_true", help="check, write nothing")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.set_defaults(func=cmd_reconstruct)

    s = sub.add_parser(
        "snapshots",
        parents=[common],
        help="list loaded snapshot dates (rows, amount); --log for the import log",
        description="List the snapshot dates in the store with row counts and total amount.",
    )
    s.add_argument("--log", action="store_true", help="show the import log instead")
    s.set_defaults(func=cmd_snapshots)

    d = sub.add_parser(
        "delete-snapshot",
        parents=[common],
        help="remove one snapshot date",
        description="Remove every row of one snapshot date (asks for --yes).",
    )
    d.add_argument("date", type=date_arg)
    d.add_argument("--yes", action="store_true", help="really delete")
    d.set_defaults(func=cmd_delete)

    e = sub.add_parser(
        "export-parquet",
        parents=[common],
        help="write the snapshot store as Parquet partitioned by snapshot date",
        description="Write OUTDIR/snapshot_date=YYYY-MM-DD/*.parquet (Hive partitioning).",
    )
    e.add_argument("outdir", type=Path)
    e.set_defaults(func=cmd_export_parquet)


def _finish(prepared: Prepared, args: argparse.Namespace, replace: bool) -> int:
    print(prepared.summary())
    if not prepared.ok:
        message = f"{prepared.file_name}: {prepared.error_count} error(s); nothing was written"
        if not args.dry_run:
            log_rejected(args.db, prepared, message)
        raise ImportRejected(message, ["See the errors above; fix the file or add a mapping."])
    if args.dry_run:
        print("dry run: nothing was written")
        return 0
    who = getattr(args, "access", None)
    with store.writer(args.db) as con:  # one write lock: the import, then its audit row
        iid = ingest.commit(con, prepared, replace=replace)
        if who is not None:
            dates = ", ".join(d.isoformat() for d in prepared.snapshot_dates)
            action = "replace" if replace and args.command != "import-table" else "import"
            store.audit(con, who.who, action, prepared.file_name, who.scope.label,
                        f"import {iid} {dates}".strip())  # fmt: skip
    print(f"committed import {iid} to {store.resolve_path(args.db)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    defs = definitions.load()
    failures = 0
    for path in args.files:
        try:
            try:
                prepared = ingest.prepare(
                    path,
                    defs,
                    preset=args.preset,
                    mapping=args.mapping,
                    snapshot_date=args.snapshot_date,
                    progress=Progress(f"import {path.name}", args.quiet, _size(path)),
                )
            except StewardError as exc:  # refused before validation: logged like the page
                if not args.dry_run:
                    log_rejected(args.db, path.name, str(exc))
                raise
            _finish(prepared, args, args.replace)
        except StewardError as exc:
            if len(args.files) == 1:
                raise
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
            for line in exc.details:
                print(f"  {line}", file=sys.stderr)
    if failures:
        raise ImportRejected(f"{failures} of {len(args.files)} file(s) were refused")
    return 0


def cmd_import_table(args: argparse.Namespace) -> int:
    defs = definitions.load()
    prepared = ingest.prepare_table(args.kind, args.file, defs)
    return _finish(prepared, args, replace=True)


def cmd_reconstruct(args: argparse.Namespace) -> int:
    defs = definitions.load()
    prepared = ingest.reconstruct(
        args.history,
        args.opportunities,
        defs,
        start=args.start,
        end=args.end,
        weekday=args.weekday.lower()[:3],
        preset=args.preset,
        mapping=args.mapping,
        progress=Progress("reconstruct", args.quiet, _size(args.history)),
    )
    return _finish(prepared, args, args.replace)


def cmd_snapshots(args: argparse.Namespace) -> int:
    scope = args.access.scope if getattr(args, "access", None) is not None else None
    if args.log and getattr(args, "access", None) is not None:
        access.require_admin(args.access, "read the import log")  # as on the trust page
    with store.reader(args.db) as con:
        frame = store.import_log(con) if args.log else store.list_snapshots(con, scope)
    if frame.empty:
        print("no imports yet" if args.log else "no snapshots loaded; run `steward import FILE`")
        return 0
    if args.log:
        cols = [
            "import_id",
            "kind",
            "file_name",
            "row_count",
            "snapshot_dates",
            "finished_at",
            "outcome",
            "message",
        ]
        print(frame[cols].to_string(index=False, max_colwidth=60))
        return 0
    shown = frame.assign(
        amount_total=frame["amount_total"].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")
    )
    print(shown.to_string(index=False))
    total = int(frame["row_count"].sum())
    print(f"{len(frame)} snapshot(s), {total:,} rows in {store.resolve_path(args.db)}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    if not args.yes:
        raise StewardError(
            f"not deleting snapshot {args.date.isoformat()} without --yes",
            ["Run again with --yes to remove it from the store."],
        )
    with store.writer(args.db) as con:
        n = store.delete_snapshot(con, args.date)
        if getattr(args, "access", None) is not None:
            store.audit(
                con, args.access.who, "delete", f"snapshot {args.date.isoformat()}",
                args.access.scope.label, f"{n} rows",
            )  # fmt: skip
    print(f"deleted snapshot {args.date.isoformat()} ({n:,} rows)")
    return 0


def cmd_export_parquet(args: argparse.Namespace) -> int:
    outdir = args.outdir.resolve()
    if outdir.exists() and any(outdir.iterdir()):
        raise StewardError(f"{outdir} is not empty", ["Choose a new or empty directory."])
    outdir.mkdir(parents=True, exist_ok=True)
    who = getattr(args, "access", None)
    ssql, sparams = who.scope.named_sql("s") if who is not None else ("", {})
    with store.reader(args.db) as con:
        # The rows the person may see (all for the local admin), as bound parameters.
        n = con.execute(f"select count(*) from snapshots s where true{ssql}", sparams).fetchall()[0]  # noqa: S608
        # DuckDB's COPY ... (format parquet, partition_by (snapshot_date)) via the
        # relation API, which takes the path as an argument rather than SQL text.
        rel = con.sql(
            f"select s.* from snapshots s where true{ssql} order by snapshot_date, opportunity_id",  # noqa: S608
            params=sparams,
        )
        rel.write_parquet(str(outdir), partition_by=["snapshot_date"], overwrite=True)
    parts = sorted(p.name for p in outdir.iterdir() if p.is_dir())
    if who is not None:
        access.record(args.db, who, "export", f"parquet {outdir}", f"{n[0] if n else 0} rows")
    print(f"wrote {n[0] if n else 0:,} rows in {len(parts)} partition(s) to {outdir}")
    return 0
