"""Explicit column mappings for exports no preset knows.

A mapping is a small TOML file (the app builds the same object interactively):

    preset = "canonical"            # optional: start from a preset's column names
    snapshot_date = "2026-11-20"    # optional: one date for every row
    date_format = "DMY"             # MDY (default) | DMY | YMD | a strptime format "%d.%m.%Y"
    decimal_comma = true            # "1.234,50"; leave out to decide per column
    probability_scale = "percent"   # percent | fraction | auto (default)

    [columns]                       # canonical column = "header in the file"
    opportunity_id = "Deal #"
    stage = "Phase"

    [stage_aliases]                 # value in the file = governed stage
    "Won - Signed" = "Closed Won"

    [values.segment]                # per canonical column: value in the file = value to store
    "ENT" = "Enterprise"

    [defaults]                      # a constant for a column the file lacks
    currency = "EUR"

    id_from_name = "Deal"           # no id column: the (unique) name is the id

    [fill.close_date]               # blanks in a column: from another column ...
    column = "Expected Close"
    [fill.amount]                   # ... or a fixed value
    value = "0"

    [skip]                          # rows left out (counted in the report)
    blank = ["Stage"]               # where this file column is blank
    [skip.values]                   # where a file column holds one of these values
    "Record Type" = ["Lead"]

    [lookups.segment]               # a column taken from a side file by a key
    file = "accounts.csv"           # CSV/XLSX, relative to the mapping file
    key = "Account"                 # the key column in the export
    match = "Account Name"          # the key column in the side file
    value = "Segment"               # the side file column holding the value

Every key must apply: an unknown key, or one the file makes inapplicable (a default
for a column the file has), is refused naming the key; nothing is silently ignored.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from steward.errors import ImportRejected
from steward.ingest.presets import PRESETS
from steward.store import SNAPSHOT_COLUMNS

_KEYS = {
    "preset",
    "snapshot_date",
    "date_format",
    "decimal_comma",
    "probability_scale",
    "columns",
    "stage_aliases",
    "values",
    "defaults",
    "fill",
    "skip",
    "lookups",
    "id_from_name",
}
_LOOKUP_KEYS = ("file", "key", "match", "value")


@dataclass(frozen=True)
class Fill:
    """Where the blanks of one field come from: a fixed value or another file column."""

    value: str | None = None
    column: str | None = None


@dataclass(frozen=True)
class Lookup:
    """A field read from a side file: export[key] matched to side[match], giving side[value]."""

    file: str
    key: str
    match: str
    value: str


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)  # canonical <- source header
    stage_aliases: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    preset: str | None = None
    snapshot_date: date | None = None
    date_format: str | None = None
    decimal_comma: bool | None = None
    probability_scale: str = "auto"
    fill: dict[str, Fill] = field(default_factory=dict)
    skip_blank: list[str] = field(default_factory=list)
    skip_values: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, Lookup] = field(default_factory=dict)
    id_from_name: str | None = None
    # Where side files are found: the mapping file's folder, or files handed over in
    # memory (the Import page's uploads), by name. Not part of the TOML.
    base_dir: Path | None = field(default=None, compare=False)
    side_files: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "<mapping>") -> Mapping:
        unknown = sorted(set(raw) - _KEYS)
        if unknown:
            raise ImportRejected(
                f"{where}: unknown key(s) {unknown}", [f"allowed: {sorted(_KEYS)}"]
            )
        columns = {str(k): str(v) for k, v in dict(raw.get("columns", {})).items()}
        for section, names in (("columns", columns), ("defaults", raw.get("defaults", {}))):
            bad = sorted(set(names) - set(SNAPSHOT_COLUMNS))
            if bad:
                raise ImportRejected(
                    f"{where}: [{section}] names unknown canonical column(s) {bad}",
                    ["canonical columns: " + ", ".join(SNAPSHOT_COLUMNS)],
                )
        values = {
            str(col): {str(k): str(v) for k, v in dict(m).items()}
            for col, m in dict(raw.get("values", {})).items()
        }
        bad_values = sorted(set(values) - set(SNAPSHOT_COLUMNS))
        if bad_values:
            raise ImportRejected(f"{where}: [values] names unknown column(s) {bad_values}")
        preset = raw.get("preset")
        if preset is not None and preset not in PRESETS:
            raise ImportRejected(f"{where}: unknown preset {preset!r}", [f"known: {list(PRESETS)}"])
        snap = raw.get("snapshot_date")
        if isinstance(snap, str):
            try:
                snap = date.fromisoformat(snap)
            except ValueError as exc:
                raise ImportRejected(f"{where}: snapshot_date {snap!r} is not YYYY-MM-DD") from exc
        scale = str(raw.get("probability_scale", "auto"))
        if scale not in ("auto", "percent", "fraction"):
            raise ImportRejected(f"{where}: probability_scale must be auto, percent or fraction")
        fmt = raw.get("date_format")
        if fmt is not None and fmt not in ("MDY", "DMY", "YMD") and "%" not in str(fmt):
            raise ImportRejected(f"{where}: date_format must be MDY, DMY, YMD or a %-format")
        dc = raw.get("decimal_comma")
        defaults = {str(k): str(v) for k, v in dict(raw.get("defaults", {})).items()}
        fill = _fills(raw.get("fill", {}), where)
        skip_blank, skip_values = _skip(raw.get("skip", {}), where)
        lookups = _lookups(raw.get("lookups", {}), where)
        id_from = raw.get("id_from_name")
        _refuse_overlaps(where, columns, defaults, fill, lookups, id_from)
        return cls(
            columns=columns,
            stage_aliases={str(k): str(v) for k, v in dict(raw.get("stage_aliases", {})).items()},
            values=values,
            defaults=defaults,
            preset=preset,
            snapshot_date=snap,
            date_format=None if fmt is None else str(fmt),
            decimal_comma=None if dc is None else bool(dc),
            probability_scale=scale,
            fill=fill,
            skip_blank=skip_blank,
            skip_values=skip_values,
            lookups=lookups,
            id_from_name=None if id_from is None else str(id_from),
        )

    @classmethod
    def from_toml(cls, source: str | Path) -> Mapping:
        """From a path, or from TOML text when `source` is a str containing a newline or '='."""
        if isinstance(source, Path) or ("\n" not in source and "=" not in source):
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise ImportRejected(f"{path}: cannot read the mapping file", [str(exc)]) from exc
            where, base = path.name, path.resolve().parent
        else:
            text, where, base = source, "<mapping>", None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ImportRejected(f"{where}: not valid TOML", [str(exc)]) from exc
        mapping = cls.from_dict(raw, where)
        mapping.base_dir = base
        return mapping

    def to_toml(self) -> str:
        """The same mapping as TOML text (round-trips through from_toml)."""
        out: list[str] = []
        if self.preset:
            out.append(f"preset = {_q(self.preset)}")
        if self.snapshot_date:
            out.append(f"snapshot_date = {_q(self.snapshot_date.isoformat())}")
        if self.date_format:
            out.append(f"date_format = {_q(self.date_format)}")
        if self.decimal_comma is not None:
            out.append(f"decimal_comma = {'true' if self.decimal_comma else 'false'}")
        if self.probability_scale != "auto":
            out.append(f"probability_scale = {_q(self.probability_scale)}")
        if self.id_from_name:
            out.append(f"id_from_name = {_q(self.id_from_name)}")
        for title, table in (
            ("columns", self.columns),
            ("stage_aliases", self.stage_aliases),
            ("defaults", self.defaults),
        ):
            if table:
                out.append(f"\n[{title}]")
                out.extend(f"{_q(k)} = {_q(v)}" for k, v in table.items())
        for col, table in self.values.items():
            out.append(f"\n[values.{col}]")
            out.extend(f"{_q(k)} = {_q(v)}" for k, v in table.items())
        for col, fill in self.fill.items():
            out.append(f"\n[fill.{col}]")
            if fill.column is not None:
                out.append(f"column = {_q(fill.column)}")
            else:
                out.append(f"value = {_q(fill.value or '')}")
        if self.skip_blank or self.skip_values:
            out.append("\n[skip]")
            if self.skip_blank:
                out.append("blank = [" + ", ".join(_q(c) for c in self.skip_blank) + "]")
            if self.skip_values:
                out.append("\n[skip.values]")
                for col, listed in self.skip_values.items():
                    out.append(f"{_q(col)} = [" + ", ".join(_q(v) for v in listed) + "]")
        for col, lk in self.lookups.items():
            out.append(f"\n[lookups.{col}]")
            out.extend(f"{k} = {_q(getattr(lk, k))}" for k in _LOOKUP_KEYS)
        return "\n".join(out).strip() + "\n"

    def side_file(self, name: str) -> tuple[bytes | Path, str]:
        """A lookup's side file: handed over in memory, else next to the mapping file."""
        if name in self.side_files:
            return self.side_files[name], name
        path = Path(name)
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        if not path.exists():
            raise ImportRejected(
                f"lookup side file {name!r} not found",
                [f"looked for {path}" if self.base_dir else "upload it with the mapping"],
            )
        return path, path.name


