"""Vectorised parsers for the messy values of real exports.

Each parser takes a column (text as read, or already typed from Parquet/XLSX) and
returns the parsed values plus a boolean mask of cells it could not read. Blank cells are
never "bad": they come back as missing, and the caller decides whether blank is allowed.
No per-row Python loops: dates are parsed once per distinct value, the rest with pandas
string methods, so a million rows take seconds.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

TRUE_WORDS = {"1", "true", "t", "yes", "y", "x"}
FALSE_WORDS = {"0", "false", "f", "no", "n"}
DATE_ORDERS = ("MDY", "DMY", "YMD")
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: Dates are parsed at microsecond resolution (years 0-9999) and only then narrowed to the
#: nanosecond columns the frame keeps (years 1678-2261); a cast alone would wrap silently
#: (0000-01-01 became 1753-08-29). Values outside the window asked for are refused.
NS_WINDOW = (pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31"))
WIDE = "datetime64[us]"


def text(col: pd.Series) -> pd.Series:
    """Cells as stripped strings ('' for missing), whatever the input dtype. Whole floats
    (ids that went through a float column: 9001.0) are written without the '.0'."""
    if pd.api.types.is_float_dtype(col.dtype):
        known = col.dropna()
        if bool((known == known.round()).all()) and bool((known.abs() < 2**53).all()):
            col = col.astype("Int64")
    if col.dtype == object or not pd.api.types.is_string_dtype(col.dtype):
        col = col.astype(object).where(col.notna(), "")
        col = col.astype(str)
    return col.fillna("").str.strip()


def optional_text(col: pd.Series) -> pd.Series:
    """Stripped strings with blanks as missing."""
    t = text(col)
    return t.where(t != "")


def is_blank(col: pd.Series) -> np.ndarray:
    return (text(col) == "").to_numpy(dtype=bool)


# ---- dates -------------------------------------------------------------------------------


def _from_parts(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    y = pd.to_numeric(year, errors="coerce")
    two_digit = year.astype(str).str.len() <= 2  # 1/5/26 is 2026; 0026-01-05 is year 26
    y = y.where(~two_digit, y + 2000)
    parts = pd.DataFrame(
        {"year": y, "month": pd.to_numeric(month, errors="coerce"), "day": day.astype(float)}
    )
    parts["day"] = pd.to_numeric(day, errors="coerce")
    if parts.empty:
        return pd.Series(pd.NaT, index=year.index, dtype=WIDE)
    return pd.to_datetime(parts, errors="coerce").astype(WIDE)


def slash_order(values: pd.Series, hint: str | None = None) -> str:
    """MDY unless the hint says otherwise, the column can only be DMY (a first part > 12),
    or every value is written with dots (D.M.YYYY, the European habit)."""
    if hint in DATE_ORDERS:
        return hint
    parts = values.str.extract(r"^(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}")
    a = pd.to_numeric(parts[0], errors="coerce")
    b = pd.to_numeric(parts[1], errors="coerce")
    if bool((a > 12).any()) and not bool((b > 12).any()):
        return "DMY"
    dotted = values.str.match(r"^\d{1,2}\.\d{1,2}\.\d{2,4}")
    if len(values) and bool(dotted.all()):  # 05.11.2026 is European: day first
        return "DMY" if not bool((b > 12).any()) else "MDY"
    return "MDY"


def _parse_unique_dates(u: pd.Series, hint: str | None, keep_time: bool) -> pd.Series:
    out = pd.Series(pd.NaT, index=u.index, dtype=WIDE)
    if hint and "%" in hint:
        parsed = pd.to_datetime(u, format=hint, errors="coerce").astype(WIDE)
        return parsed if keep_time else parsed.dt.normalize()
    time_part = u.str.extract(r"[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?")
    iso = u.str.extract(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]|$)")
    m = iso[0].notna()
    out[m] = _from_parts(iso.loc[m, 0], iso.loc[m, 1], iso.loc[m, 2])
    rest = out.isna()
    order = slash_order(u[rest], hint)
    sl = u[rest].str.extract(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?:[ T]|$)")
    m2 = sl[0].notna()
    idx = sl.index[m2]
    if order == "DMY":
        out[idx] = _from_parts(sl.loc[m2, 2], sl.loc[m2, 1], sl.loc[m2, 0])
    else:
        out[idx] = _from_parts(sl.loc[m2, 2], sl.loc[m2, 0], sl.loc[m2, 1])
    rest = out.isna()
    serial = u[rest].str.fullmatch(r"\d{5}(\.\d+)?")
    sidx = serial.index[serial.fillna(False).astype(bool)]
    if len(sidx):
        days = pd.to_numeric(u[sidx], errors="coerce")
        out[sidx] = EXCEL_EPOCH + pd.to_timedelta(days.round() if not keep_time else days, "D")
    rest = out.isna() & u.str.contains(r"[A-Za-z]{3}", regex=True)
    if bool(rest.any()):  # "Nov 20, 2026", "20 Nov 2026"
        out[rest] = pd.to_datetime(u[rest], format="mixed", errors="coerce").astype(WIDE)
    if keep_time:
        has_time = time_part[0].notna() & out.notna()
        if bool(has_time.any()):
            h = pd.to_numeric(time_part.loc[has_time, 0])
            ampm = time_part.loc[has_time, 3].fillna("").str.lower()
            h = h.where(~((ampm == "pm") & (h < 12)), h + 12)
            h = h.where(~((ampm == "am") & (h == 12)), 0)
            mins = pd.to_numeric(time_part.loc[has_time, 1])
            secs = pd.to_numeric(time_part.loc[has_time, 2].fillna("0"))
            out[has_time] = (
                out[has_time].dt.normalize()
                + pd.to_timedelta(h, "h")
                + pd.to_timedelta(mins, "m")
                + pd.to_timedelta(secs, "s")
            )
    else:
        out = out.dt.normalize()
    return out


def parse_dates(
    col: pd.Series, hint: str | None = None, keep_time: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Dates (datetime64[ns], midnight unless keep_time) and a mask of cells that are
    unreadable or outside what the frame can hold (never wrapped into another year)."""
    values, bad, outside = parse_dates_window(col, NS_WINDOW, hint, keep_time)
    return values, bad | outside


