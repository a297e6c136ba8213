"""The trust checks' per-deal flags of one snapshot, read once per store version and cut
by each view's filters in memory.

Every per-deal check but one depends only on the deal's row in the as-of snapshot and
its history, not on the view's filters: the filters only choose which rows count (and
they cut by the snapshot row's own attributes, which the frame keeps). So the flags of
every row of the snapshot are read once per store version and as-of date (a bit per
check, steward.memo.kept) with the row's dimension values as small integer codes and
its amount in cents. A view then masks the rows its filters keep and adds up, in
numpy, with no SQL and no id lists to bind: at 31M rows (510k deals a snapshot) a few
milliseconds instead of a 25-40 ms query.

The exception is the amount outlier (open amount above a multiple of the filtered
open deals' median amount): computed per cut here, with DuckDB's median of a
DECIMAL(18,2) column (the middle value, or for an even count the lower middle plus
half the gap, rounded down to the cent) and its comparison in doubles.

Sums are exact: amounts are whole cents in int64 (a float64 holds every integer sum
below 2**53, so the weighted bincount is exact too), and dollars are `cents / 100` as
Python's correctly rounded division, like float(Decimal) of DuckDB's decimal sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from steward.metrics import cuts
from steward.metrics.core import Filters

OPEN_BIT = 12  # an open row; the check bits are 0..len(checks) (the last: the outlier)


@dataclass(frozen=True)
class DealFlags:
    """The rows of one snapshot: a bit per flag, the dimensions as codes (0 = null,
    i = values[i - 1]) and the amount in cents (null = 0)."""

    checks: tuple[str, ...]  # bit i of `bits` is checks[i]
    dims: cuts.DimCodes
    cents: np.ndarray  # int64
    bits: np.ndarray  # int16


def read(
    con: duckdb.DuckDBPyConnection,
    flags_sql: str,
    params: dict[str, Any],
    checks: tuple[str, ...],
) -> DealFlags:
    """The frame from `flags_sql`: CTEs ending in `flags` (one row per row of the as-of
    snapshot, no filter, with the columns opportunity_id, amt, is_open, a boolean per
    check and the dimensions)."""
    values, _ = cuts.distinct_values(
        con, "from snapshots s where s.snapshot_date = $as_of", {"as_of": params["as_of"]}
    )
    bits = " + ".join(f"(case when {c} then {1 << i} else 0 end)" for i, c in enumerate(checks))
    if len(checks) >= OPEN_BIT:
        raise ValueError("too many checks for the bit layout")
    final = f"""
    select {cuts.code_sql("f")},
           (f.amt * 100)::bigint as cents,
           ({bits} + case when f.is_open then {1 << OPEN_BIT} else 0 end)::integer as bits
    from flags f
    """  # noqa: S608 - dimension and check names are module constants
    frame = con.execute(flags_sql + final, {**params, **cuts.code_params(values)}).fetchnumpy()
    return DealFlags(
        checks,
        cuts.dim_codes(values, frame),
        np.asarray(frame["cents"], dtype=np.int64),
        np.asarray(frame["bits"], dtype=np.int16),
    )


def mask(fl: DealFlags, filters: Filters) -> np.ndarray | None:
    """The rows the filters and the access scope keep (None: every row)."""
    return fl.dims.mask(filters, len(fl.cents))


def median_cents(cents: np.ndarray) -> int | None:
    """DuckDB's median of a DECIMAL(18,2) column, in cents: the middle value, or the
    lower middle plus half the gap rounded down (None for no values)."""
    n = len(cents)
    if not n:
        return None
    if n % 2:
        return int(np.partition(cents, n // 2)[n // 2])
    part = np.partition(cents, (n // 2 - 1, n // 2))
    lo, hi = int(part[n // 2 - 1]), int(part[n // 2])
    return lo + (hi - lo) // 2


def outlier_floor(med: int, outlier_multiple: float) -> int:
    """The least amount in cents that is an outlier: `c / 100 > multiple × (med / 100)`
    in doubles, as the SQL compares a DECIMAL(18,2) amount with a double. The left side
    grows with c (a correctly rounded division), so the set is every c from this one."""
    limit = outlier_multiple * (med / 100)
    c = max(0, math.floor(limit * 100) - 2)
    while not c / 100 > limit:
        c += 1
    while c > 0 and (c - 1) / 100 > limit:
        c -= 1
    return c


@dataclass(frozen=True)
class Tally:
    """Per check (count, amount), the open deals and those flagged by any check."""

    checks: dict[str, tuple[int, float]]
    open_count: int
    open_amount: float
    flagged_count: int
    flagged_amount: float


def tally(fl: DealFlags, keep: np.ndarray | None, outlier: str, outlier_multiple: float) -> Tally:
    """The per-deal checks of the kept rows, `outlier` computed against their median
    open amount (`amount > multiple × median` in doubles, as the SQL compares)."""
    bits = fl.bits if keep is None else fl.bits[keep]
    cents = fl.cents if keep is None else fl.cents[keep]
    is_open = (bits & (1 << OPEN_BIT)) != 0
    med = median_cents(cents[is_open & (cents > 0)])
    out_bit = len(fl.checks)
    if med is not None:
        outliers = is_open & (cents >= outlier_floor(med, outlier_multiple))
        bits = bits | np.where(outliers, 1 << out_bit, 0).astype(bits.dtype)
    # one pass: rows and cents per combination of bits, then each check's share
    counts = np.bincount(bits)
    sums = np.bincount(bits, weights=cents.astype(np.float64))
    combos = np.arange(len(counts))

    def share(test: int, need_all: int = 0) -> tuple[int, int]:
        sel = ((combos & test) != 0) & ((combos & need_all) == need_all)
        return int(counts[sel].sum()), int(round(float(sums[sel].sum())))

    got: dict[str, tuple[int, float]] = {}
    for i, name in enumerate((*fl.checks, outlier)):
        n, c = share(1 << i)
        got[name] = (n, round(c / 100, 2))
    open_bit = 1 << OPEN_BIT
    open_n, open_c = share(open_bit)
    flagged_n, flagged_c = share((1 << (out_bit + 1)) - 1, open_bit)
    return Tally(got, open_n, open_c / 100, flagged_n, flagged_c / 100)
