"""One resolver for what a view asks: as-of, period, compare-to and the filters.

Every source of a view — the sidebar's URL state (`dashboard/state.py`), the CLI's
arguments (`steward/cli/args.py`), the narrative, the exports and the weekly review —
turns its raw choices into a `Query` here, once. Downstream code receives the Query
already resolved and never re-derives a default:

- as-of: a loaded snapshot (default: the latest loaded);
- period: a fiscal quarter label, normalised (default: the as-of date's quarter);
- compare-to: a loaded snapshot (default: the snapshot before the as-of; None only
  when there is no earlier snapshot);
- filters: lists per dimension; values are kept as given (a CLI splits its commas
  before it calls here; a URL repeats its keys), unknown dimensions raise; seen through
  the access scope of who is looking when one is given (`Filters.restricted`).

`complete` is the same rule for a library caller that built a `Query` by hand
(tests, scripts): it fills the one default a hand-built Query may lack, the
comparison snapshot, and leaves everything else as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import duckdb

from steward.definitions import Definitions
from steward.errors import StewardError
from steward.metrics.core import Filters, Query, RowScope, current_period
from steward.periods import parse_period

__all__ = [
    "Filters",
    "Query",
    "complete",
    "latest_snapshot",
    "loaded_snapshot",
    "previous_snapshot",
    "resolve",
]


def latest_snapshot(con: duckdb.DuckDBPyConnection) -> date:
    """The newest loaded snapshot; a clear error when nothing is loaded."""
    fetched = con.execute("select max(snapshot_date) from snapshots").fetchall()
    row = fetched[0] if fetched else None
    if not row or row[0] is None:
        raise StewardError(
            "no snapshots are loaded",
            ["Load the demo with `steward demo`, or `steward import FILE`."],
        )
    latest: date = row[0]
    return latest


def previous_snapshot(con: duckdb.DuckDBPyConnection, as_of: date) -> date | None:
    """The latest loaded snapshot before as_of (week over week: the Monday rhythm)."""
    # fetchall, not fetchone: DuckDB 2 keeps an unfinished result open after fetchone.
    rows = con.execute(
        "select max(snapshot_date) as prev from snapshots where snapshot_date < $as_of",
        {"as_of": as_of},
    ).fetchall()
    return rows[0][0] if rows and rows[0][0] else None


def loaded_snapshot(
    con: duckdb.DuckDBPyConnection, when: date | None, option: str = "--as-of"
) -> date:
    """`when`, which must be a loaded snapshot (default: the latest)."""
    if when is None:
        return latest_snapshot(con)
    fetched = con.execute(
        "select count(*) from snapshots where snapshot_date = $when", {"when": when}
    ).fetchall()
    if fetched and fetched[0][0]:
        return when
    near_rows = con.execute(
        "select max(snapshot_date) filter (where snapshot_date < $when), "
        "min(snapshot_date) filter (where snapshot_date > $when) from snapshots",
        {"when": when},
    ).fetchall()
    near = near_rows[0] if near_rows else None
    hint = ", ".join(d.isoformat() for d in (near or ()) if d is not None)
    raise StewardError(
        f"no snapshot dated {when.isoformat()} is loaded ({option})",
        [f"Nearest loaded: {hint}." if hint else "No snapshots are loaded."],
    )


def period_label(period: str | None, as_of: date, defs: Definitions) -> str:
    """A normalised fiscal quarter label (default: the as-of date's quarter)."""
    if not period:
        return current_period(as_of, defs)
    try:
        return parse_period(period, defs.fiscal_year_start_month).label
    except ValueError as exc:
        raise StewardError(str(exc)) from exc


def resolve(
    con: duckdb.DuckDBPyConnection,
    defs: Definitions,
    *,
    as_of: date | None = None,
    period: str | None = None,
    compare_to: date | None = None,
    filters: Filters | Mapping[str, Sequence[str] | str | None] | None = None,
    options: tuple[tuple[str, Any], ...] = (),
    scope: RowScope | None = None,
) -> Query:
    """The Query for these choices, every default filled in (see the module doc), its
    filters seen through `scope` (who is looking, `steward.access`) when given."""
    as_of = loaded_snapshot(con, as_of, "--as-of")
    if compare_to is not None:
        compare_to = loaded_snapshot(con, compare_to, "--compare-to")
    else:
        compare_to = previous_snapshot(con, as_of)
    cut = filters if isinstance(filters, Filters) else Filters.of(**dict(filters or {}))
    if scope is not None and not scope.is_all:
        cut = cut.restricted(scope)
    return Query(
        as_of=as_of,
        period=period_label(period, as_of, defs),
        filters=cut,
        compare_to=compare_to,
        options=options,
    )


def complete(con: duckdb.DuckDBPyConnection, q: Query) -> Query:
    """A hand-built Query with its comparison snapshot filled in (the resolver's default).

    Idempotent: a Query from `resolve` comes back unchanged.
    """
    if q.compare_to is not None:
        return q
    prev = previous_snapshot(con, q.as_of)
    return q if prev is None else q.with_(compare_to=prev)
