"""Named SQL parameters, merged safely.

Every query in `steward` binds `$name` parameters from a dict (STYLE §13): a fragment
(`open_qualified_sql`, a filter cut, a period bound) returns its SQL and the dict of the
names it uses, and the query merges them. Merging is where two fragments could silently
disagree about one name (`$p_start` for two quarters), so `merge` refuses that instead of
letting the later one win. DuckDB refuses a dict that names a parameter the SQL does not
use, so a fragment's dict holds exactly its own names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge(*parts: Mapping[str, Any]) -> dict[str, Any]:
    """One parameter dict from several; the same name must carry the same value."""
    out: dict[str, Any] = {}
    for part in parts:
        for name, value in part.items():
            if name in out and out[name] != value:
                raise ValueError(f"SQL parameter ${name} bound twice with different values")
            out[name] = value
    return out
