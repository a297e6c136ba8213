"""The drilldown matrix: open pipeline by two dimensions as a clickable heatmap."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from steward import fmt
from steward.charts.theme import (
    NAVY,
    _figure,
    _num,
    _opt,
    empty_figure,
)

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
