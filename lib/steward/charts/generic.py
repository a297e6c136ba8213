"""Bars shared by several pages, and the calendar of loaded snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from steward import fmt
from steward.charts.theme import (
    NAVY,
    PALETTE,
    RED,
    _figure,
    _money_axis,
    _num,
    empty_figure,
)

# --- generic bars used by several pages ------------------------------------------------


def bar_chart(
    table: pd.DataFrame,
    x: str,
    y: str | Sequence[str],
    unit: str = "usd",
    title: str | None = None,
    horizontal: bool = False,
    names: Sequence[str] | None = None,
) -> go.Figure:
    """Plain (grouped) bars of one or more measures by a category column."""
    if table is None or table.empty:
        return empty_figure("Nothing to show for this selection.", title)
    ys = [y] if isinstance(y, str) else list(y)
    cats = [str(c) for c in table[x]]
    fig = _figure(title)
    for i, col in enumerate(ys):
        vals = [_num(v) for v in table[col]]
        label = names[i] if names else col.replace("_", " ")
        shown = [fmt.value(v, unit) for v in vals]
        fig.add_trace(
            go.Bar(
                x=vals if horizontal else cats,
                y=cats if horizontal else vals,
                orientation="h" if horizontal else "v",
                name=label,
                marker=dict(color=PALETTE[i % len(PALETTE)]),
                text=shown,
                textposition="outside",
                cliponaxis=False,
                customdata=[[c, s] for c, s in zip(cats, shown, strict=True)],
                hovertemplate=f"<b>%{{customdata[0]}}</b><br>{label}: %{{customdata[1]}}<extra></extra>",
            )
        )
    axis = "xaxis" if horizontal else "yaxis"
    if unit == "usd":
        # Horizontal bars often sit in a half column: few, short ticks ($0, $2.5M, $5M).
        _money_axis(
            fig,
            axis,
            [_num(v) for c in ys for v in table[c]],
            n=4 if horizontal else 5,
            compact=True,
        )
    elif unit == "ratio":
        fig.update_layout({axis: dict(tickformat=".0%")})
    if horizontal:
        fig.update_yaxes(autorange="reversed", showgrid=False, ticksuffix="  ")
    top = max([_num(v) for c in ys for v in table[c]] + [0.0])
    if top > 0:
        # Leave room for the value printed past the longest bar.
        fig.update_layout({axis: dict(range=[0, top * 1.18])})
        fig.update_xaxes(showgrid=True, gridcolor="#ECEFF3")
    fig.update_layout(
        barmode="group",
        showlegend=len(ys) > 1,
        height=max(320, 40 * len(cats) + 120) if horizontal else 400,
    )
    return fig


def snapshot_calendar(dates: Sequence[Any], title: str | None = None) -> go.Figure:
    """Loaded weekly snapshots as a year x ISO-week grid; gaps between loads in red.

    Weeks before the first and after the last load are blank; a week inside that span
    with no snapshot is a missing week (what the data-trust check counts).
    """
    days = sorted({pd.Timestamp(d).date() for d in dates})
    if not days:
        return empty_figure("No snapshots loaded yet.", title, height=220)
    loaded = {(d.isocalendar()[0], d.isocalendar()[1]): d for d in days}
    first, last = days[0], days[-1]
    span: list[tuple[int, int]] = []
    cur = first - pd.Timedelta(days=first.weekday())
    while cur <= last:
        iso = cur.isocalendar()
        span.append((iso[0], iso[1]))
        cur = cur + pd.Timedelta(days=7)
    years = sorted({y for y, _ in span})
    weeks = list(range(1, 54))
    z: list[list[float | None]] = [[None] * len(weeks) for _ in years]
    text: list[list[str]] = [[""] * len(weeks) for _ in years]
    for y, w in span:
        i, j = years.index(y), w - 1
        if (y, w) in loaded:
            z[i][j] = 1.0
            text[i][j] = f"{loaded[(y, w)]:%a %d %b %Y}: loaded"
        else:
            z[i][j] = 0.0
            text[i][j] = f"{y} week {w}: missing"
    missing = sum(1 for k in span if k not in loaded)
    fig = _figure(
        title
        or f"{len(days)} weekly snapshots loaded, {first:%d %b %Y} – {last:%d %b %Y}"
        + (f" · {missing} missing" if missing else " · none missing"),
        height=120 + 34 * len(years),
    )
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=weeks,
            y=[str(y) for y in years],
            text=text,
            hovertemplate="%{text}<extra></extra>",
            colorscale=[[0.0, RED], [1.0, NAVY]],
            zmin=0,
            zmax=1,
            showscale=False,
            xgap=3,
            ygap=3,
            name="snapshots",
        )
    )
    fig.update_xaxes(title_text="ISO week", dtick=4, showgrid=False)
    fig.update_yaxes(showgrid=False, type="category", autorange="reversed")
    fig.update_layout(margin=dict(t=50, b=40))
    return fig
