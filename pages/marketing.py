"""Marketing contribution: sourced vs influenced, pipeline created, curves, attribution, SLA."""

from __future__ import annotations

import streamlit as st

from dashboard import data, state, widgets
from steward import charts, fmt

view = state.open_page("marketing", "Marketing contribution")
q = view.query

with widgets.guard("sourced and influenced pipeline"):
    sourced = data.metric("marketing_sourced_pipeline", q)
    share = data.metric("marketing_sourced_share", q)
    influenced = data.metric("marketing_influenced_pipeline", q)
    total = data.metric("open_pipeline", q)
    c = st.columns(4)
    c[0].metric("Open qualified pipeline", fmt.money(total.value), border=True)
    c[1].metric("Marketing-sourced", fmt.money(sourced.value), border=True)
    c[2].metric("Sourced share", fmt.pct(share.value), border=True)
    c[3].metric(
        "Marketing-influenced", fmt.money(influenced.value), border=True, help=influenced.note
    )
    if influenced.table is not None and len(influenced.table):
        widgets.table(
            influenced.table, key="mkt_influence_table", metric_id="marketing_influenced_pipeline"
        )

left, right = st.columns(2, gap="large")
with left, widgets.guard("pipeline created"):
    created = data.metric("pipeline_created", q)
    widgets.chart(
        data.figure(
            "mkt_created",
            q,
            charts.bar_chart,
            created.table,
            x="source",
            y="amount",
            horizontal=True,
            title=f"Pipeline created in {view.period}, by source",
        ),
        key="mkt_created",
    )
    st.caption(
        "Qualified pipeline created in the period, by source."
        + (f" {widgets.note_text(created.note)}." if created.note else "")
    )
with right, widgets.guard("attribution"):
    attr = data.metric("attribution", q)
    widgets.chart(
        data.figure("mkt_attribution", q, charts.attribution_chart, attr.table),
        key="mkt_attribution",
    )
    if attr.note:
        st.caption(widgets.note_text(attr.note))

with widgets.guard("closed-won curves"):
    curve = data.metric("closed_won_curve", q)
    sources = []
    if curve.table is not None and "source" in curve.table:
        sources = sorted(set(curve.table["source"].astype(str)), key=lambda v: (v != "All", v))
    source = state.pick(
        "Closed-won curves for",
        sources,
        key="mkt_curve_source",
        url="curve_source",
        default="All",
        where=st.columns([1, 3])[0],
    )
    widgets.chart(
        data.figure("mkt_curves", q, charts.closed_won_curve_chart, curve.table, source=source),
        key="mkt_curves",
    )
    if curve.note:
        st.caption(curve.note)

st.subheader("Speed to lead")
with widgets.guard("speed to lead"):
    sla = data.metric("sla_compliance", q)
    speed = data.metric("speed_to_lead", q)
    if sla is not None:
        st.columns(4)[0].metric("SLA compliance", fmt.pct(sla.value), help=sla.note, border=True)
    if speed.note:
        st.caption(widgets.note_text(speed.note))
    speed_table = speed.table
    if speed_table is not None and "dimension" in speed_table:
        speed_table = speed_table.assign(
            dimension=[str(v).capitalize() for v in speed_table["dimension"]]
        )
    widgets.table(
        speed_table,
        key="mkt_speed",
        metric_id="speed_to_lead",
    )
