"""The columns of the store's own listings: not metrics, but tables two pages show.

The snapshot list (`store.list_snapshots`) appears on the Import and the Data trust
pages, the import log on both as well; declaring their columns here, the way a table
metric declares its own (`@metric(columns=…)`), keeps the two pages' headers and units
one declaration instead of a dict on each page.
"""

from __future__ import annotations

from steward.metrics.core import Column

SNAPSHOT_COLUMNS: tuple[Column, ...] = (
    Column("snapshot_date", "Snapshot date", "date"),
    Column("row_count", "Rows", "count", "rows loaded for the date (those the viewer may see)"),
    Column("amount_total", "Amount total", "usd"),
    Column("count_open", "Count open", "count", "rows of open deals"),
    Column("import_id", "Import id", None, "the import that loaded the date"),
)

IMPORT_LOG_COLUMNS: tuple[Column, ...] = (
    Column("import_id", "Import id"),
    Column("finished_at", "Finished at"),
    Column("kind", "Kind"),
    Column("file_name", "File name"),
    Column("source_format", "Source format"),
    Column("row_count", "Rows", "count"),
    Column("snapshot_dates", "Snapshot dates"),
    Column("outcome", "Outcome"),
    Column("message", "Message"),
)


def pick(columns: tuple[Column, ...], *names: str) -> tuple[Column, ...]:
    """Some of a declaration's columns, in the order named."""
    by_name = {c.name: c for c in columns}
    return tuple(by_name[n] for n in names)


# What the Data trust page lists of the import log, and the Import page's last ten.
TRUST_IMPORT_LOG = pick(
    IMPORT_LOG_COLUMNS,
    "import_id",
    "finished_at",
    "kind",
    "file_name",
    "source_format",
    "row_count",
    "outcome",
    "message",
)
IMPORT_HISTORY = pick(
    IMPORT_LOG_COLUMNS,
    "import_id",
    "file_name",
    "outcome",
    "row_count",
    "snapshot_dates",
    "message",
)
