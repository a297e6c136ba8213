"""The scenario planner: pipeline needed by source, what-if forecasts, saved scenarios.

Everything here is computed from numbers the metric layer already learns (win rates,
sales cycle, stage conversion, the historical forecast's probabilities); nothing is
fitted anew. `needed` and `whatif` each declare one metric, so the glossary, the CLI
(`steward plan`, `steward metrics`) and the pages read the same declarations.
"""

# The metric package registers this package's metrics; importing it first means a
# submodule imported on its own never meets a half-built registry (no import cycle).
import steward.metrics  # noqa: E402, F401
