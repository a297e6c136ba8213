"""The dashboard keeps reading while a CLI import runs in another process.

One process imports a larger file with `steward import`; this process reads the store
repeatedly through store.reader (short read-only connections with retry). Every read
succeeds and sees either the old content or the new content, never a partial import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from steward import ingest, store
from steward.definitions import Definitions

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
ROWS = 120_000


def _big_csv(path: Path) -> Decimal:
    """A canonical file of ROWS rows for 2026-11-27; returns its amount total."""
    i = np.arange(ROWS)
    frame = pd.DataFrame(
        {
            "snapshot_date": "2026-11-27",
            "opportunity_id": pd.Series(i).map("OPP{:07d}".format),
            "stage": np.where(i % 3 == 0, "Discovery", "Proposal"),
            "amount": (i % 1000) + 0.25,
            "close_date": "2026-12-31",
            "segment": np.where(i % 2 == 0, "SMB", "Enterprise"),
        }
    )
    frame.to_csv(path, index=False)
    # sum over i of (i % 1000) = 120 blocks * 499500 = 59,940,000; + 0.25 * 120000 = 30,000
    return Decimal("59970000.00")


def _state(db: Path) -> tuple[int, Decimal | None]:
    with store.reader(db, timeout_s=60) as con:
        row = con.execute("select count(*), sum(amount) from snapshots").fetchone()
    assert row is not None
    return int(row[0]), row[1]


@pytest.mark.slow
def test_reads_during_import_in_another_process(tmp_path: Path, defs: Definitions) -> None:
    db = tmp_path / "s.duckdb"
    ingest.commit(db, ingest.prepare(SAMPLES / "salesforce_report_2026-11-20.csv", defs))
    old = _state(db)
    assert old == (6, Decimal("335750.50"))
    big = tmp_path / "big.csv"
    big_total = _big_csv(big)
    new = (6 + ROWS, old[1] + big_total)  # type: ignore[operator]

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "lib"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "steward.cli", "import", str(big), "--db", str(db), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    seen: list[tuple[int, Decimal | None]] = []
    deadline = time.monotonic() + 150
    while proc.poll() is None and time.monotonic() < deadline:
        seen.append(_state(db))
        time.sleep(0.02)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    seen.append(_state(db))
    assert len(seen) >= 3
    assert set(seen) <= {old, new}, set(seen)
    assert seen[0] == old and seen[-1] == new
