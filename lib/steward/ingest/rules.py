"""A mapping's row rules, applied to a file's cells before they are parsed.

Real exports need more than renamed columns: leads mixed in with opportunities (skip
rows), open deals with a blank close date (fill blanks), segment or region kept in
another file (lookups), no id column at all (id from a name). Each rule reports what it
did in the import summary: a skipped row, a filled cell or an unmatched key is counted,
never silent. Everything here works on whole columns (no per-row Python loops).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steward import textsafe
from steward.definitions import normalize_label
from steward.errors import ImportRejected
from steward.ingest import parse
from steward.ingest.mapping import Fill, Lookup, Mapping
from steward.ingest.model import IssueLog
from steward.ingest.readers import RawTable, read_table

SHOW_KEYS = 5


def header_of(headers: list[str], wanted: str) -> str | None:
    """The file's header for a name (case- and space-insensitive), or None."""
    by_key = {normalize_label(h): h for h in headers}
    return by_key.get(normalize_label(wanted))


def clean_controls(frame: pd.DataFrame, lines: np.ndarray, log: IssueLog) -> pd.DataFrame:
    """Control characters (NUL, vertical tab, bell ... from CRM free-text fields) removed
    from every text cell, each cleaned cell a warning: stored text stays writable to the
    workbook and the board pack."""
    out = frame
    for col in frame.columns:
        cells = frame[col]
        if not (cells.dtype == object or pd.api.types.is_string_dtype(cells.dtype)):
            continue
        as_text = cells.astype(object).where(cells.notna(), "").astype(str)
        hit = as_text.str.contains(textsafe.CONTROL_COLUMN, regex=True).to_numpy(dtype=bool)
        if not hit.any():
            continue
        log.add_mask(
            hit,
            lines,
            as_text.map(ascii),
            column=str(col),
            message="control character(s) removed (shown escaped)",
            severity="warning",
        )
        if out is frame:
            out = frame.copy()
        out[col] = cells.where(~hit, as_text.str.replace(textsafe.CONTROL_COLUMN, "", regex=True))
    return out


def skip_columns(mapping: Mapping) -> list[str]:
    return [*mapping.skip_blank, *mapping.skip_values]


