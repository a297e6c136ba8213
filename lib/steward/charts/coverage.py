"""Coverage against its goal: by quarter and segment, and over time."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from steward import fmt
from steward.charts.theme import (
    BLUE,
    NAVY,
    RED,
    SAND,
    SLATE,
    TEAL,
    _figure,
    _opt,
    _snapshot_ticks,
    empty_figure,
    goal_rule,
)
from steward.metrics.targets import NO_TARGET_FOR_CUT

# --- coverage -------------------------------------------------------------------------


def coverage_chart(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Coverage by period x segment (coverage_matrix) as grouped bars, goal as a tick.

    Cells without a coverage value (target met / no target) are left out of the bars and
    named in the hover of the goal marker.
    """
    if table is None or table.empty:
        return empty_figure("No coverage to show: no targets loaded for these periods.", title)
    if "status" in table and table["coverage"].isna().all():
        statuses = set(table["status"])
        if statuses == {NO_TARGET_FOR_CUT}:
            return empty_figure(f"No coverage to show: {NO_TARGET_FOR_CUT}.", title)
        if statuses <= {NO_TARGET_FOR_CUT, "no target"}:
            return empty_figure("No coverage to show: no targets loaded for these periods.", title)
    df = table.copy()
    periods = list(dict.fromkeys(str(p) for p in df["period"]))
    segments = list(dict.fromkeys(str(s) for s in df["segment"]))
    # 'All' last and darkest; the segments in the palette after it.
    if "All" in segments:
        segments = [s for s in segments if s != "All"] + ["All"]
    fig = _figure(title or "Coverage vs goal")
    colors = [BLUE, TEAL, SAND, SLATE, "#7A5C8E", "#A0695A", "#5E8C4A"]
    for i, seg in enumerate(segments):
        by_period = {
            str(r["period"]): r for _, r in df[df["segment"].astype(str) == seg].iterrows()
        }
        ys, texts, custom = [], [], []
        for p in periods:
            row = by_period.get(p)
            cov = _opt(row["coverage"]) if row is not None else None
            status = str(row["status"]) if row is not None and "status" in row else ""
            ys.append(cov)
            texts.append(_coverage_label(cov, status))
            custom.append(
                [
                    p,
                    seg,
                    fmt.money(row["open_pipeline"]) if row is not None else fmt.DASH,
                    fmt.money(row["remaining_target"]) if row is not None else fmt.DASH,
                    status,
                ]
            )
        fig.add_trace(
            go.Bar(
                x=periods,
                y=[y if y is not None else 0 for y in ys],
                name=seg,
                marker=dict(color=NAVY if seg == "All" else colors[i % len(colors)]),
                text=texts,
                # Short bars carry their label above them; bars under 0.05x carry none.
                textposition=[
                    "inside" if y is not None and y >= COVERAGE_LABEL_INSIDE else "outside"
                    for y in ys
                ],
                textangle=0,
                # Inside labels sit at the base of the bar, clear of the goal rule.
                insidetextanchor="start",
                cliponaxis=False,
                customdata=[[*c, fmt.multiple(y)] for c, y in zip(custom, ys, strict=True)],
                hovertemplate="<b>%{customdata[1]} · %{customdata[0]}</b><br>"
                "coverage %{customdata[5]}"
                "<br>open %{customdata[2]} vs remaining %{customdata[3]}"
                "<br>%{customdata[4]}<extra></extra>",
            )
        )
    goal_of = {
        str(r["period"]): _opt(r["goal"]) for _, r in df.drop_duplicates("period").iterrows()
    }
    goal_y = [goal_of.get(p) for p in periods]
    # The goal is a red rule across each period's group of bars (category i spans i±0.5).
    for i, g in enumerate(goal_y):
        if g is None:
            continue
        fig.add_shape(
            type="line",
            xref="x",
            yref="y",
            x0=i - 0.42,
            x1=i + 0.42,
            y0=g,
            y1=g,
            line=dict(color=RED, width=3, dash="dash"),
        )
        fig.add_annotation(
            x=i + 0.42,
            y=g,
            xref="x",
            yref="y",
            text=f"goal {fmt.multiple(g)}",
            showarrow=False,
            xanchor="right",
            yanchor="bottom",
            yshift=2,
            bgcolor="rgba(255,255,255,0.85)",
            font=dict(color=RED, size=13),
        )
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            name="Goal",
            line=dict(color=RED, width=3, dash="dash"),
            hoverinfo="skip",
        )
    )
    fig.update_layout(barmode="group", bargap=0.25, height=440)
    fig.update_yaxes(ticksuffix="x", rangemode="tozero")
    return fig


COVERAGE_LABEL_MIN = 0.05  # coverage bars below this carry no label (it would be "0.0x")
COVERAGE_LABEL_INSIDE = 0.6  # shorter bars carry their label above the bar


def _coverage_label(cov: float | None, status: str) -> str:
    if cov is None:
        return status
    return fmt.multiple(cov) if cov >= COVERAGE_LABEL_MIN else ""


def coverage_trend_chart(
    table: pd.DataFrame,
    goal: float | None = None,
    value_col: str = "coverage",
    title: str | None = None,
    note: str | None = None,
) -> go.Figure:
    """Coverage through the quarter: one point per snapshot (kpi_trend), goal as a line.

    `note` is the coverage metric's note, shown when no week has a value (a cut with no
    target, a target already met) instead of an empty grid.
    """
    if table is None or table.empty or value_col not in table:
        return empty_figure("Not enough snapshots in this period for a trend.", title)
    if table[value_col].isna().all():
        why = note or "no week has a value"
        return empty_figure(f"No coverage to show: {why.split(': ')[0]}.", title)
    x = pd.to_datetime(table["snapshot_date"])
    y = [_opt(v) for v in table[value_col]]
    fig = _figure(title or "Coverage through the quarter")
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines+markers",
            name="Coverage",
            line=dict(color=NAVY, width=3),
            marker=dict(size=7),
            customdata=[fmt.multiple(v) for v in y],
            hovertemplate="%{x|%b %d}: %{customdata}<extra></extra>",
        )
    )
    if goal is not None:
        goal_rule(fig, goal, f"goal {fmt.multiple(goal)}")
    fig.update_yaxes(ticksuffix="x", rangemode="tozero")
    # This chart usually sits in a half column: few, horizontal date labels.
    _snapshot_ticks(fig, list(x), most=5)
    fig.update_xaxes(tickangle=0)
    fig.update_layout(showlegend=False, height=380)
    return fig
