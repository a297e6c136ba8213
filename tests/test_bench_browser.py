"""`make bench-browser` end to end at a tiny size (its code path, not a timing test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, ROOT, small_store
from system_tools import require

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_browser_bench_times_a_page_and_merges_into_the_bench_json(tmp_path: Path) -> None:
    require(Path(CHROMIUM).exists(), "Debian chromium is not installed (make system-deps)")
    db = small_store(tmp_path / "steward.duckdb")
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"rows": 123}))  # what `make bench` wrote before
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.browser",
            "--db",
            str(db),
            "--pages",
            "board",
            "--runs",
            "2",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(out.read_text())
    assert data["rows"] == 123  # merged, not overwritten
    board = data["browser"]["pages"]["board"]
    assert board["error"] is None
    # the script's run is on screen before (or when) the page is settled
    assert 0 < board["cold_run_ms"] <= board["cold_ms"]
    assert board["cold_cached_ms"] > 0  # the second server's first visit, cache warm
    assert len(board["filter_ms"]) == 2 and len(board["filter_run_ms"]) == 2
    assert all(0 < s <= t for s, t in zip(board["filter_run_ms"], board["filter_ms"], strict=True))
    assert board["filter_median_ms"] == sum(board["filter_ms"]) / 2
    assert len(data["browser"]["load_average_start"]) == 3
    assert "board" in done.stdout


def test_the_charts_the_browser_bench_waits_for_are_the_charts_each_page_draws() -> None:
    """bench.browser waits for each page's charts by count (a chart mounts only once its
    code has arrived); the Plotly counts are the ones the pages draw in AppTest."""
    from test_app_pages import PAGES as DRAWN

    from bench.browser import PAGES

    named = {"board": "board_story"}
    for page, (_, plotly) in PAGES.items():
        if named.get(page, page) in DRAWN:
            assert plotly == DRAWN[named.get(page, page)], page
    assert PAGES["board"][1] == 2  # coverage and the bridge
