"""Derived tables: kept current on import, equal to a rebuild from scratch.

The fixture is the hand-built history of tests/history_fixture.py (8 deals, 4 weeks).
"""

from __future__ import annotations

from datetime import date

import duckdb
import history_fixture as hf
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward import derived, store

# Each derived table read back with opp_key replaced by the opportunity id, sorted: the
# content that must not depend on the order in which snapshots were imported.
_READ = {
    "derived_dates": "select snapshot_date from derived_dates",
    "opp_changes": "select k.opportunity_id, c.* exclude (opp_key) "
    "from opp_changes c join opp_keys k using (opp_key)",
    "stage_entries": "select k.opportunity_id, e.* exclude (opp_key) "
    "from stage_entries e join opp_keys k using (opp_key)",
    "stage_exits": "select k.opportunity_id, x.* exclude (opp_key) "
    "from stage_exits x join opp_keys k using (opp_key)",
    "opp_facts": "select * exclude (opp_key) from opp_facts",
    # stored: last_seen null for the deals in the latest snapshot (the view fills it in)
    "opp_facts_rows": "select * exclude (opp_key) from opp_facts_rows",
    "opp_keys": "select opportunity_id from opp_keys",
}


def content(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    def key(row: tuple) -> list[tuple[bool, str]]:
        return [(v is None, str(v)) for v in row]

    return {t: sorted(con.execute(sql).fetchall(), key=key) for t, sql in _READ.items()}


def rebuilt(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Rebuild the derived tables from the raw snapshots, read them, and keep both."""
    derived.rebuild(con)
    return content(con)


def test_incremental_equals_rebuild():
    con = hf.build(one_by_one=True)
    incremental = content(con)
    assert incremental == rebuilt(con)
    # Spot checks against the fixture table:
    # D vanished at S2 and came back at S3: two presence changes.
    d_rows = sorted((r for r in incremental["opp_changes"] if r[0] == "D"), key=lambda r: r[2])
    assert [(r[2], r[3], r[4]) for r in d_rows] == [
        (hf.S1, False, True),  # first appearance (from_date None)
        (hf.S2, True, False),
        (hf.S3, False, True),
        (hf.S4, True, True),  # Proposal -> Negotiation
    ]
    # C never changed between S1 and S2: no change row for that pair.
    assert sorted(r[2] for r in incremental["opp_changes"] if r[0] == "C") == [hf.S1, hf.S3]
    # E first seen Closed Lost at S1 (80), Discovery at S3 (80, Outbound, SMB).
    assert [r for r in incremental["stage_entries"] if r[0] == "E"] == [
        ("E", "Closed Lost", hf.S1, 80, "Outbound", "SMB"),
        ("E", "Discovery", hf.S3, 80, "Outbound", "SMB"),
    ]
    # Facts: F first S2, last S4, latest close date 2027-04-10.
    f = [r for r in incremental["opp_facts"] if r[0] == "F"][0]
    assert (f[1], f[2], f[14]) == (hf.S2, hf.S4, date(2027, 4, 10))


def test_all_at_once_equals_one_by_one():
    one = content(hf.build(one_by_one=True))
    assert content(hf.build(one_by_one=False)) == one


def test_replace_middle_date():
    con = hf.build()
    # Re-import S2 with D present again and A at Proposal 150.
    states = dict(hf.STATES[hf.S2])
    states["D"] = ("Proposal", 300, date(2026, 11, 30))
    states["A"] = ("Proposal", 150, date(2026, 11, 15))
    store.commit_snapshots(con, hf.frame_for(hf.S2, states), file_name="s2b", replace=True)
    after = content(con)
    assert after == rebuilt(con)
    # D no longer vanishes: its only change rows are S1 (appear) and S4 (Negotiation).
    assert sorted(r[2] for r in after["opp_changes"] if r[0] == "D") == [hf.S1, hf.S4]
    # A entered Proposal at S2 now, with 150.
    assert ("A", "Proposal", hf.S2, 150, "Inbound", "Enterprise") in after["stage_entries"]


def test_delete_middle_and_last_date():
    con = hf.build()
    store.delete_snapshot(con, hf.S3)
    after = content(con)
    assert after == rebuilt(con)
    assert after["derived_dates"] == [(hf.S1,), (hf.S2,), (hf.S4,)]
    # E: Closed Lost at S2, Discovery at S4 -> reopened in the pair (S2, S4).
    e = sorted((r for r in after["opp_changes"] if r[0] == "E"), key=lambda r: r[2])
    assert [(r[1], r[2], r[5], r[6]) for r in e] == [
        (None, hf.S1, None, "Closed Lost"),
        (hf.S2, hf.S4, "Closed Lost", "Discovery"),
    ]
    store.delete_snapshot(con, hf.S4)
    assert content(con) == rebuilt(con)


def test_append_after_replace_stays_incremental_and_equal():
    con = hf.build()
    store.delete_snapshot(con, hf.S4)
    store.commit_snapshots(con, hf.frame_for(hf.S4), file_name="s4 again")
    assert content(con) == content(hf.build())


def test_failed_import_leaves_derived_tables_untouched():
    con = hf.build()
    before = content(con)
    bad = hf.frame_for(hf.S4)
    bad["snapshot_date"] = bad["snapshot_date"] + pd.Timedelta(days=7)
    bad = pd.concat([bad, bad.iloc[:1]])  # duplicate id -> refused
    with pytest.raises(Exception, match="duplicate"):
        store.commit_snapshots(con, bad, file_name="bad")
    assert content(con) == before


# ---- property: any order of imports / replacements gives the rebuilt tables --------------
@settings(max_examples=15, deadline=None)
@given(
    order=st.permutations(list(range(4))),
    replace_at=st.sampled_from([None, 0, 1, 2, 3]),
    delete_at=st.sampled_from([None, 0, 1, 2, 3]),
)
def test_any_import_order_matches_rebuild(order, replace_at, delete_at):
    con = store.init_memory()
    for i in order:
        d = hf.DATES[i]
        store.commit_snapshots(con, hf.frame_for(d), file_name=str(d))
    if replace_at is not None:
        d = hf.DATES[replace_at]
        states = {k: (s, a + 1, c) for k, (s, a, c) in hf.STATES[d].items()}
        store.commit_snapshots(con, hf.frame_for(d, states), file_name="r", replace=True)
    if delete_at is not None:
        store.delete_snapshot(con, hf.DATES[delete_at])
    assert content(con) == rebuilt(con)
    con.close()


def test_delete_the_only_snapshot_leaves_empty_tables():
    # One snapshot loaded (S1); deleting it empties every derived table without an error
    # (it used to fail inserting an empty list of dates).
    con = store.init_memory()
    store.commit_snapshots(con, hf.frame_for(hf.S1), file_name="s1")
    assert store.delete_snapshot(con, hf.S1) == len(hf.STATES[hf.S1])
    assert all(rows == [] for rows in content(con).values())
    assert content(con) == rebuilt(con)
    # and the store takes a new first snapshot afterwards
    store.commit_snapshots(con, hf.frame_for(hf.S2), file_name="s2")
    assert content(con)["derived_dates"] == [(hf.S2,)]
    assert content(con) == rebuilt(con)
    con.close()


def test_stage_exits_by_hand():
    # The first later move to another stage of each stage entry (fixture table):
    # H Prospecting (S1) -> Discovery at S2; H Discovery (S2) -> back to Prospecting at S4;
    # D Proposal (S1): vanished at S2, back at Proposal at S3 (same stage: no exit),
    # Negotiation at S4; E Closed Lost (S1) -> Discovery at S3; F and E at Discovery: none.
    con = hf.build(one_by_one=True)
    exits = {(r[0], r[1]): r[2:] for r in content(con)["stage_exits"]}
    assert exits[("H", "Prospecting")] == (hf.S1, hf.S2, "Discovery")
    assert exits[("H", "Discovery")] == (hf.S2, hf.S4, "Prospecting")
    assert exits[("D", "Proposal")] == (hf.S1, hf.S4, "Negotiation")
    assert exits[("E", "Closed Lost")] == (hf.S1, hf.S3, "Discovery")
    assert ("F", "Discovery") not in exits and ("E", "Discovery") not in exits


def test_older_store_gets_stage_exits_and_next_date():
    # A store made before stage_exits and opp_changes.next_date: derived.ensure (every
    # writer runs it) adds and fills both, equal to a rebuild.
    con = hf.build()
    want = content(con)
    con.execute("drop table stage_exits")
    con.execute("alter table opp_changes drop column next_date")
    assert not derived.has_stage_exits(con) and not derived.has_next_date(con)
    derived.ensure(con)
    assert content(con) == want == rebuilt(con)


# ---- the weekly append moves unchanged facts forward in place ------------------------------
def _facts(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = con.execute("select * exclude (opp_key) from opp_facts").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_append_keeps_unchanged_facts_and_replaces_changed_ones():
    # S1..S3 loaded, then S4 with changes the change rows do not track: G's owner (Rep 2;
    # G is Closed Won since S2, its stage does not move) and H's probability (0.5, while H
    # moves Discovery -> Prospecting). C (Closed Lost since S3) is unchanged: only its
    # last_seen moves to S4, first_seen stays S1. F first seen S2, last S4.
    con = store.init_memory()
    for d in hf.DATES[:3]:
        store.commit_snapshots(con, hf.frame_for(d), file_name=str(d))
    s4 = hf.frame_for(hf.S4)
    s4.loc[s4["opportunity_id"] == "G", "owner"] = "Rep 2"
    s4.loc[s4["opportunity_id"] == "H", "probability"] = 0.5
    store.commit_snapshots(con, s4, file_name="s4")
    facts = _facts(con)
    # columns after opportunity_id: first_seen, last_seen, name, account, segment, region,
    # owner, source, product, stage, amount, probability, ...
    assert facts["C"][:2] == (hf.S1, hf.S4) and facts["C"][9] == "Closed Lost"
    assert facts["C"][6] == "Rep 1"
    assert facts["G"][:2] == (hf.S1, hf.S4) and facts["G"][6] == "Rep 2"
    assert facts["G"][9] == "Closed Won"
    assert facts["H"][:2] == (hf.S1, hf.S4) and facts["H"][11] == 0.5
    assert facts["H"][9] == "Prospecting"
    assert facts["F"][:2] == (hf.S2, hf.S4)
    assert content(con) == rebuilt(con)


# One deal attribute per draw: which column changes and to which of a few values.
_ATTR_VALUES = {
    "owner": ["Rep 1", "Rep 2"],
    "opportunity_name": ["Deal", "Deal renamed"],
    "region": ["NA", None],
    "probability": [None, 0.25, 0.5],
    "product": ["Core", "Analytics"],
    "forecast_category": ["Pipeline", "Commit"],
}


@settings(max_examples=15, deadline=None)
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(range(4)),  # week
            st.sampled_from(sorted(hf.DEALS)),  # deal
            st.sampled_from(sorted(_ATTR_VALUES)),  # column
            st.integers(0, 2),  # value index (mod the choices)
        ),
        max_size=12,
    )
)
def test_weekly_appends_with_attribute_edits_match_rebuild(edits):
    # Weekly imports in order, with arbitrary edits of the attributes the facts keep but
    # the change rows do not (owner, name, region, probability ...): the facts moved
    # forward in place equal the facts rebuilt from the raw rows.
    con = store.init_memory()
    for i, d in enumerate(hf.DATES):
        frame = hf.frame_for(d).astype({"region": "object", "product": "object"})
        for week, deal, col, v in edits:
            if week == i:
                choices = _ATTR_VALUES[col]
                frame.loc[frame["opportunity_id"] == deal, col] = choices[v % len(choices)]
        store.commit_snapshots(con, frame, file_name=str(d))
    assert content(con) == rebuilt(con)
    con.close()


# ---- an import in parts (the demo's week-by-week frames) -----------------------------------
def test_import_in_parts_equals_one_frame():
    # S1..S4 given as four parts of one import: one transaction, one import_log line, the
    # same rows and derived tables as the four weeks in one frame.
    whole = hf.build(one_by_one=False)
    con = store.init_memory()
    iid = store.commit_snapshots(con, (hf.frame_for(d) for d in hf.DATES), file_name="parts")
    assert content(con) == content(whole) == rebuilt(con)
    log = con.execute("select import_id, row_count, snapshot_dates from import_log").fetchall()
    rows = sum(len(hf.STATES[d]) for d in hf.DATES)  # 7 + 7 + 8 + 8 = 30
    assert log == [(iid, rows, ",".join(d.isoformat() for d in hf.DATES))]
    con.close()


def test_import_in_parts_is_all_or_nothing():
    # The third part repeats an id within its snapshot: nothing of the first two stays.
    con = hf.build()
    before = con.execute("select count(*) from snapshots").fetchall()
    bad = hf.frame_for(hf.S4)
    bad = pd.concat([bad, bad.iloc[:1]])
    later = [
        hf.frame_for(hf.S4).assign(snapshot_date=pd.Timestamp(2026, 11, 2 + 7 * i)) for i in (0, 1)
    ]
    parts = [later[0], later[1], bad.assign(snapshot_date=pd.Timestamp(2026, 11, 16))]
    with pytest.raises(Exception, match="duplicate"):
        store.commit_snapshots(con, iter(parts), file_name="parts")
    assert con.execute("select count(*) from snapshots").fetchall() == before
    assert content(con) == rebuilt(con)
    # Two parts with the same date are refused too (the check per part relies on it).
    with pytest.raises(Exception, match="share a snapshot date"):
        store.commit_snapshots(con, [later[0], later[0]], file_name="twice")
    assert con.execute("select count(*) from snapshots").fetchall() == before


def test_rows_are_stored_in_date_and_id_order_sorted_or_not():
    # Rows are stored in (date, id) order whatever order the file has (the insert keeps
    # the order it is given, so reading without ORDER BY shows it).
    con = store.init_memory()
    s1 = hf.frame_for(hf.S1)  # ids A..H in order
    s2 = hf.frame_for(hf.S2).sort_values("opportunity_id", ascending=False)  # H..A
    store.commit_snapshots(con, s1, file_name="s1")
    store.commit_snapshots(con, s2, file_name="s2")
    both = pd.concat([hf.frame_for(hf.S4), hf.frame_for(hf.S3)])  # two dates, S4 first
    store.commit_snapshots(con, both, file_name="s3 s4")
    stored = con.execute("select snapshot_date, opportunity_id from snapshots").fetchall()
    assert stored == sorted(stored)
    assert len(stored) == 7 + 7 + 8 + 8
    assert content(con) == rebuilt(con)
    con.close()


# ---- opp_facts: a view over opp_facts_rows; a week writes only the facts that change ------
def _stored(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    """opp_facts_rows by id: (first_seen, stored last_seen, owner)."""
    rows = con.execute(
        "select opportunity_id, first_seen, last_seen, owner from opp_facts_rows"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_append_writes_only_changed_facts():
    # S1..S3 loaded. Stored last_seen is null for the 8 deals of S3 (every deal is in
    # S3: D came back, F appeared). S4 has all 8 again; G's owner changes to Rep 2.
    # The facts to write (_day.facts_changed): A (Proposal 120 -> Won), B (-> Lost,
    # close 10-26), D (Proposal -> Negotiation), E (amount 80 -> 90), F (close 02-01 ->
    # 04-10), G (owner), H (Discovery -> Prospecting). C (Lost 50 since S3) is not
    # written: its stored last_seen stays null, read back through the view as S4.
    con = store.init_memory()
    for d in hf.DATES[:3]:
        store.commit_snapshots(con, hf.frame_for(d), file_name=str(d))
    before = _stored(con)
    assert {k: v[1] for k, v in before.items()} == dict.fromkeys(hf.DEALS)
    s4 = hf.frame_for(hf.S4)
    s4.loc[s4["opportunity_id"] == "G", "owner"] = "Rep 2"
    # what the weekly step would write, looked at inside a transaction rolled back
    con.execute("begin transaction")
    con.register("_s4", s4)
    cols = ", ".join(store.SNAPSHOT_COLUMNS)
    con.execute(f"insert into snapshots ({cols}) select {cols} from _s4")
    con.execute(derived._day_sql(), {"to_date": hf.S4})
    flagged = con.execute("select opportunity_id from _day where facts_changed").fetchall()
    held = con.execute("select count(*) from _day").fetchall()
    con.execute("rollback")
    assert sorted(r[0] for r in flagged) == ["A", "B", "D", "E", "F", "G", "H"]
    assert held == [(7,)]  # _day holds only the rows to write (no deal left S3 -> S4)
    store.commit_snapshots(con, s4, file_name="s4")
    after = _stored(con)
    assert after["C"] == before["C"] == (hf.S1, None, "Rep 1")
    assert after["G"] == (hf.S1, None, "Rep 2")
    assert all(v[1] is None for v in after.values())
    assert _facts(con)["C"][:2] == (hf.S1, hf.S4)
    assert content(con) == rebuilt(con)


def test_the_weekly_step_holds_the_changed_new_and_left_deals_only():
    # S1 -> S2, worked out from the fixture's table: A Discovery -> Solution, B close
    # 12-01 -> 01-15, G Negotiation -> Closed Won (close 10-10 -> 10-09), H Prospecting ->
    # Discovery changed; F is new; D left (in S1, not in S2); C and E are as they were.
    con = store.init_memory()
    store.commit_snapshots(con, hf.frame_for(hf.S1), file_name="s1")
    con.execute("begin transaction")
    con.register("_s2", hf.frame_for(hf.S2))
    cols = ", ".join(store.SNAPSHOT_COLUMNS)
    con.execute(f"insert into snapshots ({cols}) select {cols} from _s2")
    con.execute(derived._day_sql(), {"to_date": hf.S2})
    rows = con.execute(
        "select coalesce(d.opportunity_id, k.opportunity_id), d.present_a, d.present_b, "
        "d.facts_changed, d.stage_a, d.stage from _day d "
        "left join opp_keys k on k.opp_key = d.opp_key order by 1"
    ).fetchall()
    con.execute("rollback")
    assert rows == [
        ("A", True, True, True, "Discovery", "Solution"),
        ("B", True, True, True, "Solution", "Solution"),
        ("D", True, False, False, "Proposal", None),
        ("F", False, True, True, None, "Discovery"),
        ("G", True, True, True, "Negotiation", "Closed Won"),
        ("H", True, True, True, "Prospecting", "Discovery"),
    ]


def test_a_deal_that_leaves_gets_its_last_seen_stored():
    # S1 then S2: D is missing from S2, so its stored last_seen becomes S1 (the others
    # stay null); F (new in S2) is stored with first_seen S2. S3 brings D back: null again.
    con = store.init_memory()
    store.commit_snapshots(con, hf.frame_for(hf.S1), file_name="s1")
    store.commit_snapshots(con, hf.frame_for(hf.S2), file_name="s2")
    stored = _stored(con)
    assert stored["D"][1] == hf.S1
    assert [k for k, v in stored.items() if v[1] is not None] == ["D"]
    assert stored["F"][:2] == (hf.S2, None)
    assert _facts(con)["D"][:2] == (hf.S1, hf.S1)
    assert content(con) == rebuilt(con)
    store.commit_snapshots(con, hf.frame_for(hf.S3), file_name="s3")
    assert _stored(con)["D"][:2] == (hf.S1, None)
    assert content(con) == rebuilt(con)


def test_older_store_gets_the_facts_view():
    # A store made when opp_facts was a table (last_seen filled in for every deal):
    # derived.ensure moves it into opp_facts_rows behind the view, equal to a rebuild.
    con = hf.build()
    want = content(con)
    con.execute("create table _old as select * from opp_facts")
    con.execute("drop view opp_facts")
    con.execute("drop table opp_facts_rows")
    con.execute("alter table _old rename to opp_facts")
    assert con.execute("select count(last_seen) from opp_facts").fetchall() == [(8,)]
    derived.ensure(con)
    assert content(con) == want == rebuilt(con)
    # and the next week appends onto it incrementally
    nxt = hf.frame_for(hf.S4).assign(snapshot_date=pd.Timestamp(2026, 11, 2))
    store.commit_snapshots(con, nxt, file_name="s5")
    assert content(con) == rebuilt(con)


def test_a_file_from_the_release_before_the_view_is_migrated_by_its_first_reader(tmp_path):
    # The view came with a schema step: a file at the version before it, opp_facts still
    # a table, is moved forward when a reader first opens it (and a release before the
    # view refuses a file at the new version instead of writing into the view).
    path = tmp_path / "old.duckdb"
    with store.writer(path) as con:
        store.commit_snapshots(con, hf.frame_for(hf.S1), file_name="s1")
        store.commit_snapshots(con, hf.frame_for(hf.S2), file_name="s2")
        want = content(con)
        con.execute("create table _old as select * from opp_facts")
        con.execute("drop view opp_facts")
        con.execute("drop table opp_facts_rows")
        con.execute("alter table _old rename to opp_facts")
        con.execute("delete from schema_info where version = $v", {"v": store.SCHEMA_VERSION})
    with store.reader(path) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION
        kinds = con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_name like 'opp_facts%' order by 1"
        ).fetchall()
        assert kinds == [("opp_facts", "VIEW"), ("opp_facts_rows", "BASE TABLE")]
        assert content(con) == want


# ---- a part in (date, id) order goes in without the sort and the repeat query -------------
def test_in_key_order_only_for_one_date_and_strictly_increasing_ids():
    s1 = hf.frame_for(hf.S1).astype({"opportunity_id": "str"})  # A..G, H: increasing
    assert store._in_key_order(s1)
    assert not store._in_key_order(s1.iloc[::-1])  # decreasing
    assert not store._in_key_order(pd.concat([s1.iloc[:2], s1.iloc[1:]]))  # B twice
    two = pd.concat([s1, hf.frame_for(hf.S2).astype({"opportunity_id": "str"})])
    assert not store._in_key_order(two)  # two dates
    assert not store._in_key_order(s1.astype({"opportunity_id": "object"}))  # not Arrow


def test_repeated_id_next_to_itself_is_refused_in_a_sorted_part():
    # A, B, B, C ... in order but not strictly: the repeat check still runs and refuses.
    con = store.init_memory()
    s1 = hf.frame_for(hf.S1).astype({"opportunity_id": "str"})
    bad = pd.concat([s1.iloc[:2], s1.iloc[1:]]).reset_index(drop=True)
    with pytest.raises(Exception, match="duplicate opportunity_id within a snapshot"):
        store.commit_snapshots(con, bad, file_name="bad")
    assert con.execute("select count(*) from snapshots").fetchall() == [(0,)]
    store.commit_snapshots(con, s1, file_name="good")
    stored = con.execute("select opportunity_id from snapshots").fetchall()
    assert [r[0] for r in stored] == sorted(hf.STATES[hf.S1])
    con.close()


# ---- property: deals that come and go, week after week -------------------------------------
_WEEKS = [date(2026, 10, 5) + pd.Timedelta(days=7 * i).to_pytimedelta() for i in range(5)]
_STAGES = ["Prospecting", "Discovery", "Proposal", "Closed Won", "Closed Lost"]


@settings(max_examples=25, deadline=None)
@given(
    cells=st.lists(  # per deal and week: absent, or (stage, amount, owner)
        st.lists(
            st.one_of(
                st.none(),
                st.tuples(
                    st.sampled_from(_STAGES), st.sampled_from([10, 20]), st.sampled_from("XY")
                ),
            ),
            min_size=len(_WEEKS),
            max_size=len(_WEEKS),
        ),
        min_size=1,
        max_size=6,
    ),
    together=st.sampled_from([None, 1, 2, 3]),
)
def test_deals_leaving_and_coming_back_match_rebuild(cells, together):
    # Each deal is in or out of each week at a drawn stage, amount and owner: it appears
    # late, leaves, comes back, closes, reopens. Imported week by week (the weekly path:
    # only changed facts rewritten, last_seen stored for those who left), except weeks
    # `together` and the next, which come as one two-part import. Every derived table,
    # the stored facts included, equals a rebuild from the raw rows after each import.
    deals = {f"D{i}": ("SMB", "Inbound", date(2026, 9, 1)) for i in range(len(cells))}
    frames: list[pd.DataFrame | None] = []
    for w, d in enumerate(_WEEKS):
        states = {
            f"D{i}": (c[w][0], c[w][1], date(2026, 12, 31))
            for i, c in enumerate(cells)
            if c[w] is not None
        }
        if not states:
            frames.append(None)  # an empty week is not an import
            continue
        frame = hf.frame_for(d, states, deals)
        for i, c in enumerate(cells):
            if c[w] is not None:
                frame.loc[frame["opportunity_id"] == f"D{i}", "owner"] = c[w][2]
        frames.append(frame)
    con = store.init_memory()
    w = 0
    while w < len(_WEEKS):
        if frames[w] is None:
            w += 1
            continue
        if w == together and w + 1 < len(_WEEKS) and frames[w + 1] is not None:
            store.commit_snapshots(con, iter(frames[w : w + 2]), file_name="two")
            w += 2
        else:
            store.commit_snapshots(con, frames[w], file_name=str(w))
            w += 1
        assert content(con) == rebuilt(con)
    con.close()


def test_failure_inside_the_weekly_step_leaves_the_store_as_it_was(monkeypatch):
    # The facts step fails after the raw rows, the keys, the change rows and the stage
    # entries of S4 were written in the transaction: nothing of S4 stays (no rows, no
    # derived rows, no temp tables), and S4 imports cleanly afterwards.
    con = store.init_memory()
    for d in hf.DATES[:3]:
        store.commit_snapshots(con, hf.frame_for(d), file_name=str(d))
    before = content(con)
    rows = con.execute("select count(*) from snapshots").fetchall()

    def boom(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(derived, "_facts_forward", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        store.commit_snapshots(con, hf.frame_for(hf.S4), file_name="s4")
    assert con.execute("select count(*) from snapshots").fetchall() == rows
    assert content(con) == before
    temps = con.execute("select table_name from duckdb_tables() where temporary").fetchall()
    assert temps == []
    monkeypatch.undo()
    store.commit_snapshots(con, hf.frame_for(hf.S4), file_name="s4")
    assert content(con) == content(hf.build()) == rebuilt(con)
    con.close()