def _table(raw: Any, where: str, key: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ImportRejected(f"{where}: [{key}] must be a table")
    return raw


def _canonical(names: Any, where: str, section: str) -> None:
    bad = sorted(set(names) - set(SNAPSHOT_COLUMNS))
    if bad:
        raise ImportRejected(
            f"{where}: [{section}] names unknown canonical column(s) {bad}",
            ["canonical columns: " + ", ".join(SNAPSHOT_COLUMNS)],
        )


def _fills(raw: Any, where: str) -> dict[str, Fill]:
    table = _table(raw, where, "fill")
    _canonical(table, where, "fill")
    out: dict[str, Fill] = {}
    for col, spec in table.items():
        spec = _table(spec, where, f"fill.{col}")
        keys = set(spec)
        if keys not in ({"value"}, {"column"}):
            raise ImportRejected(
                f"{where}: [fill.{col}] needs exactly one of value = ... or column = ... "
                f"(got {sorted(keys)})"
            )
        out[str(col)] = Fill(
            value=str(spec["value"]) if "value" in spec else None,
            column=str(spec["column"]) if "column" in spec else None,
        )
    return out


def _skip(raw: Any, where: str) -> tuple[list[str], dict[str, list[str]]]:
    table = _table(raw, where, "skip")
    unknown = sorted(set(table) - {"blank", "values"})
    if unknown:
        raise ImportRejected(f"{where}: [skip] unknown key(s) {unknown} (allowed: blank, values)")
    blank = table.get("blank", [])
    if isinstance(blank, str) or not isinstance(blank, list):
        raise ImportRejected(f"{where}: [skip] blank must be a list of file columns")
    values = _table(table.get("values", {}), where, "skip.values")
    listed: dict[str, list[str]] = {}
    for col, vals in values.items():
        if isinstance(vals, str) or not isinstance(vals, list) or not vals:
            raise ImportRejected(f"{where}: [skip.values] {col!r} must be a list of values")
        listed[str(col)] = [str(v) for v in vals]
    return [str(c) for c in blank], listed


def _lookups(raw: Any, where: str) -> dict[str, Lookup]:
    table = _table(raw, where, "lookups")
    _canonical(table, where, "lookups")
    out: dict[str, Lookup] = {}
    for col, spec in table.items():
        spec = _table(spec, where, f"lookups.{col}")
        if set(spec) != set(_LOOKUP_KEYS):
            raise ImportRejected(
                f"{where}: [lookups.{col}] needs exactly file, key, match and value "
                f"(got {sorted(spec)})"
            )
        out[str(col)] = Lookup(**{k: str(spec[k]) for k in _LOOKUP_KEYS})
    return out


def _refuse_overlaps(
    where: str,
    columns: dict[str, str],
    defaults: dict[str, str],
    fill: dict[str, Fill],
    lookups: dict[str, Lookup],
    id_from: Any,
) -> None:
    """Two keys feeding one field: one of them would be ignored, so refuse, naming it."""
    for col in defaults:
        if col in columns or col in lookups:
            raise ImportRejected(
                f"{where}: [defaults] {col} does not apply: {col} is read from a column",
                [f"[defaults] is for a column the file lacks; for blanks use [fill.{col}]"],
            )
        if col in fill:
            raise ImportRejected(
                f"{where}: [fill.{col}] does not apply: {col} comes from [defaults]"
            )
    for col in lookups:
        if col in columns:
            raise ImportRejected(
                f"{where}: [lookups.{col}] and [columns] {col} both feed {col}; keep one"
            )
    if id_from is not None and "opportunity_id" in columns:
        raise ImportRejected(
            f"{where}: id_from_name and [columns] opportunity_id both give the id; keep one"
        )
    if "opportunity_id" in lookups or "opportunity_id" in fill:
        raise ImportRejected(f"{where}: opportunity_id cannot be looked up or filled")


def _q(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
