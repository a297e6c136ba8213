"""Board formatting: the same number always looks the same."""

from __future__ import annotations

from decimal import Decimal

import pytest

from steward import fmt


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (12_400_000, "$12.4M"),
        (Decimal("850000.00"), "$850K"),
        (999_960, "$1.0M"),
        (999_400, "$999K"),
        (1_500, "$1.5K"),
        (950, "$950"),
        (0, "$0"),
        (-1_260_000, "-$1.3M"),
        (2_500_000_000, "$2.5B"),
        (None, "—"),
        (float("nan"), "—"),
    ],
)
def test_money(x, text):
    assert fmt.money(x) == text


def test_other_units():
    assert fmt.money_exact(Decimal("1234567.891")) == "$1,234,567.89"
    assert fmt.money_exact(-5) == "-$5.00"
    assert fmt.signed_money(300_000) == "+$300K" and fmt.signed_money(-300_000) == "-$300K"
    assert fmt.multiple(2.74) == "2.7x"
    assert fmt.pct(0.384) == "38%" and fmt.pct(0.384, 1) == "38.4%"
    assert fmt.signed_pct(0.18) == "+18%" and fmt.signed_pct(-0.05) == "-5%"
    assert fmt.pts(0.06) == "+6 pts" and fmt.pts(-0.01) == "-1 pt"
    assert fmt.count(12345) == "12,345" and fmt.days(41.6) == "42 days"
    assert fmt.value(1234.5, "usd_per_day") == "$1.2K/day"
    assert fmt.value(0.5, "ratio") == "50%" and fmt.value(None, "usd") == "—"


def test_one_board_date_style() -> None:
    from datetime import date

    # '20 Nov 2026' everywhere (it was '20 Nov 2026', 'Nov 13, 2026', '13 Nov → 20 Nov'
    # and '2026-11-20' on one page); the year is dropped only inside `today`'s year.
    assert fmt.board_date(date(2026, 11, 20)) == "20 Nov 2026"
    assert fmt.board_date(date(2026, 11, 13), today=date(2026, 11, 20)) == "13 Nov"
    assert fmt.board_date(date(2025, 12, 26), today=date(2026, 1, 2)) == "26 Dec 2025"
    assert fmt.date_span(date(2026, 11, 13), date(2026, 11, 20)) == "13 Nov 2026 → 20 Nov 2026"
    assert fmt.chart_title("Bridge", date(2026, 11, 13), date(2026, 11, 20)) == (
        "Bridge<br>13 Nov 2026 → 20 Nov 2026"
    )


def test_exact_values_carry_their_unit() -> None:
    assert fmt.exact(3658683.92, "usd") == "$3,658,683.92"
    assert fmt.exact(-819761.06, "usd") == "-$819,761.06"
    assert fmt.exact(4.6254, "multiple") == "4.63x"
    assert fmt.exact(0.153, "ratio") == "15.30%"
    assert fmt.exact(3, "count") == "3"
    assert fmt.exact(41.46, "days") == "41.5 days"
    assert fmt.exact(72.44, "score") == "72.4/100"
    assert fmt.exact(None, "usd") == fmt.DASH


def test_one_delta_format_for_tiles_and_exports() -> None:
    # the tiles' copy (widgets._fmt_delta) used to give '+1,200' for $/day and '+4' for a
    # score where the KPI layer gave '+$1.2K/day' and '+4.5'; now both read fmt.delta.
    assert fmt.delta(1200, "usd_per_day") == "+$1.2K/day"
    assert fmt.delta(4.5, "score") == "+4.5"
    assert fmt.delta(-1_300_000, "usd") == "-$1.3M"
    assert fmt.delta(0.06, "ratio") == "+6 pts"
    assert fmt.delta(0.3, "multiple") == "+0.3x"
    assert fmt.delta(12, "count") == "+12"
    assert fmt.delta(None, "usd") == fmt.DASH
