"""Imports are all-or-nothing, replace only when asked, and money reconciles to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward import derived, ingest, store
from steward.definitions import Definitions
from steward.errors import ImportRejected

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
TARGETS = b'period,segment,bookings_target,pipeline_target\nFY2026-Q4,All,"$1,000,000",3000000\n'


def _content(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every user table, ordered: the whole content, not just counts."""
    with store.reader(db) as con:
        return {
            "snapshots": con.execute("select * from snapshots order by all").fetchall(),
            "targets": con.execute("select * from targets order by all").fetchall(),
        }


@pytest.fixture
def loaded(tmp_path: Path, defs: Definitions) -> Path:
    db = tmp_path / "s.duckdb"
    ingest.commit(db, ingest.prepare(SAMPLES / "salesforce_report_2026-11-20.csv", defs))
    ingest.commit(db, ingest.prepare_table("targets", TARGETS, defs, name="t.csv"))
    return db


def test_committed_amounts_are_exact_decimals(loaded: Path) -> None:
    with store.reader(loaded) as con:
        total, n = con.execute("select sum(amount), count(*) from snapshots").fetchone()  # type: ignore[misc]
        target = con.execute("select bookings_target from targets").fetchone()
    # 120000 + 45500.50 + 80250 + 30000 + 60000 (+ one blank) = 335750.50
    assert (total, n) == (Decimal("335750.50"), 6)
    assert target == (Decimal("1000000.00"),)


def test_bad_file_changes_nothing(loaded: Path, defs: Definitions) -> None:
    before = _content(loaded)
    good_rows = "".join(f"2026-11-27,N{i},Discovery,{i},2026-12-31\n" for i in range(500))
    bad = (
        "snapshot_date,opportunity_id,stage,amount,close_date\n"
        + good_rows
        + "2026-11-27,N999,Nonsense,1,2026-12-31\n"
    ).encode()
    prepared = ingest.prepare(bad, defs, name="bad.csv")
    assert prepared.error_count == 1
    with pytest.raises(ImportRejected, match="1 error"):
        ingest.commit(loaded, prepared)
    assert _content(loaded) == before


