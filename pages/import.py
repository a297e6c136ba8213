"""Import: upload a CRM export, check the mapping, preview, validate, commit; snapshots.

The same importer as `steward import` (steward.ingest.prepare / commit): parsing and
validation happen in memory, the store is opened for writing only for the final
transaction, so the rest of the app keeps working while a file is checked.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard import auth, data, mapping_builder, widgets
from steward import fmt, ingest

st.title("Import")
if not auth.current().is_admin:  # the navigation hides this page; a direct link stops here
    st.error("Imports, replacements and deletions are for admins only.")
    st.stop()
st.caption(f"Store: `{data.db_path()}` · {data.defs().stamp}")


KINDS = {
    "snapshot": "Opportunity snapshot (weekly CRM export)",
    "targets": "Targets (bookings and pipeline by quarter)",
    "touches": "Marketing touches",
    "leads": "Leads (speed to lead)",
}

kind = st.radio(
    "What is in the file?",
    list(KINDS),
    format_func=KINDS.get,
    key="import_kind",
    horizontal=True,
)
upload = st.file_uploader(
    "CSV, XLSX or Parquet",
    type=["csv", "txt", "xlsx", "xlsm", "parquet"],
    key="import_file",
)


def _issues_frame(prepared: object) -> pd.DataFrame:
    issues = getattr(prepared, "issues", [])
    return pd.DataFrame(
        [
            {
                "severity": i.severity,
                "file": i.file,
                "row": i.row,
                "column": i.column,
                "value": i.value,
                "message": i.message,
            }
            for i in issues
        ],
        columns=["severity", "file", "row", "column", "value", "message"],
    )


if upload is not None:
    raw_bytes = upload.getvalue()
    name = upload.name
    mapping = None
    snapshot_date: date | None = None
    preset: str | None = None
    if kind == "snapshot":
        with widgets.guard("the file's columns"):
            from steward.ingest.readers import read_table

            table = read_table(raw_bytes, name)
            headers = table.headers
            detected = ingest.detect_preset(headers)
            presets = ["(detect)", *ingest.PRESETS]
            c1, c2 = st.columns(2)
            choice = c1.selectbox(
                "Format",
                presets,
                key="import_preset",
                format_func=lambda p: (
                    f"detect (found: {detected or 'none'})"
                    if p == "(detect)"
                    else f"{p}: {ingest.PRESETS[p]}"
                ),
            )
            preset = None if choice == "(detect)" else choice
            guess = ingest.date_from_name(name)
            snapshot_date = c2.date_input(
                "Snapshot date (when the file has no snapshot_date column)",
                value=guess,
                key="import_snapshot_date",
            )
            mapping = mapping_builder.build(table, data.defs(), ingest.suggest_columns(headers))

    # The check shown (and committed) is the one for this file *and* these settings: a
    # changed mapping, format or date asks for a new check instead of committing the old.
    checked_for = (
        name,
        len(raw_bytes),
        kind,
        preset,
        snapshot_date,
        mapping.to_toml() if mapping else "",
        tuple(sorted(mapping.side_files)) if mapping else (),
    )
    if st.button("Check the file", key="import_check", type="primary"):
        bar = st.progress(0.0, text="reading")

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        with widgets.guard("the import check"):
            options = (
                {"preset": preset, "mapping": mapping, "snapshot_date": snapshot_date}
                if kind == "snapshot"
                else {}
            )
            prepared = data.check_import(raw_bytes, name, kind, progress=progress, **options)
            st.session_state["import_prepared"] = prepared
            st.session_state["import_prepared_for"] = checked_for

    prepared = st.session_state.get("import_prepared")
    if prepared is not None and st.session_state.get("import_prepared_for") == checked_for:
        st.subheader("Validation report")
        st.text(prepared.summary())
        report = _issues_frame(prepared)
        if len(report):
            st.dataframe(report, key="import_report", hide_index=True, width="stretch")
        st.subheader("Preview (first 50 rows)")
        preview = prepared.frame.head(50).copy()
        for c in preview.columns:  # a blank text cell of the export shows blank, not "None"
            if not pd.api.types.is_numeric_dtype(preview[c]) and not c.endswith("_date"):
                preview[c] = preview[c].astype(object).where(preview[c].notna(), "")
        st.dataframe(
            preview,
            key="import_preview",
            hide_index=True,
            width="stretch",
            column_config={
                c: st.column_config.DateColumn(c, format="YYYY-MM-DD")
                for c in preview.columns
                if c.endswith("_date")
            },
        )
        loaded = set(data.snapshot_dates())
        clash = [d for d in prepared.snapshot_dates if d in loaded]
        replace = False
        if clash:
            replace = st.checkbox(
                "Replace the snapshot(s) already loaded for "
                + ", ".join(d.isoformat() for d in clash),
                key="import_replace",
            )
        blocked = not prepared.ok or (bool(clash) and not replace)
        if st.button("Commit import", key="import_commit", disabled=blocked):
            with widgets.guard("the import"), st.spinner("Writing in one transaction…"):
                import_id = data.commit_import(prepared, replace=replace)
                st.success(f"Imported {fmt.count(len(prepared.frame))} rows (import #{import_id}).")
                del st.session_state["import_prepared"]
        elif not prepared.ok:
            st.error(
                f"{prepared.error_count} error(s): fix the file or the mapping; nothing was written."
            )

st.divider()
st.subheader("Import history")
with widgets.guard("the import history"):
    history = data.import_log()
    if len(history):
        cols = ["import_id", "file_name", "outcome", "row_count", "snapshot_dates", "message"]
        st.table(history[cols].head(10).set_index("import_id"))  # static: the last ten
    else:
        st.caption("No imports yet.")

st.subheader("Snapshots loaded")
with widgets.guard("the snapshot list"):
    snaps = data.snapshots()
    if len(snaps):
        snaps = snaps.sort_values("snapshot_date", ascending=False)
    widgets.table(
        snaps,
        key="import_snapshots",
        units={
            "snapshot_date": "date",
            "row_count": "count",
            "amount_total": "usd",
            "count_open": "count",
        },
    )
    dates = data.snapshot_dates()
    if dates:
        c1, c2, c3 = st.columns([2, 2, 1])
        victim = c1.selectbox(
            "Delete a snapshot", sorted(dates, reverse=True), key="import_delete_date"
        )
        sure = c2.checkbox(
            f"Yes, delete {victim} and everything derived from it", key="import_delete_confirm"
        )
        if c3.button("Delete", key="import_delete", disabled=not sure):
            n = data.delete_snapshot(victim)
            st.success(f"Deleted snapshot {victim} ({fmt.count(n)} rows).")
            st.rerun()
