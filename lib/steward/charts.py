"""Charts: pure functions from a metric's result table to a Plotly figure.

One theme for every chart (screen and board pack alike): a restrained palette, large
type that stays readable on a projector, no gridline clutter, money as a board reads
it ($12.4M). Each function takes the table a metric returns (see the metric-id contract)
and never touches the store, so the dashboard, the exports and the tests share them.

Charts that can be clicked to drill (funnel bars, waterfall buckets, breakdown cells)
carry the selection key in `customdata[0]` of each point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from steward import fmt
from steward.metrics.targets import NO_TARGET_FOR_CUT

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
    fig.update_layout(showlegend=False, height=460, margin=dict(t=70))
    # Horizontal bucket names, two-word ones on two lines ("Pushed<br>out"): a board
    # reads them without tilting its head. The x values stay the bucket names (drill keys).
    fig.update_xaxes(
        tickangle=0,
        tickmode="array",
        tickvals=buckets,
        ticktext=[b.replace(" ", "<br>") for b in buckets],
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
        fig.add_hline(
            y=float(goal),
            line=dict(color=RED, dash="dash", width=2),
            annotation_text=f"goal {fmt.multiple(goal)}",
            annotation_position="top left",
            annotation_font_color=RED,
        )
    fig.update_yaxes(ticksuffix="x", rangemode="tozero")
    # This chart usually sits in a half column: few, horizontal date labels.
    _snapshot_ticks(fig, list(x), most=5)
    fig.update_xaxes(tickangle=0)
    fig.update_layout(showlegend=False, height=380)
    return fig


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
        fig.add_vline(
            x=float(target),
            line=dict(color=RED, dash="dash", width=2),
            annotation_text=f"target {fmt.money(target)}",
            annotation_position="top",
            annotation_font_color=RED,
        )
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


# --- KPI sparkline --------------------------------------------------------------------


def kpi_sparkline(
    table: pd.DataFrame, value_col: str, x_col: str = "snapshot_date", height: int = 60
) -> go.Figure:
    """A tiny trend line for a KPI tile: no axes, no title, last point marked."""
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        margin=dict(l=0, r=0, t=2, b=2),
        showlegend=False,
        xaxis=dict(visible=False),
        yaxis=dict(visible=False, showgrid=False),
    )
    if table is None or table.empty or value_col not in table:
        return fig
    x = list(pd.to_datetime(table[x_col]))
    y = [_opt(v) for v in table[value_col]]
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines",
            line=dict(color=BLUE, width=2),
            hoverinfo="skip",
            name=value_col,
        )
    )
    if x:
        fig.add_trace(
            go.Scatter(
                x=[x[-1]],
                y=[y[-1]],
                mode="markers",
                marker=dict(color=NAVY, size=6),
                hoverinfo="skip",
            )
        )
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


# --- breakdown matrix -----------------------------------------------------------------


def breakdown_heatmap(
    table: pd.DataFrame,
    row: str,
    col: str,
    value: str = "amount",
    unit: str = "usd",
    title: str | None = None,
    sort: bool = True,
    row_order: Sequence[str] | None = None,
    col_order: Sequence[str] | None = None,
    totals: bool = False,
) -> go.Figure:
    """A rows x columns matrix of one measure (long table in, pivot here).

    With totals (for additive measures: money, counts), each row and column label carries
    its total ("Enterprise · $7.9M"); the cells and their drill keys are unchanged.

    With sort, the biggest rows and columns come first; otherwise the table's order is
    kept (e.g. stages in funnel order).

    A heatmap for the colour plus an almost invisible square marker on every cell,
    because Plotly cannot select heatmap cells: clicking a marker selects the cell, and
    its customdata is [row value, column value].
    """
    if table is None or table.empty:
        return empty_figure("Nothing to break down for this selection.", title)
    df = table[[row, col, value]].copy()
    present = df[value].map(_opt).notna()
    # A row or column with no value at all (e.g. conversion out of Closed Won) is noise.
    df = df[df[row].isin(df.loc[present, row]) & df[col].isin(df.loc[present, col])]
    if df.empty:
        return empty_figure("Nothing to break down for this selection.", title)
    # Cells the metric gave a value for (a real 0% conversion is shown; a missing one is blank).
    known_cells = {
        (str(r), str(c))
        for r, c, v in zip(df[row], df[col], df[value], strict=True)
        if _opt(v) is not None
    }
    df[value] = df[value].map(_num)
    grid = df.pivot_table(
        index=row, columns=col, values=value, aggfunc="sum", fill_value=0.0, sort=False
    )
    if sort:
        grid = grid.loc[grid.sum(axis=1).sort_values(ascending=False).index]
        grid = grid[grid.sum(axis=0).sort_values(ascending=False).index]
    # A governed order (stages) wins over size; values outside it go last.
    if row_order:
        known = [r for r in row_order if r in grid.index]
        grid = grid.loc[known + [r for r in grid.index if r not in known]]
    if col_order:
        known = [c for c in col_order if c in grid.columns]
        grid = grid[known + [c for c in grid.columns if c not in known]]
    rows = [str(r) for r in grid.index]
    cols = [str(c) for c in grid.columns]
    z = grid.to_numpy().tolist()
    text = [
        [
            fmt.value(v, unit) if v or (unit == "ratio" and (r, c) in known_cells) else ""
            for c, v in zip(cols, zr, strict=True)
        ]
        for r, zr in zip(rows, z, strict=True)
    ]
    fig = _figure(title)
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=cols,
            y=rows,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=14),
            colorscale=[[0.0, "#F3F5F8"], [1.0, NAVY]],
            showscale=False,
            xgap=2,
            ygap=2,
            hoverinfo="skip",
            name=value,
        )
    )
    xs = [c for _ in rows for c in cols]
    ys = [r for r in rows for _ in cols]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers",
            marker=dict(symbol="square", size=40, color="rgba(0,0,0,0)"),
            customdata=[
                [r, c, fmt.value(z[i][j], unit)]
                for i, r in enumerate(rows)
                for j, c in enumerate(cols)
            ],
            hovertemplate="<b>%{customdata[0]} · %{customdata[1]}</b><br>%{customdata[2]}"
            "<br>click for the deals<extra></extra>",
            name="cells",
            showlegend=False,
        )
    )
    fig.update_yaxes(autorange="reversed", showgrid=False, title=None)
    fig.update_xaxes(side="top", showgrid=False)
    if totals:
        row_sum = [sum(r) for r in z]
        col_sum = [sum(r[j] for r in z) for j in range(len(cols))]
        fig.update_yaxes(
            tickmode="array",
            tickvals=rows,
            ticktext=[f"{r} · {fmt.value(t, unit)}" for r, t in zip(rows, row_sum, strict=True)],
        )
        fig.update_xaxes(
            tickmode="array",
            tickvals=cols,
            ticktext=[
                f"{c}<br><span style='font-size:13px'>{fmt.value(t, unit)}</span>"
                for c, t in zip(cols, col_sum, strict=True)
            ],
        )
    fig.update_layout(height=max(280, 50 * len(rows) + 120), showlegend=False)
    return fig


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


# --- marketing ------------------------------------------------------------------------

ATTRIBUTION_MODELS: tuple[tuple[str, str], ...] = (
    ("first_touch", "First touch"),
    ("last_touch", "Last touch"),
    ("linear", "Linear"),
    ("u_shaped", "U-shaped"),
    ("w_shaped", "W-shaped"),
    ("time_decay", "Time decay"),
)


def attribution_chart(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Credit by channel under each attribution model, side by side (grouped bars)."""
    if table is None or table.empty:
        return empty_figure("No marketing touches loaded.", title)
    df = table.copy()
    models = [(c, lbl) for c, lbl in ATTRIBUTION_MODELS if c in df]
    df["_total"] = sum(df[c].map(_num) for c, _ in models) if models else 0
    df = df.sort_values("_total", ascending=False)
    channels = [str(c) for c in df["channel"]]
    fig = _figure(title or "Attribution models side by side")
    for i, (col, lbl) in enumerate(models):
        vals = [_num(v) for v in df[col]]
        fig.add_trace(
            go.Bar(
                x=channels,
                y=vals,
                name=lbl,
                marker=dict(color=PALETTE[i % len(PALETTE)]),
                customdata=[fmt.money(v) for v in vals],
                hovertemplate=f"<b>%{{x}}</b><br>{lbl}: %{{customdata}}<extra></extra>",
            )
        )
    _money_axis(fig, values=[_num(v) for c, _ in models for v in df[c]], compact=True)
    # Channel names horizontal, multi-word ones on two lines (no tilted labels).
    fig.update_xaxes(
        tickangle=0,
        tickmode="array",
        tickvals=channels,
        ticktext=[str(c).replace(" ", "<br>") for c in channels],
    )
    fig.update_yaxes(title=dict(text="pipeline credited", font=dict(size=13, color=MUTED)))
    fig.update_layout(barmode="group", bargap=0.2, height=420)
    return fig