def test_failure_inside_the_transaction_rolls_back(
    loaded: Path, defs: Definitions, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _content(loaded)

    def boom(con: duckdb.DuckDBPyConnection, dates: list[object]) -> None:
        raise RuntimeError("derived refresh failed")

    monkeypatch.setattr(derived, "refresh", boom)
    p = ingest.prepare(SAMPLES / "hubspot_deals_2026-11-20.csv", defs, snapshot_date="2026-11-27")
    assert p.ok
    # The hubspot sample carries its date in the file name, the argument wins: 2026-11-27.
    with pytest.raises(RuntimeError, match="derived refresh failed"):
        ingest.commit(loaded, p)
    assert _content(loaded) == before
    with store.reader(loaded) as con:
        outcome = con.execute(
            "select outcome from import_log order by import_id desc limit 1"
        ).fetchone()
    assert outcome == ("rejected",)


def test_replace_semantics(loaded: Path, defs: Definitions) -> None:
    other = ingest.prepare(SAMPLES / "Opportunity.csv", defs, snapshot_date="2026-11-27")
    ingest.commit(loaded, other)
    before = _content(loaded)
    again = ingest.prepare(SAMPLES / "hubspot_deals_2026-11-20.csv", defs)  # date 2026-11-20
    with pytest.raises(ImportRejected, match="already loaded: 2026-11-20"):
        ingest.commit(loaded, again)
    assert _content(loaded) == before
    ingest.commit(loaded, again, replace=True)
    with store.reader(loaded) as con:
        rows = con.execute(
            "select snapshot_date::varchar, count(*), sum(amount) from snapshots group by 1 order by 1"
        ).fetchall()
    # 2026-11-20 is now the 4 HubSpot deals (24000 + 12500 + 8000 + blank = 44500);
    # 2026-11-27 (the data export, 4 rows, 275750.50) is untouched.
    assert rows == [("2026-11-20", 4, Decimal("44500.00")), ("2026-11-27", 4, Decimal("275750.50"))]
    with store.reader(loaded) as con:
        ids = [
            r[0]
            for r in con.execute(
                "select opportunity_id from snapshots where snapshot_date = '2026-11-20' order by 1"
            ).fetchall()
        ]
    assert ids == ["9001", "9002", "9003", "9004"]


def test_tables_replace_whole_table_and_reject_bad_periods(loaded: Path, defs: Definitions) -> None:
    new = b"period,segment,bookings_target,pipeline_target\nFY2027-Q1,SMB,10,20\nfy2027-q1,,30,40\n"
    ingest.commit(loaded, ingest.prepare_table("targets", new, defs, name="t2.csv"))
    with store.reader(loaded) as con:
        rows = con.execute("select * from targets order by segment").fetchall()
    assert rows == [
        ("FY2027-Q1", "All", Decimal("30.00"), Decimal("40.00")),
        ("FY2027-Q1", "SMB", Decimal("10.00"), Decimal("20.00")),
    ]
    bad = ingest.prepare_table(
        "targets", b"period,bookings_target\n2027 Q1,5\n", defs, name="t3.csv"
    )
    assert [(e.row, e.column, e.value) for e in bad.errors] == [(2, "period", "2027 Q1")]


def test_touches_and_leads(defs: Definitions) -> None:
    con = store.init_memory()
    touches = b"opportunity_id,account_id,touch_date,channel,campaign,weight\nO1,,11/02/2026,Webinar,W1,\n,A1,2026-11-03,Event,E1,0.5\n"
    ingest.commit(con, ingest.prepare_table("touches", touches, defs, name="touches.csv"))
    assert con.execute(
        "select opportunity_id, account_id, touch_date::varchar, weight from touches order by touch_date"
    ).fetchall() == [
        ("O1", None, "2026-11-02", None),
        (None, "A1", "2026-11-03", 0.5),
    ]
    leads = b"lead_id,created_at,first_contact_at,source\nL1,2026-11-02 09:00:00,11/2/2026 1:30 PM,Web\n"
    ingest.commit(con, ingest.prepare_table("leads", leads, defs, name="leads.csv"))
    assert con.execute(
        "select lead_id, created_at::varchar, first_contact_at::varchar from leads"
    ).fetchall() == [("L1", "2026-11-02 09:00:00", "2026-11-02 13:30:00")]
    bad = ingest.prepare_table(
        "touches",
        b"opportunity_id,account_id,touch_date,channel\n,,2026-11-02,Web\n",
        defs,
        name="t.csv",
    )
    assert [(e.row, e.message) for e in bad.errors] == [
        (2, "a touch needs an opportunity_id or an account_id")
    ]


_STORES: dict[str, duckdb.DuckDBPyConnection] = {}


def _property_store(defs: Definitions) -> duckdb.DuckDBPyConnection:
    if "con" not in _STORES:
        con = store.init_memory()
        ingest.commit(con, ingest.prepare(SAMPLES / "hubspot_deals_2026-11-20.csv", defs))
        _STORES["con"] = con
    return _STORES["con"]


ROW_KINDS = ("good", "unknown_stage", "bad_amount", "bad_date", "blank_amount")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kinds=st.lists(st.sampled_from(ROW_KINDS), min_size=1, max_size=12), dup=st.booleans())
def test_property_import_loads_everything_or_nothing(
    defs: Definitions, kinds: list[str], dup: bool
) -> None:
    con = _property_store(defs)  # shared across examples; each example replaces 2026-11-27
    before = con.execute("select * from snapshots order by all").fetchall()
    lines = ["snapshot_date,opportunity_id,stage,amount,close_date"]
    cents = 0
    for i, kind in enumerate(kinds):
        stage = "Nope" if kind == "unknown_stage" else "Discovery"
        amount = {"bad_amount": "12 apples", "blank_amount": ""}.get(kind, f"{i}.25")
        close = "2026-02-31" if kind == "bad_date" else "2026-12-31"
        lines.append(f"2026-11-27,P{i},{stage},{amount},{close}")
        if kind != "blank_amount":
            cents += i * 100 + 25
    if dup:
        lines.append(lines[1])
    prepared = ingest.prepare(("\n".join(lines) + "\n").encode(), defs, name="p.csv")
    should_fail = dup or any(k in ("unknown_stage", "bad_amount", "bad_date") for k in kinds)
    assert prepared.ok is not should_fail
    if should_fail:
        with pytest.raises(ImportRejected):
            ingest.commit(con, prepared, replace=True)
        assert con.execute("select * from snapshots order by all").fetchall() == before
    else:
        ingest.commit(con, prepared, replace=True)
        got = con.execute(
            "select count(*), coalesce(sum(amount), 0) from snapshots where snapshot_date = '2026-11-27'"
        ).fetchone()
        assert got == (len(kinds), Decimal(cents) / 100)
        untouched = "select * from snapshots where snapshot_date = '2026-11-20' order by all"
        assert con.execute(untouched).fetchall() == [r for r in before if str(r[0]) == "2026-11-20"]


