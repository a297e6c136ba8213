"""Board story (home): KPI tiles, the narrative with its math, coverage and the bridge."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, state, widgets
from steward import charts, fmt
from steward.metrics.asof import board_coverage_rows
from steward.narrative.model import MATH_COLUMNS

view = state.open_page("board_story", "Board story")
q = view.query

# Each part is a fragment: a control inside one (the board pack button) reruns only that
# part; a filter change reruns them all, and they share one computation of each fact
# (the run's view memo, steward.memo).


@st.fragment
def headline() -> None:
    with widgets.guard("the headline numbers"):
        trend = data.metric("kpi_trend", q).table
        widgets.kpi_tiles(
            data.kpis(q),
            trend,
            trend_columns={
                "qualified_pipeline": "open_pipeline",
                "coverage_this_quarter": "coverage",
                "marketing_sourced_share": "marketing_sourced_share",
            },
        )


@st.fragment
def story() -> None:
    with widgets.guard("the narrative"):
        told = data.narrative(q)
        # The page has its own title; the story's sections become small headings.
        st.markdown(told.to_markdown().split("\n", 1)[1].replace("\n## ", "\n#### "))


@st.fragment
def coverage() -> None:
    with widgets.guard("coverage"):
        shown = board_coverage_rows(data.metric("coverage_matrix", q).table)
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
        widgets.prepared_download(
            q,
            lambda: data.export("board pack", q),
            prepare="Prepare the board pack",
            download="Download board pack (.pptx)",
            key="board_pack",
            store="board_pack_bytes",
            file_name=f"board-pack-{view.period}-{view.as_of.isoformat()}.pptx",
            mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        )


@st.fragment
def show_the_math() -> None:
    # Full width, as a static table that wraps: every sentence is read whole, each of its
    # numbers on its own row with the exact value in its unit, the metric and the query.
    # Drawn when opened (a closed expander's content still runs and is sent; the table
    # brings the browser's Arrow code, ~1 MB, to every first visit of the Board).
    box = st.expander(
        "Show the math: every number and the metric behind it",
        key="board_math_open",
        on_change="rerun",
    )
    if not box.open:
        return
    with widgets.guard("the math"), box:
        math = pd.DataFrame(data.narrative(q).math())
        if len(math):
            same = math["sentence"].ne(math["sentence"].shift())
            math["sentence"] = math["sentence"].where(same, "")
        st.table(
            math.rename(columns={c.name: c.label for c in MATH_COLUMNS}),
            hide_index=True,
            border="horizontal",
        )


@st.fragment
def bridge() -> None:
    with widgets.guard("the pipeline bridge"):
        if view.compare_to is None:
            st.info("Load a second snapshot to see what changed between two weeks.")
            return
        wf = data.metric("waterfall", q).table
        widgets.chart(
            data.figure(
                "board_waterfall",
                q,
                charts.waterfall_chart,
                wf,
                title=fmt.chart_title(
                    f"{view.period} pipeline bridge", view.compare_to, view.as_of
                ),
            ),
            key="board_waterfall",
        )


headline()
left, right = st.columns([3, 2], gap="large")
with left:
    story()
with right:
    coverage()
    board_pack()
show_the_math()
bridge()