_CURVE_X = ("weeks_since_created", "weeks_since_creation", "weeks", "week")
_CURVE_Y = (
    "cumulative_won_pct",
    "cum_won_pct",
    "cumulative_pct",
    "pct_won",
    "won_pct",
    "share_won",
)
_CURVE_GROUP = ("cohort", "source", "created_quarter", "group")


def _pick(df: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in df.columns), None)


def closed_won_curve_chart(
    table: pd.DataFrame,
    source: str | None = "All",
    max_cohorts: int = 6,
    title: str | None = None,
) -> go.Figure:
    """Cumulative % of a cohort's qualified amount won, by weeks since creation.

    One line per created-quarter cohort (the latest `max_cohorts`) for one source
    ('All' = every source); the newest cohort is drawn darkest.
    """
    if table is None or table.empty:
        return empty_figure("No closed-won history for these cohorts.", title)
    xcol, ycol = _pick(table, _CURVE_X), _pick(table, _CURVE_Y)
    if xcol is None or ycol is None:
        return empty_figure("Closed-won curve table has unexpected columns.", title)
    df = table
    if source is not None and "source" in df.columns:
        df = df[df["source"].astype(str) == source]
    if df.empty:
        return empty_figure(f"No closed-won history for {source}.", title)
    group = "cohort" if "cohort" in df.columns else _pick(df, _CURVE_GROUP)
    names = list(dict.fromkeys(df[group].astype(str))) if group else ["All"]
    names = sorted(names)[-max_cohorts:]
    fig = _figure(title or f"Closed-won curves: % of qualified pipeline won ({source or 'all'})")
    shades = [GREY, SLATE, BLUE, TEAL, SAND, NAVY]
    for i, name in enumerate(names):
        part = df[df[group].astype(str) == name] if group else df
        part = part.sort_values(xcol)
        color = shades[max(0, len(shades) - len(names) + i)]
        fig.add_trace(
            go.Scatter(
                x=[_num(v) for v in part[xcol]],
                y=[_opt(v) for v in part[ycol]],
                mode="lines",
                name=name,
                line=dict(color=color, width=3 if i == len(names) - 1 else 2),
                hovertemplate=f"{name}<br>week %{{x:.0f}}: %{{y:.0%}}<extra></extra>",
            )
        )
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(title_text="weeks since created", showgrid=False)
    fig.update_layout(height=420)
    return fig


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


