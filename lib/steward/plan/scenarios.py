"""Saved scenarios: a name, the view it was made in, its assumptions and its results.

Saved in the store's `scenarios` table so finance and the CMO see the same list. The
comparison recomputes every saved scenario against one baseline for the view in hand
(same as-of, period and filters), so the columns are side by side on equal terms; the
results stored at save time stay as the record of what was shown then.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pandas as pd

from steward.definitions import Definitions
from steward.errors import StewardError
from steward.metrics.core import Query
from steward.plan import whatif

_LIST_SQL = """
with saved as (
  select name, saved_at, as_of, period, filters, assumptions, results from scenarios
)
select * from saved order by saved_at, name
"""


def save(
    con: duckdb.DuckDBPyConnection,
    name: str,
    q: Query,
    defs: Definitions,
    a: whatif.Assumptions,
    replace: bool = False,
) -> dict[str, object]:
    """Compute the scenario for `q` and store it under `name`; returns its result row."""
    name = name.strip()
    if not name:
        raise StewardError("a scenario needs a name")
    exists = con.execute("select count(*) from scenarios where name = $name", {"name": name})
    if exists.fetchall()[0][0] and not replace:
        raise StewardError(f"a scenario named {name!r} is already saved", ["Pass --replace."])
    row = whatif.run(whatif.baseline(con, q, defs), a, name)
    con.execute("begin transaction")
    try:
        con.execute("delete from scenarios where name = $name", {"name": name})
        con.execute(
            "insert into scenarios values ($name, $saved_at, $as_of, $period, $filters, "
            "$assumptions, $results)",
            {
                "name": name,
                "saved_at": datetime.now(UTC).replace(tzinfo=None),
                "as_of": q.as_of,
                "period": q.period,
                "filters": json.dumps(q.filters.as_dict(), sort_keys=True),
                "assumptions": a.to_json(),
                "results": json.dumps(row, default=str),
            },
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return row


def delete(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    rows = con.execute(
        "delete from scenarios where name = $name returning name", {"name": name}
    ).fetchall()
    return bool(rows)


def saved(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every saved scenario with its assumptions in words."""
    frame = con.execute(_LIST_SQL).df()
    frame["assumptions_text"] = [
        "; ".join(whatif.Assumptions.from_json(t).describe()) for t in frame["assumptions"]
    ]
    return frame


def comparison(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> pd.DataFrame:
    """Baseline and every saved scenario, recomputed for the view `q`."""
    named = [
        (str(r["name"]), whatif.Assumptions.from_json(str(r["assumptions"])))
        for r in saved(con).to_dict(orient="records")
    ]
    return whatif.compare(whatif.baseline(con, q, defs), named)
