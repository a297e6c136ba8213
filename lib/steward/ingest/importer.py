"""prepare(): file -> validated canonical frame (in memory). commit(): frame -> store.

Parsing and validation happen entirely before the store is opened, so the dashboard's
short read-only connections are blocked only for the final insert transaction.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from steward import store
from steward.definitions import Definitions, normalize_label
from steward.errors import ImportRejected
from steward.ingest import parse, validate
from steward.ingest.mapping import Mapping
from steward.ingest.model import IssueLog, Prepared, Progress
from steward.ingest.presets import (
    COLUMNS,
    PRESETS,
    PROBABILITY_SCALE,
    matching_presets,
    resolve_columns,
)
from steward.ingest.readers import RawTable, read_table

TEXT_COLUMNS = (
    "opportunity_name",
    "account_id",
    "account_name",
    "segment",
    "region",
    "owner",
    "source",
    "lead_source",
    "currency",
    "loss_reason",
    "product",
)
_FILE_DATE = re.compile(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")


def date_from_name(name: str) -> date | None:
    """A snapshot date written in the file name: opportunities_2026-11-20.csv, ..._20261120."""
    for m in _FILE_DATE.finditer(Path(name).name):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
    return None


def _noop(_fraction: float, _message: str) -> None:
    return None


def choose_preset(raw: RawTable, preset: str | None, mapping: Mapping | None) -> str:
    chosen = preset or (mapping.preset if mapping else None)
    if chosen:
        if chosen not in PRESETS:
            raise ImportRejected(
                f"unknown preset {chosen!r}", [f"known presets: {', '.join(PRESETS)}"]
            )
        return chosen
    found = matching_presets(raw.headers)
    if len(found) == 1:
        return found[0]
    if mapping is not None:
        return found[0] if found else "canonical"
    shown = ", ".join(raw.headers[:12]) + (" ..." if len(raw.headers) > 12 else "")
    why = "several formats fit: " + ", ".join(found) if found else "no known format fits"
    raise ImportRejected(
        f"{raw.name}: cannot tell which export this is ({why})",
        [
            f"headers: {shown}",
            "Name the format with --preset (" + ", ".join(PRESETS) + "), "
            "or describe the columns in a mapping file (--mapping, see docs/import-formats.md).",
        ],
    )


def prepare(
    source: str | Path | bytes,
    defs: Definitions,
    *,
    name: str | None = None,
    preset: str | None = None,
    mapping: Mapping | str | Path | None = None,
    snapshot_date: date | str | None = None,
    progress: Progress | None = None,
) -> Prepared:
    """Read, map, parse and validate one opportunity snapshot file. Never touches the store."""
    report = progress or _noop
    if isinstance(mapping, str | Path):
        mapping = Mapping.from_toml(mapping)
    if isinstance(snapshot_date, str):
        try:
            snapshot_date = date.fromisoformat(snapshot_date)
        except ValueError as exc:
            raise ImportRejected(f"--snapshot-date {snapshot_date!r} is not YYYY-MM-DD") from exc
    report(0.0, "reading")
    raw = read_table(source, name, progress=lambda f, m: report(0.5 * f, m))
    used = choose_preset(raw, preset, mapping)
    report(0.5, f"format {used}")
    prepared = build_snapshots(raw, defs, used, mapping, snapshot_date, report)
    report(1.0, "validated")
    return prepared


def _columns_for(
    raw: RawTable, preset: str, mapping: Mapping | None, log: IssueLog
) -> dict[str, str]:
    cols = resolve_columns(raw.headers, COLUMNS[preset])
    if mapping:
        by_key = {normalize_label(h): h for h in raw.headers}
        for canonical, header in mapping.columns.items():
            hit = by_key.get(normalize_label(header))
            if hit is None:
                log.add(
                    f"the mapping reads {canonical} from column {header!r}, which the file lacks",
                    column=header,
                )
            else:
                cols[canonical] = hit
    return cols


def build_snapshots(
    raw: RawTable,
    defs: Definitions,
    preset: str,
    mapping: Mapping | None,
    snapshot_date: date | None,
    report: Progress,
) -> Prepared:
    log = IssueLog(raw.name)
    notes = list(raw.notes)
    cols = _columns_for(raw, preset, mapping, log)
    src = raw.frame
    lines = raw.lines
    if preset == "salesforce_data_export" and "IsDeleted" in src.columns:
        deleted, _ = parse.parse_bool(src["IsDeleted"])
        keep = ~deleted.fillna(False).to_numpy(dtype=bool)
        if not keep.all():
            notes.append(f"skipped {int((~keep).sum())} deleted record(s) (IsDeleted = 1)")
            src = src[keep].reset_index(drop=True)
            lines = lines[keep]
    defaults = mapping.defaults if mapping else {}
    missing = [
        c for c in ("opportunity_id", "stage", "close_date") if c not in cols and c not in defaults
    ]
    for c in missing:
        log.add(f"required column {c} not found (headers: {', '.join(raw.headers[:15])})", column=c)
    ignored = sorted(set(raw.headers) - set(cols.values()))
    if ignored:
        notes.append(
            "ignored columns: " + ", ".join(ignored[:15]) + (" ..." if len(ignored) > 15 else "")
        )
    n = len(src)
    hint = mapping.date_format if mapping else None
    decimal_comma = mapping.decimal_comma if mapping else None
    value_maps = mapping.values if mapping else {}

    def column(name: str) -> pd.Series | None:
        if name in cols:
            col = src[cols[name]]
            if name in value_maps:
                vm = {normalize_label(k): v for k, v in value_maps[name].items()}
                t = parse.text(col)
                keys = t.map(normalize_label)
                col = t.where(~keys.isin(vm.keys()), keys.map(vm))
            return col
        if name in defaults:
            return pd.Series([defaults[name]] * n, index=src.index, dtype=object)
        return None

    def where(name: str) -> str:
        return cols.get(name, name)

    out = pd.DataFrame(index=src.index)
    # snapshot date: the column, else the argument / mapping, else the file name
    fallback = (
        snapshot_date or (mapping.snapshot_date if mapping else None) or date_from_name(raw.name)
    )
    snap_col = column("snapshot_date")
    if snap_col is not None:
        snaps, bad = parse.parse_dates(snap_col, hint)
        log.add_mask(bad, lines, snap_col, column=where("snapshot_date"), message="unreadable date")
        if fallback is not None:
            snaps = snaps.fillna(pd.Timestamp(fallback))
        blank = snaps.isna().to_numpy() & ~bad
        log.add_mask(
            blank, lines, snap_col, column=where("snapshot_date"), message="snapshot date is blank"
        )
    elif fallback is not None:
        snaps = pd.Series(pd.Timestamp(fallback), index=src.index, dtype="datetime64[ns]")
    else:
        snaps = pd.Series(pd.NaT, index=src.index, dtype="datetime64[ns]")
        log.add(
            "no snapshot date: add a snapshot_date column, pass --snapshot-date YYYY-MM-DD, "
            "or put the date in the file name (opportunities_2026-11-20.csv)",
            column="snapshot_date",
        )
    out["snapshot_date"] = snaps
    report(0.55, "ids and names")

    oid = column("opportunity_id")
    ids = (
        parse.optional_text(oid)
        if oid is not None
        else pd.Series(None, index=src.index, dtype=object)
    )
    if oid is not None:
        log.add_mask(
            ids.isna().to_numpy(),
            lines,
            oid,
            column=where("opportunity_id"),
            message="opportunity id is blank",
        )
    out["opportunity_id"] = ids
    for name in TEXT_COLUMNS:
        col = column(name)
        out[name] = (
            parse.optional_text(col)
            if col is not None
            else pd.Series(None, index=src.index, dtype=object)
        )
    out["segment"] = out["segment"].fillna("Unassigned")
    report(0.65, "stages")

    stage_raw = column("stage")
    if stage_raw is not None:
        stages = validate.resolve_stages(
            parse.text(stage_raw),
            defs,
            mapping.stage_aliases if mapping else {},
            lines,
            where("stage"),
            log,
        )
    else:
        stages = pd.Series(None, index=src.index, dtype=object)
    out["stage"] = stages
    is_closed, is_won, default_prob = validate.stage_flags(stages, defs)
    report(0.75, "amounts")

    amount_raw = column("amount")
    if amount_raw is not None:
        amounts, bad, blank = parse.parse_money(amount_raw, decimal_comma)
        log.add_mask(bad, lines, amount_raw, column=where("amount"), message="unreadable amount")
        log.add_mask(
            blank,
            lines,
            amount_raw,
            column=where("amount"),
            message="amount is blank (counted as 0 in sums)",
            severity="warning",
        )
        neg = (amounts < 0).to_numpy(dtype=bool)
        log.add_mask(
            neg,
            lines,
            amount_raw,
            column=where("amount"),
            message="negative amount",
            severity="warning",
        )
    else:
        amounts = pd.Series(np.nan, index=src.index, dtype=float)
        log.add("no amount column: every amount is blank", column="amount", severity="warning")
    out["amount"] = amounts
    out["currency"] = out["currency"]

    prob_raw = column("probability")
    if prob_raw is not None:
        scale = PROBABILITY_SCALE.get(preset, "auto")
        if mapping and mapping.probability_scale != "auto":
            scale = mapping.probability_scale
        probs, bad = parse.parse_probability(prob_raw, scale)
        log.add_mask(
            bad,
            lines,
            prob_raw,
            column=where("probability"),
            message="probability must be 0-1 or 0-100",
        )
        out["probability"] = probs.fillna(default_prob)
    else:
        out["probability"] = default_prob
    fc_raw = column("forecast_category")
    if fc_raw is not None:
        out["forecast_category"] = validate.normalize_forecast(
            parse.optional_text(fc_raw), defs, lines, where("forecast_category"), log
        )
    else:
        out["forecast_category"] = pd.Series(None, index=src.index, dtype=object)
    report(0.85, "dates")

    for name, required in (("close_date", True), ("created_date", False)):
        col = column(name)
        if col is None:
            out[name] = pd.Series(pd.NaT, index=src.index, dtype="datetime64[ns]")
            continue
        values, bad = parse.parse_dates(col, hint)
        log.add_mask(bad, lines, col, column=where(name), message="unreadable date")
        if required:
            blank = values.isna().to_numpy() & ~bad
            log.add_mask(
                blank, lines, col, column=where(name), message=f"{name.replace('_', ' ')} is blank"
            )
        out[name] = values

    for name, derived, what in (
        ("is_closed", is_closed, "closed flag"),
        ("is_won", is_won, "won flag"),
    ):
        col = column(name)
        if col is not None:
            given, bad = parse.parse_bool(col)
            log.add_mask(bad, lines, col, column=where(name), message="not a yes/no value")
            validate.check_flags(derived, given, lines, col, where(name), what, log)
        out[name] = derived
    out = typed(out)
    validate.check_duplicates(out, lines, where("opportunity_id"), log)
    report(0.95, "checked")
    return Prepared(
        file_name=raw.name,
        frame=out.reset_index(drop=True),
        preset=preset,
        issues=log.items,
        sha256=raw.sha256,
        kind="snapshot",
        extra_errors=log.extra_errors,
        extra_warnings=log.extra_warnings,
        notes=notes,
    )


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The canonical columns in order: text as pandas str (NaN = missing), dates as
    datetime64 (midnight), amount and probability float64, flags bool."""
    out = frame[list(store.SNAPSHOT_COLUMNS)].copy()
    for name, typ in store.SNAPSHOT_COLUMNS.items():
        if typ == "varchar":
            out[name] = out[name].astype("str")
        elif typ == "date":
            out[name] = pd.to_datetime(out[name]).astype("datetime64[ns]")
        elif typ == "boolean":
            out[name] = out[name].astype(bool)
        else:
            out[name] = out[name].astype(float)
    return out


