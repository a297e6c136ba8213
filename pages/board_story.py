"""Board story (home): KPI tiles, the narrative with its math, coverage and the bridge."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, state, widgets
from steward import charts, fmt
from steward.metrics.asof import board_coverage_rows

view = state.open_page("board_story", "Board story")
q = view.query

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

left, right = st.columns([3, 2], gap="large")
with left, widgets.guard("the narrative"):
    story = data.narrative(q)
    # The page has its own title; the story's sections become small headings.
    st.markdown(story.to_markdown().split("\n", 1)[1].replace("\n## ", "\n#### "))

with right:
    with widgets.guard("coverage"):
        shown = board_coverage_rows(data.metric("coverage_matrix", q).table)
        widgets.chart(
            data.figure(
                "board_coverage", q, charts.coverage_chart, shown, title="Coverage vs goal"
            ),
            key="board_coverage",
        )
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

# Full width, as a static table that wraps: every sentence is read whole, each of its
# numbers on its own row with the exact value in its unit, the metric and the query.
with (
    widgets.guard("the math"),
    st.expander("Show the math: every number and the metric behind it"),
):
    math = pd.DataFrame(data.narrative(q).math())
    if len(math):
        math["sentence"] = math["sentence"].where(math["sentence"].ne(math["sentence"].shift()), "")
    st.table(
        math.rename(
            columns={
                "sentence": "Sentence",
                "shown": "Shown as",
                "exact": "Exact value",
                "metric": "Metric",
                "read": "How it is read",
                "query": "Query",
            }
        ),
        hide_index=True,
        border="horizontal",
    )

with widgets.guard("the pipeline bridge"):
    if view.compare_to is None:
        st.info("Load a second snapshot to see what changed between two weeks.")
    else:
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
