"""The forecast's fast paths give the same numbers as the plain ones, to the last bit.

`simulate` draws each block of 100 deals in whole-array operations; `reference_simulate`
below is the deal-by-deal loop it replaced (kept here, verbatim in what it computes), and
every total must be identical: same random stream, same additions in the same order.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.metrics.forecast import EXACT_DEALS, simulate


def reference_simulate(
    p: np.ndarray,
    amounts: np.ndarray,
    draws: int,
    seed: int,
    multipliers: list[float] | None = None,
    extra: list[float] | None = None,
) -> np.ndarray:
    """The simulation as it was before the block version: one deal at a time."""
    rng = np.random.default_rng(seed)
    totals = np.zeros(draws)
    scale = None
    factors = np.ones(1)
    pick = np.zeros(draws, dtype=np.int64)
    if multipliers:
        factors = np.asarray(multipliers, dtype=float)
        pick = rng.integers(0, len(multipliers), draws)
        scale = factors[pick]
        if extra:
            totals += np.asarray(extra, dtype=float)[pick]
    if len(p) == 0:
        return totals
    variance = p * (1.0 - p) * amounts**2
    order = np.argsort(-variance, kind="stable")
    exact, rest = order[:EXACT_DEALS], order[EXACT_DEALS:]
    threshold = np.round(p * 65536.0).astype(np.int64)
    for i in range(0, len(exact), 100):
        idx = exact[i : i + 100]
        n_raw = -(-len(idx) * draws // 4)
        u = rng.bit_generator.random_raw(n_raw).view(np.uint16)[: len(idx) * draws]
        u = u.reshape(len(idx), draws)
        for row, k in enumerate(idx):
            if scale is None:
                totals += (u[row] < threshold[k]) * amounts[k]
            else:
                levels = np.round(np.minimum(p[k] * factors, 1.0) * 65536.0).astype(np.int32)
                totals += (u[row] < levels[pick]) * amounts[k]
    if len(rest):
        normal = rng.standard_normal(draws)
        for r in [1.0] if scale is None else sorted(set(scale.tolist())):
            pr = np.minimum(p[rest] * r, 1.0)
            mean = float((pr * amounts[rest]).sum())
            sd = math.sqrt(float((pr * (1.0 - pr) * amounts[rest] ** 2).sum()))
            part = np.clip(mean + sd * normal, 0.0, float(amounts[rest].sum()))
            if scale is None:
                totals += part
            else:
                totals += np.where(scale == r, part, 0.0)
    return totals


def _case(n: int, seed: int, cents: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    p[rng.random(n) < 0.1] = 1.0  # some certain deals (threshold 65536)
    p[rng.random(n) < 0.1] = 0.0
    amounts = rng.integers(1, 2_000_000, n).astype(float)
    if cents:  # amounts with cents: float sums depend on their order
        amounts = amounts / 100.0 + 0.01
    return p, amounts


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 650),
    seed=st.integers(0, 10_000),
    draws=st.integers(1, 600),
    n_mult=st.integers(0, 5),
    with_extra=st.booleans(),
    cents=st.booleans(),
)
def test_block_simulation_equals_the_deal_by_deal_loop(
    n: int, seed: int, draws: int, n_mult: int, with_extra: bool, cents: bool
) -> None:
    p, amounts = _case(n, seed, cents)
    mult_rng = np.random.default_rng(seed + 1)
    multipliers = [float(x) for x in mult_rng.uniform(0.3, 2.5, n_mult)] or None
    extra = [float(x) for x in mult_rng.uniform(0, 1e6, n_mult)] if with_extra else None
    want = reference_simulate(p, amounts, draws, seed, multipliers, extra)
    got = simulate(p, amounts, draws, seed, multipliers, extra)
    assert got.tobytes() == want.tobytes()  # bit for bit, not approximately


def test_block_simulation_at_full_size() -> None:
    """10,000 draws, 1,500 deals (400 drawn one by one), 8 quarter multipliers, cents."""
    p, amounts = _case(1500, 11, cents=True)
    multipliers = [0.61, 0.8, 0.95, 1.0, 1.07, 1.2, 1.33, 2.4]
    extra = [1234.56 * k for k in range(8)]
    for mult, ext in ((None, None), (multipliers, None), (multipliers, extra)):
        want = reference_simulate(p, amounts, 10_000, 7, mult, ext)
        assert simulate(p, amounts, 10_000, 7, mult, ext).tobytes() == want.tobytes()
