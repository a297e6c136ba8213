"""The metric layer. Importing this package registers every metric in REGISTRY."""

from steward.metrics import history, history_changes  # noqa: F401  (registers metrics)

from steward.metrics import asof, forecast, marketing, trust, waterfall  # noqa: F401  (register their metrics)
from steward.metrics.core import (
    DIMENSIONS,
    REGISTRY,
    Filters,
    Metric,
    Query,
    Result,
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
    "compute",
    "current_period",
    "drill",
    "metric",
]
