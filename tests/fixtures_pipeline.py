"""A tiny hand-built pipeline whose every number can be worked out on paper.

Four snapshots: 2026-10-19, 2026-11-02 (A), 2026-11-09 (PREV), 2026-11-16 (B = AS_OF).
The week of 2026-10-26 is missing on purpose. Period: FY2026-Q4 = 2026-10-01 .. 2026-12-31
(fiscal year starts in January). Default definitions: Prospecting 10% (not qualified),
Discovery 20% (qualified from here), Solution 40%, Proposal 60%, Negotiation 80%.

Deals (A = 2026-11-02 -> B = 2026-11-16; the waterfall bucket each one lands in):

    O01 Enterprise/NA/Alice/Marketing  A Proposal 90,000 Q4   -> B Closed Won 100,000 (11-10)  Won 90,000
    O02 Mid-Market/EMEA/Bob/SDR        A Solution 50,000 Q4   -> B Closed Lost 50,000 (11-12)  Lost 50,000
    O03 Enterprise/NA/Alice/Partner    A Negotiation 200,000 12-15 -> B same, close 2027-04-20  Pushed out 200,000
                                       (close quarter Q3 10-19 -> Q4 11-02 -> FY27Q1 11-09 -> FY27Q2 11-16: 3 pushes)
    O04 SMB/NA/Carol/Marketing         A Discovery 20,000     -> B Prospecting 20,000          Disqualified 20,000
    O05 SMB/EMEA/Carol/Web             A Solution 30,000 (also 11-09) -> missing in B          Removed 30,000
    O06 Enterprise/EMEA/Bob/AE Self    not in A               -> B Discovery 75,000            New 75,000
    O07 Mid-Market/NA/Alice/Event      A Proposal 40,000 close 2027-02-01 -> B close 12-20      Pulled in 40,000
    O08 Mid-Market/NA/Bob/Marketing    A Prospecting 15,000   -> B Discovery 15,000            Qualified 15,000
    O09 SMB/NA/Carol/Partner           A Closed Lost 10,000 (10-15) -> B Solution 12,000 12-01 Reopened 12,000
                                       (created 2026-12-05: after its close date)
    O10 Enterprise/NA/Alice/Marketing  A Solution 60,000      -> B Proposal 80,000, p 0.9      Increased +20,000
    O11 Mid-Market/EMEA/Bob/SDR        A Negotiation 45,000   -> B 35,000, close 11-10 (past)  Decreased -10,000
    O12 SMB/NA/Carol/Inbound           Discovery, amount and probability null, unchanged       (no change)
    O13 Enterprise -> Mid-Market/NA/Alice/Marketing  Solution 100,000 unchanged otherwise      (no change)
    O14 SMB/EMEA/Carol/Web             only in B: stage 'Legal Review' (unknown), 8,000        (not pipeline)
    O15 Enterprise/EMEA/Bob/Partner    A Proposal 25,000 Q4   -> B Closed Won 25,000 (2027-01-05) Won 25,000
    O16 Enterprise/NA/Alice/Partner    Discovery 22,000 12-31, unchanged since 10-19            (no change)
    O17 SMB/NA/Carol/Partner           Closed Lost 5,000 (2026-09-10), unchanged since 10-19    (closed: never
                                       pipeline, never stale)

Targets: FY2026-Q4 All 600,000, Enterprise 80,000 (already met by O01), Mid-Market 200,000;
FY2027-Q1 Enterprise 50,000 only (no 'All' row, so All = sum of segment rows).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from steward import store
from steward.store import SNAPSHOT_COLUMNS, TARGET_COLUMNS

D0 = date(2026, 10, 19)
A = date(2026, 11, 2)
PREV = date(2026, 11, 9)
B = AS_OF = date(2026, 11, 16)
PERIOD = "FY2026-Q4"

# id: (segment, region, owner, source, product, created)
ATTRS = {
    "O01": ("Enterprise", "NA", "Alice", "Marketing", "Core", "2026-06-01"),
    "O02": ("Mid-Market", "EMEA", "Bob", "SDR Outbound", "Core", "2026-07-01"),
    "O03": ("Enterprise", "NA", "Alice", "Partner", "Core", "2026-05-01"),
    "O04": ("SMB", "NA", "Carol", "Marketing", "Core", "2026-09-01"),
    "O05": ("SMB", "EMEA", "Carol", "Web", "Core", "2026-09-20"),
    "O06": ("Enterprise", "EMEA", "Bob", "AE Self-sourced", "Core", "2026-11-12"),
    "O07": ("Mid-Market", "NA", "Alice", "Event", "Core", "2026-08-01"),
    "O08": ("Mid-Market", "NA", "Bob", "Marketing", "Core", "2026-10-01"),
    "O09": ("SMB", "NA", "Carol", "Partner", "Core", "2026-12-05"),
    "O10": ("Enterprise", "NA", "Alice", "Marketing", "Analytics", "2026-04-01"),
    "O11": ("Mid-Market", "EMEA", "Bob", "SDR Outbound", "Core", "2026-06-15"),
    "O12": ("SMB", "NA", "Carol", "Inbound", "Core", "2026-09-15"),
    "O13": ("Enterprise", "NA", "Alice", "Marketing", "Analytics", "2026-07-20"),
    "O14": ("SMB", "EMEA", "Carol", "Web", "Core", "2026-10-20"),
    "O15": ("Enterprise", "EMEA", "Bob", "Partner", "Core", "2026-08-10"),
    "O16": ("Enterprise", "NA", "Alice", "Partner", "Core", "2026-08-01"),
    "O17": ("SMB", "NA", "Carol", "Partner", "Core", "2026-03-01"),
}

# (id, stage, amount, probability, forecast_category, close_date[, segment override])
Row = tuple

SNAP_D0: list[Row] = [
    ("O03", "Negotiation", 200000, 0.8, "Commit", "2026-09-25"),
    ("O10", "Solution", 60000, 0.4, "Pipeline", "2026-12-01"),
    ("O12", "Discovery", None, None, "Pipeline", "2026-12-20"),
    ("O16", "Discovery", 22000, 0.2, "Pipeline", "2026-12-31"),
    ("O17", "Closed Lost", 5000, 0.0, "Omitted", "2026-09-10"),
]
SNAP_A: list[Row] = [
    ("O01", "Proposal", 90000, 0.6, "Commit", "2026-11-20"),
    ("O02", "Solution", 50000, 0.4, "Pipeline", "2026-12-01"),
    ("O03", "Negotiation", 200000, 0.8, "Commit", "2026-12-15"),
    ("O04", "Discovery", 20000, 0.2, "Pipeline", "2026-12-10"),
    ("O05", "Solution", 30000, 0.4, "Pipeline", "2026-12-05"),
    ("O07", "Proposal", 40000, 0.6, "Best Case", "2027-02-01"),
    ("O08", "Prospecting", 15000, 0.1, "Pipeline", "2026-12-05"),
    ("O09", "Closed Lost", 10000, 0.0, "Omitted", "2026-10-15"),
    ("O10", "Solution", 60000, 0.4, "Pipeline", "2026-12-01"),
    ("O11", "Negotiation", 45000, 0.8, "Commit", "2026-11-10"),
    ("O12", "Discovery", None, None, "Pipeline", "2026-12-20"),
    ("O13", "Solution", 100000, 0.4, "Best Case", "2026-12-10"),
    ("O15", "Proposal", 25000, 0.6, "Commit", "2026-12-20"),
    ("O16", "Discovery", 22000, 0.2, "Pipeline", "2026-12-31"),
    ("O17", "Closed Lost", 5000, 0.0, "Omitted", "2026-09-10"),
]
# PREV = A with O03's close date pushed into FY2027-Q1.
SNAP_PREV: list[Row] = [
    r if r[0] != "O03" else ("O03", "Negotiation", 200000, 0.8, "Commit", "2027-01-10")
    for r in SNAP_A
]
SNAP_B: list[Row] = [
    ("O01", "Closed Won", 100000, 1.0, "Closed", "2026-11-10"),
    ("O02", "Closed Lost", 50000, 0.0, "Omitted", "2026-11-12"),
    ("O03", "Negotiation", 200000, 0.8, "Commit", "2027-04-20"),
    ("O04", "Prospecting", 20000, None, "Pipeline", "2026-12-10"),
    ("O06", "Discovery", 75000, 0.2, "Pipeline", "2026-12-15"),
    ("O07", "Proposal", 40000, 0.6, "Best Case", "2026-12-20"),
    ("O08", "Discovery", 15000, 0.2, "Pipeline", "2026-12-05"),
    ("O09", "Solution", 12000, 0.4, "Pipeline", "2026-12-01"),
    ("O10", "Proposal", 80000, 0.9, "Commit", "2026-12-01"),
    ("O11", "Negotiation", 35000, 0.8, "Commit", "2026-11-10"),
    ("O12", "Discovery", None, None, "Pipeline", "2026-12-20"),
    ("O13", "Solution", 100000, 0.4, "Best Case", "2026-12-10", "Mid-Market"),
    ("O14", "Legal Review", 8000, None, "Pipeline", "2026-12-12"),
    ("O15", "Closed Won", 25000, 1.0, "Closed", "2027-01-05"),
    ("O16", "Discovery", 22000, 0.2, "Pipeline", "2026-12-31"),
    ("O17", "Closed Lost", 5000, 0.0, "Omitted", "2026-09-10"),
]
SNAPSHOTS = {D0: SNAP_D0, A: SNAP_A, PREV: SNAP_PREV, B: SNAP_B}

TARGETS = [
    ("FY2026-Q4", "All", 600000, 400000),
    ("FY2026-Q4", "Enterprise", 80000, None),
    ("FY2026-Q4", "Mid-Market", 200000, None),
    ("FY2027-Q1", "Enterprise", 50000, None),
]

CLOSED = {"Closed Won": (True, True), "Closed Lost": (True, False)}


def snapshot_rows(snapshot_date: date, rows: list[Row]) -> list[dict]:
    out = []
    for r in rows:
        oid, stage, amount, prob, fc, close = r[:6]
        seg, region, owner, source, product, created = ATTRS[oid]
        if len(r) > 6:
            seg = r[6]
        is_closed, is_won = CLOSED.get(stage, (False, False))
        out.append(
            {
                "snapshot_date": snapshot_date,
                "opportunity_id": oid,
                "opportunity_name": f"Deal {oid}",
                "account_id": f"A{oid[1:]}",
                "account_name": f"Account {oid}",
                "segment": seg,
                "region": region,
                "owner": owner,
                "source": source,
                "lead_source": None,
                "stage": stage,
                "amount": None if amount is None else Decimal(amount),
                "currency": "USD",
                "probability": prob,
                "forecast_category": fc,
                "close_date": date.fromisoformat(close),
                "created_date": date.fromisoformat(created),
                "is_closed": is_closed,
                "is_won": is_won,
                "loss_reason": "Price" if stage == "Closed Lost" else None,
                "product": product,
            }
        )
    return out


def canonical(row: dict, **defaults: object) -> dict:
    """A full snapshot row from the columns a test sets: closed and won from the stage,
    the id as the name, `defaults` for other columns it leaves out, ISO dates parsed."""
    out: dict = {c: None for c in SNAPSHOT_COLUMNS}
    is_closed, is_won = CLOSED.get(row["stage"], (False, False))
    out.update(
        is_closed=is_closed, is_won=is_won, opportunity_name=row["opportunity_id"], **defaults
    )
    out.update(row)
    for c in ("snapshot_date", "close_date", "created_date"):
        if isinstance(out[c], str):
            out[c] = date.fromisoformat(out[c])
    return out


def frame_of(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(SNAPSHOT_COLUMNS))
    return frame.astype({"amount": "object", "probability": "float64"})


def insert_snapshots(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Plain insert in (snapshot_date, opportunity_id) order (no import log, no checks)."""
    frame = frame_of(rows)
    con.register("_fixture", frame)
    cols = ", ".join(SNAPSHOT_COLUMNS)
    casts = ", ".join(f"cast({c} as {t}) as {c}" for c, t in SNAPSHOT_COLUMNS.items())
    con.execute(
        f"insert into snapshots ({cols}, import_id) "
        f"select {casts}, 1 from _fixture order by snapshot_date, opportunity_id"
    )
    con.unregister("_fixture")


def insert_targets(con: duckdb.DuckDBPyConnection, targets: list[tuple]) -> None:
    frame = pd.DataFrame(targets, columns=list(TARGET_COLUMNS))
    con.register("_targets", frame)
    con.execute(
        "insert into targets select period, segment, cast(bookings_target as decimal(18,2)), "
        "cast(pipeline_target as decimal(18,2)) from _targets"
    )
    con.unregister("_targets")


def build(con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """The fixture store: an in-memory DuckDB with the four snapshots and the targets."""
    con = con or store.init_memory()
    rows = [r for d, snap in sorted(SNAPSHOTS.items()) for r in snapshot_rows(d, snap)]
    insert_snapshots(con, rows)
    insert_targets(con, TARGETS)
    return con


def write(path: Path) -> str:
    """The fixture store as a DuckDB file at `path` (for the CLI and the app, which open
    a file); returns the path as the `--db` argument."""
    con = duckdb.connect(str(path))
    store.migrate(con)
    build(con)
    con.close()
    return str(path)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`steward ARGV` in this process: (exit code, stdout, stderr)."""
    from steward.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
