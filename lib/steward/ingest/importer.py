"""prepare(): file -> validated canonical frame (in memory). commit(): frame -> store.

Parsing and validation happen entirely before the store is opened, so the dashboard's
short read-only connections are blocked only for the final insert transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from steward import store
from steward.definitions import Definitions, normalize_label
from steward.errors import ImportRejected
from steward.ingest import parse, rules, validate
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


@dataclass
class _Source:
    """The file's cells, where each canonical column comes from, and the issue log."""

    raw: RawTable
    frame: pd.DataFrame
    lines: np.ndarray
    cols: dict[str, str]
    mapping: Mapping | None
    log: IssueLog
    window: tuple[pd.Timestamp, pd.Timestamp]
    # Cells a mapping rule made (lookups, filled blanks, ids from names), by canonical name.
    cells: dict[str, pd.Series] = field(default_factory=dict)
    name_header: str | None = None  # set when ids are taken from this name column
    used: set[str] = field(default_factory=set)  # file columns read by mapping rules

    def column(self, name: str) -> pd.Series | None:
        """The cells feeding a canonical column (value map applied), a default, or None."""
        if name in self.cells or name in self.cols:
            col = self.cells[name] if name in self.cells else self.frame[self.cols[name]]
            value_map = self.mapping.values.get(name) if self.mapping else None
            if value_map:
                vm = {normalize_label(k): v for k, v in value_map.items()}
                t = parse.text(col)
                keys = t.map(normalize_label)
                col = t.where(~keys.isin(vm.keys()), keys.map(vm))
            return col
        if self.mapping and name in self.mapping.defaults:
            value = self.mapping.defaults[name]
            return pd.Series([value] * len(self.frame), index=self.frame.index, dtype=object)
        return None

    def outside_message(self) -> str:
        lo, hi = (t.date().isoformat() for t in self.window)
        return f"date outside the accepted window {lo} to {hi} (definitions [import])"

    def where(self, name: str) -> str:
        """The column name to show in messages: the file's header when there is one."""
        return self.cols.get(name, name)

    def flag(
        self,
        mask: np.ndarray,
        name: str,
        cells: pd.Series | None,
        message: str,
        severity: str = "error",
    ) -> None:
        self.log.add_mask(
            mask, self.lines, cells, column=self.where(name), message=message, severity=severity
        )

    def empty(self, dtype: str = "object") -> pd.Series:
        return pd.Series(None, index=self.frame.index, dtype=dtype)


def build_snapshots(
    raw: RawTable,
    defs: Definitions,
    preset: str,
    mapping: Mapping | None,
    snapshot_date: date | None,
    report: Progress,
) -> Prepared:
    """Canonical snapshot rows from a table of cells, with every problem logged."""
    log = IssueLog(raw.name)
    notes = list(raw.notes)
    frame, lines = raw.frame, raw.lines
    frame = rules.clean_controls(frame, lines, log)
    if mapping:
        frame, lines = rules.skip_rows(frame, lines, mapping, log, notes)
    window = (pd.Timestamp(defs.earliest_date), pd.Timestamp(defs.latest_date))
    cols = _columns_for(raw, preset, mapping, log)
    src = _Source(raw, frame, lines, cols, mapping, log, window)
    if preset == "salesforce_data_export" and "IsDeleted" in src.frame.columns:
        _drop_deleted(src, notes)
    if mapping:
        _apply_rules(src, mapping, notes)
    defaults = mapping.defaults if mapping else {}
    for c in ("opportunity_id", "stage", "close_date"):
        if c not in src.cols and c not in src.cells and c not in defaults:
            log.add(
                f"required column {c} not found (headers: {', '.join(raw.headers[:15])})", column=c
            )
    if src.frame.empty:
        log.add("the file has a header but no data rows; nothing to import")
    ignored = sorted(set(raw.headers) - set(src.cols.values()) - src.used)
    if ignored:
        more = " ..." if len(ignored) > 15 else ""
        notes.append("ignored columns: " + ", ".join(ignored[:15]) + more)

    out = pd.DataFrame(index=src.frame.index)
    fallback = (
        snapshot_date or (mapping.snapshot_date if mapping else None) or date_from_name(raw.name)
    )
    out["snapshot_date"] = _snapshot_dates(src, fallback)
    report(0.55, "ids and names")
    out["opportunity_id"] = _ids(src, out["snapshot_date"])
    for name in TEXT_COLUMNS:
        col = src.column(name)
        out[name] = parse.optional_text(col) if col is not None else src.empty()
    out["segment"] = out["segment"].fillna("Unassigned")
    report(0.65, "stages")
    stage_raw = src.column("stage")
    aliases = mapping.stage_aliases if mapping else {}
    out["stage"] = (
        validate.resolve_stages(
            parse.text(stage_raw), defs, aliases, src.lines, src.where("stage"), log
        )
        if stage_raw is not None
        else src.empty()
    )
    is_closed, is_won, default_prob = validate.stage_flags(out["stage"], defs)
    report(0.75, "amounts")
    out["amount"] = _amounts(src)
    out["probability"] = _probabilities(src, preset, default_prob)
    fc_raw = src.column("forecast_category")
    out["forecast_category"] = (
        validate.normalize_forecast(
            parse.optional_text(fc_raw), defs, src.lines, src.where("forecast_category"), log
        )
        if fc_raw is not None
        else src.empty()
    )
    report(0.85, "dates")
    out["close_date"] = _dates(src, "close_date", required=True)
    out["created_date"] = _dates(src, "created_date", required=False)
    out["is_closed"] = _flags(src, "is_closed", is_closed, "closed flag")
    out["is_won"] = _flags(src, "is_won", is_won, "won flag")
    out = typed(out)
    if not (mapping and mapping.id_from_name):  # ids_from_names named the repeats already
        validate.check_duplicates(out, src.lines, src.where("opportunity_id"), log)
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


