"""Targets, marketing touches and leads: small tables loaded whole (replacing the old).

Headers are the canonical names (case-insensitive; spaces and underscores alike), e.g.
`period, segment, bookings_target, pipeline_target`. Same messy-value parsing and the same
file/row/column/value errors as snapshots.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from steward import periods, store
from steward.definitions import Definitions
from steward.errors import ImportRejected
from steward.ingest import parse, rules
from steward.ingest.model import IssueLog, Prepared, Progress
from steward.ingest.readers import read_table

# column -> (kind of value, required)
SPECS: dict[str, dict[str, tuple[str, bool]]] = {
    "targets": {
        "period": ("period", True),
        "segment": ("text", False),
        "bookings_target": ("money", False),
        "pipeline_target": ("money", False),
    },
    "touches": {
        "opportunity_id": ("text", False),
        "account_id": ("text", False),
        "touch_date": ("date", True),
        "channel": ("text", True),
        "campaign": ("text", False),
        "weight": ("number", False),
    },
    "leads": {
        "lead_id": ("text", True),
        "created_at": ("timestamp", True),
        "first_contact_at": ("timestamp", False),
        "source": ("text", False),
        "owner": ("text", False),
        "status": ("text", False),
        "mql_at": ("timestamp", False),
        "sql_at": ("timestamp", False),
        "opportunity_id": ("text", False),
    },
}
TABLE_KINDS = tuple(SPECS)
STORE_COLUMNS = {
    "targets": store.TARGET_COLUMNS,
    "touches": store.TOUCH_COLUMNS,
    "leads": store.LEAD_COLUMNS,
}


def _key(header: str) -> str:
    return " ".join(header.replace("_", " ").split()).casefold()


def prepare_table(
    kind: str,
    source: str | Path | bytes,
    defs: Definitions | None = None,
    *,
    name: str | None = None,
    progress: Progress | None = None,
) -> Prepared:
    """Read and validate a targets / touches / leads file. Never touches the store."""
    if kind not in SPECS:
        raise ImportRejected(f"unknown table {kind!r}", [f"known: {', '.join(SPECS)}"])
    raw = read_table(source, name, progress=progress)
    log = IssueLog(raw.name)
    by_key = {_key(h): h for h in raw.headers}
    spec = SPECS[kind]
    src, lines = rules.clean_controls(raw.frame, raw.lines, log), raw.lines
    out = pd.DataFrame(index=src.index)
    start_month = defs.fiscal_year_start_month if defs else 1
    window = (
        (pd.Timestamp(defs.earliest_date), pd.Timestamp(defs.latest_date))
        if defs
        else parse.NS_WINDOW
    )
    for col, (typ, required) in spec.items():
        header = by_key.get(_key(col))
        if header is None:
            if required:
                log.add(
                    f"required column {col} not found (headers: {', '.join(raw.headers)})",
                    column=col,
                )
            out[col] = None
            continue
        cell = src[header]
        blank = parse.is_blank(cell)
        if required:
            log.add_mask(blank, lines, cell, column=header, message=f"{col} is blank")
        if typ == "text":
            out[col] = parse.optional_text(cell)
        elif typ in ("money", "number"):
            values, bad, _ = parse.parse_money(cell) if typ == "money" else parse.parse_number(cell)
            log.add_mask(bad, lines, cell, column=header, message="unreadable number")
            out[col] = values
        elif typ in ("date", "timestamp"):
            values, bad, outside = parse.parse_dates_window(
                cell, window, keep_time=typ == "timestamp"
            )
            log.add_mask(bad, lines, cell, column=header, message="unreadable date")
            lo, hi = (t.date().isoformat() for t in window)
            log.add_mask(
                outside,
                lines,
                cell,
                column=header,
                message=f"date outside the accepted window {lo} to {hi} (definitions [import])",
            )
            out[col] = values
        elif typ == "period":
            out[col] = _periods(cell, start_month, lines, header, log)
    if kind == "targets":
        out["segment"] = out["segment"].fillna("All")
        keys = out[["period", "segment"]]
        dup = keys.duplicated(keep=False).to_numpy() & keys["period"].notna().to_numpy()
        log.add_mask(
            dup,
            lines,
            out["period"] + " / " + out["segment"],
            column="period, segment",
            message="the same period and segment appear twice",
        )
    if kind == "touches":
        neither = out["opportunity_id"].isna().to_numpy() & out["account_id"].isna().to_numpy()
        log.add_mask(
            neither,
            lines,
            None,
            column="opportunity_id",
            message="a touch needs an opportunity_id or an account_id",
        )
    frame = out[list(STORE_COLUMNS[kind])].reset_index(drop=True)
    return Prepared(
        file_name=raw.name,
        frame=frame,
        preset=kind,
        issues=log.items,
        sha256=raw.sha256,
        kind=kind,
        extra_errors=log.extra_errors,
        extra_warnings=log.extra_warnings,
        notes=list(raw.notes),
    )


def _periods(
    cell: pd.Series, start_month: int, lines: np.ndarray, header: str, log: IssueLog
) -> pd.Series:
    t = parse.text(cell)
    labels: dict[str, str | None] = {}
    for value in t.unique():
        if not value:
            labels[value] = None
            continue
        try:
            labels[value] = periods.parse_period(value, start_month).label
        except (ValueError, KeyError):
            labels[value] = None
    out = t.map(labels).astype(object)
    bad = out.isna().to_numpy() & (t != "").to_numpy()
    log.add_mask(bad, lines, cell, column=header, message="not a fiscal quarter like FY2026-Q3")
    return out
