"""Targets for a cut: the one rule every coverage and target number goes through.

Targets are set per fiscal period and segment (a row per segment, and/or an 'All' row
for the company). A cut has a target only when the targets table can say what it is:

- no filter: the 'All' row, else the sum of the segment rows;
- a segment filter: the sum of those segments' rows (every one must exist);
- any other filter (region, source, owner, product, stage), alone or with a segment:
  none. Dividing a region's pipeline by the company's (or the segment's) target gives a
  number for a target nobody set.

An access scope (`Filters.scope`) counts as a cut: a regional VP's view has no target
(their region has none), a segment lead's has their segments' targets, and a cut wholly
outside the scope has none, so no surface shows a target for deals the viewer cannot see.

Without a target the note starts with NO_TARGET_FOR_CUT, which the tiles, the charts'
tables, the narrative, the workbook, the pack and the CLI all show as it is.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb

from steward.metrics.core import DIMENSIONS, Filters

ZERO = Decimal("0.00")
NO_TARGET_FOR_CUT = "no target for this cut"
COLUMNS = ("bookings_target", "pipeline_target")


def target_rows(
    con: duckdb.DuckDBPyConnection, period: str, column: str = "bookings_target"
) -> dict[str, Decimal]:
    """{segment or 'All': target} for one period (rows without a value left out)."""
    if column not in COLUMNS:
        raise ValueError(f"unknown target column {column!r}")
    rows = con.execute(
        f"select segment, {column} from targets where upper(period) = upper($period) "  # noqa: S608
        f"and {column} is not null",
        {"period": period},
    ).fetchall()
    return {
        ("All" if str(seg).strip().casefold() == "all" else str(seg)): Decimal(v) for seg, v in rows
    }


def uncut_dimensions(filters: Filters) -> list[str]:
    """The filtered or scoped dimensions that targets are not set by (all but segment)."""
    cut = {dim for dim, _ in filters.items()} | {dim for dim, _ in filters.scope.rules}
    return [dim for dim in DIMENSIONS if dim in cut and dim != "segment"]


def target_for(
    con: duckdb.DuckDBPyConnection,
    period: str,
    filters: Filters,
    column: str = "bookings_target",
    rows: dict[str, Decimal] | None = None,
) -> tuple[Decimal | None, str | None]:
    """The target of `column` for a period and a cut: (value, note). See the module doc."""
    if filters.outside_scope:
        return None, f"{NO_TARGET_FOR_CUT}: it is outside your access scope"
    others = uncut_dimensions(filters)
    if others:
        return None, f"{NO_TARGET_FOR_CUT}: targets are set by segment, not by {', '.join(others)}"
    rows = target_rows(con, period, column) if rows is None else rows
    segments = filters.segment
    allowed = filters.scope.allowed("segment")
    if allowed is not None:
        segments = tuple(s for s in (segments or allowed) if s in allowed)
    if segments:
        missing = [s for s in segments if s not in rows]
        if missing:
            return (
                None,
                f"{NO_TARGET_FOR_CUT}: {period} has no target for segment {', '.join(missing)}",
            )
        return sum((rows[s] for s in segments), ZERO), None
    if "All" in rows:
        return rows["All"], None
    seg_rows = [v for k, v in rows.items() if k != "All"]
    if seg_rows:
        return sum(seg_rows, ZERO), "target = sum of segment targets"
    return None, f"no target for {period}"


def has_target(note: str | None) -> bool:
    """False when a target note says the cut has none."""
    return not (note or "").startswith((NO_TARGET_FOR_CUT, "no target"))
