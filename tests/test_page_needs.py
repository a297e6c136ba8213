"""Each page declares what it computes once (steward.pages); its prefetch and the benchmark
read that declaration, so the benchmark times what the page really asks for."""

from __future__ import annotations

import re
from pathlib import Path

from bench import run as bench
from steward import pages
from steward.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def test_every_declared_metric_and_drill_is_registered() -> None:
    for page in pages.PAGES.values():
        assert set(page.metrics) <= set(REGISTRY), page.id
        for d in page.drills:
            assert REGISTRY[d.metric_id].drill is not None, (page.id, d.metric_id)


def test_every_declared_page_is_a_page_file_that_prefetches_its_declaration() -> None:
    for page in pages.PAGES.values():
        text = (ROOT / "pages" / f"{page.id}.py").read_text(encoding="utf-8")
        opens = rf'(state\.open_page|data\.prefetch_page)\(\s*"{page.id}"'
        assert re.search(opens, text), page.id
        # what the page asks for by id is declared (so the benchmark times it)
        asked = set(re.findall(r'data\.(?:metric|deals)\(\s*"([a-z_]+)"', text))
        declared = set(page.metrics) | set(page.next_quarter)
        assert asked <= declared | {d.metric_id for d in page.drills}, (
            page.id,
            asked - declared,
        )


def test_the_benchmark_bundles_are_the_declarations() -> None:
    # The Board story: its 4 metrics plus the tiles and the narrative (the seen drift was
    # 15 hand-listed metrics timed against a page that prefetched 4).
    assert bench.PAGES["board_story"] == (
        "kpi_trend",
        "coverage_matrix",
        "waterfall",
        "trust_score",
        "kpis:headline",
        "story:narrative",
    )
    assert list(bench.PAGES) == list(pages.PAGES)
    assert "drill:waterfall:bucket=Pushed out" in bench.PAGES["changes"]


def test_the_weekly_review_declares_its_agenda_and_the_benchmark_times_it() -> None:
    # The review page was the one page that opened without a declaration: its agenda
    # (every rule's metrics, per segment and trailing period) went untimed.
    review = pages.page("weekly_review")
    assert review.agenda and "decision_follow_through_rate" in review.metrics
    assert bench.PAGES["weekly_review"] == (
        "decision_follow_through_rate",
        "trust_score",
        "review:agenda",
    )
    assert not any(p.agenda for p in pages.PAGES.values() if p.id != "weekly_review")


def test_the_planner_prefetches_the_quarter_it_plans() -> None:
    # The planner plans the quarter after the as-of date's: its prefetch computed
    # pipeline_needed for the view's own quarter, which the page never read, then the
    # page computed the next quarter's itself.
    planner = pages.page("scenario_planner")
    assert planner.next_quarter == ("bookings_target", "pipeline_needed")
    assert "pipeline_needed" not in planner.metrics
    assert bench.PAGES["scenario_planner"] == (
        "bookings_target",
        "scenario_forecast",
        "trust_score",
        "next:bookings_target",
        "next:pipeline_needed",
    )
