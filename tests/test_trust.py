"""Data-trust checks and the trust score on the hand-built fixture (as of 2026-11-16)."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from fixtures_pipeline import AS_OF, PERIOD, insert_snapshots, snapshot_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward import store
from steward.metrics import trust
from steward.metrics.core import Filters, Query, compute, drill

Q = Query(AS_OF, PERIOD)


def checks(con, defs, q=Q):
    t = compute(con, "trust_checks", q, defs).table
    return {r.check_id: (r.count, r.amount, r.severity) for r in t.itertuples()}


def test_every_check_counts_deals_and_amount(pipeline_con, defs):
    got = checks(pipeline_con, defs)
    assert list(got) == list(trust.CHECK_IDS)
    assert got == {
        "past_close_date": (1, 35000.0, "high"),  # O11 open, close 11-10 < 11-16
        "blank_amount": (1, 0.0, "medium"),  # O12 amount null
        "unknown_stage": (1, 8000.0, "high"),  # O14 'Legal Review'
        "probability_mismatch": (1, 80000.0, "low"),  # O10 Proposal at 0.9 vs 0.6: 0.3 > 0.25
        "duplicate_ids": (0, 0.0, "ok"),
        "vanished": (1, 30000.0, "high"),  # O05 open on 11-09, missing on 11-16
        "pushed_often": (1, 200000.0, "medium"),  # O03: Q3 -> Q4 -> FY27Q1 -> FY27Q2 = 3 pushes
        "stale": (0, 0.0, "ok"),  # no snapshot 8 weeks back (first is 10-19)
        "amount_outlier": (0, 0.0, "ok"),  # 20 x median 35,000 = 700,000: none above
        "created_after_close": (1, 12000.0, "medium"),  # O09 created 12-05, closes 12-01
        # O15 Closed Won 25,000 in B with close date 2027-01-05, after the snapshot 11-16
        "closed_in_future": (1, 25000.0, "high"),
        # closed in Q4 by 11-16: O01 won, O02 lost (O15 closes in 2027: not Q4); both were
        # seen open in A. O17 was never seen open but closed 09-10 (Q3): none
        "closed_never_open": (0, 0.0, "ok"),
        "missing_weeks": (1, 0.0, "high"),  # 10-19 -> 11-02 skips the week of 10-26
    }


def test_thresholds_come_from_the_definitions(pipeline_con, defs):
    tuned = dataclasses.replace(defs, stale_weeks=4, outlier_multiple=5.0, push_count=4)
    got = checks(pipeline_con, tuned)
    # stale since 10-19 (4 weeks back): O12 (null) and O16 22,000 never changed
    assert got["stale"][:2] == (2, 22000.0)
    # open amounts (non-null, > 0): 8k 12k 15k 20k 22k 35k 40k 75k 80k 100k 200k -> median
    # 35,000; 5 x 35,000 = 175,000 < O03 200,000
    assert got["amount_outlier"][:2] == (1, 200000.0)
    assert got["pushed_often"][:2] == (0, 0.0)  # 3 pushes < 4


def test_trust_score_formula(pipeline_con, defs):
    rep = trust.trust_report(pipeline_con, Q, defs)
    # open deals in B: O03 O04 O06 O07 O08 O09 O10 O11 O12 O13 O14 O16 = 12, amount 607,000
    assert (rep.open_count, rep.open_amount) == (12, 607000.0)
    # flagged: O03 200,000, O09 12,000, O10 80,000, O11 35,000, O12 0, O14 8,000 = 6, 335,000
    assert (rep.flagged_open_count, rep.flagged_open_amount) == (6, 335000.0)
    # f = 0.5 x 335,000/607,000 + 0.5 x 6/12 = 0.525947...
    # v = vanished 30,000 / open on 11-09 697,000 = 0.043042
    # score = 100 − 70 x 0.525947 − 10 x 0.043042 − 5 x 1 = 57.753 -> 57.8
    f = 0.5 * 335000 / 607000 + 0.5 * 6 / 12
    assert rep.vanished_share == pytest.approx(30000 / 697000)
    assert rep.score == round(100 - 70 * f - 10 * 30000 / 697000 - 5, 1) == 57.8
    res = compute(pipeline_con, "trust_score", Q, defs)
    assert res.value == 57.8 and res.note == "6 of 12 open deals flagged; 1 missing week(s)"


def test_filters_apply_to_the_checks(pipeline_con, defs):
    got = checks(pipeline_con, defs, Q.with_(filters=Filters.of(owner="Carol")))
    # Carol: O04 O09 O12 O14 in B; O05 vanished
    assert got["blank_amount"][:2] == (1, 0.0)
    assert got["vanished"][:2] == (1, 30000.0)
    assert got["past_close_date"][:2] == (0, 0.0)


def test_clean_data_scores_100(defs):
    con = store.init_memory()
    rows = []
    for d in (date(2026, 11, 9), date(2026, 11, 16)):
        rows += snapshot_rows(d, [("O10", "Proposal", 50000, 0.6, "Commit", "2026-12-01")])
    insert_snapshots(con, rows)
    rep = trust.trust_report(con, Q, defs)
    assert rep.score == 100.0
    assert set(rep.table.severity) == {"ok"}


def test_missing_weeks_counts_whole_weeks():
    cal = [date(2026, 1, 5), date(2026, 1, 12), date(2026, 2, 2), date(2026, 2, 12)]
    # gaps: 7 (none), 21 -> 2 missing, 10 -> 1 missing
    assert trust.missing_weeks(cal) == 3
    assert trust.missing_weeks([]) == 0


def test_trust_drill(pipeline_con, defs):
    flagged = drill(pipeline_con, "trust_checks", Q, defs)
    # by amount: O03 200k, O10 80k, O11 35k, O15 25k (closed, close date 2027-01-05 after
    # the snapshot), O09 12k, O14 8k, O12 blank
    assert flagged.opportunity_id.tolist() == ["O03", "O10", "O11", "O15", "O09", "O14", "O12"]
    future = drill(pipeline_con, "trust_checks", Q, defs, check_id="closed_in_future")
    assert future.opportunity_id.tolist() == ["O15"]
    assert drill(pipeline_con, "trust_checks", Q, defs, check_id="closed_never_open").empty
    assert flagged.set_index("opportunity_id").loc["O03", "checks"] == "pushed_often"
    gone = drill(pipeline_con, "trust_checks", Q, defs, check_id="vanished")
    assert gone.opportunity_id.tolist() == ["O05"]
    with pytest.raises(ValueError):
        drill(pipeline_con, "trust_checks", Q, defs, check_id="nope")


def test_duplicate_ids_are_still_checked(defs):
    con = store.init_memory()
    rows = snapshot_rows(AS_OF, [("O10", "Proposal", 50000, 0.6, "Commit", "2026-12-01")])
    rows += snapshot_rows(AS_OF, [("O10", "Proposal", 7000, 0.6, "Commit", "2026-12-01")])
    insert_snapshots(con, rows)  # bypasses commit_snapshots, which refuses this
    got = checks(con, defs)
    # the extra copy (the smaller, 7,000) is the duplicate
    assert got["duplicate_ids"] == (1, 7000.0, "high")


def test_derived_tables_give_the_same_answer(pipeline_con, defs):
    from steward import derived

    tuned = dataclasses.replace(defs, stale_weeks=4, push_count=2)
    cal = trust.snapshot_calendar(pipeline_con, AS_OF)
    assert not trust.derived_is_current(pipeline_con, cal)  # the fixture skips derived.refresh
    plain = compute(pipeline_con, "trust_checks", Q, tuned).table
    derived.rebuild(pipeline_con)
    assert trust.derived_is_current(pipeline_con, cal)
    fast = compute(pipeline_con, "trust_checks", Q, tuned).table
    assert fast.equals(plain)
    got = {r.check_id: (r.count, r.amount) for r in fast.itertuples()}
    # push_count 2: O03 (3 pushes); stale 4 weeks: O12, O16
    assert (got["pushed_often"], got["stale"]) == ((1, 200000.0), (2, 22000.0))


# ---- property: the derived-table path answers exactly like plain SQL ----------------------
WEEKS = [date(2026, 10, 5), date(2026, 10, 12), date(2026, 10, 26), date(2026, 11, 2), AS_OF]
CLOSES = ["2026-09-20", "2026-11-30", "2026-12-20", "2027-02-10", "2027-05-01"]
week_row = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["Discovery", "Proposal", "Closed Won", "Closed Lost"]),
        st.sampled_from([None, 1000, 5000]),
        st.sampled_from(CLOSES),
    ),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=st.lists(st.lists(week_row, min_size=5, max_size=5), min_size=1, max_size=6))
def test_derived_and_plain_agree_on_random_histories(history):
    from steward import definitions, derived

    tuned = dataclasses.replace(
        definitions.load(definitions.DEFAULT_PATH), stale_weeks=2, push_count=2
    )
    con = store.init_memory()
    rows = []
    for w, week in enumerate(WEEKS):
        for i, deal in enumerate(history):
            if deal[w] is None:
                continue
            stage, amount, close = deal[w]
            [rec] = snapshot_rows(week, [("O10", stage, 0, None, "Pipeline", close)])
            rec.update(opportunity_id=f"H{i:02d}", amount=amount)
            rows.append(rec)
    # one closed deal in every week keeps the snapshot calendar complete
    for week in WEEKS:
        rows += snapshot_rows(week, [("O17", "Closed Lost", 1, 0.0, "Omitted", "2026-09-10")])
    insert_snapshots(con, sorted(rows, key=lambda r: (r["snapshot_date"], r["opportunity_id"])))
    plain = compute(con, "trust_checks", Q, tuned).table
    derived.rebuild(con)
    assert trust.derived_is_current(con, trust.snapshot_calendar(con, AS_OF))
    assert compute(con, "trust_checks", Q, tuned).table.equals(plain)


# ---- the history part kept per store version, reused under every filter ---------------------
def test_history_kept_per_store_version_answers_like_fresh(pipeline_con, defs):
    """The deal flags of a snapshot (trust_cut) are read once per store version with no
    filter (steward.memo.by_store) and cut by each view's filters: every cut and date
    answers exactly as computed fresh, and the store memo holds one entry per date,
    whatever the filters."""
    from steward import derived, memo

    tuned = dataclasses.replace(defs, stale_weeks=4, push_count=2)
    derived.rebuild(pipeline_con)
    # a filtered cut first: what is kept must not depend on the first view's filters
    cuts = [
        Filters.of(owner="Carol"),
        Filters(),
        Filters.of(owner="Alice"),
        Filters.of(segment="SMB"),
    ]
    queries = [Query(d, PERIOD, filters=f) for d in (AS_OF, date(2026, 11, 9)) for f in cuts]
    fresh = [compute(pipeline_con, "trust_checks", x, tuned) for x in queries]
    fresh_scores = [compute(pipeline_con, "trust_score", x, tuned) for x in queries]
    memo.use_store_memo(True)
    for x, want, want_score in zip(queries, fresh, fresh_scores, strict=True):
        with memo.view():  # one view per query: only the store memo carries over
            got = compute(pipeline_con, "trust_checks", x, tuned)
            score = compute(pipeline_con, "trust_score", x, tuned)
        assert got.table.equals(want.table) and got.value == want.value
        assert (score.value, score.note) == (want_score.value, want_score.note)
    assert sorted(k[0] for k in memo.by_store(pipeline_con, "trust.deal_flags")) == [
        date(2026, 11, 9),
        AS_OF,
    ]
    assert sorted(memo.by_store(pipeline_con, "trust.gone_ids")) == [
        (date(2026, 11, 2), date(2026, 11, 9)),
        (date(2026, 11, 9), AS_OF),
    ]
    by_owner = {r.check_id: (r.count, r.amount) for r in fresh[2].table.itertuples()}
    # Alice in B: O03 pushed 3 times (>= 2); O16 unchanged since 10-19 (4 weeks back)
    assert (by_owner["pushed_often"], by_owner["stale"]) == ((1, 200000.0), (1, 22000.0))
    by_carol = {r.check_id: (r.count, r.amount) for r in fresh[0].table.itertuples()}
    # Carol in B: O12 (null amount) stale; O05 open on 11-09, missing on 11-16: 30,000
    assert (by_carol["stale"], by_carol["vanished"]) == ((1, 0.0), (1, 30000.0))


def test_trust_score_reads_only_the_scores_part(pipeline_con, defs):
    """trust_score does not compute the duplicate-id and closed-never-open checks (not in
    the score); it gives the report's score and counts."""
    from steward import derived

    derived.rebuild(pipeline_con)
    for f in (Filters(), Filters.of(owner="Carol")):
        x = Q.with_(filters=f)
        rep = trust.trust_report(pipeline_con, x, defs)
        res = compute(pipeline_con, "trust_score", x, defs)
        assert res.value == rep.score
        assert res.note == (
            f"{rep.flagged_open_count} of {rep.open_count} open deals flagged; "
            f"{rep.missing_weeks} missing week(s)"
        )
    # all deals (see test_trust_score_formula): 57.8 on the derived path as on the plain one
    assert compute(pipeline_con, "trust_score", Q, defs).value == 57.8
