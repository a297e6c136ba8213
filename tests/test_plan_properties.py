"""Invariants of the plan arithmetic, the what-if and the maturity placement (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_plan import Q4, build_hand_store

from steward import definitions
from steward.maturity.rules import place
from steward.plan import needed, whatif
from steward.plan.needed import PlanInputs, SourceInput

DEFS = definitions.load()
money = st.floats(min_value=0, max_value=1e8, allow_nan=False)
share = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)


@st.composite
def plans(draw):
    n = draw(st.integers(1, 5))
    mixes = [draw(share) for _ in range(n)]
    total = sum(mixes)
    sources = tuple(
        SourceInput(
            f"S{i}",
            m / total,
            draw(st.one_of(st.none(), share)),
            draw(st.one_of(st.none(), st.floats(0, 400, allow_nan=False))),
            draw(money),
        )
        for i, m in enumerate(mixes)
    )
    as_of = date(2026, 11, 20) + timedelta(days=draw(st.integers(-200, 120)))
    return PlanInputs(
        period="FY2027-Q1",
        as_of=as_of,
        quarter_start=date(2027, 1, 1),
        quarter_last_day=date(2027, 3, 31),
        target=draw(st.one_of(st.none(), money)),
        won_to_date=draw(money),
        by_week=draw(st.integers(1, 13)),
        sources=sources,
    )


@settings(max_examples=200, deadline=None)
@given(plans())
def test_plan_invariants(inputs):
    t = needed.plan_rows(inputs)
    rows = t[t["source"] != "Total"]
    for s, rec in zip(inputs.sources, rows.to_dict(orient="records"), strict=True):
        if inputs.remaining is None or not s.win_rate:
            assert pd.isna(rec["needed_pipeline"])
            continue
        assert rec["needed_pipeline"] == pytest.approx(
            inputs.remaining * s.mix / s.win_rate, abs=0.01
        )
        assert 0 <= rec["new_pipeline"] <= rec["needed_pipeline"] + 0.005
        if not pd.isna(rec["create_by"]):
            assert rec["create_by"] <= inputs.by_date
            assert rec["weeks_left"] >= 0
            if not pd.isna(rec["new_per_week"]):
                assert rec["new_per_week"] * rec["weeks_left"] == pytest.approx(
                    rec["new_pipeline"], abs=0.01 * max(1.0, rec["weeks_left"])
                )
    # never negative, and the total is the sum of the sources
    total = t[t["source"] == "Total"].iloc[0]
    known = rows["needed_pipeline"].dropna()
    if len(known):
        assert total["needed_pipeline"] == pytest.approx(known.sum(), abs=0.01)


@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False))
def test_placement_is_monotone(a, b):
    lo, hi = min(a, b), max(a, b)
    assert place(lo, (0.6, 0.85), True) <= place(hi, (0.6, 0.85), True)
    assert place(lo, (0.25, 0.10), False) >= place(hi, (0.25, 0.10), False)


@pytest.fixture(scope="module")
def base():
    return whatif.baseline(build_hand_store(), Q4, DEFS)  # the hand-built one-snapshot store


IDS = ["D1", "D2", "D3", "D4", "D5"]
P = {"D1": 0.2 * 100_000, "D2": 0.6 * 200_000, "D3": 0.8 * 50_000, "D4": 0.1 * 40_000}


@settings(max_examples=60, deadline=None)
@given(removed=st.sets(st.sampled_from(IDS)))
def test_removing_deals_takes_off_exactly_their_expected_value(base, removed):
    # no training quarter on the hand store: expected = won + Σ p × amount of Q4 deals
    row = whatif.run(base, whatif.Assumptions(remove_deals=tuple(sorted(removed))))
    want = 214_000 - sum(P.get(d, 0.0) for d in removed)
    assert row["expected"] == pytest.approx(want, abs=0.005)
    assert row["open_deals"] == 4 - len(removed & set(P))
