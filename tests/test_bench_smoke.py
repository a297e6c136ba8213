"""The benchmark's code path at a tiny size (not a timing test)."""

from __future__ import annotations

import json
from datetime import timedelta

from bench import run as bench
from steward.metrics import REGISTRY


def test_bench_runs_end_to_end(tmp_path, capsys):
    db, out = tmp_path / "b.duckdb", tmp_path / "b.json"
    argv = ["--opportunities", "200", "--weeks", "8", "--repeat", "1"]
    assert bench.main([*argv, "--db", str(db), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for heading in ("as-of metrics", "history-wide metrics", "page bundles", "append one weekly"):
        assert heading in text
    data = json.loads(out.read_text())
    # Every registered metric is timed, none raised.
    assert {m["name"] for m in data["metrics"]} == set(REGISTRY)
    assert [m["name"] for m in data["metrics"] if m["error"]] == []
    assert [p["name"] for p in data["pages"]] == list(bench.PAGES)
    assert all(p["error"] is None for p in data["pages"])
    # The naive SQL on the raw table gives the same answers as the derived tables.
    assert [n["metric"] for n in data["naive"]] == [
        "win_rate_count",
        "funnel_cohort",
        "time_in_stage",
        "waterfall_trend",
    ]
    assert all(n.get("same_answer") is True for n in data["naive"]), data["naive"]
    assert data["rows"] > 0 and data["append_rows"] > 0 and data["append_ms"] > 0
    assert data["peak_rss_mb"] > 0
    assert not db.exists()  # removed without --keep


def test_next_week_frame_moves_some_deals(tmp_path):
    from steward import store
    from steward.demo import load

    db = tmp_path / "n.duckdb"
    load(db, opportunities=100, weeks=4)
    with store.reader(db) as con:
        last = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
        before = con.execute(
            "select opportunity_id, stage from snapshots where snapshot_date = ? order by 1",
            [last],
        ).fetchall()
        frame = bench.next_week_frame(con)
    # Same deals a week later; every 7th open deal (row 0, 7, 14 ...) one stage further.
    assert len(frame) == len(before)
    assert {d.date() for d in frame.snapshot_date} == {last + timedelta(days=7)}
    moved = sum(1 for (_, s), s2 in zip(before, frame.stage, strict=True) if s != s2)
    assert moved > 0