def parse_dates_window(
    col: pd.Series,
    window: tuple[pd.Timestamp, pd.Timestamp],
    hint: str | None = None,
    keep_time: bool = False,
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Dates, a mask of unreadable cells and a mask of dates outside `window` (inclusive
    days; those come back missing so the caller can name them in its error).

    Accepts ISO (with or without a time), M/D/YYYY (D/M/YYYY when the column can only be
    read that way, or when hinted), D.M.YYYY, two-digit years (-> 20xx), Excel serial day
    numbers, 'Nov 20, 2026', typed datetimes. A time zone suffix is ignored: the date is
    the one written in the file.
    """
    wide, bad = _parse_wide(col, hint, keep_time)
    lo, hi = max(window[0], NS_WINDOW[0]), min(window[1], NS_WINDOW[1])
    day = wide.dt.normalize()
    outside = (wide.notna() & ((day < lo) | (day > hi))).to_numpy(dtype=bool)
    values = wide.where(~outside).astype("datetime64[ns]")
    return values, bad, outside


def _parse_wide(col: pd.Series, hint: str | None, keep_time: bool) -> tuple[pd.Series, np.ndarray]:
    """Parsed at microsecond resolution (years 0-9999): nothing wraps here."""
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        values = col.dt.tz_localize(None) if getattr(col.dt, "tz", None) else col
        values = values.astype(WIDE)
        return (values if keep_time else values.dt.normalize()), np.zeros(len(col), bool)
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        num = pd.to_numeric(col, errors="coerce")
        ok = num.between(10000, 99999)
        values = (EXCEL_EPOCH + pd.to_timedelta(num.where(ok), "D")).astype(WIDE)
        values = values if keep_time else values.dt.normalize()
        return values, (num.notna() & ~ok).to_numpy(dtype=bool)
    t = text(col)
    codes, uniques = pd.factorize(t, sort=False)
    u = pd.Series(np.asarray(uniques, dtype=object), dtype="str")
    if len(u) and u.str.match(r"^\d{4}-\d{2}-\d{2}$").all():  # the common clean case
        parsed_u = pd.to_datetime(u, format="%Y-%m-%d", errors="coerce").astype(WIDE)
    else:
        parsed_u = _parse_unique_dates(u, hint, keep_time)
    parsed_arr = parsed_u.to_numpy(dtype=WIDE)
    values = pd.Series(parsed_arr[codes], index=col.index, dtype=WIDE)
    bad = values.isna().to_numpy() & (t != "").to_numpy(dtype=bool)
    return values, bad


# ---- numbers -----------------------------------------------------------------------------

_US_VALID = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d*)(\.\d+)?$")
_EU_VALID = re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d*)(,\d+)?$")


_PLAIN = r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"


def _plain_floats(t: pd.Series) -> pd.Series:
    """Floats for cells that are plain numbers, NaN elsewhere. Validating with a regex
    first keeps pandas off its slow per-cell path for unparseable strings."""
    plain = t.str.fullmatch(_PLAIN).fillna(False).astype(bool)
    out = pd.Series(np.nan, index=t.index, dtype=float)
    if bool(plain.any()):
        out[plain] = t[plain].astype("float64")
    return out


def decimal_comma_votes(t: pd.Series) -> tuple[int, int]:
    """How many cells only make sense with a decimal comma, and how many only with a point."""
    eu = t.str.match(r"^-?\d{1,3}(\.\d{3})+(,\d*)?$|^-?\d+,\d{1,2}$")
    us = t.str.match(r"^-?\d{1,3}(,\d{3})+(\.\d*)?$|^-?\d+\.\d{1,2}$")
    return int(eu.sum()), int(us.sum())


def parse_number(
    col: pd.Series, decimal_comma: bool | None = None
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Floats, a mask of unreadable cells and a mask of blank cells.

    Reads "$1,234.50", "1.234,50", "(1,234.00)" (negative), "1,234.00-", "USD 1,234",
    "1 234,50 €", "12%". decimal_comma None decides per column: a decimal comma when some
    cells can only be read that way ("1.234,50", "99,5") and none only the other way.
    """
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        values = pd.to_numeric(col, errors="coerce").astype(float)
        return values, np.zeros(len(col), bool), values.isna().to_numpy()
    t = text(col)
    blank = (t == "").to_numpy(dtype=bool)
    values = _plain_floats(t)
    todo = values.isna().to_numpy() & ~blank
    if not todo.any() and not decimal_comma:
        return values, np.zeros(len(t), bool), blank
    sub = t[todo]
    negative = sub.str.match(r"^\(.*\)$") | sub.str.match(r"^[^-]*\d[^\d]*-$")
    cleaned = sub.str.replace("[()\\s\u00a0'%$€£¥]|^[A-Za-z]{3}|[A-Za-z]{3}$", "", regex=True)
    cleaned = cleaned.str.rstrip("-")
    if decimal_comma is None:
        plain = t[~todo & ~blank]
        eu, us = decimal_comma_votes(pd.concat([cleaned, plain]))
        decimal_comma = eu > 0 and us == 0
    if decimal_comma:  # re-read every cell: "1.234" is 1234 in this column
        todo = ~blank
        everything = t.copy()
        everything[cleaned.index] = cleaned
        cleaned = everything[todo]
    valid = cleaned.str.match(_EU_VALID if decimal_comma else _US_VALID) & (cleaned != "")
    if decimal_comma:
        cleaned = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        cleaned = cleaned.str.replace(",", "", regex=False)
    parsed = _plain_floats(cleaned.where(valid, ""))
    neg = negative.reindex(parsed.index, fill_value=False).astype(bool)
    parsed = parsed.where(~neg | (parsed == 0), -parsed.abs())
    values[todo] = parsed.to_numpy()
    bad = values.isna().to_numpy() & ~blank
    return values, bad, blank


def parse_money(
    col: pd.Series, decimal_comma: bool | None = None
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Money rounded to the cent (the store keeps DECIMAL(18,2))."""
    values, bad, blank = parse_number(col, decimal_comma)
    too_big = values.abs() >= 1e16
    return values.round(2), bad | too_big.to_numpy(dtype=bool), blank


def parse_probability(col: pd.Series, scale: str = "auto") -> tuple[pd.Series, np.ndarray]:
    """Probability as 0-1. scale 'percent' / 'fraction' / 'auto' (percent when any cell > 1
    or carries '%'; a column of only 0 and 1 reads as fractions). Outside 0-100 is bad."""
    t = text(col) if not pd.api.types.is_numeric_dtype(col.dtype) else None
    values, bad, _blank = parse_number(col, decimal_comma=None)
    has_pct = (
        t.str.endswith("%").to_numpy(dtype=bool) if t is not None else np.zeros(len(col), bool)
    )
    if scale == "percent" or (scale == "auto" and bool((values > 1).any())):
        values = values / 100.0
    elif scale == "auto" and has_pct.any():
        values = values.where(~has_pct, values / 100.0)
    out_of_range = ((values < 0) | (values > 1)).to_numpy(dtype=bool)
    return values.where(~out_of_range), bad | out_of_range


def parse_bool(col: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Booleans from 1/0, true/false, yes/no, t/f, y/n, x. Blank is missing."""
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("boolean"), np.zeros(len(col), bool)
    t = text(col).str.lower()
    t = t.str.replace(r"\.0+$", "", regex=True)
    values = pd.Series(pd.NA, index=col.index, dtype="boolean")
    is_true = t.isin(TRUE_WORDS)
    is_false = t.isin(FALSE_WORDS)
    values[is_true] = True
    values[is_false] = False
    bad = ~(is_true | is_false).to_numpy(dtype=bool) & (t != "").to_numpy(dtype=bool)
    return values, bad
