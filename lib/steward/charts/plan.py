"""Charts for the scenario planner and the maturity scorecard (same theme as `charts`).

Pure `DataFrame -> go.Figure` functions over the tables of `pipeline_needed`,
`scenario_forecast` / the saved-scenario comparison, and `maturity_scorecard`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from steward import fmt
from steward.charts.theme import (
    BLUE,
    GREEN,
    GREY,
    NAVY,
    RED,
    SAND,
    _figure,
    _money_axis,
    _num,
    _opt,
)

STAGE_COLORS = {1: RED, 2: SAND, 3: GREEN}


def needed_chart(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Per source: the open qualified pipeline it has and the new pipeline still to create."""
    rows = table[table["source"] != "Total"].iloc[::-1]
    fig = _figure(title, height=120 + 48 * max(len(rows), 1))
    have = [_num(v) for v in rows["open_pipeline"]]
    new = [_num(v) for v in rows["new_pipeline"]]
    fig.add_bar(
        y=rows["source"],
        x=have,
        orientation="h",
        name="Open qualified pipeline",
        marker_color=BLUE,
        hovertemplate="%{y}: %{customdata} open<extra></extra>",
        customdata=[fmt.money(v) for v in have],
    )
    fig.add_bar(
        y=rows["source"],
        x=new,
        orientation="h",
        name="Still to create",
        marker_color=SAND,
        text=[fmt.money(v) if v else "" for v in new],
        textposition="inside",
        hovertemplate="%{y}: %{customdata} to create<extra></extra>",
        customdata=[fmt.money(v) for v in new],
    )
    fig.update_layout(barmode="stack", legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"))
    _money_axis(fig, "xaxis", [a + b for a, b in zip(have, new, strict=True)], compact=True)
    return fig


def scenario_chart(
    table: pd.DataFrame, target: float | None = None, title: str | None = None
) -> go.Figure:
    """Each scenario's P10-P90 range as a bar with its P50 marked, the target as a rule."""
    rows = table.iloc[::-1]
    fig = _figure(title, height=140 + 56 * max(len(rows), 1))
    lo = [_num(v) for v in rows["p10"]]
    hi = [_num(v) for v in rows["p90"]]
    mid = [_num(v) for v in rows["p50"]]
    fig.add_bar(
        y=rows["scenario"],
        x=[h - low for h, low in zip(hi, lo, strict=True)],
        base=lo,
        orientation="h",
        name="P10 – P90",
        marker_color=GREY,
        customdata=[[fmt.money(a), fmt.money(b)] for a, b in zip(lo, hi, strict=True)],
        hovertemplate="%{y}: %{customdata[0]} – %{customdata[1]}<extra></extra>",
    )
    fig.add_scatter(
        y=rows["scenario"],
        x=mid,
        mode="markers+text",
        name="P50",
        marker=dict(color=NAVY, size=14, symbol="diamond"),
        text=[fmt.money(v) for v in mid],
        textposition="top center",
        hovertemplate="%{y}: P50 %{text}<extra></extra>",
    )
    values = [*lo, *hi] + ([target] if target is not None else [])
    if target is not None:
        fig.add_vline(x=target, line=dict(color=RED, dash="dash", width=2))
        fig.add_scatter(  # a legend entry for the rule
            x=[None],
            y=[None],
            mode="lines",
            name=f"Target {fmt.money(target)}",
            line=dict(color=RED, dash="dash", width=2),
        )
    fig.update_layout(legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"))
    if values:
        pad = (max(values) - min(values)) * 0.08 or abs(max(values)) * 0.05 or 1.0
        span = (max(0.0, min(values) - pad), max(values) + pad)
        _money_axis(fig, "xaxis", span=span, compact=True)
        fig.update_xaxes(range=list(span))
    return fig


def maturity_chart(placed: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Dimensions (grouped by matrix) at their stage 1-3; unplaced ones shown hollow at 0."""
    rows = placed.iloc[::-1]
    labels = [f"{m} · {d}" for m, d in zip(rows["matrix"], rows["dimension"], strict=True)]
    stages = [_opt(s) if s is not None and not pd.isna(s) else None for s in rows["stage"]]
    fig = _figure(title, height=140 + 38 * max(len(rows), 1))
    colors = [STAGE_COLORS.get(int(s), GREY) if s else GREY for s in stages]
    fig.add_bar(
        y=labels,
        x=[s or 0 for s in stages],
        orientation="h",
        marker_color=colors,
        text=[
            f"stage {int(s)} · {b}" if s else f"not placed · {b}"
            for s, b in zip(stages, rows["basis"], strict=True)
        ],
        textposition="outside",
        cliponaxis=False,
        customdata=list(rows["evidence"]),
        hovertemplate="%{y}<br>%{customdata}<extra></extra>",
        showlegend=False,
    )
    fig.update_xaxes(
        range=[0, 4.2],
        tickmode="array",
        tickvals=[1, 2, 3],
        ticktext=["1 ad hoc", "2 repeatable", "3 operating system"],
    )
    return fig


def stage_text(stage: Any) -> str:
    if stage is None or pd.isna(stage):
        return fmt.DASH
    return {1: "1 · ad hoc", 2: "2 · repeatable", 3: "3 · operating system"}[int(stage)]
