"""Finance export: choose the cut, preview the numbers, download the workbook."""

from __future__ import annotations

import streamlit as st

from dashboard import data, state, widgets
from steward import fmt

view = state.open_page("finance", "Finance export")
q = view.query
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
    # The coverage_matrix's declared columns, its money to the cent (the workbook's).
    widgets.table(matrix, key="finance_preview", metric_id="coverage_matrix", exact=True)

with widgets.guard("the workbook"):
    widgets.prepared_download(
        q,
        lambda: data.export("finance workbook", q),
        prepare="Prepare the workbook",
        download="Download workbook (.xlsx)",
        key="finance",
        store="finance_xlsx",
        file_name=f"pipeline-{view.period}-{view.as_of.isoformat()}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        primary=True,
    )