def line_chart(
    table: pd.DataFrame,
    x: str,
    y: str | Sequence[str],
    unit: str = "usd",
    title: str | None = None,
) -> go.Figure:
    """One line per measure across snapshots (kpi_trend columns)."""
    ys = [y] if isinstance(y, str) else [c for c in y if c in table]
    if table is None or table.empty or not ys:
        return empty_figure("Not enough snapshots for a trend.", title)
    fig = _figure(title)
    for i, col in enumerate(ys):
        vals = [_opt(v) for v in table[col]]
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime(table[x]),
                y=vals,
                mode="lines+markers",
                name=col.replace("_", " "),
                line=dict(color=PALETTE[i % len(PALETTE)], width=2.5),
                customdata=[fmt.value(v, unit) for v in vals],
                hovertemplate="%{x|%b %d}: %{customdata}<extra></extra>",
            )
        )
    if unit == "usd":
        _money_axis(fig, values=[_opt(v) for c in ys for v in table[c]])
    elif unit == "ratio":
        fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(tickformat="%b %d")
    fig.update_layout(showlegend=len(ys) > 1, height=380)
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


def to_png(fig: go.Figure, width: int = 1280, height: int | None = None, scale: float = 2) -> bytes:
    """Render for the board pack (kaleido): crisp at 2x."""
    h = height or int(fig.layout.height or 540)
    return bytes(fig.to_image(format="png", width=width, height=h, scale=scale))
