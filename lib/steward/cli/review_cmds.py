"""CLI: `steward agenda`, `steward decide`, `steward decisions`, `steward digest`.

The weekly review from the command line: the Monday agenda drawn from the data, a
decision recorded against one of its items, the decisions with their follow-through, and
the week's e-mail digest (an .eml file, or sent through SMTP with --settings).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from steward import access, definitions, store
from steward.cli.args import date_arg, document_args, query_args, query_from_args
from steward.cli.export_cmds import emit
from steward.errors import StewardError
from steward.query import loaded_snapshot

DEFAULT_SCOPE_DEALS = 25  # the largest deals of an item's drill, when --deals is not given


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add this group's commands to the parser."""
    p = sub.add_parser(
        "agenda",
        parents=[common],
        help="the Monday bottleneck agenda (last week's decisions, then ranked items)",
        description="Bottlenecks found by the declared agenda rules (docs/metrics.md), ranked "
        "by dollar impact, each with its evidence, owner role and the item key to decide on.",
    )
    query_args(p)
    document_args(p)
    p.set_defaults(func=run_agenda)

    p = sub.add_parser(
        "decide",
        parents=[common],
        help="record a decision against an agenda item",
        description="Recorded at the --as-of snapshot (default: the latest) against the item "
        "KEY of that week's agenda (`steward agenda --format json` lists the keys). All or "
        "nothing: a bad field changes nothing.",
    )
    p.add_argument("item", help="agenda item key, e.g. coverage_below_goal:FY2026-Q4:Enterprise")
    query_args(p, compare=False)
    p.add_argument("--what", required=True, help="what will be done")
    p.add_argument(
        "--who", required=True, help="who owns the decision (the --owner option filters deals)"
    )
    p.add_argument("--due", type=date_arg, required=True, help="due date, e.g. 2026-11-27")
    p.add_argument(
        "--deals",
        action="append",
        default=[],
        metavar="ID",
        help=f"deals in scope (repeat or comma-separate; default: the item's {DEFAULT_SCOPE_DEALS} "
        "largest deals)",
    )
    p.add_argument("--direction", choices=("up", "down"), help="override the metric's direction")
    p.set_defaults(func=run_decide)

    p = sub.add_parser(
        "decisions",
        parents=[common],
        help="decisions with their follow-through at a snapshot",
        description="Every decision recorded before --as-of, read again at it: what happened "
        "to its deals and its metric, and done / slipping / overdue by rule.",
    )
    p.add_argument("--as-of", type=date_arg, help="snapshot date (default: the latest loaded)")
    p.add_argument("--format", choices=("md", "json"), default="md", help="output format")
    p.set_defaults(func=run_decisions)

    p = sub.add_parser(
        "digest",
        parents=[common],
        help="the week's e-mail digest (.eml, or sent through SMTP)",
        description="Headline, what changed, the agenda, open decisions, three charts inline "
        "and the board pack PDF attached. Needs Chromium and LibreOffice. With --settings "
        "(a TOML file with a [digest] table) it is sent; the SMTP password comes from the "
        "environment variable the settings name, never from the file.",
    )
    query_args(p)
    p.add_argument("-o", "--output", type=Path, help="write the .eml here")
    p.add_argument("--settings", type=Path, help="TOML file with [digest] SMTP settings: send")
    p.add_argument("--sender", default="steward@localhost", help="From, when not sending")
    p.add_argument("--to", action="append", default=[], help="To, when not sending")
    p.set_defaults(func=run_digest)


def run_agenda(args: argparse.Namespace) -> int:
    from steward.review import build_agenda

    defs = definitions.load()
    with store.reader(args.db) as con:
        agenda = build_agenda(con, query_from_args(con, args, defs), defs)
    return emit(args, agenda)


def run_decide(args: argparse.Namespace) -> int:
    from steward import review

    defs = definitions.load()
    with store.reader(args.db) as con:
        q = query_from_args(con, args, defs)
        agenda = review.build_agenda(con, q, defs)
        item = agenda.item(args.item)
        if item is None:
            keys = [i.key for i in agenda.items]
            raise StewardError(
                f"no agenda item {args.item!r} at {q.as_of.isoformat()}",
                ["Items this week: " + (", ".join(keys) or "none")],
            )
        ids = [v.strip() for raw in args.deals for v in raw.split(",") if v.strip()]
        if not ids and item.drill is not None:
            deals = item.drill.deals(con, defs)
            if not deals.empty:
                deals = deals.sort_values("amount", ascending=False, na_position="last")
                ids = [str(x) for x in deals["opportunity_id"].head(DEFAULT_SCOPE_DEALS)]
    reading = replace(item.reading, direction=args.direction or item.reading.direction)
    with store.writer(args.db) as con:
        new_id = review.record(
            con,
            defs,
            as_of=q.as_of,
            item=item,
            what=args.what,
            owner=args.who,
            due_date=args.due,
            reading=reading,
            opportunity_ids=ids,
        )
    print(
        f"recorded decision {new_id} on {item.key} at {q.as_of.isoformat()} "
        f"({len(ids)} deals in scope; metric {reading.describe()})",
        file=sys.stderr,
    )
    return 0


