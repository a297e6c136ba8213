"""Marketing: attribution and the closed-won curve by cohort."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from steward import fmt
from steward.charts.theme import (
    BLUE,
    GREY,
    MUTED,
    NAVY,
    PALETTE,
    SAND,
    SLATE,
    TEAL,
    _figure,
    _money_axis,
    _num,
    _opt,
    empty_figure,
)

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
