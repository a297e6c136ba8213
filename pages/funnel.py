"""Funnel & conversion: the cohort funnel, open deals by stage, conversion, time in stage."""

from __future__ import annotations

import streamlit as st

from dashboard import data, state, widgets
from steward import charts, fmt

view = state.open_page("funnel", "Funnel & conversion")
q = view.query

measure = state.choice(
    "Measure",
    ["count", "amount"],
    key="funnel_measure",
    url="measure",
    labels={"count": "Number of deals", "amount": "Pipeline value"},
)

with widgets.guard("the cohort funnel"):
    cohort = data.metric("funnel_cohort", q)
    widgets.chart(
        data.figure("funnel_cohort", q, charts.cohort_funnel_chart, cohort.table, measure=measure),
        key="funnel_cohort_chart",
    )
    st.caption(
        "Cohort funnel: opportunities created in the period, by the furthest stage each "
        "has reached so far. % of previous is the stage-to-stage conversion, % of top the "
        "share of the cohort that got this far." + (f" {cohort.note}" if cohort.note else "")
    )

st.subheader("Where open deals sit now")
with widgets.guard("open deals by stage"):
    funnel = data.metric("funnel_asof", q).table
    event = widgets.chart(
        data.figure(
            "funnel",
            q,
            charts.funnel_chart,
            funnel,
            measure=measure,
            labels="share",
            title="Open deals by stage" if measure == "count" else "Open pipeline by stage",
        ),
        key="funnel_chart",
        selectable=True,
    )
    stage = state.selection(event, url="stage_sel", key="funnel_chart")
    if funnel is None or stage not in set(funnel["stage"]):
        stage = None  # a link naming a stage that has no open deals here
    if stage:
        state.selected_deals(
            f"Open deals in {stage}",
            data.deals("funnel_asof", q, stage=stage),
            url="stage_sel",
            chart_key="funnel_chart",
            key="funnel",
            file_name=f"deals-{stage}-{view.as_of.isoformat()}.csv",
        )
    else:
        st.caption(
            "A snapshot, not a funnel: open deals as of "
            f"{fmt.board_date(view.as_of)} by the stage they sit in now, each bar's share of all "
            "open deals. Grey stages come before qualified and are not in the qualified "
            "pipeline figures. Stage sizes here are not conversion rates (see the cohort "
            "funnel above). Click a bar to see its deals."
        )

st.subheader("Conversion by segment")
st.caption(
    "Cohort of opportunities created in the period: of those that reached a stage, the "
    "share that reached the next. Deals still open count as in progress, not as losses."
)
with widgets.guard("conversion by segment"):
    by_segment = data.per_value("funnel_cohort", q, "segment")
    widgets.chart(
        data.figure(
            "funnel_conversion",
            q,
            charts.breakdown_heatmap,
            by_segment,
            row="segment",
            col="stage",
            value="conversion_to_next",
            unit="ratio",
            title="Stage-to-next conversion",
            sort=False,
        ),
        key="funnel_conversion",
    )
    widgets.table(
        data.metric("funnel_cohort", q).table, key="funnel_cohort_table", metric_id="funnel_cohort"
    )

with widgets.guard("time in stage"):
    widgets.chart(
        data.figure(
            "funnel_tis", q, charts.time_in_stage_chart, data.metric("time_in_stage", q).table
        ),
        key="funnel_tis",
    )
with widgets.guard("stalled deals"):
    stalled = data.metric("stalled_deals", q)
    st.subheader(f"Stalled deals ({widgets.fmt.count(stalled.value)})")
    st.caption("Open deals in their stage longer than the 75th percentile for that stage.")
    widgets.deal_table(
        stalled.table,
        key="funnel_stalled",
        file_name="stalled-deals.csv",
        metric_id="stalled_deals",
    )
