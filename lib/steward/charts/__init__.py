"""Charts: pure functions from a metric's result table to a Plotly figure.

One theme for every chart (screen and board pack alike): a restrained palette, large
type that stays readable on a projector, no gridline clutter, money as a board reads
it ($12.4M). Each function takes the table a metric returns (see the metric-id contract)
and never touches the store, so the dashboard, the exports and the tests share them.

Charts that can be clicked to drill (funnel bars, waterfall buckets, breakdown cells)
carry the selection key in `customdata[0]` of each point.

One module per topic: `theme` (palette, type, axes), `funnel`, `bridge` (waterfall,
slippage), `coverage`, `forecast`, `breakdown`, `marketing`, `plan` (scenario planner and
maturity), `generic`. Everything is
re-exported here, so callers write `charts.waterfall_chart(...)`.
"""

from steward.charts.breakdown import (  # noqa: F401
    breakdown_heatmap,
)
from steward.charts.bridge import (  # noqa: F401
    _MEASURE,
    _waterfall_span,
    slippage_chart,
    waterfall_chart,
)
from steward.charts.coverage import (  # noqa: F401
    COVERAGE_LABEL_INSIDE,
    COVERAGE_LABEL_MIN,
    _coverage_label,
    coverage_chart,
    coverage_trend_chart,
)
from steward.charts.forecast import (  # noqa: F401
    backtest_chart,
    forecast_range_chart,
)
from steward.charts.funnel import (  # noqa: F401
    cohort_funnel_chart,
    funnel_chart,
    time_in_stage_chart,
)
from steward.charts.generic import (  # noqa: F401
    bar_chart,
    snapshot_calendar,
)
from steward.charts.marketing import (  # noqa: F401
    _CURVE_GROUP,
    _CURVE_X,
    _CURVE_Y,
    ATTRIBUTION_MODELS,
    _pick,
    attribution_chart,
    closed_won_curve_chart,
)
from steward.charts.plan import (  # noqa: F401
    STAGE_COLORS,
    maturity_chart,
    needed_chart,
    scenario_chart,
    stage_text,
)
from steward.charts.sparkline import sparkline_html, sparkline_svg  # noqa: F401
from steward.charts.theme import (  # noqa: F401
    BASE_FONT_SIZE,
    BLUE,
    FONT_FAMILY,
    GOAL_LINE,
    GREEN,
    GREY,
    INK,
    MONEY_TICKS,
    MUTED,
    NAVY,
    PALETTE,
    RED,
    SAND,
    SLATE,
    TEAL,
    TEMPLATE,
    _figure,
    _money_axis,
    _money_tick,
    _num,
    _opt,
    _snapshot_ticks,
    empty_figure,
    goal_rule,
    nice_ticks,
)

__all__ = [
    "STAGE_COLORS",
    "maturity_chart",
    "needed_chart",
    "scenario_chart",
    "stage_text",
    "ATTRIBUTION_MODELS",
    "PALETTE",
    "BASE_FONT_SIZE",
    "BLUE",
    "COVERAGE_LABEL_INSIDE",
    "COVERAGE_LABEL_MIN",
    "FONT_FAMILY",
    "GREEN",
    "GREY",
    "INK",
    "MONEY_TICKS",
    "MUTED",
    "NAVY",
    "RED",
    "SAND",
    "SLATE",
    "TEAL",
    "TEMPLATE",
    "attribution_chart",
    "backtest_chart",
    "bar_chart",
    "breakdown_heatmap",
    "closed_won_curve_chart",
    "cohort_funnel_chart",
    "coverage_chart",
    "coverage_trend_chart",
    "empty_figure",
    "forecast_range_chart",
    "funnel_chart",
    "nice_ticks",
    "slippage_chart",
    "snapshot_calendar",
    "time_in_stage_chart",
    "waterfall_chart",
]
