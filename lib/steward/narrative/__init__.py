"""The board narrative: deterministic rules over the metric layer.

    story = narrative.build(con, q, defs)
    story.to_markdown()   # board-readable text
    story.to_json()       # every sentence with the metric id, query and value behind it

"What changed" compares the as-of snapshot with `q.compare_to`, which the resolver
(`steward.query`) defaults to the previous loaded snapshot (week over week: the rhythm
of the Monday review).
"""

from __future__ import annotations

from datetime import date

import duckdb

from steward.definitions import Definitions
from steward.metrics.core import Query
from steward.narrative.facts import Facts, gather
from steward.narrative.model import Fact, Narrative, Number, Sentence, day
from steward.narrative.rules import write

__all__ = [
    "Fact",
    "Facts",
    "Narrative",
    "Number",
    "Sentence",
    "build",
    "from_facts",
    "gather",
]


def from_facts(f: Facts) -> Narrative:
    """Apply the rules to gathered facts (tests drive this with hand-built Facts)."""
    if f.compare_to is None:
        comparison = "no earlier snapshot to compare with"
    elif f.compare_is_previous:
        comparison = f"changes since the previous snapshot ({day(f.compare_to)})"
    else:
        comparison = f"changes since the {day(f.compare_to)} snapshot"
    title = f"Pipeline story: {f.q.period} as of {day(f.q.as_of)}"
    return Narrative(title, f.q.filters.describe(), comparison, write(f))


def build(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    compare_to: date | None = None,
) -> Narrative:
    """The narrative for one as-of snapshot, period and filter set."""
    return from_facts(gather(con, q, defs, compare_to))
