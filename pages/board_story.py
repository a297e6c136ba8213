"""Board story (home): KPI tiles, the narrative with its math, coverage and the bridge."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, state, widgets
from steward import charts
from steward.metrics import REGISTRY


def _metric_name(metric_id: str) -> str:
    """ "Open pipeline (open_pipeline)": the label a board reads, the id the data team greps."""
    spec = REGISTRY.get(metric_id)
    label = getattr(spec, "label", None)
    return f"{label} ({metric_id})" if label and label != metric_id else metric_id


view = state.current()
assert view is not None  # the entrypoint shows the empty state otherwise
q = view.query
data.prefetch(q, ["kpi_trend", "coverage_matrix", "waterfall", "trust_score"], story=True)
widgets.page_header("Board story", view)

# Each part is a fragment: a control inside one (the board pack button) reruns only that
# part; a filter change reruns them all, and they share one computation of each fact
# (the run's view memo, steward.memo).


@st.fragment
def headline() -> None:
    with widgets.guard("the headline numbers"):
        trend = None
        if data.has_metric("kpi_trend"):
            trend = data.metric("kpi_trend", q).table
        tiles = widgets.kpi_tiles(
            data.kpis(q),
            trend,
            trend_columns={
                "qualified_pipeline": "open_pipeline",
                "coverage_this_quarter": "coverage",
                "marketing_sourced_share": "marketing_sourced_share",
            },
        )
        if not tiles:
            widgets.not_available("Headline KPIs", "the KPI module is not installed.")


@st.fragment
def story() -> None:
    with widgets.guard("the narrative"):
        told = data.narrative(q)
        if told is None:
            widgets.not_available("The narrative", "the narrative module is not installed.")
            return
        # The page has its own title; the story's sections become small headings.
        body = told.to_markdown().split("\n", 1)[1].replace("\n## ", "\n#### ")
        st.markdown(body)
        with st.expander("Show the math: every number and the metric behind it"):
            rows = [
                {
                    "sentence": s.text,
                    "number": n.formatted,
                    "metric": _metric_name(n.fact.metric_id),
                    "read": n.fact.how(),
                    "value": n.fact.num,
                    "query": ", ".join(f"{k}={v}" for k, v in n.fact.query.describe().items()),
                }
                for s in told.sentences
                for n in s.numbers
            ]
            st.dataframe(
                pd.DataFrame(rows),
                hide_index=True,
                key="story_math",
                width="stretch",
                column_config={
                    "sentence": st.column_config.TextColumn("Sentence", width="large"),
                    "number": st.column_config.TextColumn("Shown as"),
                    "metric": st.column_config.TextColumn("Metric"),
                    "read": st.column_config.TextColumn("How it is read"),
                    "value": st.column_config.NumberColumn("Exact value", format="localized"),
                    "query": st.column_config.TextColumn("Query"),
                },
            )


@st.fragment
def coverage() -> None:
    with widgets.guard("coverage"):
        matrix = data.metric("coverage_matrix", q).table
        shown = matrix
        if matrix is not None and len(matrix):
            # The board sees the cut's total ('All': the company; under a segment filter
            # there is no 'All' row, so the chosen segments), for quarters with a goal.
            total = matrix["segment"] == "All"
            shown = matrix[(total if total.any() else True) & matrix["goal"].notna()]
        widgets.chart(
            data.figure(
                "board_coverage", q, charts.coverage_chart, shown, title="Coverage vs goal"
            ),
            key="board_coverage",
        )


@st.fragment
def board_pack() -> None:
    with widgets.guard("the board pack"):
        st.markdown("**Board pack**")
        if not data.exports_available()["pptx"]:
            widgets.not_available("The board pack (PPTX)", "the exports module has not landed.")
            return
        if st.button("Prepare the board pack", key="board_pack_build"):
            st.session_state["board_pack_bytes"] = data.board_pack(q)
            st.session_state["board_pack_for"] = repr(q)
            data.record_export("board pack", q)
        ready = st.session_state.get("board_pack_for") == repr(q)
        st.download_button(
            "Download board pack (.pptx)",
            st.session_state.get("board_pack_bytes") or b"" if ready else b"",
            file_name=f"board-pack-{view.period}-{view.as_of.isoformat()}.pptx",
            mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
            key="board_pack_download",
            disabled=not ready,
        )


@st.fragment
def bridge() -> None:
    with widgets.guard("the pipeline bridge"):
        if view.compare_to is None:
            st.info("Load a second snapshot to see what changed between two weeks.")
            return
        wf = data.metric("waterfall", q).table
        title = f"{view.period} pipeline bridge: {view.compare_to:%d %b} → {view.as_of:%d %b}"
        widgets.chart(
            data.figure("board_waterfall", q, charts.waterfall_chart, wf, title=title),
            key="board_waterfall",
        )


headline()
left, right = st.columns([3, 2], gap="large")
with left:
    story()
with right:
    coverage()
    board_pack()
bridge()
