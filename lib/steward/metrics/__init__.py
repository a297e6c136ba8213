"""The metric layer. Importing this package registers every metric in REGISTRY."""

from steward.maturity import scorecard as _maturity  # noqa: F401, E402
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
    RowScope,
    columns_of,
    compute,
    current_period,
    drill,
    metric,
    schema,
)
from steward.plan import needed as _plan_needed  # noqa: F401, E402
from steward.plan import whatif as _plan_whatif  # noqa: F401, E402

__all__ = [
    "DIMENSIONS",
    "REGISTRY",
    "Column",
    "Filters",
    "Metric",
    "Query",
    "Result",
    "RowScope",
    "compute",
    "current_period",
    "drill",
    "metric",
    "columns_of",
    "schema",
]
