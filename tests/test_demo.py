"""The demo dataset: deterministic, well-formed, and loadable through the store."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from steward import definitions, demo, periods, store
from steward.cli import main
from steward.demo import frames, simulate
from steward.errors import StewardError

END = date(2026, 11, 20)
SMALL = {"seed": 3, "end_date": END, "opportunities": 300, "weeks": 20}


@pytest.fixture(scope="module")
def small() -> demo.DemoData:
    return demo.generate(**SMALL)


@pytest.fixture(scope="module")
def defs() -> definitions.Definitions:
    return definitions.load()


def test_same_arguments_give_identical_frames(small: demo.DemoData) -> None:
    again = demo.generate(**SMALL)
    for name in ("snapshots", "targets", "touches", "leads"):
        pd.testing.assert_frame_equal(getattr(small, name), getattr(again, name))
    assert again.special == small.special


def test_another_seed_gives_other_data(small: demo.DemoData) -> None:
    other = demo.generate(**{**SMALL, "seed": 4})
    assert not other.snapshots.equals(small.snapshots)


def test_columns_and_types_are_canonical(small: demo.DemoData) -> None:
    s = small.snapshots
    assert list(s.columns) == list(store.SNAPSHOT_COLUMNS)
    assert list(small.targets.columns) == list(store.TARGET_COLUMNS)
    assert list(small.touches.columns) == list(store.TOUCH_COLUMNS)
    assert list(small.leads.columns) == list(store.LEAD_COLUMNS)
    assert str(s["snapshot_date"].dtype) == "date32[day][pyarrow]"
    assert str(s["amount"].dtype) == "decimal128(18, 2)[pyarrow]"
    assert str(s["probability"].dtype) == "double[pyarrow]"
    assert str(s["is_closed"].dtype) == "bool[pyarrow]"


def test_weekly_calendar_with_exactly_one_missing_week(small: demo.DemoData) -> None:
    # 20 weekly dates ending on Friday 2026-11-20; week index 20 // 2 = 10 is missing:
    # 2026-11-20 - 7 * (19 - 10) days = 2026-09-18.
    calendar = [END - timedelta(days=7 * k) for k in range(19, -1, -1)]
    assert small.missing_date == date(2026, 9, 18)
    assert small.snapshot_dates == [d for d in calendar if d != small.missing_date]
    seen = sorted(set(small.snapshots["snapshot_date"]))
    assert seen == small.snapshot_dates
    assert END.weekday() == 4  # a Friday


def test_sizes_are_honoured(small: demo.DemoData) -> None:
    assert small.snapshots["opportunity_id"].nunique() == 300
    assert len(small.snapshot_dates) == 19


def test_no_duplicate_ids_within_a_snapshot(small: demo.DemoData) -> None:
    s = small.snapshots
    assert not s.duplicated(["snapshot_date", "opportunity_id"]).any()
    # rows come ordered like the store keeps them
    key = list(zip(s["snapshot_date"], s["opportunity_id"], strict=True))
    assert key == sorted(key)


def test_values_are_governed(small: demo.DemoData, defs: definitions.Definitions) -> None:
    s = small.snapshots
    assert set(s["stage"]) <= set(defs.stage_names)
    assert s["probability"].between(0, 1).all()
    assert set(s["forecast_category"]) <= set(defs.forecast_categories)
    assert set(s["segment"]) == {"Enterprise", "Mid-Market", "SMB"}
    assert set(s["source"]) <= {
        "Marketing",
        "SDR Outbound",
        "Partner",
        "AE Self-sourced",
        "Customer Expansion",
    }
    closed = s[s["is_closed"]]
    assert set(closed["stage"]) <= {"Closed Won", "Closed Lost"}
    assert (closed["is_won"] == (closed["stage"] == "Closed Won")).all()
    assert set(closed.loc[closed["is_won"], "forecast_category"]) == {"Closed"}
    assert set(closed.loc[~closed["is_won"], "forecast_category"]) == {"Omitted"}
    assert closed.loc[~closed["is_won"], "loss_reason"].notna().all()
    assert s.loc[~s["is_closed"], "loss_reason"].isna().all()
    assert (closed["probability"] == closed["is_won"].astype(float)).all()


def test_closed_deals_stay_closed_unless_reopened(small: demo.DemoData) -> None:
    s = small.snapshots.sort_values(["opportunity_id", "snapshot_date"])
    was_closed = s.groupby("opportunity_id")["is_closed"].cummax()
    reopened = set(s.loc[was_closed & ~s["is_closed"], "opportunity_id"])
    assert reopened <= set(small.special["reopened"])
    assert reopened  # the deliberate ones do show up reopened


def test_created_before_first_appearance(small: demo.DemoData) -> None:
    s = small.snapshots
    first_seen = s.groupby("opportunity_id")["snapshot_date"].min()
    created = s.groupby("opportunity_id")["created_date"].first()
    late = set(first_seen.index[created > first_seen])
    assert late <= set(small.special["created_after_close"])


def test_deliberate_problems_are_present(small: demo.DemoData) -> None:
    s = small.snapshots
    problems = ("past_due", "blank_amount", "zero_amount", "vanished", "reopened", "amount_outlier")
    for problem in problems:
        assert small.special[problem], problem
    last = s[s["snapshot_date"] == END].set_index("opportunity_id")
    for oid in small.special["past_due"]:
        assert not last.loc[oid, "is_closed"] and last.loc[oid, "close_date"] < END
    for oid in small.special["blank_amount"]:
        assert pd.isna(last.loc[oid, "amount"])
    for oid in small.special["zero_amount"]:
        assert last.loc[oid, "amount"] == 0
    open_amounts = last.loc[~last["is_closed"], "amount"].dropna().astype(float)
    (outlier,) = small.special["amount_outlier"]
    assert float(last.loc[outlier, "amount"]) > 20 * open_amounts.median()
    for oid in small.special["vanished"]:
        assert oid not in last.index  # gone from the last snapshot ...
        assert not s.loc[s["opportunity_id"] == oid, "is_closed"].any()  # ... never closed


def test_touches_and_leads_are_plausible(small: demo.DemoData) -> None:
    t, leads = small.touches, small.leads
    assert (t["touch_date"] <= END).all()
    assert set(t["channel"]) <= {"Paid Search", "Webinar", "Event", "Content", "Email", "Partner"}
    assert (t["opportunity_id"].notna() | t["account_id"].notna()).all()
    contacted = leads[leads["first_contact_at"].notna()]
    assert (contacted["first_contact_at"] >= contacted["created_at"]).all()
    assert leads["lead_id"].is_unique
    converted = leads[leads["status"] == "Converted"]
    assert converted["opportunity_id"].notna().all()
    assert leads.loc[leads["status"] != "Converted", "opportunity_id"].isna().all()


def test_targets_cover_every_quarter_plus_three(small: demo.DemoData) -> None:
    # Snapshots 2026-07-10 .. 2026-11-20 span FY2026-Q3 and Q4; plus three: 2027-Q1..Q3.
    periods = sorted(set(small.targets["period"]))
    assert periods == ["FY2026-Q3", "FY2026-Q4", "FY2027-Q1", "FY2027-Q2", "FY2027-Q3"]
    assert len(small.targets) == 5 * 3
    assert (small.targets["bookings_target"] > 0).all()


def test_fiscal_helpers_by_hand() -> None:
    d = np.array([simulate.epoch_day(date(2026, 11, 20)), simulate.epoch_day(date(2026, 2, 1))])
    assert [simulate.day_to_date(x) for x in simulate.month_end(d)] == [
        date(2026, 11, 30),
        date(2026, 2, 28),
    ]
    first, last = simulate.quarter_bounds(d, 1)
    assert [simulate.day_to_date(x) for x in first] == [date(2026, 10, 1), date(2026, 1, 1)]
    assert [simulate.day_to_date(x) for x in last] == [date(2026, 12, 31), date(2026, 3, 31)]
    # Fiscal year starting in February: Nov 20 is in Nov-Jan, Feb 1 starts Feb-Apr.
    first, last = simulate.quarter_bounds(d, 2)
    assert [simulate.day_to_date(x) for x in first] == [date(2026, 11, 1), date(2026, 2, 1)]
    assert [simulate.day_to_date(x) for x in last] == [date(2027, 1, 31), date(2026, 4, 30)]


def test_ids_sort_like_their_index() -> None:
    # base62 digits in ASCII order: 61 -> "z", 62 -> "10"
    ids = frames.crm_ids("006", np.array([0, 61, 62, 3843]), 4, "X").to_pylist()
    assert ids == ["0060000X", "006000zX", "0060010X", "00600zzX"]
    assert ids == sorted(ids)


def test_decimal_from_cents() -> None:
    arr = frames.decimal_array(np.array([123456, -5, 0, 7]), np.array([True, True, True, False]))
    assert [None if v is None else str(v) for v in arr.to_pylist()] == [
        "1234.56",
        "-0.05",
        "0.00",
        None,
    ]


def test_week_by_week_frames_equal_the_chunk_frame(small: demo.DemoData) -> None:
    # demo.load builds and imports one week at a time (memory of one week); the rows
    # must be exactly those of several weeks built at once, in the same order, and the
    # whole load exactly generate()'s snapshots.
    plan = demo._Plan(3, END, 300, 20, None)
    chunk = plan.tl.loaded_weeks[:13]
    joined = pd.concat([plan.snapshots([w]) for w in chunk], ignore_index=True)
    pd.testing.assert_frame_equal(joined, plan.snapshots(chunk))
    everything = pd.concat([plan.snapshots([w]) for w in plan.tl.loaded_weeks], ignore_index=True)
    pd.testing.assert_frame_equal(everything, small.snapshots)


def test_load_writes_expected_counts(tmp_path, small: demo.DemoData) -> None:
    db = tmp_path / "demo.duckdb"
    lines: list[str] = []
    summary = demo.load(db, **SMALL, progress=lines.append)
    assert summary.rows == len(small.snapshots)
    assert summary.snapshots == 19
    with store.reader(db) as con:
        n_rows, n_dates, n_opps = con.execute(
            "select count(*), count(distinct snapshot_date), count(distinct opportunity_id) "
            "from snapshots"
        ).fetchone()
        assert (n_rows, n_dates, n_opps) == (len(small.snapshots), 19, 300)
        kinds = con.execute(
            "select kind, count(*) from import_log where outcome = 'committed' group by kind "
            "order by kind"
        ).fetchall()
        # 19 snapshots, one transaction each (like weekly imports)
        assert kinds == [("leads", 1), ("snapshot", 19), ("targets", 1), ("touches", 1)]
        amount = con.execute("select sum(amount) from snapshots").fetchone()[0]
        assert amount == small.snapshots["amount"].sum()
        assert con.execute("select count(*) from leads").fetchone()[0] == len(small.leads)
    assert any("snapshots" in line for line in lines)
    with pytest.raises(StewardError, match="already holds"):
        demo.load(db, **SMALL)
    again = demo.load(db, **{**SMALL, "weeks": 5}, replace=True)
    with store.reader(db) as con:
        assert con.execute("select count(*) from snapshots").fetchone()[0] == again.rows


def test_cli_demo(tmp_path, capsys) -> None:
    db = tmp_path / "cli.duckdb"
    argv = ["demo", "--db", str(db), "--opportunities", "120", "--weeks", "6", "--seed", "5"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "120 opportunities" in out and "5 snapshots" in out
    assert "demo: snapshots" in err
    assert main(argv) == 1
    assert "already holds" in capsys.readouterr().err
    assert main([*argv, "--replace"]) == 0


def test_estimate_rows_matches_generate(small: demo.DemoData) -> None:
    assert demo.estimate_rows(300, 20, seed=3) == len(small.snapshots)
    # 20,000 opportunities -> about 20,000 again when asked for the rows they give
    assert demo.opportunities_for_rows(demo.estimate_rows(20_000)) == 20_000


# ---- the default demo: the story the Board page opens on ------------------------------


@pytest.fixture(scope="module")
def full() -> demo.DemoData:
    return demo.generate()


def _last(data: demo.DemoData) -> pd.DataFrame:
    s = data.snapshots
    return s[s["snapshot_date"] == END]


def test_default_demo_size_and_mix(full: demo.DemoData) -> None:
    s = full.snapshots
    assert s["opportunity_id"].nunique() == 5000
    assert len(full.snapshot_dates) == 103
    first = s.drop_duplicates("opportunity_id")
    shares = first["segment"].value_counts(normalize=True)
    assert 0.45 < shares["SMB"] < 0.55 and 0.13 < shares["Enterprise"] < 0.23
    assert set(first["region"]) == {"North America", "EMEA", "APAC", "LATAM"}
    assert first["owner"].nunique() == 12
    won = _last(full)
    won = won[won["is_won"]].astype({"amount": float})
    medians = won.groupby("segment")["amount"].median()
    assert 100_000 < medians["Enterprise"] < 220_000
    assert 25_000 < medians["Mid-Market"] < 60_000
    assert 7_000 < medians["SMB"] < 18_000


def test_default_demo_current_quarter_story(full: demo.DemoData) -> None:
    last = _last(full).astype({"amount": float})
    in_q = (last["close_date"] >= date(2026, 10, 1)) & (last["close_date"] < date(2027, 1, 1))
    qualified = last["stage"].isin(["Discovery", "Solution", "Proposal", "Negotiation"])
    tgt = full.targets[full.targets["period"] == "FY2026-Q4"].set_index("segment")
    coverage = {}
    for seg in ("Enterprise", "Mid-Market", "SMB"):
        mine = last["segment"] == seg
        open_amt = last.loc[mine & in_q & qualified, "amount"].fillna(0).sum()
        won_amt = last.loc[mine & in_q & last["is_won"], "amount"].fillna(0).sum()
        coverage[seg] = open_amt / (float(tgt.loc[seg, "bookings_target"]) - won_amt)
    # Enterprise a little below the 3.0x goal, the other two at or above it.
    assert 2.0 < coverage["Enterprise"] < 3.0
    assert coverage["Mid-Market"] >= 3.0 and coverage["SMB"] >= 3.0


def test_default_demo_big_deal_pushed_last_week(full: demo.DemoData) -> None:
    (big,) = full.special["big_pushed"]
    s = full.snapshots
    deal = s[s["opportunity_id"] == big].sort_values("snapshot_date")
    now, before = deal.iloc[-1], deal.iloc[-2]
    assert now["stage"] == "Negotiation" and float(now["amount"]) >= 500_000
    assert before["close_date"] < date(2027, 1, 1) <= now["close_date"]
    quarters = [(d.year, (d.month - 1) // 3) for d in deal["close_date"]]
    moves = sum(b > a for a, b in zip(quarters, quarters[1:], strict=False))
    assert moves >= 3


def test_default_demo_targets_are_plausible(full: demo.DemoData) -> None:
    last = _last(full)
    won = last[last["is_won"]].astype({"amount": float})
    tgt = full.targets.astype({"bookings_target": float})
    total_target = tgt.groupby("period")["bookings_target"].sum()
    quarter = won["close_date"].map(lambda d: f"FY{d.year}-Q{(d.month - 1) // 3 + 1}")
    total_won = won.groupby(quarter)["amount"].sum()
    complete = [p for p in total_target.index if "FY2025-Q1" <= p <= "FY2026-Q3"]
    ratios = [total_won[p] / total_target[p] for p in complete]
    assert len(complete) == 7
    assert 0.9 < float(np.median(ratios)) < 1.1
    assert all(0.65 < r < 1.5 for r in ratios)  # Enterprise makes single quarters lumpy


def test_bad_arguments_leave_an_existing_store_alone(tmp_path) -> None:
    db = tmp_path / "keep.duckdb"
    demo.load(db, seed=1, opportunities=60, weeks=3)
    before = db.read_bytes()
    with pytest.raises(StewardError, match="--weeks"):
        demo.load(db, weeks=1, replace=True)
    assert db.read_bytes() == before


def test_output_does_not_depend_on_the_hash_seed() -> None:
    code = (
        "import hashlib; from steward import demo; "
        "d = demo.generate(seed=2, opportunities=150, weeks=6); "
        "print(hashlib.sha256(b''.join(f.to_csv(index=False).encode() "
        "for f in (d.snapshots, d.targets, d.touches, d.leads))).hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_default_demo_dynamics(full: demo.DemoData) -> None:
    s = full.snapshots.sort_values(["opportunity_id", "snapshot_date"])
    prev = s.groupby("opportunity_id")[["stage", "close_date", "amount"]].shift()
    # losses happen at every open stage, each with a reason
    lost_now = (s["stage"] == "Closed Lost") & prev["stage"].notna() & (prev["stage"] != s["stage"])
    lost_from = prev.loc[lost_now, "stage"]
    assert set(lost_from) == {"Prospecting", "Discovery", "Solution", "Proposal", "Negotiation"}
    assert s.loc[lost_now, "loss_reason"].notna().all()
    # close dates pushed (some deals 3+ times), amounts changed both ways
    pushed = (s["close_date"] > prev["close_date"]) & ~s["is_closed"]
    pushes = pushed.groupby(s["opportunity_id"]).sum()
    assert (pushes >= 3).sum() >= 20
    changed = s["amount"].notna() & prev["amount"].notna()
    assert (s.loc[changed, "amount"] > prev.loc[changed, "amount"]).sum() > 100
    assert (s.loc[changed, "amount"] < prev.loc[changed, "amount"]).sum() > 100
    # quarter-end effect: about a third of wins land in a quarter's last two weeks
    last = _last(full)
    won = last[last["is_won"] & (last["close_date"] < date(2026, 10, 1))]
    quarter_end = won["close_date"].map(lambda d: periods.quarter_of(d).end)  # exclusive end
    days_left = (pd.to_datetime(quarter_end) - pd.to_datetime(won["close_date"])).dt.days
    assert 0.25 < (days_left <= 14).mean() < 0.45


def test_default_demo_speed_to_lead_around_sla(full: demo.DemoData) -> None:
    leads = full.leads
    hours = (leads["first_contact_at"] - leads["created_at"]).dt.total_seconds() / 3600
    assert 12 < hours.median() < 30
    assert 0.4 < (hours.dropna() <= 24).mean() < 0.75
    by_owner = hours.groupby(leads["owner"]).median()
    assert by_owner.min() < 12 and by_owner.max() > 30  # some SDRs fast, some slow
