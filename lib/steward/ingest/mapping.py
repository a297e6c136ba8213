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
}


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
        return cls(
            columns=columns,
            stage_aliases={str(k): str(v) for k, v in dict(raw.get("stage_aliases", {})).items()},
            values=values,
            defaults={str(k): str(v) for k, v in dict(raw.get("defaults", {})).items()},
            preset=preset,
            snapshot_date=snap,
            date_format=None if fmt is None else str(fmt),
            decimal_comma=None if dc is None else bool(dc),
            probability_scale=scale,
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
            where = path.name
        else:
            text, where = source, "<mapping>"
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ImportRejected(f"{where}: not valid TOML", [str(exc)]) from exc
        return cls.from_dict(raw, where)

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
        return "\n".join(out).strip() + "\n"


def _q(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
