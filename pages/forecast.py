"""Forecast & coverage: coverage vs goal, coverage through the quarter, forecast, backtest."""

from __future__ import annotations

import streamlit as st

from dashboard import data, state, widgets
from steward import charts, fmt
from steward.metrics import REGISTRY

view = state.open_page("forecast", "Forecast & coverage")
q = view.query

with widgets.guard("coverage"):
    matrix = data.metric("coverage_matrix", q).table
    with_goal = matrix[matrix["goal"].notna()] if matrix is not None and len(matrix) else matrix
    widgets.chart(
        data.figure(
            "forecast_coverage",
            q,
            charts.coverage_chart,
            with_goal,
            title="Coverage by quarter and segment vs goal",
        ),
        key="forecast_coverage",
    )
    st.caption(
        "Open pipeline closing in each quarter ÷ the target still to book, by segment; the "
        "red rule is the goal for that quarter. Bars under 0.05x carry no label (hover for "
        "the value)."
    )
    with st.expander("Coverage table"):
        widgets.table(matrix, key="forecast_coverage_table", metric_id="coverage_matrix")

left, right = st.columns(2, gap="large")
with left, widgets.guard("the coverage trend"):
    trend = data.metric("kpi_trend", q).table
    goal = data.metric("coverage_goal", q).value
    widgets.chart(
        data.figure(
            "forecast_trend",
            q,
            charts.coverage_trend_chart,
            trend,
            goal=goal,
            note=data.metric("coverage", q).note,
            title=f"{view.period} coverage, week by week",
        ),
        key="forecast_trend",
    )
with right, widgets.guard("the forecast"):
    rng = data.metric("forecast_range", q)
    target = data.metric("bookings_target", q).value
    widgets.chart(
        data.figure(
            "forecast_range",
            q,
            charts.forecast_range_chart,
            rng.table,
            target=target,
            title=f"{view.period} forecast vs target",
        ),
        key="forecast_range",
    )
    st.caption(
        f"Target {fmt.money(target)} · won to date {fmt.money(data.metric('won_to_date', q).value)}"
        + (f" · {rng.note}" if rng.note else "")
    )

st.subheader("Backtest: how each method did in past quarters")
with widgets.guard("the backtest"):
    bt = data.metric("forecast_backtest", q)
    names = {m: REGISTRY[m].label for m in REGISTRY if m.startswith("forecast_")}
    note = bt.note or ""
    for method_id, name in names.items():
        note = note.replace(f"{method_id} ", f"{name} ")
    widgets.chart(
        data.figure("forecast_backtest", q, charts.backtest_chart, bt.table, labels=names),
        key="forecast_backtest_chart",
    )
    if note:
        st.caption(
            "Each method's forecast made at the same week of a past quarter, against what "
            f"that quarter actually booked. {note}"
        )
    shown = bt.table
    if shown is not None and not shown.empty:
        shown = shown.drop(columns=[c for c in ("as_of",) if c in shown.columns]).assign(
            method=[names.get(str(m), str(m)) for m in shown["method"]]
        )
    rows = 0 if shown is None else len(shown)
    with st.expander(f"Backtest table ({rows} rows: quarter × method)"):
        widgets.table(shown, key="forecast_backtest", metric_id="forecast_backtest")
