"""Scenario planner: pipeline needed by source, a what-if against the baseline, saved scenarios."""

from __future__ import annotations

import streamlit as st

from dashboard import data, plan_data, state, widgets
from steward import charts, fmt
from steward.plan import needed, whatif

view = state.open_page("scenario_planner", "Scenario planner")
q = view.query
d = data.defs()


# --- pipeline needed --------------------------------------------------------------------
st.subheader("Pipeline needed by source")
with widgets.guard("the pipeline needed"):
    periods = data.period_choices(view.as_of, d, back=0, ahead=3)
    default = needed.next_quarter(view.as_of, d)
    c1, c2, c3 = st.columns(3)
    period = c1.selectbox(
        "Target quarter", periods, index=periods.index(default), key="plan_period"
    )
    pq = q.with_(period=period)
    stored = data.metric("bookings_target", pq).value
    target = c2.number_input(
        "Bookings target ($)",
        min_value=0.0,
        value=float(stored or 0.0),
        step=100_000.0,
        format="%.0f",
        key=f"plan_target_{period}",
        help="The stored target for the quarter; change it to plan against another number.",
    )
    by_week = c3.slider(
        "Pipeline must exist by week N of the quarter", 1, 13, 13, key="plan_by_week"
    )
    # only what differs from the plan's defaults, so the default plan is the query the
    # page's prefetch computed (steward.pages: pipeline_needed for the next quarter)
    opts: list[tuple[str, object]] = [] if by_week == 13 else [("by_week", by_week)]
    if stored is None or float(target) != float(stored):
        opts.append(("target", float(target)))
    res = data.metric("pipeline_needed", pq.with_(options=tuple(opts)))
    table = res.table
    assert table is not None
    total = table[table["source"] == "Total"].iloc[0]
    k = st.columns(4)
    k[0].metric("Bookings target", fmt.money(target), border=True)
    k[1].metric("Qualified pipeline needed", fmt.money(total["needed_pipeline"]), border=True)
    k[2].metric("Already open", fmt.money(total["open_pipeline"]), border=True)
    k[3].metric("Still to create", fmt.money(total["new_pipeline"]), border=True)
    if res.note:
        st.info(widgets.note_text(res.note))
    widgets.chart(
        charts.needed_chart(table, title=f"{period}: pipeline by source, open and to create"),
        key="plan_needed_chart",
    )
    widgets.table(table, key="plan_needed_table", metric_id="pipeline_needed")
    st.caption(
        "Assumptions: each source keeps its share of won amount and its win rate by value "
        "over the last 4 completed quarters; needed = (target − won to date) × share ÷ win "
        "rate; to create = needed − open now; created by the earlier of week N and the "
        "quarter's last day minus the source's mean sales cycle."
    )

# --- what if ----------------------------------------------------------------------------
st.subheader(f"What if — {view.period}")
with widgets.guard("the what-if"):
    open_stages = [s.name for s in d.open_stages][:-1]  # the last open stage has no 'next'
    c1, c2, c3 = st.columns(3)
    conv_stage = c1.selectbox("Conversion from stage", ["(none)", *open_stages], key="wi_stage")
    conv_pts = c1.number_input("moves by (points)", -50.0, 50.0, 0.0, step=1.0, key="wi_pts")
    cycle = c2.number_input("Close dates move by (days)", -180, 180, 0, step=7, key="wi_cycle")
    cats = c2.multiselect("Remove forecast categories", list(d.forecast_categories), key="wi_cats")
    deals_text = c3.text_input("Remove deals (ids, comma-separated)", key="wi_deals")
    sources = data.dim_values("source")
    src = c3.selectbox("Source whose pipeline creation changes", ["(none)", *sources], key="wi_src")
    src_pct = c3.number_input("by (%)", -100.0, 300.0, 0.0, step=5.0, key="wi_src_pct")
    a = whatif.Assumptions(
        conversion_stage=None if conv_stage == "(none)" else conv_stage,
        conversion_pts=float(conv_pts),
        cycle_days=int(cycle),
        remove_categories=tuple(cats),
        remove_deals=whatif.split_list(deals_text),
        source_creation=((src, float(src_pct)),) if src != "(none)" and src_pct else (),
    )
    res = data.metric("scenario_forecast", q.with_(options=a.to_options()))
    result = res.table
    assert result is not None
    target_now = data.metric("bookings_target", q).value
    widgets.chart(
        charts.scenario_chart(
            result, target_now, title="Forecast range: baseline vs this scenario"
        ),
        key="plan_whatif_chart",
    )
    shown = [*whatif.RESULT_COLUMNS, "assumptions"]
    widgets.table(result[shown], key="plan_whatif_table", metric_id="scenario_forecast")
    st.caption(
        "The baseline is the historical forecast and coverage exactly as on the Forecast "
        "page; the scenario redraws with the same seed, so a scenario without changes "
        "equals it."
    )
    n1, n2, n3 = st.columns([3, 1, 1])
    name = n1.text_input("Save this scenario as", key="wi_name")
    replace = n2.checkbox("Replace", key="wi_replace")
    if n3.button("Save scenario", key="wi_save", disabled=not name.strip()):
        plan_data.save_scenario(name, q, a, replace)
        st.success(f"Saved scenario “{name.strip()}”.")

# --- saved scenarios --------------------------------------------------------------------
st.subheader("Saved scenarios beside the baseline")
with widgets.guard("the saved scenarios"):
    listed = plan_data.saved()
    if listed.empty:
        st.caption("No scenario saved yet: set the assumptions above and save one by name.")
    else:
        compared = plan_data.comparison(q)
        widgets.chart(
            charts.scenario_chart(compared, target_now, title="Saved scenarios"),
            key="plan_saved_chart",
        )
        widgets.table(
            compared[[*whatif.RESULT_COLUMNS, "assumptions"]],
            key="plan_saved_table",
            metric_id="scenario_forecast",
        )
        c1, c2 = st.columns([3, 1])
        gone = c1.selectbox("Delete a saved scenario", list(listed["name"]), key="wi_delete_name")
        if c2.button("Delete", key="wi_delete"):
            plan_data.delete_scenario(gone)
            st.rerun()
