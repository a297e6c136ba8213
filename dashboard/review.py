"""The Weekly review page's loaders and its one write: recording a decision.

Kept apart from dashboard/data.py so the review's caching and writes read in one place.
The agenda is cached on (data version, definitions, query); recording a decision
changes the store file, hence the data version, so the next rerun reads it back.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import data
from steward import review, store
from steward.metrics import Query, RowScope
from steward.metrics.core import ALL


@st.cache_data(show_spinner="Drawing up the agenda…", max_entries=32)
def _agenda(db: str, ver: str, digest: str, qkey: str, _q: Query) -> review.Agenda:
    with data._reader(db) as con:
        return review.build_agenda(con, _q, data.defs())


def agenda(q: Query) -> review.Agenda:
    return _agenda(data.db_path(), data.version(), data.defs().digest, repr(q), q)


@st.cache_data(show_spinner=False, max_entries=64)
def _item_deals(db: str, ver: str, digest: str, qkey: str, key: str, _q: Query) -> pd.DataFrame:
    item = agenda(_q).item(key)
    if item is None or item.drill is None:
        return pd.DataFrame()
    with data._reader(db) as con:
        return item.drill.deals(con, data.defs())


def item_deals(q: Query, key: str) -> pd.DataFrame:
    """The deals behind one agenda item (empty when the item has no deal drill)."""
    return _item_deals(data.db_path(), data.version(), data.defs().digest, repr(q), key, q)


@st.cache_data(show_spinner=False, max_entries=32)
def _recorded(db: str, ver: str, as_of: date, scope: RowScope) -> list[review.Decision]:
    with data._reader(db) as con:
        if not review.decisions.has_table(con):
            return []
        return [
            d
            for d in review.load(con)
            if d.as_of == as_of and review.decisions.within(d.reading.filters, scope)
        ]


def recorded_at(as_of: date, scope: RowScope = ALL) -> list[review.Decision]:
    """Decisions recorded at this snapshot (their follow-through starts next week), those
    whose cut lies inside the viewer's scope."""
    return _recorded(data.db_path(), data.version(), as_of, scope)


def record(q: Query, key: str, what: str, owner: str, due: date, scope: int = 25) -> int:
    """Record a decision on an agenda item, its largest `scope` deals in scope."""
    item = agenda(q).item(key)
    if item is None:
        raise review.DecisionRejected(f"no agenda item {key!r} at {q.as_of.isoformat()}")
    deals = item_deals(q, key)
    ids: list[Any] = []
    if not deals.empty:
        ids = list(deals.sort_values("amount", ascending=False)["opportunity_id"].head(scope))
    data.release()  # our own read connection would block the write
    with store.writer(data.db_path()) as con:
        return review.record(
            con, data.defs(), as_of=q.as_of, item=item, what=what, owner=owner, due_date=due,
            opportunity_ids=[str(i) for i in ids],
        )  # fmt: skip
