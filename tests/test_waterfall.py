"""The waterfall: hand-computed buckets on the fixture, and property tests that it
reconciles to the cent for random data and random filters."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fixtures_pipeline import AS_OF, PERIOD, PREV, A, insert_snapshots, snapshot_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward import definitions, store
from steward.metrics import waterfall as wf
from steward.metrics.core import Filters, Query, compute, drill

QAB = Query(AS_OF, PERIOD, compare_to=A)


def table_of(con, q, defs):
    t = compute(con, "waterfall", q, defs).table
    return {r.bucket: (r.amount, r.count) for r in t.itertuples()}


def test_every_bucket_on_the_fixture(pipeline_con, defs):
    t = compute(pipeline_con, "waterfall", QAB, defs).table
    assert t.bucket.tolist() == list(wf.ROW_ORDER)
    assert t.kind.tolist() == ["start"] + ["leaving"] * 5 + ["entering"] * 4 + ["change"] * 2 + [
        "end"
    ]
    got = table_of(pipeline_con, QAB, defs)
    # Start = open pipeline(Q4, A): O01 90,000 + O02 50,000 + O03 200,000 + O04 20,000
    #   + O05 30,000 + O10 60,000 + O11 45,000 + O12 0 + O13 100,000 + O15 25,000 + O16 22,000
    #   = 642,000 over 11 deals
    assert got["Start"] == (642000.0, 11)
    assert got["Won"] == (-115000.0, 2)  # O01 at its A amount 90,000 + O15 25,000 (closes 2027)
    assert got["Lost"] == (-50000.0, 1)  # O02
    assert got["Pushed out"] == (-200000.0, 1)  # O03 -> 2027-04-20
    assert got["Disqualified"] == (-20000.0, 1)  # O04 back to Prospecting
    assert got["Removed"] == (-30000.0, 1)  # O05 missing from B
    assert got["New"] == (75000.0, 1)  # O06
    assert got["Pulled in"] == (40000.0, 1)  # O07 from 2027-02-01
    assert got["Qualified"] == (15000.0, 1)  # O08 Prospecting -> Discovery
    assert got["Reopened"] == (12000.0, 1)  # O09 at its B amount (was 10,000 lost)
    assert got["Increased"] == (20000.0, 1)  # O10 60,000 -> 80,000
    assert got["Decreased"] == (-10000.0, 1)  # O11 45,000 -> 35,000
    # End: 642,000 − 415,000 + 142,000 + 20,000 − 10,000 = 379,000 = open pipeline(Q4, B)
    assert got["End"] == (379000.0, 9)
    assert compute(pipeline_con, "waterfall", QAB, defs).value == 379000.0 - 642000.0


def test_segment_change_leaves_one_cut_and_enters_the_other(pipeline_con, defs):
    # O13 is Enterprise in A and Mid-Market in B (100,000 both times).
    ent = table_of(pipeline_con, QAB.with_(filters=Filters.of(segment="Enterprise")), defs)
    # Start 90,000+200,000+60,000+100,000+25,000+22,000 = 497,000
    # − Won 115,000 − Pushed 200,000 − Removed (O13 left the cut) 100,000 + New O06 75,000
    # + Increased O10 20,000 = 177,000
    assert ent["Start"] == (497000.0, 6)
    assert ent["Removed"] == (-100000.0, 1)
    assert ent["End"] == (177000.0, 3)
    mm = table_of(pipeline_con, QAB.with_(filters=Filters.of(segment="Mid-Market")), defs)
    # Start O02 50,000 + O11 45,000 = 95,000; − Lost 50,000 + Pulled in O07 40,000
    # + Qualified O08 15,000 + New (O13 entered the cut) 100,000 − Decreased 10,000 = 190,000
    assert mm["Start"] == (95000.0, 2)
    assert mm["New"] == (100000.0, 1)
    assert mm["End"] == (190000.0, 4)


def test_bucket_drill(pipeline_con, defs):
    won = drill(pipeline_con, "waterfall", QAB, defs, bucket="Won")
    assert won.opportunity_id.tolist() == ["O01", "O15"]
    assert won.amount_from.tolist() == [90000.0, 25000.0]
    assert won.amount_to.tolist() == [100000.0, 25000.0]
    reopened = drill(pipeline_con, "waterfall", QAB, defs, bucket="Reopened")
    assert reopened.stage_from.tolist() == ["Closed Lost"] and reopened.stage.tolist() == [
        "Solution"
    ]
    removed = drill(pipeline_con, "waterfall", QAB, defs, bucket="Removed")
    assert removed.opportunity_id.tolist() == ["O05"] and removed.amount.tolist() == [30000.0]
    moving = drill(pipeline_con, "waterfall", QAB, defs)
    assert len(moving) == 12 and moving.opportunity_id.is_unique  # 16 deals − O12,O13,O16,O14
    with pytest.raises(ValueError, match="unknown waterfall bucket"):
        drill(pipeline_con, "waterfall", QAB, defs, bucket="Nope")


def test_each_deal_carries_its_effect_on_the_bridge(pipeline_con, defs):
    moving = drill(pipeline_con, "waterfall", QAB, defs).set_index("opportunity_id")
    # leaving at its A amount, negative: O01 Won 90,000 (its B amount 100,000 is ignored)
    assert moving.loc["O01", "effect"] == -90000.0
    # entering at its B amount: O09 Reopened 12,000 (it was 10,000 in A)
    assert moving.loc["O09", "effect"] == 12000.0
    # staying, B − A: O10 60,000 -> 80,000 = +20,000; O11 45,000 -> 35,000 = −10,000
    assert (moving.loc["O10", "effect"], moving.loc["O11", "effect"]) == (20000.0, -10000.0)
    # O05 Removed: missing in B, leaves at its A amount 30,000
    assert moving.loc["O05", "effect"] == -30000.0


def test_default_compare_is_the_previous_snapshot(pipeline_con, defs):
    res = compute(pipeline_con, "waterfall", Query(AS_OF, PERIOD), defs)
    assert res.query.compare_to == PREV and res.note is None
    # PREV open Q4 = Start of A minus O03 (already pushed to 2027-01-10) = 442,000
    assert res.table.amount.iloc[0] == 442000.0
    assert res.table.set_index("bucket").loc["Pushed out", "count"] == 0
    # a compare-to date between snapshots snaps to the one before it, and says so
    res = compute(pipeline_con, "waterfall", QAB.with_(compare_to=date(2026, 11, 5)), defs)
    assert res.query.compare_to == A and "latest snapshot on or before 2026-11-05" in res.note


def test_first_snapshot_has_nothing_to_compare(pipeline_con, defs):
    res = compute(pipeline_con, "waterfall", Query(date(2026, 10, 19), PERIOD), defs)
    assert res.note == "no earlier snapshot to compare with"
    assert res.value == 0.0


# ---- property tests -------------------------------------------------------------------
DEFS = definitions.load(definitions.DEFAULT_PATH)
STAGES = [*DEFS.stage_names, "Legal Review"]  # one stage unknown to the definitions
IN_P = [date(2026, 10, 1), date(2026, 11, 30), date(2026, 12, 31)]
OUT_P = [date(2026, 9, 30), date(2027, 1, 1), date(2027, 6, 30)]

amounts = st.one_of(st.none(), st.decimals(min_value=0, max_value=99999, places=2))
row = st.fixed_dictionaries(
    {
        "stage": st.sampled_from(STAGES),
        "amount": amounts,
        "close": st.sampled_from(IN_P + OUT_P),
        "segment": st.sampled_from(["Ent", "MM", None]),
        "owner": st.sampled_from(["Ann", "Raj"]),
    }
)
deal = st.tuples(st.one_of(st.none(), row), st.one_of(st.none(), row))
filters = st.fixed_dictionaries(
    {
        "segment": st.lists(st.sampled_from(["Ent", "MM"]), max_size=2),
        "owner": st.lists(st.sampled_from(["Ann", "Raj"]), max_size=1),
        "stage": st.lists(st.sampled_from(["Discovery", "Proposal", "Negotiation"]), max_size=2),
    }
)


def _rows(snap: date, deals: list[tuple[str, dict]]) -> list[dict]:
    out = []
    for oid, r in deals:
        [rec] = snapshot_rows(
            snap, [("O01", r["stage"], 0, None, "Pipeline", r["close"].isoformat())]
        )
        rec.update(opportunity_id=oid, amount=r["amount"], segment=r["segment"], owner=r["owner"])
        out.append(rec)
    return out


def _in_set(r: dict | None, f: Filters) -> bool:
    """Reference: open qualified in P within the cut, written independently of the SQL."""
    if r is None:
        return False
    stage = DEFS.stage(r["stage"]) if r["stage"] in DEFS.stage_names else None
    qualified = stage is not None and not stage.is_closed and stage.rank >= DEFS.qualified_rank
    in_cut = all(getattr_or_none(r, d) in vals for d, vals in f.items())
    return qualified and IN_P[0] <= r["close"] <= IN_P[-1] and in_cut


def getattr_or_none(r: dict, dim: str):
    return r.get(dim)


def _expected_bucket(a: dict | None, b: dict | None, f: Filters) -> str | None:
    s, e = _in_set(a, f), _in_set(b, f)
    amt = lambda r: r["amount"] or Decimal(0)  # noqa: E731
    if s and e:
        return {1: "Increased", -1: "Decreased", 0: None}[(amt(b) > amt(a)) - (amt(b) < amt(a))]
    cut = lambda r: all(r.get(d) in v for d, v in f.items())  # noqa: E731
    if s:
        assert a is not None
        if b is None:
            return "Removed"
        if b["stage"] == "Closed Won":
            return "Won"
        if b["stage"] == "Closed Lost":
            return "Lost"
        if not cut(b):
            return "Removed"
        if not IN_P[0] <= b["close"] <= IN_P[-1]:
            return "Pushed out"
        return "Disqualified"
    if e:
        if a is None or not cut(a):
            return "New"
        if not IN_P[0] <= a["close"] <= IN_P[-1]:
            return "Pulled in"
        if a["stage"] not in ("Closed Won", "Closed Lost"):
            return "Qualified"
        return "Reopened"
    return None


_CON = store.init_memory()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.lists(deal, min_size=0, max_size=14), fdict=filters)
def test_waterfall_reconciles_for_any_data_and_filter(data, fdict):
    con = _CON
    con.execute("delete from snapshots")
    a_deals = [(f"X{i:02d}", a) for i, (a, _) in enumerate(data) if a is not None]
    b_deals = [(f"X{i:02d}", b) for i, (_, b) in enumerate(data) if b is not None]
    # a closed deal outside P in both snapshots, so neither snapshot is ever empty
    anchor = {"stage": "Closed Lost", "amount": None, "close": OUT_P[0], "segment": "Ent"}
    a_deals.append(("Z99", {**anchor, "owner": "Ann"}))
    b_deals.append(("Z99", {**anchor, "owner": "Ann"}))
    insert_snapshots(con, _rows(A, a_deals) + _rows(AS_OF, b_deals))
    f = Filters.of(**fdict)
    q = QAB.with_(filters=f)
    br, _ = wf.bridge(con, q, DEFS)
    # exact: Start − leaving + entering ± changes = End, in Decimal
    assert br.start + sum((v for v, _ in br.buckets.values()), Decimal(0)) == br.end
    # Start and End are the open pipeline of each snapshot under the same filter
    start = compute(con, "open_pipeline", q.with_(as_of=A), DEFS).value
    end = compute(con, "open_pipeline", q, DEFS).value
    assert (float(br.start), float(br.end)) == (start, end)
    # every deal lands in the bucket the reference rules give, and in exactly one
    fd = dict(f.items())
    expected = {}
    for i, (a, b) in enumerate(data):
        bucket = _expected_bucket(a, b, fd)
        if bucket:
            expected[f"X{i:02d}"] = bucket
    moving = drill(con, "waterfall", q, DEFS)
    assert dict(zip(moving.opportunity_id, moving.bucket, strict=True)) == expected
    for bucket, (amount, count) in br.buckets.items():
        sel = moving[moving.bucket == bucket]
        assert count == len(sel)
        signed = sel.amount_to - sel.amount_from
        if bucket in wf.LEAVING:
            signed = -sel.amount_from
        elif bucket in wf.ENTERING:
            signed = sel.amount_to
        assert round(float(signed.sum()), 2) == float(amount)
        # the drill's own `effect` column is that same signed contribution, deal by deal
        assert [round(float(v), 2) for v in sel.effect] == [round(float(v), 2) for v in signed]


def test_backwards_bridge_says_so(pipeline_con, defs):
    res = compute(pipeline_con, "waterfall", Query(A, PERIOD, compare_to=AS_OF), defs)
    # A and B swapped: Start 379,000 (on 11-16) -> End 642,000 (on 11-02), still exact
    assert (res.table.amount.iloc[0], res.table.amount.iloc[-1]) == (379000.0, 642000.0)
    assert res.note == "compare-to 2026-11-16 is after as-of 2026-11-02: the bridge runs backwards"


def test_a_cut_binds_its_values_by_name(pipeline_con):
    # Filters._clauses is the one place a cut becomes SQL; `$f_<dim>` binds each list.
    f = Filters.of(segment=["SMB", "Enterprise"], region="NA")
    named_sql, named_params = f.named_sql("s")
    assert named_params == {"f_segment": ["Enterprise", "SMB"], "f_region": ["NA"]}
    base = "select count(*) from snapshots s where s.snapshot_date = '2026-11-16'"
    # Enterprise or SMB in NA at 2026-11-16: O01 O03 O04 O09 O10 O12 O16 O17 (O13 is
    # Mid-Market by then; O06 O14 O15 are EMEA) = 8
    assert pipeline_con.execute(base + named_sql, named_params).fetchall() == [(8,)]
    with pytest.raises(ValueError, match="bad SQL alias"):
        f.named_sql("s; drop table snapshots")
