"""The weekly review: the Monday bottleneck agenda, decisions and their follow-through.

    agenda = review.build_agenda(con, q, defs)     # last week's decisions, then ranked items
    review.record(con, defs, as_of=..., item=..., what=..., owner=..., due_date=...)
    review.follow_all(con, as_of, defs)             # each decision read at a later snapshot

The e-mail digest is steward.review.digest.
"""

from steward.review.agenda import Agenda, build_agenda, gather
from steward.review.decisions import (
    Decision,
    DecisionRejected,
    FollowThrough,
    follow,
    follow_all,
    follow_through_rate,
    load,
    record,
)
from steward.review.model import DrillSpec, Item, Reading, read_value
from steward.review.rules import RULES, Inputs, apply

__all__ = [
    "RULES",
    "Agenda",
    "Decision",
    "DecisionRejected",
    "DrillSpec",
    "FollowThrough",
    "Inputs",
    "Item",
    "Reading",
    "apply",
    "build_agenda",
    "follow",
    "follow_all",
    "follow_through_rate",
    "gather",
    "load",
    "read_value",
    "record",
]
