"""Pipeline changes: the bridge between two snapshots, its deals, slippage, biggest movers."""

from __future__ import annotations

import streamlit as st

from dashboard import data, state, widgets
from steward import charts, fmt

view = state.open_page(
    "changes",
    "Pipeline changes",
    lambda v: f"from {fmt.board_date(v.compare_to)}" if v.compare_to else "no earlier snapshot",
)
q = view.query

if view.compare_to is None:
    st.info("Only one snapshot is loaded: the bridge needs two. Load another week first.")
    st.stop()

with widgets.guard("the pipeline bridge"):
    wf = data.metric("waterfall", q).table
    st.caption(
        "Pick the two snapshots in the sidebar (As of / Compare with). Click a bar for its deals."
    )
    event = widgets.chart(
        data.figure(
            "changes_waterfall",
            q,
            charts.waterfall_chart,
            wf,
            title=fmt.chart_title(f"{view.period} open pipeline", view.compare_to, view.as_of),
        ),
        key="changes_waterfall",
        selectable=True,
    )
    bucket = state.selection(event, url="bucket", key="changes_waterfall")
    if bucket in ("Start", "End") or (wf is not None and bucket not in set(wf["bucket"])):
        bucket = None  # the totals have no deals of their own; a bad link shows none
    if bucket:
        state.selected_deals(
            f"Deals: {bucket}",
            data.deals("waterfall", q, bucket=bucket),
            url="bucket",
            chart_key="changes_waterfall",
            key="changes",
            file_name=f"bridge-{bucket.lower().replace(' ', '-')}.csv",
        )

with widgets.guard("slippage"):
    slip = data.metric("slippage", q)
    widgets.chart(
        data.figure("changes_slippage", q, charts.slippage_chart, slip.table),
        key="changes_slippage",
    )
    if slip.note:
        st.caption(slip.note)
with widgets.guard("the biggest movers"):
    st.subheader("Biggest movers")
    top = data.movers(q)
    if len(top):
        st.caption("Ranked by effect on the bridge: leaving deals at their old amount.")
        widgets.deal_table(top, key="changes_movers", file_name="movers.csv")
    else:
        st.caption("No deal moved between these snapshots.")

with widgets.guard("push counts"):
    pushes = data.metric("push_counts", q)
    st.subheader("Deals pushed again and again")
    if pushes.note:
        st.caption(pushes.note)
    if pushes.table is not None and len(pushes.table):
        widgets.deal_table(
            pushes.table, key="changes_pushes", file_name="push-counts.csv", metric_id="push_counts"
        )
