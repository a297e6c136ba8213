"""The app in a real headless Chromium (Debian's), driven by Playwright.

Starts `streamlit run dashboard/app.py` on a free port against a small demo store,
visits every page (charts drawn, no exception box, a screenshot of each saved to
artifacts/screenshots/), clicks a funnel bar and a waterfall bucket to get their deals,
and reopens the copied URL to see the same view.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    ROOT,
    chromium,
    demo_server,
    wait_for_charts,
)

from steward import store

pytestmark = [pytest.mark.browser, pytest.mark.slow]


SHOTS = ROOT / "artifacts" / "screenshots"
# url path -> plotly charts drawn on the small demo store
PAGES = {
    "": 2,
    "funnel": 4,
    "forecast": 4,
    "changes": 2,
    "drilldown": 1,
    "marketing": 3,
    "finance": 0,
    "trust": 1,
    "import": 0,
    "scenario_planner": 2,
    "maturity": 1,
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app's base URL and the store it serves."""
    folder = tmp_path_factory.mktemp("browser")
    with demo_server(folder) as url:
        yield url, folder / "steward.duckdb"


@pytest.fixture(scope="module")
def server(served: tuple[str, Path]) -> str:
    return served[0]


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    pg = browser.new_page(viewport={"width": 1600, "height": 2400})
    yield pg
    pg.close()


# [preloads on the page, those hidden (display none, no height)]
PRELOADS_JS = """() => {
  const found = Array.from(document.querySelectorAll('.steward-preload'));
  const hidden = found.filter(e => {
    const box = e.closest('[data-testid="stElementContainer"]');
    return box !== null && getComputedStyle(box).display === 'none' && box.offsetHeight === 0;
  });
  return [found.length, hidden.length];
}"""


def settle(pg: Any, charts: int, timeout_ms: int = 90_000) -> None:
    """The run finished and `charts` figures have their traces drawn (see wait_for_charts)."""
    wait_for_charts(pg, charts, timeout_ms)


def traces(pg: Any) -> list[int]:
    """Number of traces in each drawn Plotly figure (gd.data on the graph div)."""
    return list(
        pg.evaluate(
            "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
            ".map(g => (g.data || []).length)"
        )
    )


def test_every_page_draws_without_errors(server: str, page: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path, n in PAGES.items():
        page.goto(f"{server}/{path}")
        settle(page, n)
        assert page.locator('[data-testid="stException"]').count() == 0, path
        drawn = traces(page)
        assert len(drawn) == n and all(t > 0 for t in drawn), (path, drawn)
        # a page with charts loads their code first (widgets.preload_chart_code), from an
        # element that takes no room on the page; a page without charts has none
        want = 1 if n else 0
        assert page.evaluate(PRELOADS_JS) == [want, want], path
        page.screenshot(path=str(SHOTS / f"{path or 'board'}.png"), full_page=True)


def _click_biggest(page: Any, selector: str, skip_ends: bool = False) -> None:
    """Click the centre of the tallest/widest mark (the drag layer sits on top of it)."""
    marks = page.locator(selector)
    boxes = [marks.nth(i).bounding_box() for i in range(marks.count())]
    order = list(range(len(boxes)))
    if skip_ends:
        order = order[1:-1]
    best = max((i for i in order if boxes[i]), key=lambda i: boxes[i]["height"] * boxes[i]["width"])
    box = boxes[best]
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_click_funnel_bar_shows_deals_and_url_reproduces_it(
    server: str, browser: Any, page: Any
) -> None:
    page.goto(f"{server}/funnel")
    settle(page, 4)
    # The lead chart is the cohort funnel (not clickable); the as-of bars come second.
    lead = page.locator('[data-testid="stPlotlyChart"] >> nth=0')
    lead.locator(".funnellayer .point").nth(1).wait_for(timeout=60_000)  # two stages drawn
    assert lead.locator(".funnellayer .point").count() >= 2
    assert "of top" in lead.inner_text()
    _click_biggest(page, '[data-testid="stPlotlyChart"] >> nth=1 >> .barlayer .point path')
    heading = page.locator("h3", has_text="Open deals in")
    heading.wait_for(timeout=60_000)
    stage = heading.inner_text().replace("Open deals in", "").strip()
    assert "stage_sel=" in page.url
    assert page.locator('[data-testid="stDataFrame"]').count() >= 2  # drill + stalled
    copied = page.url
    fresh = browser.new_page(viewport={"width": 1600, "height": 2400})
    fresh.goto(copied)
    settle(fresh, 4)
    fresh.locator("h3", has_text=f"Open deals in {stage}").wait_for(timeout=60_000)
    assert fresh.locator('[data-testid="stException"]').count() == 0
    fresh.close()


def test_click_waterfall_bucket_shows_its_deals(server: str, page: Any) -> None:
    page.goto(f"{server}/changes")
    settle(page, 2)
    _click_biggest(page, '[data-testid="stPlotlyChart"] >> nth=0 >> .point path', skip_ends=True)
    heading = page.locator("h3", has_text="Deals:")
    heading.wait_for(timeout=60_000)
    settle(page, 2)
    assert "bucket=" in page.url
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(SHOTS / "changes-drill.png"), full_page=True)