def commit(
    db_or_con: str | Path | duckdb.DuckDBPyConnection | None,
    prepared: Prepared,
    *,
    replace: bool = False,
) -> int:
    """Write a prepared import in one transaction; returns the import id.

    Raises ImportRejected (nothing written) when the import has errors. The write
    connection is opened only here, after all parsing, and held for the insert only.
    """
    if not prepared.ok:
        raise ImportRejected(
            f"{prepared.file_name}: {prepared.error_count} error(s); nothing was written",
            prepared.error_lines(),
        )
    if isinstance(db_or_con, duckdb.DuckDBPyConnection):
        return _commit(db_or_con, prepared, replace)
    with store.writer(db_or_con) as con:
        return _commit(con, prepared, replace)


def _commit(con: duckdb.DuckDBPyConnection, prepared: Prepared, replace: bool) -> int:
    if prepared.kind == "snapshot":
        return store.commit_snapshots(
            con,
            prepared.frame,
            file_name=prepared.file_name,
            sha256=prepared.sha256,
            source_format=prepared.preset,
            replace=replace,
        )
    return store.commit_table(
        con, prepared.kind, prepared.frame, file_name=prepared.file_name, sha256=prepared.sha256
    )


def log_rejected(db: str | Path | None, prepared_or_name: Prepared | str, message: str) -> None:
    """Record a refused import in the log of an existing store (best effort)."""
    path = store.resolve_path(db)
    if not path.exists():
        return
    name = prepared_or_name if isinstance(prepared_or_name, str) else prepared_or_name.file_name
    sha = None if isinstance(prepared_or_name, str) else prepared_or_name.sha256
    fmt = None if isinstance(prepared_or_name, str) else prepared_or_name.preset
    try:
        with store.writer(db, timeout_s=10) as con:
            store.log_rejection(
                con, "snapshot", name, sha, fmt, store._now(), ImportRejected(message)
            )
    except Exception:  # noqa: S110 - logging must never hide the real error
        pass
