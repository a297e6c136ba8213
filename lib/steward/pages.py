"""What each page of the app computes, declared once.

A page's `metrics` are every registered metric it shows for the view's query; `story`
adds the headline KPI tiles and the narrative (the Board story); `agenda` adds the weekly
review's agenda (`steward.review.build_agenda`, which gathers its own metrics per segment
and period); `next_quarter` are metrics it reads for the quarter after the as-of date's
(`steward.plan.needed.next_quarter`: the scenario planner plans that quarter by default); `drills` are the deal lists it opens by default or on a typical click. Two readers, so they cannot drift:

- the page's prefetch (`dashboard.data.prefetch_page`) computes `metrics` (and the
  story) concurrently before the page draws;
- the benchmark (`bench/run.py`) times the same bundle per page against its target.

A test checks that every id here is a registered metric and that each page file
prefetches through its declaration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Drill:
    """One deal list a page opens: the metric, and the bar/bucket/cell selected."""

    metric_id: str
    selection: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Page:
    """The numbers one page needs for a view (see the module doc)."""

    id: str  # the file stem in pages/
    title: str
    metrics: tuple[str, ...]
    story: bool = False
    drills: tuple[Drill, ...] = ()
    agenda: bool = False
    next_quarter: tuple[str, ...] = ()  # read for the quarter after the as-of date's


_ALL: tuple[Page, ...] = (
    Page(
        "board_story",
        "Board story",
        ("kpi_trend", "coverage_matrix", "waterfall", "trust_score"),
        story=True,
    ),
    Page(
        "funnel",
        "Funnel",
        ("funnel_asof", "funnel_cohort", "time_in_stage", "stalled_deals", "trust_score"),
        drills=(Drill("funnel_asof", (("stage", "Proposal"),)),),
    ),
    Page(
        "forecast",
        "Forecast",
        (
            "coverage_matrix",
            "kpi_trend",
            "coverage_goal",
            "coverage",
            "forecast_range",
            "bookings_target",
            "won_to_date",
            "forecast_backtest",
            "trust_score",
        ),
    ),
    Page(
        "changes",
        "What changed",
        ("waterfall", "slippage", "push_counts", "trust_score"),
        drills=(Drill("waterfall"), Drill("waterfall", (("bucket", "Pushed out"),))),
    ),
    Page(
        "drilldown",
        "Drilldown",
        ("open_pipeline_matrix", "open_pipeline", "trust_score"),
        drills=(Drill("open_pipeline"),),
    ),
    Page(
        "marketing",
        "Marketing",
        (
            "marketing_sourced_pipeline",
            "marketing_sourced_share",
            "marketing_influenced_pipeline",
            "open_pipeline",
            "pipeline_created",
            "attribution",
            "closed_won_curve",
            "sla_compliance",
            "speed_to_lead",
            "trust_score",
        ),
    ),
    Page(
        "finance",
        "Finance",
        (
            "open_pipeline",
            "won_to_date",
            "bookings_target",
            "coverage",
            "coverage_matrix",
            "trust_score",
        ),
    ),
    Page("trust", "Data trust", ("trust_score", "trust_checks")),
    Page(
        "scenario_planner",
        "Scenario planner",
        ("bookings_target", "scenario_forecast", "trust_score"),
        next_quarter=("bookings_target", "pipeline_needed"),
    ),
    Page("maturity", "Maturity", ("maturity_scorecard", "trust_score")),
    Page(
        "weekly_review",
        "Weekly review",
        ("decision_follow_through_rate", "trust_score"),
        agenda=True,
    ),
)

PAGES: dict[str, Page] = {p.id: p for p in _ALL}


def page(page_id: str) -> Page:
    """The declaration of one page (KeyError names the known pages)."""
    try:
        return PAGES[page_id]
    except KeyError:
        raise KeyError(f"no page {page_id!r}; declared: {', '.join(PAGES)}") from None
