"""A hand-built history: eight deals over four weekly snapshots of FY2026-Q4.

Definitions: the shipped defaults (Prospecting 0, Discovery 1 = qualified, Solution 2,
Proposal 3, Negotiation 4; Closed Won reaches every stage; marketing includes Inbound,
not Outbound or Partner). P = FY2026-Q4 = [2026-10-01, 2027-01-01). Probability is left
blank everywhere, so weighted amounts use the stage defaults (.2 .4 .6 .8).

    S1 = 2026-10-05, S2 = 2026-10-12, S3 = 2026-10-19, S4 = 2026-10-26

deal seg  source   created     S1                    S2                    S3                    S4
A    Ent  Inbound  2026-10-01  Discovery 100 11-15   Solution 100 11-15    Proposal 120 11-15    Won 120 10-26
B    Ent  Outbound 2026-09-01  Solution 200 12-01    Solution 200 01-15*   Solution 200 01-15*   Lost 200 10-26
C    Ent  Inbound  2026-10-02  Prospecting 50 12-10  Prospecting 50 12-10  Lost 50 10-19         Lost 50 10-19
D    Ent  Partner  2026-08-01  Proposal 300 11-30    (missing)             Proposal 300 11-30    Negotiation 300 11-30
E    SMB  Outbound 2026-07-01  Lost 80 10-02         Lost 80 10-02         Discovery 80 12-15    Discovery 90 12-15
F    SMB  Inbound  2026-10-10  (not yet)             Discovery 40 12-20    Discovery 40 02-01*   Discovery 40 04-10*
G    SMB  Partner  2026-06-01  Negotiation 500 10-10 Won 500 10-09         Won 500 10-09         Won 500 10-09
H    SMB  Outbound 2026-10-03  Prospecting 60 12-31  Discovery 60 12-31    Discovery 60 12-31    Prospecting 60 12-31

(* = close date in 2027: B 2027-01-15; F 2027-02-01 then 2027-04-10.)
Targets FY2026-Q4 'All': bookings 1000, pipeline 2000.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from steward import store

S1, S2, S3, S4 = date(2026, 10, 5), date(2026, 10, 12), date(2026, 10, 19), date(2026, 10, 26)
DATES = (S1, S2, S3, S4)

DEALS = {  # id: (segment, source, created)
    "A": ("Enterprise", "Inbound", date(2026, 10, 1)),
    "B": ("Enterprise", "Outbound", date(2026, 9, 1)),
    "C": ("Enterprise", "Inbound", date(2026, 10, 2)),
    "D": ("Enterprise", "Partner", date(2026, 8, 1)),
    "E": ("SMB", "Outbound", date(2026, 7, 1)),
    "F": ("SMB", "Inbound", date(2026, 10, 10)),
    "G": ("SMB", "Partner", date(2026, 6, 1)),
    "H": ("SMB", "Outbound", date(2026, 10, 3)),
}

Y27 = 2027
STATES: dict[date, dict[str, tuple[str, float, date]]] = {
    S1: {
        "A": ("Discovery", 100, date(2026, 11, 15)),
        "B": ("Solution", 200, date(2026, 12, 1)),
        "C": ("Prospecting", 50, date(2026, 12, 10)),
        "D": ("Proposal", 300, date(2026, 11, 30)),
        "E": ("Closed Lost", 80, date(2026, 10, 2)),
        "G": ("Negotiation", 500, date(2026, 10, 10)),
        "H": ("Prospecting", 60, date(2026, 12, 31)),
    },
    S2: {
        "A": ("Solution", 100, date(2026, 11, 15)),
        "B": ("Solution", 200, date(Y27, 1, 15)),
        "C": ("Prospecting", 50, date(2026, 12, 10)),
        "E": ("Closed Lost", 80, date(2026, 10, 2)),
        "F": ("Discovery", 40, date(2026, 12, 20)),
        "G": ("Closed Won", 500, date(2026, 10, 9)),
        "H": ("Discovery", 60, date(2026, 12, 31)),
    },
    S3: {
        "A": ("Proposal", 120, date(2026, 11, 15)),
        "B": ("Solution", 200, date(Y27, 1, 15)),
        "C": ("Closed Lost", 50, date(2026, 10, 19)),
        "D": ("Proposal", 300, date(2026, 11, 30)),
        "E": ("Discovery", 80, date(2026, 12, 15)),
        "F": ("Discovery", 40, date(Y27, 2, 1)),
        "G": ("Closed Won", 500, date(2026, 10, 9)),
        "H": ("Discovery", 60, date(2026, 12, 31)),
    },
    S4: {
        "A": ("Closed Won", 120, date(2026, 10, 26)),
        "B": ("Closed Lost", 200, date(2026, 10, 26)),
        "C": ("Closed Lost", 50, date(2026, 10, 19)),
        "D": ("Negotiation", 300, date(2026, 11, 30)),
        "E": ("Discovery", 90, date(2026, 12, 15)),
        "F": ("Discovery", 40, date(Y27, 4, 10)),
        "G": ("Closed Won", 500, date(2026, 10, 9)),
        "H": ("Prospecting", 60, date(2026, 12, 31)),
    },
}


def frame_for(
    d: date,
    states: dict[str, tuple[str, float, date]] | None = None,
    deals: dict[str, tuple[str, str, date]] | None = None,
) -> pd.DataFrame:
    """The canonical snapshot frame of date d (states/deals default to the table above)."""
    rows = []
    for oid, (stage, amount, close) in sorted((states or STATES[d]).items()):
        segment, source, created = (deals or DEALS)[oid]
        rows.append(
            {
                "snapshot_date": pd.Timestamp(d),
                "opportunity_id": oid,
                "opportunity_name": f"Deal {oid}",
                "account_id": f"acc-{oid}",
                "account_name": f"Account {oid}",
                "segment": segment,
                "region": "NA",
                "owner": "Rep 1",
                "source": source,
                "lead_source": source,
                "stage": stage,
                "amount": amount,
                "currency": "USD",
                "probability": None,
                "forecast_category": "Pipeline",
                "close_date": pd.Timestamp(close),
                "created_date": pd.Timestamp(created),
                "is_closed": stage.startswith("Closed"),
                "is_won": stage == "Closed Won",
                "loss_reason": None,
                "product": "Core",
            }
        )
    frame = pd.DataFrame(rows)
    frame["probability"] = frame["probability"].astype("float64")
    frame["loss_reason"] = frame["loss_reason"].astype("object")
    return frame


def store_of_paths(
    paths: list[list[str | None]], segments: list[str] | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory store of deals X0, X1, ... each following its path of stages over
    DATES (None: not in that snapshot), amount 10 × (n + 1), closing 1 Dec 2026, created
    1 Oct 2026, from Inbound, in `segments[n]` (default SMB): one import per date."""
    con = store.init_memory()
    for i, d in enumerate(DATES):
        states = {
            f"X{n}": (path[i], 10 * (n + 1), date(2026, 12, 1))
            for n, path in enumerate(paths)
            if path[i] is not None
        }
        if states:
            deals = {
                k: (segments[int(k[1:])] if segments else "SMB", "Inbound", date(2026, 10, 1))
                for k in states
            }
            store.commit_snapshots(con, frame_for(d, states, deals), file_name=f"{d}")
    return con


def build(one_by_one: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory store with S1..S4 (imported one snapshot at a time) and the targets."""
    con = store.init_memory()
    if one_by_one:
        for d in DATES:
            store.commit_snapshots(con, frame_for(d), file_name=f"{d}.csv")
    else:
        allf = pd.concat([frame_for(d) for d in DATES], ignore_index=True)
        store.commit_snapshots(con, allf, file_name="all.csv")
    targets = pd.DataFrame(
        [
            {
                "period": "FY2026-Q4",
                "segment": "All",
                "bookings_target": 1000,
                "pipeline_target": 2000,
            }
        ]
    )
    store.commit_table(con, "targets", targets, file_name="targets.csv")
    return con
