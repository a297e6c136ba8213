"""The Weekly review page in a real headless Chromium (Debian's), driven by Playwright:
it renders the agenda, a decision is recorded from the form and is listed after a reload.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_helpers import (
    ROOT,
    chromium,
    demo_server,
    wait_for_charts,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_server(tmp_path_factory.mktemp("review_browser")) as url:
        yield url


@pytest.fixture()
def page(server: str) -> Iterator[Any]:
    with chromium() as b:
        yield b.new_page(viewport={"width": 1500, "height": 2200})


def settled(pg: Any, timeout_ms: int = 90_000) -> None:
    """The script run finished: the footer is drawn and nothing is running."""
    wait_for_charts(pg, 0, timeout_ms)


def test_record_a_decision_and_see_it_after_a_reload(server: str, page: Any) -> None:
    page.goto(f"{server}/weekly_review")
    settled(page)
    page.get_by_role("heading", name="This week's bottlenecks").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stExpander"]').count() >= 1  # at least one item

    page.get_by_label("What will be done").fill("Pull two Q1 deals into this quarter")
    page.get_by_label("Decision owner (who does it)").fill("VP Sales")
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("recorded on").wait_for(timeout=60_000)

    page.reload()
    settled(page)
    page.get_by_text("Recorded at this snapshot").wait_for(timeout=60_000)
    page.get_by_text("Pull two Q1 deals into this quarter").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "weekly_review.png"), full_page=True)


def test_an_items_deals_are_read_when_its_expander_opens(server: str, page: Any) -> None:
    # The deal lists were read on every run, inside closed expanders (as long as the
    # agenda itself at 10M rows); now an expander reads its deals when it is opened.
    page.goto(f"{server}/weekly_review")
    settled(page)
    box = page.locator('[data-testid="stExpander"]').filter(has_text="The deals behind item")
    box = box.first
    box.wait_for(timeout=60_000)
    closed = box.get_by_role("button", name="Download CSV", include_hidden=True)
    assert closed.count() == 0  # closed: not read
    box.locator("summary").click()
    box.get_by_role("button", name="Download CSV").wait_for(timeout=60_000)
    settled(page)
    assert page.locator('[data-testid="stException"]').count() == 0
