"""One test per narrative rule, on hand-built Facts (no store needed).

The fixture: FY2026-Q4, as of 2026-11-20, compared with 2026-11-13. Target $10M, won
$4M, so $6M is still to book; open qualified pipeline $12M -> coverage 12 / 6 = 2.0x
against a 3.0x goal (below goal; gap = 3.0 * 6M - 12M = $6M).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from steward import definitions
from steward.metrics.core import Filters, Query
from steward.narrative import from_facts
from steward.narrative.facts import Facts, Move, PushedGroup, WinCounts
from steward.narrative.model import Fact

DEFS = definitions.load()
Q = Query(as_of=date(2026, 11, 20), period="FY2026-Q4")
WQ = Q.with_(compare_to=date(2026, 11, 13))


def fact(mid: str, value: float | None, unit: str = "usd", q: Query = Q) -> Fact:
    return Fact(mid, q, value, unit)


def move(bucket: str, amount: float, n: int) -> Move:
    return Move(bucket, fact("waterfall", amount, q=WQ), fact("waterfall", n, "count", WQ))


def base(**changes: object) -> Facts:
    f = Facts(
        q=Q,
        defs=DEFS,
        compare_to=date(2026, 11, 13),
        open_pipeline=fact("open_pipeline", 12_000_000),
        won=fact("won_to_date", 4_000_000),
        target=fact("bookings_target", 10_000_000),
        coverage=fact("coverage", 2.0, "multiple"),
        goal=fact("coverage_goal", 3.0, "multiple"),
        start=fact("waterfall", 13_000_000, q=WQ),
        end=fact("waterfall", 12_000_000, q=WQ),
        moves=[
            move("Won", -500_000, 2),
            move("Pushed out", -1_300_000, 4),
            move("New", 800_000, 3),
        ],
    )
    return replace(f, **changes)  # type: ignore[arg-type]


def texts(f: Facts, section: str) -> list[str]:
    return [s.text for s in from_facts(f).section(section)]


def rules(f: Facts, section: str) -> list[str]:
    return [s.rule for s in from_facts(f).section(section)]


def test_headline_below_goal_states_the_setback():
    # start 13M -> end 12M: down $1.0M
    assert texts(base(), "headline") == [
        "FY2026-Q4 coverage is 2.0x, below the 3.0x goal: $12.0M of qualified pipeline "
        "against $6.0M still to book, down $1.0M since 13 Nov."
    ]


def test_headline_target_met_does_not_divide():
    f = base(won=fact("won_to_date", 10_500_000), coverage=fact("coverage", None, "multiple"))
    assert texts(f, "headline") == [
        "FY2026-Q4 bookings of $10.5M have already met the $10.0M target; $12.0M of "
        "qualified pipeline is still open."
    ]
    # no coverage risk and no coverage decision once the target is met
    assert "risk_coverage_below_goal" not in rules(f, "risks")
    assert "decide_coverage_gap" not in rules(f, "decisions")


def test_headline_no_target():
    f = base(target=fact("bookings_target", None), coverage=fact("coverage", None, "multiple"))
    assert texts(f, "headline")[0].endswith("so coverage cannot be measured.")


def test_filtered_story_names_the_segment():
    q = Q.with_(filters=Filters.of(segment=["Enterprise"]))
    f = base(q=q)
    assert texts(f, "headline")[0].startswith("Enterprise FY2026-Q4 coverage is 2.0x")
    assert from_facts(f).scope == "Segment: Enterprise"


def test_region_cut_does_not_claim_coverage_against_a_segment_target():
    # targets are set by segment: EMEA pipeline against the company target would mislead
    nq = Q.with_(period="FY2027-Q1")
    f = base(
        q=Q.with_(filters=Filters.of(region=["EMEA"])),
        forecast_p50=fact("forecast_historical", 1_000_000),
        next_coverage=fact("coverage", 0.5, "multiple", nq),
        next_goal=fact("coverage_goal", 2.0, "multiple", nq),
        coverage_prev=fact("coverage", 2.2, "multiple", Q.with_(as_of=date(2026, 11, 13))),
    )
    assert texts(f, "headline") == [
        "EMEA FY2026-Q4 qualified pipeline is $12.0M with $4.0M won so far, down $1.0M since "
        "13 Nov; there is no target for this cut (targets are set by segment), so no coverage."
    ]
    rest = " ".join(s.text for s in from_facts(f).sentences if s.section != "headline")
    assert "goal" not in rest and "target" not in rest and "coverage" not in rest.lower()


def test_coverage_below_goal_produces_risk_and_decision():
    # gap = 3.0 * (10M - 4M) - 12M = 6M
    f = base()
    assert texts(f, "risks")[0] == (
        "Coverage of 2.0x is below the 3.0x goal: $6.0M more qualified pipeline is needed "
        "for FY2026-Q4."
    )
    assert (
        "Find $6.0M of qualified pipeline for FY2026-Q4, or pull deals in from FY2027-Q1, "
        "to reach the 3.0x goal." in texts(f, "decisions")
    )


def test_coverage_that_rounds_to_the_goal_is_just_below():
    # 2.96x shows as 3.0x: "3.0x, below the 3.0x goal" would read as a contradiction
    f = base(coverage=fact("coverage", 2.96, "multiple"))
    assert "coverage is 3.0x, just below the 3.0x goal" in texts(f, "headline")[0]
    assert texts(f, "risks")[0].startswith("Coverage of 3.0x is just below the 3.0x goal")


def test_coverage_at_goal_produces_no_coverage_risk():
    f = base(coverage=fact("coverage", 3.0, "multiple"), open_pipeline=fact("open_pipeline", 18e6))
    assert "risk_coverage_below_goal" not in rules(f, "risks")
    assert "meeting the 3.0x goal" in texts(f, "headline")[0]


def test_changes_ranked_by_dollar_impact():
    # |pushed| 1.3M > |new| 0.8M > |won| 0.5M
    assert texts(base(), "changes") == [
        "4 deals worth $1.3M were pushed out of FY2026-Q4: 10% of the 13 Nov pipeline.",
        "3 new deals added $800K.",
        "2 deals worth $500K closed won.",
    ]


def test_changes_keep_at_most_five_points():
    moves = [move(b, -100_000 * (i + 1), 1) for i, b in enumerate(["Won", "Lost", "Removed"])]
    moves += [move(b, 100_000 * (i + 1), 1) for i, b in enumerate(["New", "Qualified", "Reopened"])]
    f = base(
        moves=moves,
        coverage_prev=fact("coverage", 2.2, "multiple", Q.with_(as_of=date(2026, 11, 13))),
    )
    out = from_facts(f).section("changes")
    assert len(out) == 5
    assert out[-1].rule == "change_coverage"
    assert out[-1].text == "Coverage fell from 2.2x to 2.0x since 13 Nov (goal 3.0x)."


def test_no_pushes_says_nothing_about_slippage():
    f = base(moves=[move("Won", -500_000, 2), move("Pushed out", 0, 0), move("New", 800_000, 3)])
    story = from_facts(f)
    everything = " ".join(s.text for s in story.sentences).lower()
    assert "push" not in everything and "slip" not in everything


def test_big_push_is_a_risk_and_a_decision_named_by_segment():
    # pushed 1.3M of start 13M = 10% >= 5% threshold
    f = base(
        largest_pushed=("Globex renewal", fact("waterfall", 700_000, q=WQ)),
        pushed_group=PushedGroup(
            "Enterprise", fact("waterfall", 1_000_000, q=WQ), fact("waterfall", 3, "count", WQ), 4
        ),
    )
    assert (
        "10% of FY2026-Q4 pipeline slipped out of the quarter since 13 Nov; the largest is "
        "Globex renewal ($700K)." in texts(f, "risks")
    )
    assert texts(f, "decisions")[0] == (
        "Review the 3 Enterprise deals worth $1.0M pushed out of FY2026-Q4 (of 4 deals pushed)."
    )


def test_small_push_is_not_a_risk():
    # 0.4M / 13M = 3% < 5%
    f = base(
        moves=[move("Pushed out", -400_000, 1)],
        largest_pushed=("Initech", fact("waterfall", 400_000, q=WQ)),
    )
    assert "risk_slippage" not in rules(f, "risks")
    assert texts(f, "decisions")[0] == (
        "Review Initech ($400K), the deal pushed out of FY2026-Q4: recommit it or re-forecast."
    )


def test_stalled_deals_risk():
    f = base(
        stalled_count=fact("stalled_deals", 5, "count"), stalled_amount=fact("stalled_deals", 2.5e6)
    )
    assert (
        "5 open deals worth $2.5M, across all close dates, are stalled: in their stage longer "
        "than three in four deals "
        "before them." in texts(f, "risks")
    )
    assert "decide_stalled" in rules(f, "decisions")


def test_low_trust_is_a_risk_and_a_fix():
    top = (
        "Open deals with a past close date",
        fact("trust_checks", 14, "count"),
        fact("trust_checks", 1.2e6),
    )
    f = base(trust_score=fact("trust_score", 72, "score"), top_check=top, checks_flagged=3)
    assert "Data trust is 72/100, below 80: read this week's numbers with care." in texts(
        f, "risks"
    )
    assert (
        "Have RevOps review the top data-trust issue (open deals with a past close date): "
        "14 deals, $1.2M." in texts(f, "decisions")
    )
    assert texts(f, "trust") == [
        "Data trust: 72/100; 3 checks flagged, the largest by amount: open deals with a past "
        "close date (14 deals, $1.2M)."
    ]


def test_missing_weeks_count_weeks_not_deals():
    top = ("Missing snapshot weeks", fact("trust_checks", 1, "count"), fact("trust_checks", 0))
    f = base(
        trust_score=fact("trust_score", 85, "score"),
        top_check=top,
        checks_flagged=1,
        top_check_unit="week",
    )
    assert texts(f, "trust") == [
        "Data trust: 85/100; 1 check flagged, the largest by amount: missing snapshot weeks "
        "(1 week)."
    ]
    assert "Have RevOps review the top data-trust issue (missing snapshot weeks): 1 week." in (
        texts(f, "decisions")
    )


def test_good_trust_is_not_a_risk():
    f = base(trust_score=fact("trust_score", 95, "score"))
    assert "risk_low_trust" not in rules(f, "risks")
    assert texts(f, "trust") == ["Data trust: 95/100, no check flagged."]


def test_forecast_short_of_target():
    # target 10M - P50 8.5M = 1.5M short
    f = base(forecast_p50=fact("forecast_historical", 8_500_000))
    assert (
        "The historical forecast puts FY2026-Q4 bookings at $8.5M (P50), $1.5M short of the "
        "$10.0M target." in texts(f, "risks")
    )


def test_forecast_above_target_is_said_as_plainly_as_a_shortfall():
    # P50 11.5M - target 10M = 1.5M above
    f = base(
        forecast_p50=fact("forecast_historical", 11_500_000),
        coverage_prev=fact("coverage", 2.2, "multiple", Q.with_(as_of=date(2026, 11, 13))),
    )
    assert (
        "Coverage fell from 2.2x to 2.0x since 13 Nov (goal 3.0x); the historical forecast "
        "puts FY2026-Q4 bookings at $11.5M (P50), $1.5M above the $10.0M target."
        in texts(f, "changes")
    )
    assert "risk_forecast_short" not in rules(f, "risks")


def test_next_quarter_coverage_below_goal():
    nq = Q.with_(period="FY2027-Q1")
    f = base(
        next_coverage=fact("coverage", 1.2, "multiple", nq),
        next_goal=fact("coverage_goal", 2.0, "multiple", nq),
    )
    assert "FY2027-Q1 coverage is 1.2x against a 2.0x goal." in texts(f, "risks")


def test_win_rate_change_in_points():
    # 28% now vs 34% last quarter: -6 pts
    pq = Q.with_(period="FY2026-Q3")
    f = base(
        win_rate=fact("win_rate_count", 0.28, "ratio"),
        win_rate_prev=fact("win_rate_count", 0.34, "ratio", pq),
    )
    assert "Win rate by count is 28% so far in FY2026-Q4, -6 pts against FY2026-Q3 (34%)." in texts(
        f, "changes"
    )


def test_win_rate_points_match_the_rounded_rates():
    # 48.4% vs 50.6% shows as 48% vs 51%: the change must read -3 pts, not -2
    pq = Q.with_(period="FY2026-Q3")
    f = base(
        win_rate=fact("win_rate_count", 0.484, "ratio"),
        win_rate_prev=fact("win_rate_count", 0.506, "ratio", pq),
    )
    assert "48% so far in FY2026-Q4, -3 pts against FY2026-Q3 (51%)" in " ".join(
        texts(f, "changes")
    )


def test_closed_quarter_reports_the_result_not_the_pipeline():
    # FY2026-Q3 ended 2026-10-01, before the 2026-11-20 snapshot: won 9.0M of 7.9M = 114%
    q = Q.with_(period="FY2026-Q3")
    nq = Q.with_(period="FY2026-Q4")
    f = base(
        q=q,
        won=fact("won_to_date", 9_000_000, q=q),
        target=fact("bookings_target", 7_900_000, q=q),
        open_pipeline=fact("open_pipeline", 0, q=q),
        coverage=fact("coverage", None, "multiple", q),
        goal=fact("coverage_goal", None, "multiple", q),
        next_coverage=fact("coverage", 1.2, "multiple", nq),
        next_goal=fact("coverage_goal", 3.0, "multiple", nq),
        forecast_p50=fact("forecast_historical", 1.0, q=q),
        win_rate=fact("win_rate_count", 0.49, "ratio", q),
        win_rate_prev=fact("win_rate_count", 0.5, "ratio", Q.with_(period="FY2026-Q2")),
    )
    assert texts(f, "headline") == [
        "FY2026-Q3 closed with bookings of $9.0M, 114% of the $7.9M target."
    ]
    assert "Win rate by count is 49% in FY2026-Q3, -1 pt against FY2026-Q2 (50%)." in texts(
        f, "changes"
    )
    assert not {"risk_next_quarter_coverage", "risk_forecast_short"} & set(rules(f, "risks"))
    assert "decide_next_quarter" not in rules(f, "decisions")


def test_first_snapshot_has_no_changes():
    f = base(compare_to=None, start=None, end=None, moves=[])
    assert rules(f, "changes") == ["change_first_snapshot"]
    assert "since" not in texts(f, "headline")[0]


def test_nothing_wrong_says_so():
    f = base(
        coverage=fact("coverage", 3.5, "multiple"),
        moves=[move("New", 100_000, 1)],
    )
    assert rules(f, "risks") == ["risk_none"]
    assert rules(f, "decisions") == ["decide_none"]


def test_every_number_keeps_its_provenance():
    f = base()
    story = from_facts(f)
    for s in story.sentences:
        for n in s.numbers:
            assert n.formatted in s.text
            d = n.to_dict()
            assert d["metric_id"] and d["query"]["as_of"] == "2026-11-20"
    gap = next(s for s in story.sentences if s.rule == "risk_coverage_below_goal").numbers[2]
    assert gap.to_dict()["value"] == pytest.approx(6_000_000)
    assert gap.fact.how().startswith("gap_to_goal(")


def test_board_dates():
    from steward.narrative.model import day

    assert day(date(2026, 11, 13), date(2026, 11, 20)) == "13 Nov"
    assert day(date(2025, 12, 26), date(2026, 1, 2)) == "26 Dec 2025"
    assert day(date(2026, 11, 20)) == "20 Nov 2026"


def test_markdown_and_json_shapes():
    story = from_facts(base())
    md = story.to_markdown()
    assert md.startswith("# Pipeline story: FY2026-Q4 as of 20 Nov 2026\n")
    assert "## What changed" in md and "## Risks" in md and "## Decisions for next Monday" in md
    assert DEFS.stamp in md
    import json

    data = json.loads(story.to_json())
    assert data["headline"] == story.headline
    assert {s["section"] for s in data["sentences"]} >= {"headline", "changes", "risks"}


def counts(won: int, lost: int, closed: int, never: int, q: Query = Q) -> WinCounts:
    def cell(v: float, unit: str = "count") -> Fact:
        return fact("win_rate_count", v, unit, q)

    return WinCounts(
        cell(won), cell(lost), cell(closed), cell(never), cell(never / closed, "ratio"), "count"
    )


def test_a_100_or_0_percent_win_rate_names_the_deals_behind_it():
    # One-snapshot import: 3 won, 0 lost counted -> 100% is never printed bare
    pq = Q.with_(period="FY2026-Q3")
    f = base(
        win_rate=fact("win_rate_count", 1.0, "ratio"),
        win_rate_prev=fact("win_rate_count", 0.0, "ratio", pq),
        win_counts=counts(3, 0, 3, 0),
        win_counts_prev=counts(0, 2, 2, 0, pq),
    )
    assert (
        "Win rate by count is 100% (3 won, 0 lost) so far in FY2026-Q4, +100 pts against "
        "FY2026-Q3 (0%, 0 won, 2 lost)." in texts(f, "changes")
    )
    # 99.6% prints as 100% too
    f = replace(f, win_rate=fact("win_rate_count", 0.996, "ratio"))
    assert "Win rate by count is 100% (3 won, 0 lost)" in " ".join(texts(f, "changes"))
    # an ordinary rate keeps the short sentence
    f = replace(f, win_rate=fact("win_rate_count", 0.6, "ratio"))
    assert "Win rate by count is 60% so far in FY2026-Q4" in " ".join(texts(f, "changes"))


def test_win_rate_resting_on_deals_never_seen_open_is_a_risk():
    # 5 closed in P, 5 never seen open (100% >= 25%): the story says what the rate rests on
    f = base(win_rate=fact("win_rate_count", 0.6, "ratio"), win_counts=counts(3, 2, 5, 5))
    assert (
        "5 of the 5 deals closed so far in FY2026-Q4 (100%) were never seen open in a "
        "snapshot, so their stage before closing is unknown; the 60% win rate counts the "
        "lost ones as qualified, as the definitions say." in texts(f, "risks")
    )
    # 1 of 5 = 20% < 25%: silent
    f = base(win_rate=fact("win_rate_count", 0.6, "ratio"), win_counts=counts(3, 2, 5, 1))
    assert "risk_unknown_past" not in rules(f, "risks")
    # the other reading is named when it is in force
    ex = replace(counts(3, 2, 5, 5), reading="exclude")
    f = base(win_rate=fact("win_rate_count", 1.0, "ratio"), win_counts=ex)
    assert any("leaves the lost ones out" in t for t in texts(f, "risks"))
