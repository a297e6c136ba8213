"""The metric layer. Importing this package registers every metric in REGISTRY."""

from steward.metrics import (  # noqa: F401  (importing a module registers its metrics)
    asof,
    breakdown,
    decisions,
    forecast,
    history,
    history_changes,
    marketing,
    trust,
    waterfall,
)
from steward.metrics.core import (
    DIMENSIONS,
    REGISTRY,
    Column,
    Filters,
    Metric,
    Query,
    Result,
    compute,
    current_period,
    drill,
    metric,
    schema,
)

__all__ = [
    "DIMENSIONS",
    "REGISTRY",
    "Column",
    "Filters",
    "Metric",
    "Query",
    "Result",
    "compute",
    "current_period",
    "drill",
    "metric",
    "schema",
]
