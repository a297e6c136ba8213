"""The Import page's mapping builder: everything a mapping file can say, without TOML.

Columns, stage aliases, value maps, date format, decimal comma, fill blanks, row
filters, side-file lookups and id from a name. The widgets only collect what the user
entered (`Entries`); `spec_from_entries` turns that into a dict in the mapping file's
own shape and `Mapping.from_dict` validates it, so the page and `steward import
--mapping` accept and refuse exactly the same things, and the result downloads as the
TOML file the CLI takes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from steward.definitions import Definitions
from steward.errors import ImportRejected
from steward.ingest import Mapping
from steward.ingest.readers import RawTable
from steward.store import SNAPSHOT_COLUMNS

CANONICAL = list(SNAPSHOT_COLUMNS)
AUTO = "(decide per column)"
MAX_ALIASES = 40  # more unknown stages than this is a wrong stage column, not aliases
WHERE = "the mapping built on this page"

COLUMNS = ("canonical column", "file column")
ALIASES = ("value in the file", "governed stage")
VALUES = ("column", "value in the file", "stored value")
FILLS = ("column", "from file column", "or fixed value")
SKIPS = ("file column", "values (comma-separated)")
LOOKUPS = ("column", "side file", "key in export", "key in side file", "value column")


@dataclass
class Entries:
    """What the builder's widgets hold: editor tables (column names above) and choices."""

    base: dict[str, Any] = field(default_factory=dict)  # a mapping file to start from
    columns: pd.DataFrame | None = None
    aliases: pd.DataFrame | None = None
    values: pd.DataFrame | None = None
    fills: pd.DataFrame | None = None
    skips: pd.DataFrame | None = None
    lookups: pd.DataFrame | None = None
    skip_blank: list[str] = field(default_factory=list)
    date_format: str = AUTO
    decimal_comma: str = AUTO
    id_from_name: str = ""


def _rows(frame: pd.DataFrame | None, *needed: str) -> list[dict[str, str]]:
    """The edited rows with every `needed` cell filled in (blank rows are left out)."""
    if frame is None:
        return []
    out = []
    for rec in frame.to_dict("records"):
        row = {str(c): "" if pd.isna(v) else str(v).strip() for c, v in rec.items()}
        if all(row.get(c) for c in needed):
            out.append(row)
    return out


def spec_from_entries(e: Entries) -> dict[str, Any]:
    """The mapping file's dict: the base file, with what was entered on the page added."""
    spec: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in e.base.items()}

    def table(key: str) -> dict[str, Any]:
        return spec.setdefault(key, {})

    for r in _rows(e.columns, *COLUMNS):
        table("columns")[r["canonical column"]] = r["file column"]
    if e.date_format != AUTO:
        spec["date_format"] = e.date_format
    if e.decimal_comma != AUTO:
        spec["decimal_comma"] = e.decimal_comma == "yes"
    if e.id_from_name:
        spec["id_from_name"] = e.id_from_name
    for r in _rows(e.aliases, *ALIASES):
        table("stage_aliases")[r["value in the file"]] = r["governed stage"]
    for r in _rows(e.values, "column", "value in the file"):
        table("values").setdefault(r["column"], {})[r["value in the file"]] = r["stored value"]
    for r in _rows(e.fills, "column"):
        how = (
            {"column": r["from file column"]}
            if r["from file column"]
            else {"value": r["or fixed value"]}
        )
        table("fill")[r["column"]] = how
    if e.skip_blank:
        table("skip")["blank"] = list(e.skip_blank)
    for r in _rows(e.skips, *SKIPS):
        listed = [v.strip() for v in r["values (comma-separated)"].split(",") if v.strip()]
        table("skip").setdefault("values", {})[r["file column"]] = listed
    for r in _rows(e.lookups, *LOOKUPS):
        table("lookups")[r["column"]] = {
            "file": r["side file"],
            "key": r["key in export"],
            "match": r["key in side file"],
            "value": r["value column"],
        }
    return {k: v for k, v in spec.items() if v != {}}


def unknown_stages(raw: RawTable, header: str | None, defs: Definitions) -> list[str]:
    """Stage values in the file that the definitions do not know (to pre-fill aliases)."""
    if header is None or header not in raw.frame:
        return []
    values = raw.frame[header].dropna().astype(str).str.strip().unique()
    return sorted(v for v in values if v and defs.resolve_stage(v) is None)


# ---- widgets -----------------------------------------------------------------------------


def _blank(cols: tuple[str, ...], rows: int = 1) -> pd.DataFrame:
    return pd.DataFrame({c: [""] * rows for c in cols})


