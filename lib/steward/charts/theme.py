"""One theme for every chart (screen and board pack alike): palette, type, axes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from steward import fmt

# --- theme ----------------------------------------------------------------------------

NAVY = "#1F3A5F"
BLUE = "#4A78A8"
TEAL = "#3E8E8A"
SAND = "#C9A45C"
SLATE = "#8A96A3"
GREEN = "#2E7D4F"
RED = "#B23B3B"
GREY = "#C5CCD4"
INK = "#1B1F24"
MUTED = "#5B6670"

PALETTE: tuple[str, ...] = (NAVY, BLUE, TEAL, SAND, SLATE, "#7A5C8E", "#A0695A", "#5E8C4A")
FONT_FAMILY = "Inter, 'Segoe UI', Helvetica, Arial, sans-serif"
BASE_FONT_SIZE = 15

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font=dict(family=FONT_FAMILY, size=BASE_FONT_SIZE, color=INK),
        title=dict(
            font=dict(size=20, color=INK),
            x=0.0,
            xanchor="left",
            yref="container",
            y=0.98,
            yanchor="top",
        ),
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin=dict(l=10, r=20, t=96, b=40),
        xaxis=dict(
            showgrid=False, zeroline=False, linecolor=GREY, ticks="", automargin=True, title=None
        ),
        yaxis=dict(
            showgrid=True,
            gridcolor="#ECEFF3",
            zeroline=False,
            linecolor=GREY,
            ticks="",
            automargin=True,
            title=None,
        ),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0.0, title=None),
        hoverlabel=dict(font=dict(family=FONT_FAMILY, size=14)),
        separators=".,",
        clickmode="event+select",
        dragmode=False,
    )
)

# d3 format for money axes: $12.4M (SI suffixes; billions read as G in d3, so use B below).
MONEY_TICKS = dict(tickprefix="$", tickformat="~s")


def _figure(title: str | None, height: int = 420) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, height=height)
    if title:
        fig.update_layout(title_text=title)
    return fig


def _num(x: Any) -> float:
    """Decimal/None/NaN -> float (0 for missing): chart values only, never totals."""
    if x is None:
        return 0.0
    v = float(x)
    return 0.0 if math.isnan(v) else v


def _opt(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return None if math.isnan(v) else v


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 x 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 6))
        t += step
    return ticks


def _money_axis(
    fig: go.Figure,
    axis: str = "yaxis",
    values: Sequence[float | None] | None = None,
    span: tuple[float, float] | None = None,
    n: int = 5,
    compact: bool = False,
) -> None:
    """Money ticks labelled like the rest of the product ($1.2M, $850K).

    With the values drawn (or an explicit span), the ticks are computed here so they read
    exactly as fmt.money prints; otherwise d3's SI format is the fallback. `n` is about
    how many ticks; `compact` drops a trailing ".0" ($5M rather than $5.0M).
    """
    if span is None and values:
        vals = [v for v in values if v is not None and math.isfinite(v)]
        if vals:
            span = (min(0.0, min(vals)), max(0.0, max(vals)))
    if span is None:
        fig.update_layout({axis: MONEY_TICKS})
        return
    ticks = nice_ticks(span[0], span[1], n)
    text = [_money_tick(t) if compact else fmt.money(t) for t in ticks]
    fig.update_layout({axis: dict(tickmode="array", tickvals=ticks, ticktext=text)})


def _money_tick(x: float) -> str:
    """fmt.money without a trailing .0 on round values: $5M, $10M, $2.5M, $850K."""
    text = fmt.money(x)
    for suffix in ("M", "B", "K"):
        text = text.replace(f".0{suffix}", suffix)
    return text


def _snapshot_ticks(fig: go.Figure, dates: Sequence[Any], most: int = 8) -> None:
    """Label the x axis at the snapshot dates themselves ("Nov 20"), not at Plotly's
    Sunday week starts, thinning to at most `most` labels (always keeping the latest)."""
    ds = sorted({pd.Timestamp(d) for d in dates if d is not None and not pd.isna(d)})
    if not ds:
        return
    step = max(1, math.ceil(len(ds) / most))
    shown = ds[::-1][::step][::-1]
    fig.update_xaxes(tickmode="array", tickvals=shown, ticktext=[f"{d:%b} {d.day}" for d in shown])


GOAL_LINE = dict(color=RED, dash="dash", width=2)  # every goal / target rule looks the same


def goal_rule(fig: go.Figure, value: float, label: str, axis: str = "y") -> None:
    """The red dashed rule of a goal or target, labelled ('goal 3.0x', 'target $8.5M'):
    across the chart at y=value, or (axis='x') down it at x=value."""
    add = fig.add_hline if axis == "y" else fig.add_vline
    add(
        float(value),
        line=GOAL_LINE,
        annotation_text=label,
        annotation_position="top left" if axis == "y" else "top",
        annotation_font_color=RED,
    )


def empty_figure(message: str, title: str | None = None, height: int = 300) -> go.Figure:
    """A figure that says there is nothing to draw (instead of an empty grid)."""
    fig = _figure(title, height)
    fig.add_annotation(
        text=message,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font=dict(size=16, color=MUTED),
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig
