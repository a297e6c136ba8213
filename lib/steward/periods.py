"""Fiscal quarters. A fiscal year is named by the calendar year in which it ends.

With the fiscal year starting in month m, FY{Y}-Q1 starts on the 1st of month m of
calendar year Y-1 when m > 1 (and of Y when m == 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_PERIOD_RE = re.compile(r"^FY(\d{4})-Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    fiscal_year: int
    quarter: int
    start_month: int = 1

    @property
    def label(self) -> str:
        return f"FY{self.fiscal_year}-Q{self.quarter}"

    def __str__(self) -> str:
        return self.label

    @property
    def start(self) -> date:
        month0 = (self.start_month - 1) + 3 * (self.quarter - 1)  # months after Jan of year0
        year0 = self.fiscal_year - (1 if self.start_month > 1 else 0)
        return date(year0 + month0 // 12, month0 % 12 + 1, 1)

    @property
    def end(self) -> date:
        """Exclusive end: the first day of the next quarter."""
        return self.shift(1).start

    def shift(self, n: int) -> Quarter:
        idx = self.fiscal_year * 4 + (self.quarter - 1) + n
        return Quarter(idx // 4, idx % 4 + 1, self.start_month)

    def offset_from(self, other: Quarter) -> int:
        """How many quarters self lies after other (negative when before)."""
        return (self.fiscal_year * 4 + self.quarter) - (other.fiscal_year * 4 + other.quarter)

    def contains(self, d: date) -> bool:
        return self.start <= d < self.end


def quarter_of(d: date, start_month: int = 1) -> Quarter:
    """The fiscal quarter containing date d."""
    months_in = (d.month - start_month) % 12
    fy = d.year + (1 if start_month > 1 and d.month >= start_month else 0)
    return Quarter(fy, months_in // 3 + 1, start_month)


def parse_period(label: str, start_month: int = 1) -> Quarter:
    """Parse 'FY2026-Q3' (case-insensitive). Raises ValueError with the accepted form."""
    m = _PERIOD_RE.match(label.strip().upper())
    if not m:
        raise ValueError(f"period {label!r} is not a fiscal quarter like FY2026-Q3")
    return Quarter(int(m.group(1)), int(m.group(2)), start_month)


def quarters_between(first: date, last: date, start_month: int = 1) -> list[Quarter]:
    """Every fiscal quarter from the one containing first to the one containing last."""
    q, end = quarter_of(first, start_month), quarter_of(last, start_month)
    out = []
    while q <= end:
        out.append(q)
        q = q.shift(1)
    return out
