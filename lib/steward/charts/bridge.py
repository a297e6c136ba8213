"""What changed: the pipeline bridge (waterfall) and the slippage trend."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from steward import fmt
from steward.charts.theme import (
    BASE_FONT_SIZE,
    GREEN,
    GREY,
    MUTED,
    NAVY,
    RED,
    SAND,
    _figure,
    _money_axis,
    _num,
    _opt,
    _snapshot_ticks,
    empty_figure,
    nice_ticks,
)
from steward.metrics.waterfall import SHORT_LABELS

# --- waterfall ------------------------------------------------------------------------

_MEASURE = {"start": "absolute", "end": "total"}


def waterfall_chart(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """The pipeline bridge from snapshot A to B: start, leaving, entering, changes, end.

    Rows are drawn in the order given (the metric returns BRIEF §4 order); Start is an
    absolute bar and End a total bar, so Plotly's running sum must land on End exactly.
    A bucket's customdata[0] is its name (drill key).
    """
    if table is None or table.empty:
        return empty_figure("No pipeline movement to show.", title)
    buckets = [str(b) for b in table["bucket"]]
    kinds = [str(k) for k in table["kind"]]
    amounts = [_num(a) for a in table["amount"]]
    counts = [int(_num(c)) for c in table["count"]] if "count" in table else [0] * len(buckets)
    measures = [_MEASURE.get(k, "relative") for k in kinds]
    # Plotly ignores the y of a 'total' bar, but give it the true End so the JSON carries it.
    text = [
        fmt.money(a) if m != "relative" else (fmt.signed_money(a) if a else "")
        for a, m in zip(amounts, measures, strict=True)
    ]
    custom = [
        [b, fmt.money(a) if m != "relative" else fmt.signed_money(a), fmt.count(c)]
        for b, a, m, c in zip(buckets, amounts, measures, counts, strict=True)
    ]
    fig = _figure(title or "Pipeline bridge")
    if title and "<br>" in title:  # 'what<br>13 Nov 2026 → 20 Nov 2026': dates as a subtitle
        head, sub = title.split("<br>", 1)
        fig.update_layout(
            title=dict(text=head, subtitle=dict(text=sub, font=dict(size=15, color=MUTED)))
        )
    fig.add_trace(
        go.Waterfall(
            x=buckets,
            y=amounts,
            measure=measures,
            text=text,
            textposition="outside",
            cliponaxis=False,
            customdata=custom,
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]} · "
            "%{customdata[2]} deals<extra></extra>",
            connector=dict(line=dict(color=GREY, width=1)),
            increasing=dict(marker=dict(color=GREEN)),
            decreasing=dict(marker=dict(color=RED)),
            totals=dict(marker=dict(color=NAVY)),
            name="pipeline",
        )
    )
    lo, hi = _waterfall_span(amounts, measures)
    if lo > 0 and hi > 0 and (hi - lo) < 0.5 * hi:
        # The moves are small next to the totals: start the axis near the lowest level
        # so the buckets can be read (the axis labels say where it starts).
        pad = max(hi - lo, 0.05 * hi)
        bottom, top = max(0.0, lo - 0.6 * pad), hi + 0.3 * pad
        fig.update_yaxes(range=[bottom, top])
        _money_axis(fig, span=(bottom, top))
        fig.add_annotation(
            text=f"axis starts at {fmt.money(bottom)}",
            x=1.0,
            y=1.0,
            xref="paper",
            yref="paper",
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            font=dict(size=12, color=MUTED),
        )
    else:
        _money_axis(fig, span=(min(0.0, lo), max(0.0, hi)))
    # Bar values shrink to their bar's width and hide below 10 px instead of running
    # into each other on a phone; on a wide screen they all fit at full size.
    fig.update_layout(
        showlegend=False,
        height=460,
        margin=dict(t=100 if title and "<br>" in title else 70),  # room for the subtitle
        uniformtext=dict(minsize=10, mode="hide"),
    )
    # One-line bucket names (the declared short label for two-word ones): horizontal
    # while they fit, turned 30° or 90° by Plotly when they would collide (390 px wide).
    # Full names stay in the hover and as the x values (drill keys).
    fig.update_xaxes(
        autotickangles=[0, 30, 90],
        tickmode="array",
        tickvals=buckets,
        ticktext=[SHORT_LABELS.get(b, b) for b in buckets],
        tickfont=dict(size=13 if len(buckets) > 8 else BASE_FONT_SIZE),
    )
    return fig


def _waterfall_span(amounts: list[float], measures: list[str]) -> tuple[float, float]:
    """Lowest and highest running level of the bridge (bar ends), for the axis range."""
    level, levels = 0.0, []
    for a, m in zip(amounts, measures, strict=True):
        if m == "absolute":
            level = a
            levels.append(level)
        elif m == "total":
            levels.append(level)
        else:
            levels += [level, level + a]
            level += a
    return (min(levels), max(levels)) if levels else (0.0, 0.0)


# --- slippage -------------------------------------------------------------------------


def slippage_chart(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Pushed-out amount per week (bars) and slippage ratio (line, right axis)."""
    if table is None or table.empty:
        return empty_figure("Not enough snapshots for a slippage trend.", title)
    x = pd.to_datetime(table["to_date"])
    pushed = [_num(v) for v in table["pushed_amount"]]
    ratio = [_opt(v) for v in table["slippage_ratio"]]
    fig = _figure(title or "Slippage: pipeline pushed out of the quarter")
    fig.add_trace(
        go.Bar(
            x=x,
            y=pushed,
            name="Pushed out",
            marker=dict(color=SAND),
            customdata=[fmt.money(v) for v in pushed],
            hovertemplate="week to %{x|%b %d}: %{customdata} pushed<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=ratio,
            name="Slippage % of start",
            yaxis="y2",
            mode="lines+markers",
            line=dict(color=RED, width=2),
            customdata=[fmt.pct(v, 1) for v in ratio],
            hovertemplate="%{customdata} of start<extra></extra>",
        )
    )
    _money_axis(fig, values=pushed)
    top = max([r for r in ratio if r is not None] + [0.0])
    ticks = nice_ticks(0.0, top if top > 0 else 0.1, n=4)
    fig.update_layout(
        yaxis2=dict(
            overlaying="y",
            side="right",
            tickmode="array",
            tickvals=ticks,
            ticktext=[fmt.pct(t) for t in ticks],
            range=[0, max(ticks[-1], top) * 1.12],  # room for the top marker
            showgrid=False,
            title=None,
        ),
        height=380,
    )
    _snapshot_ticks(fig, list(x))
    return fig
