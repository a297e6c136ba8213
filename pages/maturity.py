"""Maturity scorecard: each matrix dimension at stage 1-3, with the evidence beside it."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data, plan_data, state, widgets
from steward import charts
from steward.maturity import scorecard

view = state.open_page("maturity", "Maturity scorecard")
q = view.query

with widgets.guard("the scorecard"):
    res = data.metric("maturity_scorecard", q)
    detail = res.table
    assert detail is not None
    placed = scorecard.placements(detail)
    counts = scorecard.stage_counts(placed)
    k = st.columns(4)
    k[0].metric("Operating system (3)", counts[3], border=True)
    k[1].metric("Repeatable (2)", counts[2], border=True)
    k[2].metric("Ad hoc (1)", counts[1], border=True)
    k[3].metric("Not placed", counts[None], border=True, help=res.note)
    widgets.chart(
        charts.maturity_chart(placed, title="Where each dimension stands"),
        key="maturity_chart",
    )
    st.caption(
        "Placed by evidence rules over the data where the data can tell (the weakest rule "
        "places the dimension; thresholds are the governed [maturity] definitions), by a "
        "dated self-assessment where it cannot — marked as such."
    )
    shown = scorecard.display(detail)
    for matrix in dict.fromkeys(shown["matrix"]):
        st.markdown(f"**{matrix}**")
        widgets.table(
            shown[shown["matrix"] == matrix].drop(columns=["matrix"]),
            key=f"maturity_table_{matrix}",
            columns=scorecard.DISPLAY_COLUMNS,
        )

st.subheader("Self-assessment")
with widgets.guard("the self-assessment"):
    assessable = [dim for dim in scorecard.DIMENSIONS if not scorecard.rules_for(dim.id)]
    with st.form("maturity_assess_form"):
        c1, c2, c3 = st.columns([2, 1, 1])
        dim = c1.selectbox(
            "Dimension",
            assessable,
            format_func=lambda x: f"{x.matrix} · {x.label}",
            key="maturity_assess_dim",
        )
        stage = c2.radio("Stage", [1, 2, 3], horizontal=True, key="maturity_assess_stage")
        on = c3.date_input("Assessed on", value=view.as_of, key="maturity_assess_on")
        note = st.text_input("Why this stage", key="maturity_assess_note")
        who = st.text_input("Assessed by", key="maturity_assess_who")
        if st.form_submit_button("Record self-assessment"):
            plan_data.assess(dim.id, int(stage), on, note, who)
            st.success(f"Recorded {dim.label} at stage {stage} on {on:%d %b %Y}.")

st.subheader("Placement history")
with widgets.guard("the placement history"):
    # The history is the company's: only an admin who sees every deal records into it.
    company_view = auth.current().is_admin and q.filters.scope.is_all
    if company_view and st.button("Record this snapshot's placements", key="maturity_record"):
        plan_data.record(q)
        st.success(f"Recorded the placements of {view.as_of:%d %b %Y}.")
    hist = plan_data.history(view.as_of)
    if hist.empty:
        st.caption(
            "No placements recorded yet: record this snapshot's (or run "
            "`steward maturity --record` after each weekly import)."
        )
    else:
        wide = scorecard.history_matrix(hist)
        widgets.table(wide, key="maturity_history")
