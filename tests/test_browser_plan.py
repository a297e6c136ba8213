"""The Scenario planner and Maturity scorecard in a real headless Chromium.

Its own server and small demo store (saving a scenario writes to it). Each check waits
for the condition (chart data, a heading) with a generous timeout, never a fixed time;
screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    ROOT,
    chromium,
    migrated_store,
    need_chromium,
    streamlit_server,
)

from steward import definitions, store
from steward.maturity import scorecard
from steward.metrics import Query, compute, current_period

pytestmark = [pytest.mark.browser, pytest.mark.slow]

pytest.importorskip("playwright.sync_api")

SHOTS = ROOT / "artifacts" / "screenshots"
DEFS = definitions.load()
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_chromium()
    return migrated_store(tmp_path_factory.mktemp("browser_plan") / "steward.duckdb")


@pytest.fixture(scope="module")
def server(db: Path) -> Iterator[str]:
    with streamlit_server(db) as url:
        yield url


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Any]:
    with chromium() as b:
        yield b.new_page(viewport={"width": 1600, "height": 2400})


def q_of(db: Path) -> Query:
    with store.reader(db) as con:
        last = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
    return Query(as_of=last, period=current_period(last, DEFS))


def figure_x(pg: Any, title: str, trace: int) -> list[float] | None:
    """x of one trace of the plot whose title starts with `title` (None until drawn)."""
    result: list[float] | None = pg.evaluate(
        """([title, trace]) => {
             const g = Array.from(document.querySelectorAll('.js-plotly-plot')).find(
               g => ((g.layout || {}).title || {}).text?.startsWith(title));
             return g && g.data && g.data[trace] ? Array.from(g.data[trace].x) : null; }""",
        [title, trace],
    )
    return result


def wait_x(pg: Any, title: str, trace: int, want: list[float]) -> None:
    pg.wait_for_function(
        """([title, trace, want]) => {
             const g = Array.from(document.querySelectorAll('.js-plotly-plot')).find(
               g => ((g.layout || {}).title || {}).text?.startsWith(title));
             if (!g || !g.data || !g.data[trace]) return false;
             const x = Array.from(g.data[trace].x);
             return x.length === want.length && x.every((v, i) => Math.abs(v - want[i]) < 0.005);
           }""",
        arg=[title, trace, want],
        timeout=TIMEOUT_MS,
    )


def test_whatif_in_the_browser_and_save(server: str, page: Any, db: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    q = q_of(db)
    page.goto(f"{server}/scenario_planner")
    page.get_by_role("heading", name="Pipeline needed by source").wait_for(timeout=TIMEOUT_MS)
    base = compute_in(db, "forecast_historical", q).value
    wait_x(page, "Forecast range: baseline", 1, [base, base])
    box = page.get_by_label("Close dates move by (days)")
    box.fill("21")
    box.press("Enter")
    want = compute_in(db, "scenario_forecast", q.with_(options=(("cycle_days", 21),))).table
    wait_x(page, "Forecast range: baseline", 1, [float(want["p50"][1]), float(want["p50"][0])])
    page.get_by_label("Save this scenario as").fill("Three weeks slower")
    page.get_by_label("Save this scenario as").press("Enter")
    page.get_by_role("button", name="Save scenario").click()
    # the confirmation itself (the section heading "Saved scenarios beside …" matches a bare
    # "Saved scenario" too, which made this wait ambiguous)
    page.get_by_text("Saved scenario “Three weeks slower”").wait_for(timeout=TIMEOUT_MS)
    wait_x(page, "Saved scenarios", 1, [float(want["p50"][1]), float(want["p50"][0])])
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(SHOTS / "scenario_planner.png"), full_page=True)


def test_maturity_in_the_browser(server: str, page: Any, db: Path) -> None:
    q = q_of(db)
    page.goto(f"{server}/maturity")
    page.get_by_role("heading", name="Maturity scorecard").wait_for(timeout=TIMEOUT_MS)
    placed = scorecard.placements(compute_in(db, "maturity_scorecard", q).table).iloc[::-1]
    want = [0.0 if s is None or str(s) == "<NA>" else float(s) for s in placed["stage"]]
    wait_x(page, "Where each dimension stands", 0, want)
    evidence = page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).find(
               g => g.layout.title.text.startsWith('Where each dimension'))
             .data[0].customdata"""
    )
    assert list(evidence) == list(placed["evidence"])  # the evidence rides with each bar
    page.get_by_role("heading", name="Placement history").wait_for(timeout=TIMEOUT_MS)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(SHOTS / "maturity.png"), full_page=True)


def compute_in(db: Path, metric_id: str, q: Query) -> Any:
    with store.reader(db) as con:
        return compute(con, metric_id, q, DEFS)
