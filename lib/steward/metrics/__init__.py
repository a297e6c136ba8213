"""The metric layer. Importing this package registers every metric in REGISTRY."""

from steward.metrics import (  # noqa: F401  (importing a module registers its metrics)
    asof,
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
    Filters,
    Metric,
    Query,
    Result,
    RowScope,
    compute,
    current_period,
    drill,
    metric,
)

__all__ = [
    "DIMENSIONS",
    "REGISTRY",
    "Filters",
    "Metric",
    "Query",
    "Result",
    "RowScope",
    "compute",
    "current_period",
    "drill",
    "metric",
]
