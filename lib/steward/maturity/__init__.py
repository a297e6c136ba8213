"""The maturity scorecard: the matrices' dimensions placed at stage 1-3 from the data.

`rules` declares the evidence rules (each reads the metric layer; thresholds live in
the governed definitions' [maturity] section); `scorecard` places every dimension by
its rules or, where the data cannot tell, by the latest dated self-assessment, and
keeps the placement history per snapshot.
"""

# The metric package registers this package's metrics; importing it first means a
# submodule imported on its own never meets a half-built registry (no import cycle).
import steward.metrics  # noqa: E402, F401
