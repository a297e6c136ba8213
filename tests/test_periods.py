"""Fiscal quarters, named by the calendar year in which the fiscal year ends."""

from __future__ import annotations

from datetime import date

import pytest

from steward.periods import Quarter, parse_period, quarter_of, quarters_between


def test_calendar_fiscal_year():
    q = quarter_of(date(2026, 11, 23))
    assert q.label == "FY2026-Q4"
    assert (q.start, q.end) == (date(2026, 10, 1), date(2027, 1, 1))
    assert q.shift(1).label == "FY2027-Q1" and q.shift(-4).label == "FY2025-Q4"


def test_february_fiscal_year():
    # FY2027 = Feb 2026 - Jan 2027: January 2026 is the last quarter of FY2026.
    assert quarter_of(date(2026, 1, 31), 2).label == "FY2026-Q4"
    q = quarter_of(date(2026, 2, 1), 2)
    assert q.label == "FY2027-Q1" and (q.start, q.end) == (date(2026, 2, 1), date(2026, 5, 1))
    q4 = parse_period("fy2027-q4", 2)
    assert (q4.start, q4.end) == (date(2026, 11, 1), date(2027, 2, 1))


@pytest.mark.parametrize("month", range(1, 13))
def test_every_day_falls_in_the_quarter_that_contains_it(month):
    for d in (date(2025, m, day) for m in range(1, 13) for day in (1, 15, 28)):
        q = quarter_of(d, month)
        assert q.contains(d), (d, q, month)
        assert parse_period(q.label, month) == q


def test_offsets_and_ranges():
    a, b = parse_period("FY2026-Q4"), parse_period("FY2027-Q2")
    assert b.offset_from(a) == 2 and a.offset_from(b) == -2
    labels = [q.label for q in quarters_between(date(2026, 2, 1), date(2026, 11, 1))]
    assert labels == ["FY2026-Q1", "FY2026-Q2", "FY2026-Q3", "FY2026-Q4"]
    assert Quarter(2026, 4) < Quarter(2027, 1)


@pytest.mark.parametrize("bad", ["2026-Q4", "FY26-Q4", "FY2026-Q5", "FY2026Q4", ""])
def test_bad_period_labels(bad):
    with pytest.raises(ValueError, match="fiscal quarter like FY2026-Q3"):
        parse_period(bad)
