"""As-of metrics on the hand-built fixture (tests/fixtures_pipeline.py), as of B = 2026-11-16,
period FY2026-Q4. Each expectation is worked out in the comments from the deal list."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_pipeline import AS_OF, PERIOD, insert_snapshots, snapshot_rows
from hypothesis import given
from hypothesis import strategies as st

from steward import store
from steward.metrics import asof, deals
from steward.metrics.core import Filters, Query, compute, drill

Q = Query(AS_OF, PERIOD)


def value(con, metric_id, q=Q, defs=None):
    from steward import definitions

    return compute(con, metric_id, q, defs or definitions.load(definitions.DEFAULT_PATH))


# Open qualified in B with close date in Q4 (not closed, stage >= Discovery):
#   O06 75,000  O07 40,000  O08 15,000  O09 12,000  O10 80,000  O11 35,000  O12 null->0
#   O13 100,000  O16 22,000                                   = 379,000 over 9 deals
# Left out: O03 (close 2027-04), O04 (Prospecting), O14 (unknown stage), closed O01/O02/O15.
def test_open_pipeline_count_and_weighted(pipeline_con, defs):
    assert value(pipeline_con, "open_pipeline", defs=defs).value == 379000.00
    assert value(pipeline_con, "open_count", defs=defs).value == 9
    # weighted: 75000*.2 + 40000*.6 + 15000*.2 + 12000*.4 + 80000*.9 + 35000*.8 + 0
    #         + 100000*.4 + 22000*.2 = 15000+24000+3000+4800+72000+28000+40000+4400 = 191,200
    assert value(pipeline_con, "weighted_pipeline", defs=defs).value == 191200.00


def test_won_and_lost_to_date(pipeline_con, defs):
    # won with close in Q4: O01 100,000 (O15 won but closes 2027-01-05: not this period)
    assert value(pipeline_con, "won_to_date", defs=defs).value == 100000.00
    # lost with close in Q4: O02 50,000
    assert value(pipeline_con, "lost_to_date", defs=defs).value == 50000.00


def test_filters_cut_on_the_snapshot_attributes(pipeline_con, defs):
    # Enterprise open pipeline: O06 75,000 + O10 80,000 + O16 22,000 = 177,000
    # (O13 moved to Mid-Market in B)
    ent = Q.with_(filters=Filters.of(segment="Enterprise"))
    assert value(pipeline_con, "open_pipeline", ent, defs).value == 177000.00
    # Region EMEA, owner Bob: O06 75,000 + O11 35,000 = 110,000
    emea = Q.with_(filters=Filters.of(region="EMEA", owner=["Bob"]))
    assert value(pipeline_con, "open_pipeline", emea, defs).value == 110000.00
    # Stage filter: Proposal only: O07 40,000 + O10 80,000
    prop = Q.with_(filters=Filters.of(stage="Proposal"))
    assert value(pipeline_con, "open_pipeline", prop, defs).value == 120000.00
    # Product Analytics: O10 80,000 + O13 100,000
    ana = Q.with_(filters=Filters.of(product="Analytics"))
    assert value(pipeline_con, "open_pipeline", ana, defs).value == 180000.00


def test_bookings_target_rows(pipeline_con, defs):
    assert value(pipeline_con, "bookings_target", defs=defs).value == 600000.00  # 'All' row
    ent = Q.with_(filters=Filters.of(segment="Enterprise"))
    assert value(pipeline_con, "bookings_target", ent, defs).value == 80000.00
    # two segments: 80,000 + 200,000
    two = Q.with_(filters=Filters.of(segment=["Enterprise", "Mid-Market"]))
    assert value(pipeline_con, "bookings_target", two, defs).value == 280000.00
    smb = Q.with_(filters=Filters.of(segment="SMB"))
    res = value(pipeline_con, "bookings_target", smb, defs)
    # A segment without a row is a cut without a target (steward.metrics.targets).
    assert res.value is None
    assert res.note == "no target for this cut: FY2026-Q4 has no target for segment SMB"
    # FY2027-Q1 has only an Enterprise row: no segment filter -> sum of segment rows
    nxt = Q.with_(period="FY2027-Q1")
    res = value(pipeline_con, "bookings_target", nxt, defs)
    assert res.value == 50000.00 and res.note == "target = sum of segment targets"
    region = Q.with_(filters=Filters.of(region="NA"))
    res = value(pipeline_con, "bookings_target", region, defs)
    assert res.value is None  # targets are set by segment: a region has none of its own
    assert res.note == "no target for this cut: targets are set by segment, not by region"


def test_coverage_and_its_edge_cases(pipeline_con, defs):
    # 379,000 / (600,000 − 100,000) = 0.758
    assert value(pipeline_con, "coverage", defs=defs).value == pytest.approx(0.758, abs=1e-12)
    # Enterprise: target 80,000 − won 100,000 = −20,000 <= 0 -> no division
    ent = value(pipeline_con, "coverage", Q.with_(filters=Filters.of(segment="Enterprise")), defs)
    assert ent.value is None and ent.note == "target already met"
    smb = value(pipeline_con, "coverage", Q.with_(filters=Filters.of(segment="SMB")), defs)
    assert smb.value is None and smb.note.startswith("no target")
    # Mid-Market: 190,000 (O07 40,000 + O08 15,000 + O11 35,000 + O13 100,000) / 200,000
    mm = value(pipeline_con, "coverage", Q.with_(filters=Filters.of(segment="Mid-Market")), defs)
    assert mm.value == pytest.approx(0.95, abs=1e-12)


def test_coverage_goal_by_offset(pipeline_con, defs):
    assert value(pipeline_con, "coverage_goal", defs=defs).value == 3.0  # offset 0
    assert value(pipeline_con, "coverage_goal", Q.with_(period="FY2027-Q1"), defs).value == 2.0
    assert value(pipeline_con, "coverage_goal", Q.with_(period="FY2027-Q2"), defs).value == 1.5
    res = value(pipeline_con, "coverage_goal", Q.with_(period="FY2026-Q3"), defs)
    assert res.value is None and res.note == "no coverage goal for period offset -1"


def test_coverage_matrix(pipeline_con, defs):
    table = value(pipeline_con, "coverage_matrix", defs=defs).table
    assert list(table.columns) == list(asof.MATRIX_COLUMNS)
    assert len(table) == 4 * 4  # FY2026-Q4 .. FY2027-Q3 x (Enterprise, Mid-Market, SMB, All)
    rows = {(r.period, r.segment): r for r in table.itertuples()}
    ent = rows[("FY2026-Q4", "Enterprise")]
    assert (ent.open_pipeline, ent.won_to_date, ent.remaining_target, ent.status) == (
        177000.0,
        100000.0,
        -20000.0,  # 80,000 − 100,000
        "target met",
    )
    mm = rows[("FY2026-Q4", "Mid-Market")]
    assert (mm.coverage, mm.goal, mm.status) == (pytest.approx(0.95), 3.0, "below goal")
    assert rows[("FY2026-Q4", "SMB")].status == "no target for this cut"
    total = rows[("FY2026-Q4", "All")]
    assert (total.open_pipeline, total.coverage) == (379000.0, pytest.approx(0.758))
    # FY2027-Q1: Enterprise won O15 25,000, target 50,000, no open pipeline -> 0 / 25,000 = 0
    q1 = rows[("FY2027-Q1", "All")]
    assert (q1.won_to_date, q1.bookings_target, q1.coverage, q1.goal) == (
        25000.0,
        50000.0,
        0.0,
        2.0,
    )
    # FY2027-Q2: O03 200,000 (Negotiation, close 2027-04-20); no target there
    q2 = rows[("FY2027-Q2", "Enterprise")]
    assert (q2.open_pipeline, q2.status) == (200000.0, "no target for this cut")
    assert rows[("FY2027-Q2", "All")].status == "no target"  # the company: none at all


def test_coverage_matrix_drill(pipeline_con, defs):
    cell = drill(pipeline_con, "coverage_matrix", Q, defs, period="FY2026-Q4", segment="Enterprise")
    # open: O10 80,000, O06 75,000, O16 22,000; won: O01 100,000
    assert list(zip(cell.opportunity_id, cell.counts_as, strict=True)) == [
        ("O10", "open_pipeline"),
        ("O06", "open_pipeline"),
        ("O16", "open_pipeline"),
        ("O01", "won_to_date"),
    ]


def test_funnel_asof(pipeline_con, defs):
    t = value(pipeline_con, "funnel_asof", defs=defs).table
    # open deals closing in Q4 by stage:
    #   Prospecting O04 20,000 | Discovery O06 75,000 O08 15,000 O12 0 O16 22,000 = 112,000
    #   Solution O09 12,000 O13 100,000 = 112,000 | Proposal O07 40,000 O10 80,000 = 120,000
    #   Negotiation O11 35,000
    assert t.stage.tolist() == ["Prospecting", "Discovery", "Solution", "Proposal", "Negotiation"]
    assert t.is_qualified.tolist() == [False, True, True, True, True]
    assert t.count_open.tolist() == [1, 4, 2, 2, 1]
    assert t.amount_open.tolist() == [20000.0, 112000.0, 112000.0, 120000.0, 35000.0]
    # % of previous by count: -, 4/1, 2/4, 2/2, 1/2 ; % of top: 1, 4, 2, 2, 1
    assert t.count_pct_prev.tolist()[1:] == [4.0, 0.5, 1.0, 0.5]
    assert t.count_pct_top.tolist() == [1.0, 4.0, 2.0, 2.0, 1.0]
    # amount % of previous: 112/20 = 5.6, 112/112 = 1, 120/112, 35/120
    assert t.amount_pct_prev.tolist()[1:] == pytest.approx([5.6, 1.0, 120 / 112, 35 / 120])
    # the qualified stages sum to open pipeline: 112,000+112,000+120,000+35,000 = 379,000
    assert t[t.is_qualified].amount_open.sum() == 379000.0
    assert value(pipeline_con, "funnel_asof", defs=defs).note.endswith("Legal Review")
    bar = drill(pipeline_con, "funnel_asof", Q, defs, stage="Discovery")
    assert bar.opportunity_id.tolist() == ["O06", "O16", "O08", "O12"]  # by amount, null last


def test_marketing_sourced(pipeline_con, defs):
    # marketing sources among open pipeline: O07 Event 40,000, O08 Marketing 15,000,
    # O10 Marketing 80,000, O12 Inbound 0, O13 Marketing 100,000 = 235,000
    assert value(pipeline_con, "marketing_sourced_pipeline", defs=defs).value == 235000.00
    share = value(pipeline_con, "marketing_sourced_share", defs=defs).value
    assert share == pytest.approx(235000 / 379000, abs=1e-12)
    none = value(pipeline_con, "marketing_sourced_share", Q.with_(period="FY2027-Q3"), defs)
    assert none.value is None and none.note == "no open pipeline"


def test_forecast_rollups(pipeline_con, defs):
    # commit: won 100,000 + open Q4 Commit O10 80,000 + O11 35,000 = 215,000
    assert value(pipeline_con, "forecast_commit", defs=defs).value == 215000.00
    # best case adds Best Case O07 40,000 + O13 100,000 = 355,000
    assert value(pipeline_con, "forecast_best_case", defs=defs).value == 355000.00
    # weighted: won 100,000 + weighted pipeline 191,200 + O04 Prospecting 20,000 x 0.1 (null
    # probability -> stage default) + O14 unknown stage 8,000 x 0 = 293,200
    assert value(pipeline_con, "forecast_weighted", defs=defs).value == 293200.00


def test_drills_share_the_deal_columns(pipeline_con, defs):
    frame = drill(pipeline_con, "open_pipeline", Q, defs)
    assert tuple(frame.columns) == deals.DEAL_TABLE_COLUMNS
    assert frame.opportunity_id.tolist() == [
        "O13", "O10", "O06", "O07", "O11", "O16", "O08", "O09", "O12",
    ]  # fmt: skip
    assert frame.amount.sum() == 379000.0
    # O12 has no probability: Discovery default 0.2 is shown
    assert frame.set_index("opportunity_id").loc["O12", "probability"] == 0.2
    assert frame.crm_url.iloc[0] == "https://example.my.salesforce.com/O13"
    won = drill(pipeline_con, "won_to_date", Q, defs)
    assert won.opportunity_id.tolist() == ["O01"]


def test_cents_are_exact():
    con = store.init_memory()
    rows = snapshot_rows(date(2026, 11, 16), [("O10", "Proposal", 0, 0.6, "Commit", "2026-12-01")])
    rows += snapshot_rows(date(2026, 11, 16), [("O11", "Proposal", 0, 0.6, "Commit", "2026-12-01")])
    rows[0]["amount"], rows[1]["amount"] = "0.10", "0.20"
    insert_snapshots(con, rows)
    from steward import definitions

    res = compute(con, "open_pipeline", Q, definitions.load(definitions.DEFAULT_PATH))
    assert res.value == 0.30  # 0.1 + 0.2 in decimal, not 0.30000000000000004


@given(
    open_amt=st.decimals(min_value=0, max_value=10**9, places=2),
    won=st.decimals(min_value=0, max_value=10**9, places=2),
    target=st.one_of(st.none(), st.decimals(min_value=-(10**9), max_value=10**9, places=2)),
)
def test_coverage_never_divides_by_zero(open_amt, won, target):
    val, note = asof.coverage_value(open_amt, won, target)
    if target is None:
        assert (val, note) == (None, "no target")
    elif target - won <= 0:
        assert (val, note) == (None, "target already met")
    else:
        assert val == pytest.approx(float(open_amt) / float(target - won)) and note is None


def test_coverage_status_words():
    # The matrix status for each case a board reads: no target, target met, no goal, vs goal.
    assert asof.coverage_status(None, 3.0, "no target") == "no target"
    assert asof.coverage_status(None, 3.0, "target already met") == "target met"
    assert asof.coverage_status(0.0, None, None) == "no goal"  # offset beyond the governed goals
    assert asof.coverage_status(2.9, 3.0, None) == "below goal"
    assert asof.coverage_status(3.0, 3.0, None) == "at or above goal"