def _optimistic(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("select current_setting('enable_optimistic_write')").fetchall()[0][0])


def _week(n: int, day: str = "2026-12-04") -> pd.DataFrame:
    """n canonical rows of one snapshot: id W000000.., amount i + 0.25, stage Discovery."""
    frame = pd.DataFrame({c: pd.Series([None] * n, dtype="object") for c in store.SNAPSHOT_COLUMNS})
    frame["snapshot_date"] = pd.Timestamp(day)
    frame["opportunity_id"] = [f"W{i:06d}" for i in range(n)]
    frame["opportunity_name"] = [
        f"Deal number {i} for a fairly long account name" for i in range(n)
    ]
    frame["stage"] = "Discovery"
    frame["amount"] = [i + 0.25 for i in range(n)]
    frame["close_date"] = pd.Timestamp("2027-01-29")
    frame["is_closed"] = False
    frame["is_won"] = False
    return frame


def test_a_weekly_import_keeps_its_rows_in_memory_then_restores_the_setting(
    loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    real = derived.refresh

    def spy(con: duckdb.DuckDBPyConnection, dates: list[object]) -> None:
        seen.append(_optimistic(con))  # inside the import's transaction
        real(con, dates)

    monkeypatch.setattr(derived, "refresh", spy)
    with store.writer(loaded) as con:
        assert _optimistic(con)  # DuckDB's default
        store.commit_snapshots(con, _week(3), file_name="w.csv")
        assert _optimistic(con)  # set back after the commit
        # a rejected import (the same date again) sets it back too
        with pytest.raises(ImportRejected, match="already loaded"):
            store.commit_snapshots(con, _week(3), file_name="w.csv")
        assert _optimistic(con)
        # over IN_MEMORY_ROWS, and the parts of an iterable: DuckDB's default
        monkeypatch.setattr(store, "IN_MEMORY_ROWS", 2)
        store.commit_snapshots(con, _week(3, "2026-12-11"), file_name="w.csv")
        store.commit_snapshots(con, iter([_week(1, "2026-12-18")]), file_name="w.csv")
    assert seen == [False, True, True]  # the rejected import stopped before the refresh


def test_rows_kept_in_memory_read_back_the_same_after_the_store_closes(tmp_path: Path) -> None:
    # More rows than a row group (122,880), fewer than IN_MEMORY_ROWS: they go to the
    # write-ahead log at the commit and into the file at the checkpoint on close.
    n = store.ROW_GROUP_ROWS + 1_000
    assert n <= store.IN_MEMORY_ROWS
    db = tmp_path / "w.duckdb"
    with store.writer(db) as con:
        store.commit_snapshots(con, _week(n), file_name="w.csv")
    with store.reader(db) as con:
        got = con.execute(
            "select count(*), count(distinct opportunity_id), sum(amount), "
            "min(opportunity_id), max(opportunity_id), max(opportunity_name) from snapshots"
        ).fetchall()[0]
        facts = con.execute("select count(*), sum(amount) from opp_facts").fetchall()[0]
    # sum of (i + 0.25) for i < n = n(n-1)/2 + n/4 (n = 123,880: 7,673,065,260 + 30,970)
    cents = (n * (n - 1) // 2) * 100 + n * 25
    total = Decimal(cents) / 100
    assert total == Decimal("7673096230.00")
    assert got == (
        n,
        n,
        total,
        "W000000",
        f"W{n - 1:06d}",
        "Deal number 99999 for a fairly long account name",
    )
    assert facts == (n, total)
