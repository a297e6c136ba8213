"""A new team's first month in a real headless Chromium (issue 9 §2).

- A store with two snapshots and no targets, touches or leads: every page draws without
  an error box; the Board's KPI tiles are there (seen: "Could not show the headline
  numbers").
- A week imported while the app is open is shown on the next rerun (seen: the as-of
  stayed pinned at the older date).
- An empty store: the first page links to the Import page and loads the demo.

Screenshots go to $STEWARD_SHOTS (default artifacts/screenshots/first-month).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import browser_helpers as bh
import pytest
from test_app_first_month import _add_week, thin_store

from steward import fmt

pytestmark = [pytest.mark.browser, pytest.mark.slow]


SHOTS = Path(os.environ.get("STEWARD_SHOTS", bh.ROOT / "artifacts" / "screenshots" / "first-month"))
PAGES = (
    "",
    "funnel",
    "forecast",
    "changes",
    "drilldown",
    "marketing",
    "finance",
    "trust",
    "import",
)


@pytest.fixture(scope="module")
def thin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    bh.need_chromium()
    db = thin_store(tmp_path_factory.mktemp("thin") / "steward.duckdb", weeks=2, targets=False)
    with bh.streamlit_server(db) as url:
        yield url, db


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with bh.chromium() as b:
        yield b


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    pg = browser.new_page(viewport={"width": 1600, "height": 2000})
    yield pg
    pg.close()


def settle(pg: Any, timeout_ms: int = 90_000) -> None:
    """The script run finished: the footer is drawn and nothing is running."""
    bh.wait_for_charts(pg, 0, timeout_ms)


def footer(pg: Any) -> str:
    """The footer line: 'definitions … · trust score … · as of 9 Oct 2026'."""
    text: str = pg.locator(
        '[data-testid="stCaptionContainer"]', has_text="definitions "
    ).last.inner_text()
    return text


def no_error_boxes(pg: Any, where: str) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0, where
    alerts = pg.locator('[data-testid="stAlert"]').all_inner_texts()
    assert not [a for a in alerts if "Could not show" in a], (where, alerts)


def shot(pg: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_every_page_on_two_snapshots_without_targets(thin: tuple[str, Path], page: Any) -> None:
    url, _ = thin
    for path in PAGES:
        page.goto(f"{url}/{path}")
        settle(page)
        no_error_boxes(page, path or "board")
        shot(page, f"thin-{path or 'board'}")
    page.goto(url)
    settle(page)
    tiles = page.locator('[data-testid="stMetric"]')
    tiles.nth(7).wait_for(timeout=60_000)
    assert tiles.count() == 8
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Coverage this quarter" in text


def test_a_week_imported_while_the_app_is_open_is_shown(thin: tuple[str, Path], page: Any) -> None:
    url, db = thin
    page.goto(f"{url}/funnel")
    settle(page)
    second = bh.FIRST_SNAPSHOT + timedelta(weeks=1)
    third = bh.FIRST_SNAPSHOT + timedelta(weeks=2)
    assert f"as of {fmt.board_date(second)}" in footer(page)
    _add_week(db, 2)  # `steward import` in another process, while the page is open
    # The next rerun in the same session (here: going to another page) shows the new week.
    page.get_by_role("link", name="Pipeline changes").click()
    page.locator("h1", has_text="Pipeline changes").wait_for(timeout=60_000)
    # the header and the footer both say it now (one date style): wait for the footer
    page.locator(
        '[data-testid="stCaptionContainer"]', has_text=f"as of {fmt.board_date(third)}"
    ).last.wait_for(timeout=60_000)
    settle(page)
    assert "asof=" not in page.url
    no_error_boxes(page, "changes after import")
    shot(page, "after-import-changes")
    # A reload (a new session) follows the data as well: the URL did not pin the date.
    page.reload()
    settle(page)
    assert f"as of {fmt.board_date(third)}" in footer(page)


def test_empty_store_links_to_import_and_loads_the_demo(
    tmp_path: Path, browser: Any, page: Any
) -> None:
    with bh.streamlit_server(tmp_path / "empty.duckdb") as url:
        page.goto(url)
        settle(page)
        shot(page, "empty-store")
        link = page.get_by_role("link", name="Go to the Import page")
        assert link.count() == 1
        page.get_by_role("button", name="Load the demo data").click()
        page.locator('[data-testid="stMetric"]').nth(7).wait_for(timeout=120_000)
        # The board's own footer (with the trust score) and both charts drawn.
        page.locator('[data-testid="stCaptionContainer"]', has_text="trust score").wait_for(
            timeout=120_000
        )
        page.wait_for_function(
            "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2",
            timeout=120_000,
        )
        settle(page)
        no_error_boxes(page, "board after the demo")
        shot(page, "empty-store-demo-loaded")
        # The link goes to the Import page.
        fresh = browser.new_page(viewport={"width": 1600, "height": 2000})
        with bh.streamlit_server(tmp_path / "empty2.duckdb") as url2:
            fresh.goto(url2)
            settle(fresh)
            fresh.get_by_role("link", name="Go to the Import page").click()
            fresh.locator("h1", has_text="Import").wait_for(timeout=60_000)
            assert fresh.url.rstrip("/").endswith("/import")
        fresh.close()