def test_breakdown_cell_click_and_filters_survive_reload(server: str, page: Any) -> None:
    page.goto(f"{server}/drilldown?segment=SMB&rows=region&cols=stage")
    settle(page, 1)
    assert "segment=SMB" in page.url and "rows=region" in page.url
    assert page.locator("text=Open pipeline by region × stage").count() >= 1
    # Cells are clicked through the (invisible) marker laid over each heatmap cell.
    _click_biggest(page, ".js-plotly-plot .scatterlayer .point")
    heading = page.locator("h3", has_text="Deals:")
    heading.wait_for(timeout=60_000)
    shown = heading.inner_text()
    assert "cell=" in page.url
    page.reload()
    settle(page, 1)
    page.locator("h3", has_text=shown).wait_for(timeout=60_000)
    assert "SMB" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_deal_list_csv_is_made_when_clicked_and_holds_every_deal(
    browser: Any, served: tuple[str, Path]
) -> None:
    """The CSV is built on the click (not on every rerun) and lists all the deals, not
    just the page of them on screen; the caption says how many; the audit table says who
    took it."""
    server, db = served
    with store.reader(db) as con:
        before = len(store.audit_log(con))
    pg = browser.new_page(viewport={"width": 1600, "height": 2400}, accept_downloads=True)
    try:
        pg.goto(f"{server}/drilldown")
        settle(pg, 1)
        caption = pg.locator('[data-testid="stCaptionContainer"]', has_text=" deals · ").first
        shown = int(caption.inner_text().split(" deal")[0].replace(",", ""))
        with pg.expect_download(timeout=60_000) as download:
            pg.get_by_role("button", name="Download CSV").first.click()
        lines = Path(download.value.path()).read_text().strip().splitlines()
        assert shown > 0 and len(lines) == shown + 1  # a header, then every deal
        assert lines[0].startswith("opportunity_id") or "opportunity" in lines[0]
        with store.reader(db) as con:
            log = store.audit_log(con)
        assert len(log) == before + 1
        assert (
            log[["action", "target"]]
            .values.tolist()
            .count(["export", f"deal list {download.value.suggested_filename}"])
            == 1
        )
    finally:
        pg.close()


def test_the_math_is_drawn_when_opened(server: str, page: Any) -> None:
    page.goto(f"{server}/")
    settle(page, PAGES[""])
    box = page.locator('[data-testid="stExpander"]').filter(has_text="Show the math").first
    assert box.locator('[data-testid="stTable"]').count() == 0  # closed: not drawn
    box.locator("summary").click()
    table = box.locator('[data-testid="stTable"]')
    table.wait_for(timeout=60_000)
    assert table.get_by_text("Exact value").count() >= 1
    assert page.locator('[data-testid="stException"]').count() == 0
