"""The deal list behind every number: one set of columns for every drill-down.

Every drill (a funnel bar, a waterfall bucket, a coverage cell, the stalled deals ...)
returns the same columns, in the same order, so the screen, the workbook and the
narrative can show any of them the same way. Drill-specific columns (amount_from,
stage_from, bucket ...) come after these.

Reuse from another metric module:

    sql = f"select {deals.select_list('s')} from snapshots s where s.snapshot_date = $snapshot_date ..."
    frame = deals.finish(con.execute(sql, params).df(), defs)

or simply `deals.deal_list(con, defs, snapshot_date, where, params)` (named parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from steward.definitions import Definitions
from steward.metrics.core import Column
from steward.sqlbind import merge

# The columns a CRO needs, in display order (crm_url is added by `finish`).
DEAL_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "opportunity_name",
    "account_name",
    "segment",
    "region",
    "owner",
    "source",
    "stage",
    "amount",
    "probability",
    "forecast_category",
    "close_date",
    "created_date",
)
DEAL_TABLE_COLUMNS: tuple[str, ...] = (*DEAL_COLUMNS, "crm_url")

# Every column a deal list can carry, declared once: the screen's deal tables, the
# workbook's deal sheets and the CSV headers read these labels and units.
DEAL_SCHEMA: tuple[Column, ...] = (
    Column("opportunity_id", "Opportunity ID"),
    Column("opportunity_name", "Opportunity"),
    Column("account_name", "Account"),
    Column("segment", "Segment"),
    Column("region", "Region"),
    Column("owner", "Owner"),
    Column("source", "Source"),
    Column("stage", "Stage"),
    Column("amount", "Amount", "usd"),
    Column("probability", "Probability", "ratio"),
    Column("forecast_category", "Forecast category"),
    Column("close_date", "Close date", "date"),
    Column("created_date", "Created", "date"),
    Column("crm_url", "CRM link"),
    Column("bucket", "Bucket"),
    Column("amount_from", "Amount (from)", "usd", "the deal's amount in the compare-to snapshot"),
    Column("amount_to", "Amount (to)", "usd", "the deal's amount in the as-of snapshot"),
    Column("amount_change", "Amount change", "usd", "amount (to) − amount (from)"),
    Column(
        "effect",
        "Effect on bridge",
        "usd",
        "leaving: −amount (from); entering: +amount (to); staying: amount change",
    ),
    Column("stage_from", "Stage (from)"),
    Column("close_date_from", "Close date (from)", "date"),
)


def deal_schema(names: tuple[str, ...] = DEAL_TABLE_COLUMNS, *extra: Column) -> tuple[Column, ...]:
    """The declared columns of a metric whose table is a deal list: `names` from
    DEAL_SCHEMA (the standard deal columns by default), then the metric's own `extra`."""
    by_name = {c.name: c for c in DEAL_SCHEMA}
    return (*(by_name[n] for n in names), *extra)


def select_list(alias: str = "s") -> str:
    """`s.opportunity_id, s.opportunity_name, ...` for a snapshot alias."""
    if not alias.isidentifier():
        raise ValueError(f"bad SQL alias {alias!r}")
    return ", ".join(f"{alias}.{c}" for c in DEAL_COLUMNS)


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in DEAL_TABLE_COLUMNS})


def finish(frame: pd.DataFrame, defs: Definitions) -> pd.DataFrame:
    """Fill the stage-default probability, add crm_url, put DEAL_COLUMNS first."""
    out = frame.copy()
    for c in DEAL_COLUMNS:
        if c not in out.columns:
            out[c] = None
    defaults = {s.name: s.probability for s in defs.stages}
    if len(out):
        fill = out["stage"].map(defaults)
        out["probability"] = out["probability"].astype("float64").fillna(fill)
    out["crm_url"] = [
        defs.record_url(str(i)) if i is not None else None for i in out["opportunity_id"]
    ]
    extra = [c for c in out.columns if c not in DEAL_TABLE_COLUMNS]
    return out[[*DEAL_TABLE_COLUMNS, *extra]].reset_index(drop=True)


def deal_list(
    con: duckdb.DuckDBPyConnection,
    defs: Definitions,
    snapshot_date: date,
    where: str = "",
    params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Deals of one snapshot matching `where` (SQL on alias s, starting with ' and ...').

    Sorted by amount (largest first), then id, so the biggest deals lead every drill.
    """
    sql = f"""
        with deals as (
            select {select_list("s")}
            from snapshots s
            where s.snapshot_date = $snapshot_date{where}
        )
        select * from deals
        order by amount desc nulls last, opportunity_id
    """  # noqa: S608 - columns from DEAL_COLUMNS; `where` is built from whitelisted names
    return finish(
        con.execute(sql, merge({"snapshot_date": snapshot_date}, params or {})).df(), defs
    )
