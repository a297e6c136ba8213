"""Text that every writer can take: whatever a CRM free-text field held.

CRM exports carry control characters (NUL, vertical tab, bell) in notes and names; XML
(the .xlsx and .pptx formats) cannot hold them, and openpyxl / python-pptx raise on
them. The importer removes them with a warning; each writer passes stored text through
here as well, so text that reached the store some other way cannot break an export.
A spreadsheet cell holds at most 32,767 characters; longer text is cut, and says so.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

#: Characters XML 1.0 cannot hold (C0 controls except tab, newline, carriage return; lone
#: surrogates; U+FFFE/U+FFFF), plus DEL, which is never wanted in a name.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
#: The same for pandas string columns (Arrow strings are valid UTF-8: no surrogates).
CONTROL_COLUMN = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]"
CELL_MAX = 32_767
CUT = " [cut]"
#: Text a spreadsheet would run as a formula when it starts with one of these.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def strip_controls(text: str) -> str:
    return CONTROL.sub("", text)


def for_xml(text: str) -> str:
    """Text a .pptx (or any XML) can hold."""
    return strip_controls(text)


def for_cell(text: str) -> str:
    """Text a spreadsheet cell can hold: no control characters, at most CELL_MAX long."""
    text = strip_controls(text)
    if len(text) > CELL_MAX:
        return text[: CELL_MAX - len(CUT)] + CUT
    return text


def for_csv(value: Any) -> Any:
    """A CSV cell a spreadsheet opens as text: controls removed, formulas defused ('=...)."""
    if not isinstance(value, str):
        return value
    text = strip_controls(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV, every text cell passed through for_csv."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(for_csv)
    return out.to_csv(index=False).encode("utf-8")
