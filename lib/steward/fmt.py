"""Numbers the way a board reads them: $12.4M, 2.7x, 38%, +18% QoQ, 6 pts.

One place for every screen, export and narrative sentence, so the same number always
looks the same. None renders as an em dash.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

DASH = "—"
Number = int | float | Decimal | None


def _f(x: Number) -> float | None:
    if x is None:
        return None
    v = float(x)
    return None if math.isnan(v) else v


def money(x: Number, digits: int = 1) -> str:
    """$12.4M, $850K, $1.2B, $950; negatives as -$1.3M."""
    v = _f(x)
    if v is None:
        return DASH
    sign = "-" if v < 0 else ""
    a = abs(v)
    if a >= 999_950_000:
        return f"{sign}${a / 1e9:,.{digits}f}B"
    if a >= 999_500:
        return f"{sign}${a / 1e6:,.{digits}f}M"
    if a >= 10_000:
        return f"{sign}${a / 1e3:,.0f}K"
    if a >= 1_000:
        return f"{sign}${a / 1e3:,.1f}K"
    return f"{sign}${a:,.0f}"


def money_exact(x: Number) -> str:
    """$1,234,567.89 — for tables that must reconcile to the cent."""
    v = _f(x)
    return DASH if v is None else (f"-${abs(v):,.2f}" if v < 0 else f"${v:,.2f}")


def signed_money(x: Number, digits: int = 1) -> str:
    """+$1.2M / -$300K (a change)."""
    v = _f(x)
    if v is None:
        return DASH
    return ("+" if v >= 0 else "") + money(v, digits)


def multiple(x: Number) -> str:
    """2.7x."""
    v = _f(x)
    return DASH if v is None else f"{v:.1f}x"


def pct(x: Number, digits: int = 0) -> str:
    """A ratio 0.384 -> '38%'."""
    v = _f(x)
    return DASH if v is None else f"{v * 100:.{digits}f}%"


def signed_pct(x: Number, digits: int = 0) -> str:
    """A relative change 0.18 -> '+18%'."""
    v = _f(x)
    return DASH if v is None else f"{v * 100:+.{digits}f}%"


def pts(x: Number) -> str:
    """A change between two ratios, in percentage points: 0.06 -> '+6 pts'."""
    v = _f(x)
    if v is None:
        return DASH
    n = round(v * 100)
    return f"{n:+d} pt" + ("" if abs(n) == 1 else "s")


def count(x: Number) -> str:
    v = _f(x)
    return DASH if v is None else f"{v:,.0f}"


def days(x: Number) -> str:
    v = _f(x)
    return DASH if v is None else f"{v:,.0f} days"


def score(x: Number) -> str:
    v = _f(x)
    return DASH if v is None else f"{v:.0f}/100"


def value(x: Number, unit: str) -> str:
    """Format by a metric's declared unit."""
    return {
        "usd": money,
        "count": count,
        "ratio": pct,
        "multiple": multiple,
        "days": days,
        "usd_per_day": lambda v: DASH if _f(v) is None else f"{money(v)}/day",
        "score": score,
    }.get(unit, lambda v: DASH if _f(v) is None else f"{_f(v):,.2f}")(x)


# A table cell by its column's declared unit (`Column.unit`): a board's rounding, with
# ratios to one decimal so neighbouring rows can be told apart (38.1% beside 38.4%).
_CELL = {
    "usd": money,
    "usd_exact": money_exact,
    "ratio": lambda v: pct(v, 1),
    "multiple": multiple,
    "count": count,
    "days": days,
    "hours": lambda v: DASH if _f(v) is None else f"{_f(v):,.1f} h",
}
CELL_UNITS = frozenset(_CELL)


def cell(x: Number, unit: str) -> str:
    """One table cell by its declared unit ($12.4M, 38.1%, 2.7x, 41 days, 3.5 h, — for
    blank); a unit without a number format ('date', words) is not for this function."""
    if unit not in _CELL:
        raise ValueError(f"no table format for unit {unit!r}; one of {', '.join(sorted(_CELL))}")
    return _CELL[unit](x)


def exact(x: Number, unit: str) -> str:
    """The unrounded reading of a value, with its unit: '$1,234,567.89', '38.46%',
    '2.71x', '1,234', '41.5 days', '$12,345.67/day', '72.4/100' ("Show the math")."""
    v = _f(x)
    if v is None:
        return DASH
    return {
        "usd": money_exact,
        "usd_exact": money_exact,
        "count": lambda a: f"{a:,.0f}" if float(a).is_integer() else f"{a:,.2f}",
        "ratio": lambda a: f"{a * 100:.2f}%",
        "multiple": lambda a: f"{a:.2f}x",
        "days": lambda a: f"{a:,.1f} days",
        "usd_per_day": lambda a: f"{money_exact(a)}/day",
        "score": lambda a: f"{a:.1f}/100",
    }.get(unit, lambda a: f"{a:,.2f}")(v)


def delta(x: Number, unit: str) -> str:
    """A change in a value's own unit, for every screen and export: +$1.2M, +$1.2K/day,
    +6 pts, +0.3x, +12, +4.5 (days, scores)."""
    v = _f(x)
    if v is None:
        return DASH
    if unit == "usd":
        return signed_money(v)
    if unit == "usd_per_day":
        return signed_money(v) + "/day"
    if unit == "ratio":
        return pts(v)
    if unit == "multiple":
        return f"{v:+.1f}x"
    if unit == "count":
        return f"{v:+,.0f}"
    return f"{v:+.1f}"


def board_date(d: date, today: date | None = None) -> str:
    """The one date style a board reads, on every page, slide and sentence: '20 Nov 2026'
    ('20 Nov' when `today` is given and in the same year)."""
    text = f"{d.day} {d:%b}"
    return text if today is not None and d.year == today.year else f"{text} {d.year}"


def date_span(a: date, b: date) -> str:
    """'13 Nov 2026 → 20 Nov 2026': a comparison between two snapshots."""
    return f"{board_date(a)} → {board_date(b)}"


def chart_title(what: str, a: date, b: date) -> str:
    """A chart title over a comparison, the dates on a line of their own so the title
    fits a phone's width: 'FY2026-Q4 pipeline bridge<br>13 Nov 2026 → 20 Nov 2026'."""
    return f"{what}<br>{date_span(a, b)}"


# Excel number formats matching the screen (used by the workbook).
EXCEL_FORMATS = {
    "usd": '"$"#,##0.00;[Red]-"$"#,##0.00',
    "usd_whole": '"$"#,##0;[Red]-"$"#,##0',
    "count": "#,##0",
    "ratio": "0.0%",
    "multiple": '0.0"x"',
    "days": '#,##0" d"',
    "usd_per_day": '"$"#,##0"/day"',
    "score": "0",
    "date": "yyyy-mm-dd",
}