def skip_rows(
    frame: pd.DataFrame, lines: np.ndarray, mapping: Mapping, log: IssueLog, notes: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Leave out the rows the mapping's [skip] names; each reason counted in `notes`."""
    headers = [str(c) for c in frame.columns]
    drop = np.zeros(len(frame), dtype=bool)
    reasons: list[tuple[np.ndarray, str]] = []
    for wanted in mapping.skip_blank:
        header = header_of(headers, wanted)
        if header is None:
            log.add(f"[skip] blank names column {wanted!r}, which the file lacks", column=wanted)
            continue
        reasons.append((parse.is_blank(frame[header]), f"{header!r} is blank"))
    for wanted, listed in mapping.skip_values.items():
        header = header_of(headers, wanted)
        if header is None:
            log.add(f"[skip.values] names column {wanted!r}, which the file lacks", column=wanted)
            continue
        keys = parse.text(frame[header]).map(normalize_label)
        hit = keys.isin({normalize_label(v) for v in listed}).to_numpy(dtype=bool)
        shown = " or ".join(repr(v) for v in listed)
        reasons.append((hit, f"{header!r} is {shown}"))
    for hit, _why in reasons:
        drop |= hit
    if reasons:  # a row may meet several reasons: the total counts it once
        each = ", ".join(f"{why} ({int(hit.sum()):,})" for hit, why in reasons)
        notes.append(f"skipped {int(drop.sum()):,} row(s): {each}")
    if not drop.any():
        return frame, lines
    keep = ~drop
    return frame[keep].reset_index(drop=True), lines[keep]


def fill_blanks(
    cells: pd.Series, fill: Fill, frame: pd.DataFrame, field: str, log: IssueLog
) -> tuple[pd.Series, int]:
    """Blank cells taken from another column of the same row, or a fixed value."""
    blank = parse.is_blank(cells)
    if fill.column is not None:
        header = header_of([str(c) for c in frame.columns], fill.column)
        if header is None:
            log.add(
                f"[fill.{field}] reads column {fill.column!r}, which the file lacks",
                column=fill.column,
            )
            return cells, 0
        source = frame[header]
    else:
        source = pd.Series([fill.value] * len(cells), index=cells.index, dtype=object)
    filled = cells.astype(object).where(~blank, source.astype(object))
    return filled, int((blank & ~parse.is_blank(filled)).sum())


def side_table(mapping: Mapping, lookup: Lookup) -> RawTable:
    source, name = mapping.side_file(lookup.file)
    return read_table(source, name)


def lookup_values(
    keys: pd.Series,
    side: RawTable,
    lookup: Lookup,
    field: str,
    lines: np.ndarray,
    key_header: str,
    log: IssueLog,
    notes: list[str],
) -> pd.Series:
    """side[value] for each row's key (matched case- and space-insensitively).

    A side file that gives one key two different values is refused (which one would be
    meant?), naming its rows; keys the side file lacks are warnings with the rows, and
    the summary gives their count and first values.
    """
    match = header_of(side.headers, lookup.match)
    value = header_of(side.headers, lookup.value)
    for wanted, got in ((lookup.match, match), (lookup.value, value)):
        if got is None:
            raise ImportRejected(
                f"{side.name}: [lookups.{field}] column {wanted!r} not in the side file",
                ["its headers: " + ", ".join(side.headers[:15])],
            )
    assert match is not None and value is not None
    side_keys = parse.text(side.frame[match]).map(normalize_label)
    side_values = parse.optional_text(side.frame[value])
    table = pd.DataFrame({"k": side_keys, "v": side_values, "line": side.lines})
    table = table[table["k"] != ""]
    conflicts = table.groupby("k")["v"].nunique(dropna=False)
    conflicts = conflicts[conflicts > 1]
    if len(conflicts):
        details = []
        for k in conflicts.index[:SHOW_KEYS]:
            rows = table.loc[table["k"] == k, "line"].tolist()
            details.append(
                f"{side.name}, rows {', '.join(map(str, rows))}, column {match!r}: "
                f"key {k!r} has different {value!r} values"
            )
        raise ImportRejected(
            f"{side.name}: {len(conflicts)} key(s) have more than one {value!r}", details
        )
    lookup_map = dict(zip(table["k"], table["v"], strict=True))
    row_keys = parse.text(keys).map(normalize_label)
    found = row_keys.isin(lookup_map.keys())
    out = row_keys.map(lookup_map).where(found)
    unmatched = (~found & (row_keys != "")).to_numpy(dtype=bool)
    n = log.add_mask(
        unmatched,
        lines,
        keys,
        column=key_header,
        message=f"no {field} for this key in {side.name} (left blank)",
        severity="warning",
    )
    matched = int(found.sum())
    line = f"lookup {field} from {side.name} by {key_header!r}: {matched:,} row(s) matched"
    if n:
        first = parse.text(keys)[unmatched].drop_duplicates().head(SHOW_KEYS).tolist()
        line += f", {n:,} unmatched (first: {', '.join(repr(k) for k in first)})"
    notes.append(line)
    return out


def ids_from_names(
    names: pd.Series,
    groups: pd.Series,
    lines: np.ndarray,
    column: str,
    log: IssueLog,
) -> pd.Series:
    """Opportunity ids taken from names, for exports without an id column.

    The id is the name with its spaces tidied. Two rows with the same name in one
    snapshot (`groups`) would be one deal twice, so each repeat is an error naming all
    its rows; a blank name is an error too. Reusable by any importer that must key deals
    by name.
    """
    ids = parse.optional_text(names).str.split().str.join(" ")
    log.add_mask(
        ids.isna().to_numpy(dtype=bool),
        lines,
        names,
        column=column,
        message="opportunity name is blank (the id is taken from the name)",
    )
    keys = pd.DataFrame({"g": groups.to_numpy(), "k": ids.str.casefold().to_numpy()})
    dup = keys.duplicated(keep=False).to_numpy(dtype=bool) & ids.notna().to_numpy(dtype=bool)
    if dup.any():
        sub = keys[dup].assign(line=lines[dup], name=ids[dup].to_numpy())
        for _, rows in sub.groupby(["g", "k"], sort=False, dropna=False):
            log.add(
                "repeated name (the id is taken from the name): rows "
                + ", ".join(str(r) for r in rows["line"]),
                row=int(rows["line"].iloc[0]),
                column=column,
                value=rows["name"].iloc[0],
            )
    return ids
