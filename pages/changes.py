"""Pipeline changes: the bridge between two snapshots, its deals, slippage, biggest movers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, state, widgets
from steward import charts

view = state.current()
assert view is not None
q = view.query
data.prefetch(q, ["waterfall", "slippage", "push_counts", "trust_score"])
widgets.page_header(
    "Pipeline changes",
    view,
    f"from {view.compare_to:%d %b %Y}" if view.compare_to else "no earlier snapshot",
)

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
            title=f"{view.period} open pipeline: {view.compare_to:%d %b} → {view.as_of:%d %b}",
        ),
        key="changes_waterfall",
        selectable=True,
    )
    bucket = state.selection(event, url="bucket", key="changes_waterfall")
    if bucket in ("Start", "End"):
        bucket = None
    if bucket:
        head = st.columns([4, 1])
        head[0].subheader(f"Deals: {bucket}")
        if head[1].button("Clear selection", key="changes_clear"):
            state.clear("bucket", "changes_waterfall")
            st.rerun()
        widgets.deal_table(
            data.deals("waterfall", q, bucket=bucket),
            key="changes_deals",
            file_name=f"bridge-{bucket.lower().replace(' ', '-')}.csv",
        )

left, right = st.columns(2, gap="large")
with left, widgets.guard("slippage"):
    slip = data.metric("slippage", q)
    widgets.chart(
        data.figure("changes_slippage", q, charts.slippage_chart, slip.table),
        key="changes_slippage",
    )
    if slip.note:
        st.caption(slip.note)
with right, widgets.guard("the biggest movers"):
    st.subheader("Biggest movers")
    moved = data.deals("waterfall", q)
    if moved is not None and len(moved) and "amount_change" in moved:
        size = moved["amount_change"].map(lambda v: abs(float(v)) if v is not None else 0.0)
        top = moved.loc[size.sort_values(ascending=False).index[:15]]
        wanted = (
            "bucket",
            "opportunity_name",
            "account_name",
            "amount_change",
            "amount_from",
            "amount_to",
            "owner",
            "crm_url",
        )
        cols = [c for c in wanted if c in top]
        widgets.deal_table(pd.DataFrame(top[cols]), key="changes_movers", file_name="movers.csv")
    else:
        st.caption("No deal moved between these snapshots.")

with widgets.guard("push counts"):
    pushes = data.metric("push_counts", q)
    st.subheader("Deals pushed again and again")
    if pushes.note:
        st.caption(pushes.note)
    if pushes.table is not None and len(pushes.table):
        widgets.deal_table(pushes.table, key="changes_pushes", file_name="push-counts.csv")
