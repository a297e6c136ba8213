"""The KPI tiles' sparkline: inline SVG points worked out on paper."""

from __future__ import annotations

import base64

import pytest

from steward.charts.sparkline import HEIGHT, sparkline_html, sparkline_svg


def _points(svg: str) -> list[tuple[float, float]]:
    raw = svg.split('points="', 1)[1].split('"', 1)[0]
    return [(float(x), float(y)) for x, y in (p.split(",") for p in raw.split())]


def test_points_span_the_width_highest_at_the_top():
    # three values over a 300-wide box: x = 0, 150, 300; lo 10 hi 30, height 56, pad 3:
    # y = 3 + (30 - v) / 20 × 50 -> 10: 53.0, 30: 3.0, 20: 28.0
    assert _points(sparkline_svg([10, 30, 20], "t")) == [(0.0, 53.0), (150.0, 3.0), (300.0, 28.0)]


def test_a_flat_trend_is_a_line_across_the_middle():
    assert _points(sparkline_svg([5, 5], "t")) == [(0.0, HEIGHT / 2), (300.0, HEIGHT / 2)]


def test_one_value_is_no_sparkline():
    with pytest.raises(ValueError, match="two values"):
        sparkline_svg([1.0], "t")


def test_the_image_carries_the_svg_and_an_escaped_label():
    html = sparkline_html([1, 2], 'Win rate "count" <trend>')
    assert 'alt="Win rate &quot;count&quot; &lt;trend&gt;"' in html
    data = html.split("base64,", 1)[1].split('"', 1)[0]
    assert base64.b64decode(data).decode() == sparkline_svg([1, 2], 'Win rate "count" <trend>')