def _apply_rules(src: _Source, mapping: Mapping, notes: list[str]) -> None:
    """Lookups, id from a name and filled blanks into src.cells; keys that cannot apply
    to this file (a default for a column it has, a value map for a column it lacks) are
    refused naming the key."""
    headers = src.raw.headers
    for name in mapping.defaults:
        if name in src.cols:
            src.log.add(
                f"[defaults] {name} does not apply: the file has column {src.cols[name]!r} "
                f"for it (use [fill.{name}] for its blanks)",
                column=src.cols[name],
            )
    for name, lookup in mapping.lookups.items():
        key = rules.header_of(headers, lookup.key)
        if key is None:
            src.log.add(
                f"[lookups.{name}] key column {lookup.key!r} is not in the file", column=lookup.key
            )
            continue
        src.cols.pop(name, None)  # the lookup is what the mapping asked for
        src.used.add(key)
        side = rules.side_table(mapping, lookup)
        src.cells[name] = rules.lookup_values(
            src.frame[key], side, lookup, name, src.lines, key, src.log, notes
        )
    if mapping.id_from_name:
        header = rules.header_of(headers, mapping.id_from_name)
        if header is None:
            src.log.add(
                f"id_from_name reads column {mapping.id_from_name!r}, which the file lacks",
                column=mapping.id_from_name,
            )
        else:
            src.cols.pop("opportunity_id", None)
            src.cols.setdefault("opportunity_name", header)
            src.cells["opportunity_id"] = src.frame[header]
            src.name_header = header
    for name, fill in mapping.fill.items():
        base = src.cells.get(name)
        if base is None and name in src.cols:
            base = src.frame[src.cols[name]]
        if base is None:
            src.log.add(f"[fill.{name}] does not apply: no column feeds {name}", column=name)
            continue
        src.cells[name], n = rules.fill_blanks(base, fill, src.frame, name, src.log)
        if fill.column is not None:
            src.used.add(rules.header_of(headers, fill.column) or fill.column)
        how = f"from column {fill.column!r}" if fill.column is not None else f"with {fill.value!r}"
        notes.append(f"filled {n:,} blank {name} cell(s) {how}")
    src.used.update(h for w in rules.skip_columns(mapping) if (h := rules.header_of(headers, w)))
    for name in mapping.values:
        if name not in src.cells and name not in src.cols:
            src.log.add(f"[values.{name}] does not apply: no column feeds {name}", column=name)
    if mapping.probability_scale != "auto" and "probability" not in src.cols:
        src.log.add(
            "probability_scale does not apply: no column feeds probability",
            column="probability",
        )


