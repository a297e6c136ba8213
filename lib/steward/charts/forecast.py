"""The forecast range against the target, and the forecast back-test."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from steward import fmt
from steward.charts.theme import (
    BLUE,
    GREY,
    INK,
    NAVY,
    SAND,
    SLATE,
    TEAL,
    _figure,
    _money_axis,
    _num,
    _opt,
    empty_figure,
    goal_rule,
)

# --- forecast -------------------------------------------------------------------------


def forecast_range_chart(
    table: pd.DataFrame, target: float | None = None, title: str | None = None
) -> go.Figure:
    """Forecast by method (forecast_range) as bars with the P10-P90 range, target as a line.

    A row whose method is 'target' (or a `target` column) supplies the target line when
    `target` is not given.
    """
    if table is None or table.empty:
        return empty_figure("No forecast for this selection.", title)
    df = table.copy()
    method = df["method"].astype(str).str.lower()
    if target is None and (method == "target").any():
        target = _opt(df.loc[method == "target", "value"].iloc[0])
    if target is None and "target" in df:
        vals = [t for t in (_opt(v) for v in df["target"]) if t is not None]
        target = vals[0] if vals else None
    df = df[method != "target"]
    labels = [str(v) for v in (df["label"] if "label" in df else df["method"])]
    values = [_num(v) for v in df["value"]]
    p10 = [_opt(v) for v in df["p10"]] if "p10" in df else [None] * len(values)
    p90 = [_opt(v) for v in df["p90"]] if "p90" in df else [None] * len(values)
    has_range = any(a is not None and b is not None for a, b in zip(p10, p90, strict=True))
    fig = _figure(title or "Forecast vs target")
    rng = [
        f"P10 {fmt.money(a)} – P90 {fmt.money(b)}" if a is not None and b is not None else ""
        for a, b in zip(p10, p90, strict=True)
    ]
    fig.add_trace(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker=dict(color=[TEAL if r else BLUE for r in rng]),
            text=[fmt.money(v) for v in values],
            textposition="inside",
            insidetextanchor="start",
            customdata=[[fmt.money(v), r] for v, r in zip(values, rng, strict=True)],
            hovertemplate="<b>%{y}</b><br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
            name="forecast",
        )
    )
    if has_range:
        # The P10-P90 range as a whisker over the bars that have one.
        xs: list[float | None] = []
        ys: list[str | None] = []
        for lbl, a, b in zip(labels, p10, p90, strict=True):
            if a is not None and b is not None:
                xs += [a, b, None]
                ys += [lbl, lbl, None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name="P10–P90",
                line=dict(color=INK, width=2),
                marker=dict(symbol="line-ns", size=18, line=dict(width=2, color=INK)),
                hoverinfo="skip",
            )
        )
    if target is not None:
        goal_rule(fig, target, f"target {fmt.money(target)}", axis="x")
    # Few, short, horizontal ticks ($0, $5M, $10M): the chart often sits in a half column.
    _money_axis(
        fig, "xaxis", [*values, *[v for v in p90 if v is not None], target], n=3, compact=True
    )
    fig.update_yaxes(autorange="reversed", showgrid=False, ticksuffix="  ")
    fig.update_xaxes(showgrid=True, gridcolor="#ECEFF3", rangemode="tozero", tickangle=0)
    drawn = [v for v in [*values, *p90, target] if v is not None and math.isfinite(v)]
    if drawn and max(drawn) > 0:
        # A little room past the longest bar or whisker so its end is not cut.
        fig.update_xaxes(range=[0, max(drawn) * 1.06])
    fig.update_layout(showlegend=False, height=max(300, 70 * len(labels) + 120))
    return fig


def backtest_chart(
    table: pd.DataFrame,
    labels: dict[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Forecast vs actual by past quarter (forecast_backtest): the actual bookings as grey
    bars, each method's forecast (made at the same week of that quarter) as a line.

    `labels` maps method ids to display names (e.g. REGISTRY labels).
    """
    if table is None or table.empty:
        return empty_figure("No past quarters to backtest against.", title)
    df = table.copy()
    df["period"] = df["period"].astype(str)
    periods = sorted(dict.fromkeys(df["period"]))
    fig = _figure(title or "Forecast vs actual, past quarters")
    actual = {str(r["period"]): _opt(r["actual"]) for _, r in df.iterrows()}
    ys = [actual.get(p) for p in periods]
    fig.add_trace(
        go.Bar(
            x=periods,
            y=ys,
            name="Actual bookings",
            marker=dict(color=GREY),
            customdata=[fmt.money(v) for v in ys],
            hovertemplate="<b>%{x}</b><br>actual %{customdata}<extra></extra>",
        )
    )
    colors = [NAVY, BLUE, SAND, TEAL, SLATE]
    shown: list[float | None] = list(ys)
    for i, method in enumerate(dict.fromkeys(str(m) for m in df["method"])):
        rows = {str(r["period"]): r for _, r in df[df["method"].astype(str) == method].iterrows()}
        ys_m = [_opt(rows[p]["forecast"]) if p in rows else None for p in periods]
        shown += ys_m
        name = (labels or {}).get(method, method)
        fig.add_trace(
            go.Scatter(
                x=periods,
                y=ys_m,
                mode="lines+markers",
                name=name,
                line=dict(color=colors[i % len(colors)], width=2.5),
                marker=dict(size=8),
                customdata=[[name, fmt.money(v)] for v in ys_m],
                hovertemplate="<b>%{x}</b><br>%{customdata[0]}: %{customdata[1]}<extra></extra>",
            )
        )
    _money_axis(fig, "yaxis", shown, compact=True)
    fig.update_xaxes(type="category", tickangle=0)
    fig.update_layout(height=400, legend=dict(font=dict(size=13)))
    return fig
