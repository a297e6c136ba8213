"""The glossary keeps the docs honest: every metric is declared fully and documented."""

from __future__ import annotations

from steward import glossary
from steward.metrics.core import REGISTRY, Metric

# the ids this module's owner promised in the team contract (as-of half of the metric layer)
ASOF_IDS = {
    "open_pipeline", "weighted_pipeline", "open_count", "won_to_date", "lost_to_date",
    "bookings_target", "coverage", "coverage_goal", "coverage_matrix", "funnel_asof",
    "marketing_sourced_pipeline", "marketing_sourced_share", "forecast_commit",
    "forecast_best_case", "forecast_weighted", "waterfall", "trust_checks", "trust_score",
}  # fmt: skip
DRILLS = {"open_pipeline", "won_to_date", "funnel_asof", "waterfall", "coverage_matrix"}


def test_every_metric_has_label_description_and_formula():
    assert glossary.problems() == []
    assert set(REGISTRY) >= ASOF_IDS
    assert {m.id for m in REGISTRY.values() if m.drill is not None} >= DRILLS


def test_problems_names_what_is_missing():
    bad = Metric("x_metric", "", "says what", " ", "usd", "as_of", fn=lambda *a: None)  # type: ignore[arg-type,return-value]
    assert glossary.problems({"x_metric": bad}) == ["x_metric: no label", "x_metric: no formula"]


def test_every_metric_is_in_docs_metrics_md():
    text = glossary.DOC_PATH.read_text(encoding="utf-8")
    for mid, m in REGISTRY.items():
        assert f"### {m.label} (`{mid}`)" in text, f"{mid} missing from docs/metrics.md"
    assert "## Choices we made" in text and "Waterfall and changing attributes" in text


def test_docs_metrics_md_is_not_stale():
    # regenerate with `steward glossary --write` after adding or changing a metric
    assert not glossary.is_stale(), "docs/metrics.md is stale: run `steward glossary --write`"