def _drop_deleted(src: _Source, notes: list[str]) -> None:
    deleted, _ = parse.parse_bool(src.frame["IsDeleted"])
    keep = ~deleted.fillna(False).to_numpy(dtype=bool)
    if not keep.all():
        notes.append(f"skipped {int((~keep).sum())} deleted record(s) (IsDeleted = 1)")
        src.frame = src.frame[keep].reset_index(drop=True)
        src.lines = src.lines[keep]


def _snapshot_dates(src: _Source, fallback: date | None) -> pd.Series:
    """The column, its blanks filled from the argument / mapping / file name; or that date."""
    cells = src.column("snapshot_date")
    hint = src.mapping.date_format if src.mapping else None
    if cells is not None:
        snaps, bad, outside = parse.parse_dates_window(cells, src.window, hint)
        src.flag(bad, "snapshot_date", cells, "unreadable date")
        src.flag(outside, "snapshot_date", cells, src.outside_message())
        bad = bad | outside
        if fallback is not None:
            snaps = snaps.fillna(pd.Timestamp(fallback))
        src.flag(snaps.isna().to_numpy() & ~bad, "snapshot_date", cells, "snapshot date is blank")
        return snaps
    if fallback is not None:
        if not src.window[0] <= pd.Timestamp(fallback) <= src.window[1]:
            src.log.add(src.outside_message(), column="snapshot_date", value=fallback)
            return src.empty("datetime64[ns]")
        return pd.Series(pd.Timestamp(fallback), index=src.frame.index, dtype="datetime64[ns]")
    src.log.add(
        "no snapshot date: add a snapshot_date column, pass --snapshot-date YYYY-MM-DD, "
        "or put the date in the file name (opportunities_2026-11-20.csv)",
        column="snapshot_date",
    )
    return src.empty("datetime64[ns]")


def _ids(src: _Source, snapshot_dates: pd.Series) -> pd.Series:
    cells = src.column("opportunity_id")
    if cells is None:
        return src.empty()
    if src.name_header is not None:
        return rules.ids_from_names(
            cells, snapshot_dates, src.lines, src.name_header, src.log
        ).set_axis(src.frame.index)
    ids = parse.optional_text(cells)
    src.flag(ids.isna().to_numpy(), "opportunity_id", cells, "opportunity id is blank")
    return ids


def _amounts(src: _Source) -> pd.Series:
    cells = src.column("amount")
    if cells is None:
        src.log.add("no amount column: every amount is blank", column="amount", severity="warning")
        return src.empty("float64")
    amounts, bad, blank = parse.parse_money(
        cells, src.mapping.decimal_comma if src.mapping else None
    )
    src.flag(bad, "amount", cells, "unreadable amount")
    src.flag(blank, "amount", cells, "amount is blank (counted as 0 in sums)", "warning")
    src.flag((amounts < 0).to_numpy(dtype=bool), "amount", cells, "negative amount", "warning")
    return amounts


def _probabilities(src: _Source, preset: str, default_prob: pd.Series) -> pd.Series:
    cells = src.column("probability")
    if cells is None:
        return default_prob
    scale = PROBABILITY_SCALE.get(preset, "auto")
    if src.mapping and src.mapping.probability_scale != "auto":
        scale = src.mapping.probability_scale
    probs, bad = parse.parse_probability(cells, scale)
    src.flag(bad, "probability", cells, "probability must be 0-1 or 0-100")
    return probs.fillna(default_prob)


def _dates(src: _Source, name: str, required: bool) -> pd.Series:
    cells = src.column(name)
    if cells is None:
        return src.empty("datetime64[ns]")
    hint = src.mapping.date_format if src.mapping else None
    values, bad, outside = parse.parse_dates_window(cells, src.window, hint)
    src.flag(bad, name, cells, "unreadable date")
    src.flag(outside, name, cells, src.outside_message())
    bad = bad | outside
    if required:
        src.flag(values.isna().to_numpy() & ~bad, name, cells, f"{name.replace('_', ' ')} is blank")
    return values


def _flags(src: _Source, name: str, derived: pd.Series, what: str) -> pd.Series:
    """The stage's flag; the file's own flag only checked (a disagreement is a warning)."""
    cells = src.column(name)
    if cells is not None:
        given, bad = parse.parse_bool(cells)
        src.flag(bad, name, cells, "not a yes/no value")
        validate.check_flags(derived, given, src.lines, cells, src.where(name), what, src.log)
    return derived


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
