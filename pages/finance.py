"""Finance export: choose the cut, preview the numbers, download the workbook."""

from __future__ import annotations

import streamlit as st

from dashboard import data, state, widgets
from steward import fmt

view = state.current()
assert view is not None
q = view.query
widgets.page_header("Finance export", view)
st.markdown(
    "The workbook holds Summary, Coverage (targets as input cells, coverage as live "
    "formulas), Forecast, Waterfall, Pipeline (the deal list), Win rates and Definitions, "
    "for the snapshot, period and filters chosen in the sidebar. Its totals equal this "
    "screen's to the cent."
)

with widgets.guard("the preview"):
    # Exact to the cent, so two tiles a row: $13,047,412.17 does not fit a quarter width.
    c = [*st.columns(2), *st.columns(2)]
    c[0].metric(
        "Open pipeline", fmt.money_exact(data.metric("open_pipeline", q).value), border=True
    )
    c[1].metric("Won to date", fmt.money_exact(data.metric("won_to_date", q).value), border=True)
    c[2].metric("Target", fmt.money_exact(data.metric("bookings_target", q).value), border=True)
    c[3].metric("Coverage", fmt.multiple(data.metric("coverage", q).value), border=True)
    matrix = data.metric("coverage_matrix", q).table
    widgets.table(
        matrix,
        key="finance_preview",
        units={
            "open_pipeline": "usd_exact",
            "won_to_date": "usd_exact",
            "bookings_target": "usd_exact",
            "remaining_target": "usd_exact",
            "coverage": "multiple",
            "goal": "multiple",
        },
    )

with widgets.guard("the workbook"):
    if not data.exports_available()["xlsx"]:
        widgets.not_available("The finance workbook", "the exports module has not landed.")
    else:
        if st.button("Prepare the workbook", key="finance_build", type="primary"):
            st.session_state["finance_xlsx"] = data.workbook(q)
            st.session_state["finance_xlsx_for"] = repr(q)
            data.record_export("finance workbook", q)
        ready = st.session_state.get("finance_xlsx_for") == repr(q)
        st.download_button(
            "Download workbook (.xlsx)",
            st.session_state.get("finance_xlsx", b"") if ready else b"",
            file_name=f"pipeline-{view.period}-{view.as_of.isoformat()}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="finance_download",
            disabled=not ready,
        )
