"""The drilldown matrix as a metric (open_pipeline_matrix), on the hand-built fixture.

Open qualified deals closing in FY2026-Q4 at AS_OF (2026-11-16), see fixtures_pipeline:
    Enterprise: O06 Discovery 75,000 · O10 Proposal 80,000 · O16 Discovery 22,000 = 177,000 (3)
    Mid-Market: O07 Proposal 40,000 · O08 Discovery 15,000 · O11 Negotiation 35,000
                · O13 Solution 100,000 (Enterprise -> Mid-Market by B)           = 190,000 (4)
    SMB:        O09 Solution 12,000 · O12 Discovery (amount null -> 0)            =  12,000 (2)
    total 379,000 = open_pipeline.
"""

from __future__ import annotations

import pytest
from fixtures_pipeline import AS_OF, PERIOD
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward.metrics.core import DIMENSIONS, Filters, Query, compute, drill

Q = Query(AS_OF, PERIOD)


def cells(table, rows: str, cols: str) -> dict[tuple[str, str], tuple[float, int]]:
    return {(r[rows], r[cols]): (r["amount"], r["count"]) for _, r in table.iterrows()}


def test_segment_by_stage_cells_worked_on_paper(pipeline_con, defs):
    res = compute(pipeline_con, "open_pipeline_matrix", Q, defs)
    assert cells(res.table, "segment", "stage") == {
        ("Enterprise", "Discovery"): (97000.0, 2),  # O06 75,000 + O16 22,000
        ("Enterprise", "Proposal"): (80000.0, 1),  # O10
        ("Mid-Market", "Discovery"): (15000.0, 1),  # O08
        ("Mid-Market", "Negotiation"): (35000.0, 1),  # O11
        ("Mid-Market", "Proposal"): (40000.0, 1),  # O07
        ("Mid-Market", "Solution"): (100000.0, 1),  # O13
        ("SMB", "Discovery"): (0.0, 1),  # O12, amount null
        ("SMB", "Solution"): (12000.0, 1),  # O09
    }


def test_same_dimension_twice_gives_one_column(pipeline_con, defs):
    q = Q.with_(options=(("cols", "segment"), ("rows", "segment")))
    res = compute(pipeline_con, "open_pipeline_matrix", q, defs)
    assert cells(res.table, "segment", "all") == {
        ("Enterprise", "All"): (177000.0, 3),
        ("Mid-Market", "All"): (190000.0, 4),
        ("SMB", "All"): (12000.0, 2),
    }


def test_a_cell_drills_to_its_deals(pipeline_con, defs):
    got = drill(pipeline_con, "open_pipeline_matrix", Q, defs, row="Enterprise", col="Discovery")
    assert sorted(got.opportunity_id) == ["O06", "O16"]
    assert sorted(drill(pipeline_con, "open_pipeline_matrix", Q, defs).opportunity_id) == sorted(
        drill(pipeline_con, "open_pipeline", Q, defs).opportunity_id
    )


def test_a_dimension_outside_the_whitelist_never_reaches_sql(pipeline_con, defs):
    q = Q.with_(options=(("cols", "stage"), ("rows", "1; drop table snapshots")))
    with pytest.raises(ValueError, match="breakdown dimension"):
        compute(pipeline_con, "open_pipeline_matrix", q, defs)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.sampled_from(DIMENSIONS),
    cols=st.sampled_from(DIMENSIONS),
    segments=st.lists(st.sampled_from(["Enterprise", "Mid-Market", "SMB"]), max_size=2),
)
def test_cells_add_up_to_open_pipeline_for_any_cut(pipeline_con, defs, rows, cols, segments):
    q = Query(AS_OF, PERIOD, Filters.of(segment=segments), options=(("cols", cols), ("rows", rows)))
    table = compute(pipeline_con, "open_pipeline_matrix", q, defs).table
    total = compute(pipeline_con, "open_pipeline", q, defs).value
    assert round(float(table["amount"].sum()), 2) == round(total or 0.0, 2)
    assert int(table["count"].sum()) == len(drill(pipeline_con, "open_pipeline", q, defs))
