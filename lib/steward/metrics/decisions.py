"""The weekly review's follow-through rate: a metric like any other.

The decisions live in the store (steward.review.decisions); this module only declares
the number so the glossary, the CLI, the maturity scorecard and the screen read it.
"""

from __future__ import annotations

import duckdb

from steward.definitions import Definitions
from steward.metrics.core import Query, Result, metric


@metric(
    "decision_follow_through_rate",
    label="Decision follow-through rate",
    description="Of the weekly-review decisions due on or before the as-of date (recorded "
    "at an earlier snapshot), the share whose metric moved the intended way by the due date: "
    "read at the last snapshot on or before the due date, against its value when the decision "
    "was recorded. No value when no decision was due. Decisions carry their own cut, so "
    "filters do not apply; an access scope counts only the decisions whose cut lies inside it.",
    formula="followed through / decisions due by S; followed through = metric(last snapshot "
    "≤ due) moved in the decision's direction from metric(recorded snapshot)",
    unit="ratio",
    scope="history",
    dims=(),
)
def decision_follow_through_rate(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> Result:
    from steward.review.decisions import follow_through_rate

    rate, table = follow_through_rate(con, q.as_of, defs, q.filters.scope)
    note = None if rate is not None else "no decision was due by this snapshot"
    return Result("decision_follow_through_rate", q, rate, table, note)
