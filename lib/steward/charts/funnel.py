"""The funnel charts: the stage mix as of a snapshot, the cohort funnel, time in stage."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from steward import fmt
from steward.charts.theme import (
    GREY,
    INK,
    MUTED,
    NAVY,
    SAND,
    _figure,
    _money_axis,
    _num,
    _opt,
    empty_figure,
)

# --- funnel ---------------------------------------------------------------------------


def funnel_chart(
    table: pd.DataFrame,
    measure: str = "count",
    title: str | None = None,
    labels: str = "conversion",
) -> go.Figure:
    """Open pipeline by stage (funnel_asof), by count or by value.

    Horizontal bars, top stage first; a bar's customdata[0] is its stage (drill key).
    Stages before the qualified stage are drawn in grey. `labels="conversion"` (the
    default, used by the board pack) labels each bar with % of previous / % of top;
    `labels="share"` labels it with its share of all open deals (or value) instead, which
    is the honest reading of an as-of snapshot: stage sizes there are not conversions.
    """
    if table is None or table.empty:
        return empty_figure("No open deals for this selection.", title)
    col = "count_open" if measure == "count" else "amount_open"
    prev = "count_pct_prev" if measure == "count" else "amount_pct_prev"
    top = "count_pct_top" if measure == "count" else "amount_pct_top"
    stages = [str(s) for s in table["stage"]]
    values = [_num(v) for v in table[col]]
    qualified = (
        [bool(q) for q in table["is_qualified"]]
        if "is_qualified" in table
        else [True] * len(stages)
    )
    shown = [fmt.count(v) if measure == "count" else fmt.money(v) for v in values]
    pct_prev = (
        [fmt.pct(_opt(v)) for v in table[prev]] if prev in table else [fmt.DASH] * len(stages)
    )
    pct_top = [fmt.pct(_opt(v)) for v in table[top]] if top in table else [fmt.DASH] * len(stages)
    total = sum(values)
    share = [fmt.pct(v / total if total else None) for v in values]
    if labels == "share":
        # "all open": the bars include stages before qualified, which the qualified
        # open pipeline KPI leaves out.
        what = "all open deals" if measure == "count" else "all open value"
        text = [f"{s}  ·  {sh} of {what}" for s, sh in zip(shown, share, strict=True)]
        pct_prev = share  # the hover's second line carries the share
        pct_top = [what] * len(stages)
        hover = (
            "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]} of %{customdata[3]}"
        )
    else:
        text = [
            f"{s}  ·  {p} of prev · {t} of top"
            for s, p, t in zip(shown, pct_prev, pct_top, strict=True)
        ]
        hover = (
            "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>"
            "%{customdata[2]} of previous stage · %{customdata[3]} of top"
        )
    fig = _figure(
        title or ("Open deals by stage" if measure == "count" else "Open pipeline by stage")
    )
    fig.add_trace(
        go.Bar(
            x=values,
            y=stages,
            orientation="h",
            marker=dict(color=[NAVY if q else GREY for q in qualified]),
            text=text,
            textposition="auto",
            insidetextanchor="start",
            cliponaxis=False,
            customdata=[
                [s, v, p, t] for s, v, p, t in zip(stages, shown, pct_prev, pct_top, strict=True)
            ],
            hovertemplate=hover + "<extra></extra>",
            name="count" if measure == "count" else "amount",
        )
    )
    fig.update_yaxes(autorange="reversed", showgrid=False, ticksuffix="  ")
    fig.update_xaxes(showgrid=True, gridcolor="#ECEFF3")
    if labels == "share":
        axis_title = "open deals" if measure == "count" else "open value"
        fig.update_xaxes(title=dict(text=axis_title, font=dict(size=13, color=MUTED)))
    if measure != "count":
        _money_axis(fig, "xaxis", values)
    fig.update_layout(height=max(300, 70 * len(stages) + 100), showlegend=False)
    return fig


def cohort_funnel_chart(
    table: pd.DataFrame, measure: str = "count", title: str | None = None
) -> go.Figure:
    """The cohort funnel (funnel_cohort): how many deals reached each stage, as a funnel.

    Reached counts never grow down the funnel (a deal that reached Proposal also reached
    every stage before it), so % of previous is a conversion and % of top the share of
    the cohort that got this far. `measure` is "count" (reached_count) or "amount"
    (reached_amount). A stage's customdata[0] is its name.
    """
    col = "reached_count" if measure == "count" else "reached_amount"
    if table is None or table.empty or col not in table:
        return empty_figure("No deals were created in this period.", title)
    df = table[table[col].notna()]
    stages = [str(s) for s in df["stage"]]
    values = [_num(v) for v in df[col]]
    if not values or values[0] <= 0:
        return empty_figure("No deals were created in this period.", title)
    shown = [fmt.count(v) if measure == "count" else fmt.money(v) for v in values]
    prev = [None, *(b / a if a else None for a, b in zip(values, values[1:], strict=False))]
    top = [v / values[0] for v in values]
    text = [
        f"{s}  ·  {fmt.pct(t)} of top"
        if p is None
        else f"{s}  ·  {fmt.pct(p)} of prev · {fmt.pct(t)} of top"
        for s, p, t in zip(shown, prev, top, strict=True)
    ]
    fig = _figure(
        title
        or (
            "Cohort funnel: deals reaching each stage"
            if measure == "count"
            else "Cohort funnel: value reaching each stage"
        )
    )
    fig.add_trace(
        go.Funnel(
            x=values,
            y=stages,
            text=text,
            textinfo="text",
            # Narrow bars (a small share of the top) carry their label outside.
            textposition=["inside" if t >= 0.45 else "outside" for t in top],
            textfont=dict(color=["white" if t >= 0.45 else INK for t in top]),
            marker=dict(color=NAVY),
            connector=dict(fillcolor="#E3E8EE", line=dict(width=0)),
            customdata=[
                [s, v, fmt.pct(p), fmt.pct(t)]
                for s, v, p, t in zip(stages, shown, prev, top, strict=True)
            ],
            hovertemplate="<b>%{customdata[0]}</b><br>reached: %{customdata[1]}<br>"
            "%{customdata[2]} of previous stage · %{customdata[3]} of top<extra></extra>",
            name="reached",
        )
    )
    fig.update_yaxes(showgrid=False, ticksuffix="  ")
    fig.update_layout(height=max(300, 62 * len(stages) + 100), showlegend=False, funnelmode="stack")
    return fig


# --- time in stage --------------------------------------------------------------------


def time_in_stage_chart(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Median days in each stage as bars, p75 as a marker (time_in_stage)."""
    if table is None or table.empty:
        return empty_figure("Not enough snapshot history for time in stage.", title)
    stages = [str(s) for s in table["stage"]]
    med = [_opt(v) for v in table["median_days"]]
    p75 = [_opt(v) for v in table["p75_days"]] if "p75_days" in table else [None] * len(stages)
    deals = [int(_num(v)) for v in table["deals"]] if "deals" in table else [0] * len(stages)
    fig = _figure(title or "Days in stage")
    fig.add_trace(
        go.Bar(
            x=med,
            y=stages,
            orientation="h",
            name="Median",
            marker=dict(color=NAVY),
            text=[fmt.days(v) for v in med],
            textposition="inside",
            insidetextanchor="end",
            customdata=[
                [fmt.days(m), fmt.days(p), fmt.count(d)]
                for m, p, d in zip(med, p75, deals, strict=True)
            ],
            hovertemplate="<b>%{y}</b><br>median %{customdata[0]} · p75 %{customdata[1]}"
            "<br>%{customdata[2]} deals<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=p75,
            y=stages,
            mode="markers",
            name="p75 (stalled beyond)",
            marker=dict(symbol="line-ns", size=26, line=dict(width=3, color=SAND)),
            hovertemplate="p75 %{x:.0f} days<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", showgrid=False, ticksuffix="  ")
    fig.update_xaxes(showgrid=True, gridcolor="#ECEFF3", ticksuffix=" d", rangemode="tozero")
    fig.update_layout(height=max(280, 60 * len(stages) + 110))
    return fig
