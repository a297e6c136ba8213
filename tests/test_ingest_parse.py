"""Parsing of messy values: every format in BRIEF §3.4, exact results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from steward.ingest import parse


def _dates(values: list[object], **kw: object) -> tuple[list[str | None], list[bool]]:
    parsed, bad = parse.parse_dates(pd.Series(values, dtype=object), **kw)  # type: ignore[arg-type]
    out = [None if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d %H:%M:%S") for v in parsed]
    return out, bad.tolist()


def test_iso_us_serial_timestamp_and_blank_dates() -> None:
    values = [
        "2026-11-20",
        "11/20/2026",
        "1/5/2026",
        "46346",
        "2026-11-20 14:03:11",
        "2026-11-20T09:00:00.000Z",
        "",
        "Nov 20, 2026",
        "11/20/26",
        "not a date",
    ]
    out, bad = _dates(values)
    # Excel serial 46346: 1899-12-30 + 46346 days = 2026-11-20 (45658 is 2025-01-01,
    # + 365 = 46023 is 2026-01-01, + 323 days (Jan..Oct = 304, + 19) = 46346 -> Nov 20).
    assert out == [
        "2026-11-20 00:00:00",
        "2026-11-20 00:00:00",
        "2026-01-05 00:00:00",
        "2026-11-20 00:00:00",
        "2026-11-20 00:00:00",
        "2026-11-20 00:00:00",
        None,
        "2026-11-20 00:00:00",
        "2026-11-20 00:00:00",
        None,
    ]
    assert bad == [False] * 6 + [False, False, False, True]


def test_day_first_detected_when_only_possible_reading() -> None:
    # 20/11/2026 can only be day-first, and no second part exceeds 12: the column is DMY,
    # so 05/11/2026 is 5 November (not May 11).
    out, bad = _dates(["20/11/2026", "05/11/2026", "15.12.2026"])
    assert out == ["2026-11-20 00:00:00", "2026-11-05 00:00:00", "2026-12-15 00:00:00"]
    assert bad == [False, False, False]


def test_date_hint_overrides_and_strptime_hint() -> None:
    assert _dates(["05/11/2026"], hint="DMY")[0] == ["2026-11-05 00:00:00"]
    assert _dates(["05/11/2026"])[0] == ["2026-05-11 00:00:00"]  # default M/D/YYYY
    assert _dates(["2026|11|20"], hint="%Y|%m|%d")[0] == ["2026-11-20 00:00:00"]


def test_impossible_dates_are_bad() -> None:
    out, bad = _dates(["2026-02-30", "13/13/2026"])
    assert out == [None, None]
    assert bad == [True, True]


def test_timestamps_keep_time_with_am_pm() -> None:
    out, bad = _dates(
        ["2026-11-20 14:03:11", "11/20/2026 2:05 PM", "11/20/2026 12:30 AM"], keep_time=True
    )
    assert out == ["2026-11-20 14:03:11", "2026-11-20 14:05:00", "2026-11-20 00:30:00"]
    assert bad == [False, False, False]


def test_typed_datetimes_and_numbers() -> None:
    parsed, bad = parse.parse_dates(pd.Series(pd.to_datetime(["2026-11-20 13:00"])))
    assert parsed.tolist() == [pd.Timestamp("2026-11-20")]
    parsed, bad = parse.parse_dates(pd.Series([46346.0, 3.0]))
    assert parsed.iloc[0] == pd.Timestamp("2026-11-20")
    assert bad.tolist() == [False, True]


def _money(values: list[object], **kw: object) -> tuple[list[float | None], list[bool], list[bool]]:
    v, bad, blank = parse.parse_money(pd.Series(values, dtype=object), **kw)  # type: ignore[arg-type]
    return [None if math.isnan(x) else x for x in v], bad.tolist(), blank.tolist()


def test_money_us_formats() -> None:
    values = [
        "$1,234.50",
        "(1,234.00)",
        "USD 1,234",
        "1234.5",
        "",
        "1,234.00-",
        "12 apples",
        "€ 99.99",
        "-7",
    ]
    out, bad, blank = _money(values)
    assert out == [1234.5, -1234.0, 1234.0, 1234.5, None, -1234.0, None, 99.99, -7.0]
    assert bad == [False, False, False, False, False, False, True, False, False]
    assert blank == [False, False, False, False, True, False, False, False, False]


def test_money_decimal_comma_detected_per_column() -> None:
    # "1.234,50" and "99,5" only make sense with a decimal comma, nothing only with a point.
    out, bad, _ = _money(["1.234,50", "99,5", "1.000.000", "(12,00)"])
    assert out == [1234.5, 99.5, 1000000.0, -12.0]
    assert bad == [False, False, False, False]


def test_money_decimal_comma_forced_rejects_us_style() -> None:
    out, bad, _ = _money(["1.234,50", "1,234.50"], decimal_comma=True)
    assert out == [1234.5, None]
    assert bad == [False, True]


def test_money_rounds_to_cents_and_typed_numbers() -> None:
    assert _money(["10.006", "0.1"])[0] == [10.01, 0.1]  # store keeps cents
    v, bad, blank = parse.parse_money(pd.Series([1.0, np.nan]))
    assert v.iloc[0] == 1.0 and blank.tolist() == [False, True] and bad.tolist() == [False, False]


def test_booleans() -> None:
    v, bad = parse.parse_bool(pd.Series(["1", "0", "true", "FALSE", "yes", "no", "", "maybe"]))
    assert v.tolist() == [True, False, True, False, True, False, pd.NA, pd.NA]
    assert bad.tolist() == [False] * 7 + [True]


def test_probability_scales() -> None:
    # auto: a value above 1 makes the whole column percent: 80 -> 0.8, 1 -> 0.01.
    v, bad = parse.parse_probability(pd.Series(["80", "1", "", "50%"]))
    assert [None if math.isnan(x) else x for x in v] == [0.8, 0.01, None, 0.5]
    assert bad.tolist() == [False, False, False, False]
    # auto with only 0..1: fractions
    v, _ = parse.parse_probability(pd.Series(["0.25", "1"]))
    assert v.tolist() == [0.25, 1.0]
    # '%' cells are percent even in a fraction-looking column
    v, _ = parse.parse_probability(pd.Series(["0.5", "1%"]))
    assert v.tolist() == [0.5, 0.01]
    v, bad = parse.parse_probability(pd.Series(["150", "-5"]))
    assert bad.tolist() == [True, True]
    v, _ = parse.parse_probability(pd.Series(["1"]), scale="percent")
    assert v.tolist() == [0.01]


def test_money_plain_looking_cells_in_a_decimal_comma_column() -> None:
    # "1 234,50 €" (non-breaking space) votes for a decimal comma, so "12.000" is 12000
    # in this column, not 12.0.
    out, bad, blank = _money(["1\u00a0234,50 €", "12.000", "", "(3)"])
    assert out == [1234.5, 12000.0, None, -3.0]
    assert bad == [False, False, False, False]
    # No cell needs a comma: "1.234" is read with a decimal point (and rounded to cents).
    assert _money(["1.234", "12.5"])[0] == [1.23, 12.5]


def test_year_first_with_slashes_or_dots_and_month_names() -> None:
    out, bad = _dates(["2026/11/20", "2026.1.5", "20-Nov-2026", "20 November 2026"])
    assert out == [
        "2026-11-20 00:00:00",
        "2026-01-05 00:00:00",
        "2026-11-20 00:00:00",
        "2026-11-20 00:00:00",
    ]
    assert bad == [False] * 4


def test_dotted_dates_are_day_first() -> None:
    # 05.11.2026 written with dots is 5 November; with slashes it is May 11.
    assert _dates(["05.11.2026", "01.02.2027"])[0] == ["2026-11-05 00:00:00", "2027-02-01 00:00:00"]
    assert _dates(["05/11/2026"])[0] == ["2026-05-11 00:00:00"]
