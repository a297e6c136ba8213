"""Import throughput: a 1M-row CSV and a 1M-row Parquet file, prepare + commit timed.

    .venv/bin/python bench/import_throughput.py [--rows 1000000] [--dir /tmp/steward-bench]

Writes the generated files and a scratch store under --dir (never in the repo) and prints
rows/s for parsing+validation (prepare) and for the store transaction (commit).
The CSV is deliberately messy-ish: M/D/YYYY close dates, "$1,234.50" amounts, Salesforce
stage names that go through aliases.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from steward import definitions, derived, ingest

STAGES = [
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
]


def generate(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    i = np.arange(rows)
    close = pd.Timestamp("2026-11-20") + pd.to_timedelta(rng.integers(-90, 270, rows), "D")
    created = pd.Timestamp("2026-11-20") - pd.to_timedelta(rng.integers(1, 400, rows), "D")
    amount = rng.integers(1_000, 500_000_00, rows) / 100
    return pd.DataFrame(
        {
            "opportunity_id": pd.Series(i).map("006{:012d}".format),
            "opportunity_name": pd.Series(i).map("Deal {}".format),
            "account_name": pd.Series(i % 20_000).map("Account {}".format),
            "segment": np.array(["Enterprise", "Mid-Market", "SMB"])[i % 3],
            "region": np.array(["NA", "EMEA", "APAC", "LATAM"])[i % 4],
            "owner": pd.Series(i % 150).map("Rep {}".format),
            "source": np.array(["Marketing", "SDR Outbound", "Partner", "AE Self-sourced", "Web"])[
                i % 5
            ],
            "stage": np.array(STAGES)[rng.integers(0, len(STAGES), rows)],
            "amount": amount,
            "close_date": close,
            "created_date": created,
        }
    )


def timed(label: str, rows: int, fn):  # type: ignore[no-untyped-def]
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{label:<28} {dt:7.2f} s  {rows / dt:>10,.0f} rows/s   (cpu {cpu:6.2f} s)")
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/steward-bench"))
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    defs = definitions.load()
    frame = generate(args.rows)
    csv_path = args.dir / "opportunities_2026-11-20.csv"
    messy = frame.assign(
        close_date=frame["close_date"].dt.strftime("%-m/%-d/%Y"),
        created_date=frame["created_date"].dt.strftime("%Y-%m-%d"),
        amount=frame["amount"].map("${:,.2f}".format),
    )
    messy.to_csv(csv_path, index=False)
    pq_path = args.dir / "opportunities_2026-11-27.parquet"
    frame.assign(snapshot_date=pd.Timestamp("2026-11-27")).to_parquet(pq_path, index=False)
    print(
        f"{args.rows:,} rows; CSV {csv_path.stat().st_size / 1e6:.0f} MB, "
        f"Parquet {pq_path.stat().st_size / 1e6:.0f} MB"
    )
    db = args.dir / "bench.duckdb"
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    spent = {"derived": 0.0}
    refresh = derived.refresh

    def timed_refresh(con, dates):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        refresh(con, dates)
        spent["derived"] += time.perf_counter() - t0

    derived.refresh = timed_refresh  # commit_snapshots looks it up at call time
    for label, path in (("csv", csv_path), ("parquet", pq_path)):
        prepared = timed(
            f"{label}: prepare (parse+check)",
            args.rows,
            lambda path=path: ingest.prepare(path, defs, preset="canonical"),
        )
        assert prepared.ok, prepared.summary()
        spent["derived"] = 0.0
        timed(f"{label}: commit (transaction)", args.rows, lambda p=prepared: ingest.commit(db, p))
        print(f"{'':<28} of which derived.refresh {spent['derived']:.2f} s")
    with open("/proc/loadavg") as fh:
        print("load average:", fh.read().split()[:3])


if __name__ == "__main__":
    main()