def _editor(key: str, frame: pd.DataFrame, **config: Any) -> pd.DataFrame:
    return st.data_editor(
        frame, key=key, hide_index=True, num_rows="dynamic", width="stretch", column_config=config
    )


def _pick(label: str, options: list[str]) -> Any:
    return st.column_config.SelectboxColumn(label, options=options)


def _base_file() -> dict[str, Any]:
    up = st.file_uploader(
        "Start from a mapping file (TOML; what you set below is added to it)",
        type=["toml"],
        key="import_mapping_file",
    )
    if up is None:
        return {}
    try:
        return tomllib.loads(up.getvalue().decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ImportRejected(f"{up.name}: not valid TOML", [str(exc)]) from exc


def build(raw: RawTable, defs: Definitions, suggested: dict[str, str]) -> Mapping | None:
    """Render the builder for one uploaded file; the Mapping, or None when nothing is set."""
    headers = raw.headers
    e = Entries(base=_base_file())
    st.markdown("**Column mapping** — leave blank to use the format's own headers.")
    e.columns = st.data_editor(
        pd.DataFrame({COLUMNS[0]: CANONICAL, COLUMNS[1]: ""}),
        key="import_mapping",
        hide_index=True,
        disabled=[COLUMNS[0]],
        column_config={COLUMNS[1]: _pick(COLUMNS[1], ["", *headers])},
        width="stretch",
        height=300,
    )
    c1, c2, c3 = st.columns(3)
    e.date_format = c1.selectbox(
        "Date format", [AUTO, "MDY", "DMY", "YMD"], key="import_date_format"
    )
    e.decimal_comma = c2.selectbox(
        "Decimal comma (1.234,50)", [AUTO, "yes", "no"], key="import_decimal_comma"
    )
    e.id_from_name = c3.selectbox(
        "No id column: take the id from", ["", *headers], key="import_id_from_name"
    )
    so_far = spec_from_entries(e)
    stage_header = dict(so_far.get("columns", {})).get("stage") or suggested.get("stage")
    known = {str(k).strip().casefold() for k in dict(so_far.get("stage_aliases", {}))}
    todo = [v for v in unknown_stages(raw, stage_header, defs) if v.casefold() not in known]
    with st.expander("Stage aliases (file value → governed stage)", expanded=bool(todo)):
        if not todo:
            st.caption("Every stage in the file is a governed stage or already aliased.")
        chosen = [
            st.selectbox(f"{value} →", ["", *defs.stage_names], key=f"import_alias:{value}")
            for value in todo[:MAX_ALIASES]
        ]
        e.aliases = pd.DataFrame({ALIASES[0]: todo[:MAX_ALIASES], ALIASES[1]: chosen})
    with st.expander("Value maps (per column: file value → stored value)"):
        e.values = _editor(
            "import_value_maps", _blank(VALUES), column=_pick("column", ["", *CANONICAL])
        )
    with st.expander("Fill blanks (from another column or a fixed value)"):
        e.fills = _editor(
            "import_fill",
            _blank(FILLS),
            column=_pick("column", ["", *CANONICAL]),
            **{FILLS[1]: _pick(FILLS[1], ["", *headers])},
        )
    with st.expander("Skip rows (leads mixed in, test records …)"):
        e.skip_blank = st.multiselect(
            "Skip rows where this column is blank", headers, key="import_skip_blank"
        )
        e.skips = _editor(
            "import_skip_values", _blank(SKIPS), **{SKIPS[0]: _pick(SKIPS[0], ["", *headers])}
        )
    with st.expander("Lookups (a column from a side file, by a key)"):
        uploads = st.file_uploader(
            "Side files (CSV/XLSX)",
            type=["csv", "txt", "xlsx"],
            accept_multiple_files=True,
            key="import_side_files",
        )
        side_files = {u.name: u.getvalue() for u in uploads or []}
        e.lookups = _editor(
            "import_lookups",
            _blank(LOOKUPS),
            column=_pick("column", ["", *CANONICAL]),
            **{
                "side file": _pick("side file", ["", *side_files]),
                "key in export": _pick("key in export", ["", *headers]),
            },
        )
    spec = spec_from_entries(e)
    if not spec:
        return None
    mapping = Mapping.from_dict(spec, WHERE)
    mapping.side_files = side_files
    st.download_button(
        "Download this mapping (TOML, for steward import --mapping)",
        mapping.to_toml().encode("utf-8"),
        file_name="mapping.toml",
        mime="application/toml",
        key="import_mapping_download",
    )
    with st.expander("This mapping as a file (for `steward import --mapping`)"):
        st.code(mapping.to_toml(), language="toml")
    return mapping
