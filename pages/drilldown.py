"""Segment drilldown: every filter, a breakdown matrix, click a cell for its deals."""

from __future__ import annotations

import streamlit as st

from dashboard import data, state, widgets
from steward import charts
from steward.metrics import DIMENSIONS

view = state.current()
assert view is not None
widgets.page_header("Segment drilldown", view)

dims = list(DIMENSIONS)
c1, c2, c3 = st.columns([1, 1, 2])
rows = state.pick(
    "Rows", dims, key="drill_rows", url="rows", default="segment", where=c1, format_func=str.title
)
cols = state.pick(
    "Columns", dims, key="drill_cols", url="cols", default="stage", where=c2, format_func=str.title
)
stages = state.multi("Stage", data.defs().stage_names, key="drill_stage", url="stage", where=c3)
assert rows is not None and cols is not None
q = view.query.with_(filters=view.query.filters.with_(stage=stages))
mq = q.with_(options=(("cols", cols), ("rows", rows)))  # the matrix's two dimensions
data.prefetch_page("drilldown", mq)

with widgets.guard("the breakdown"):
    long = data.metric("open_pipeline_matrix", mq).table
    col_name = cols if rows != cols else "all"
    stage_order = list(data.defs().stage_names)
    total = data.metric("open_pipeline", q).value
    st.caption(
        f"Open qualified pipeline closing in {view.period}: "
        f"{widgets.fmt.money_exact(total)} · click a cell for its deals."
    )
    event = widgets.chart(
        data.figure(
            "drill_matrix",
            q,
            charts.breakdown_heatmap,
            long,
            row=rows,
            col=col_name,
            value="amount",
            title=f"Open pipeline by {rows} × {cols}",
            row_order=stage_order if rows == "stage" else None,
            col_order=stage_order if cols == "stage" else None,
            totals=True,
        ),
        key="drill_matrix",
        selectable=True,
    )
    cell = state.selection(
        event,
        url="cell",
        key="drill_matrix",
        key_of=lambda p: "|".join(str(v) for v in (p.get("customdata") or [])[:2]),
    )
    with st.expander("Breakdown table"):
        widgets.table(long, key="drill_table", metric_id="open_pipeline_matrix")

if cell and "|" in cell:
    r, c = cell.split("|", 1)
    with widgets.guard("the deals in this cell"):
        head = st.columns([4, 1])
        head[0].subheader(f"Deals: {r}" + (f" · {c}" if rows != cols else ""))
        if head[1].button("Clear selection", key="drill_clear"):
            state.clear("cell", "drill_matrix")
            st.rerun()
        widgets.deal_table(
            data.deals("open_pipeline_matrix", mq, row=r, col=c),
            key="drill_deals",
            file_name="deals.csv",
        )
else:
    with widgets.guard("the deal list"):
        widgets.deal_table(
            data.deals("open_pipeline", q),
            key="drill_all",
            title="All open qualified deals in this cut",
        )
