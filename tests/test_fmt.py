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
