"""A KPI tile's sparkline as inline SVG: one polyline, no charting library.

Three tiny trend lines did not need a chart engine: drawn by Streamlit's metric chart they
made a first visit load and compile Vega (0.8 MB, after Plotly's 4.7 MB), ~0.3 s on the
2-core box (docs/benchmark.md, issue 11's fourth pass). The SVG scales to the tile's
width; the line keeps its stroke width. The page shows it as an image (`sparkline_html`):
Streamlit's `st.html` keeps an `<img>` and drops inline `<svg>`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from steward.charts.theme import NAVY

HEIGHT = 56  # px
_WIDTH = 300  # viewBox units; the SVG stretches to its box
_PAD = 3  # keeps the line's stroke inside the box at its highest and lowest points


def sparkline_svg(values: Sequence[float], label: str, color: str = NAVY) -> str:
    """The values, oldest first, as an SVG line filling the width, highest at the top
    (a flat line across the middle when they are all equal); `label` names it for
    screen readers. Two values or more."""
    if len(values) < 2:
        raise ValueError("a sparkline needs two values or more")
    lo, hi = min(values), max(values)
    span = hi - lo
    step = _WIDTH / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},"
        f"{HEIGHT / 2 if span == 0 else _PAD + (hi - v) / span * (HEIGHT - 2 * _PAD):.1f}"
        for i, v in enumerate(values)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'width="{_WIDTH}" height="{HEIGHT}" viewBox="0 0 {_WIDTH} {HEIGHT}" '
        'preserveAspectRatio="none">'
        f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2" '
        'stroke-linejoin="round" vector-effect="non-scaling-stroke"/></svg>'
    )


def sparkline_html(values: Sequence[float], label: str, color: str = NAVY) -> str:
    """`sparkline_svg` as an `<img>` the width of its box, `label` its alt text."""
    data = base64.b64encode(sparkline_svg(values, label, color).encode()).decode()
    return (
        f'<img alt="{escape(label)}" src="data:image/svg+xml;base64,{data}" '
        f'style="display:block;width:100%;height:{HEIGHT}px">'
    )