def run_decisions(args: argparse.Namespace) -> int:
    from steward.review import follow_all

    defs = definitions.load()
    with store.reader(args.db) as con:
        as_of = loaded_snapshot(con, args.as_of)
        scope = args.access.scope
        follows = follow_all(con, as_of, defs, scope)
        from steward.review.decisions import load, within

        recorded_now = [
            d for d in load(con) if d.as_of == as_of and within(d.reading.filters, scope)
        ]
    if args.format == "json":
        out = {
            "as_of": as_of.isoformat(),
            "followed": [f.to_dict() for f in follows],
            "recorded_at_this_snapshot": [d.decision_id for d in recorded_now],
        }
        sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        return 0
    lines = [f"# Decisions read at {as_of.isoformat()}", ""]
    lines += [
        f"- #{f.decision.decision_id} **{f.status.upper()}** · {f.decision.what} "
        f"({f.decision.owner}, due {f.decision.due_date.isoformat()}, recorded "
        f"{f.decision.as_of.isoformat()}): {f.summary}"
        for f in follows
    ] or ["No decision was recorded before this snapshot."]
    if recorded_now:
        lines += ["", f"Recorded at this snapshot: {', '.join(d.what for d in recorded_now)}"]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def run_digest(args: argparse.Namespace) -> int:
    from steward.review import digest

    if not args.output and not args.settings:
        raise StewardError("say where the digest goes: -o FILE.eml, --settings FILE, or both")
    settings = digest.load_settings(args.settings) if args.settings else None
    sender = settings.sender if settings else args.sender
    to = list(settings.recipients) if settings else (args.to or ["team@localhost"])
    defs = definitions.load()
    plan = digest_plan(args, to)
    with store.reader(args.db) as con:
        q = query_from_args(con, args, defs)
        messages = [
            (who, recipients, digest.build(con, access.scoped(q, who), defs, sender=sender,
                                           recipients=recipients))
            for who, recipients in plan
        ]  # fmt: skip
    for who, recipients, msg in messages:
        if args.output:
            out = args.output if len(messages) == 1 else _per_recipient(args.output, recipients[0])
            n = digest.write_eml(msg, out)
            print(f"wrote {out} ({n:,} bytes, scope: {who.scope.label})", file=sys.stderr)
        if settings:
            digest.send(msg, settings)
            print(
                f"sent to {', '.join(recipients)} via {settings.host}:{settings.port} "
                f"(scope: {who.scope.label})",
                file=sys.stderr,
            )
        access.record(args.db, args.access, "export", f"digest to {', '.join(recipients)}",
                      who.scope.label)  # fmt: skip
    return 0


def digest_plan(
    args: argparse.Namespace, recipients: list[str]
) -> list[tuple[access.Access, list[str]]]:
    """Who gets which digest: each recipient what the app would show them.

    A recipient the access file grants gets their grant's scope; recipients sharing a scope
    share one message. One not granted gets nothing when sign-in is on (deny by default,
    and the command says so) and the full digest when the app runs open. With `--as USER`
    every recipient gets that user's digest.
    """
    policy = access.load()
    if getattr(args, "as_user", None):
        return [(args.access, recipients)]
    groups: dict[access.Access, list[str]] = {}
    for email in recipients:
        who = policy.user(email)
        if who.denied and policy.sign_in:
            print(f"not sent to {email}: the access file grants them nothing", file=sys.stderr)
            continue
        key = (
            args.access if who.denied else access.Access(who.grant, who.role, who.scope, who.grant)
        )
        groups.setdefault(key, []).append(email)
    if not groups:
        raise StewardError("no recipient has a grant in the access file; nothing was sent")
    return list(groups.items())


def _per_recipient(path: Path, email: str) -> Path:
    """digest.eml -> digest.vp.emea_at_northwind.example.eml (one file per recipient)."""
    safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in email.replace("@", "_at_"))
    return path.with_name(f"{path.stem}.{safe}{path.suffix}")
