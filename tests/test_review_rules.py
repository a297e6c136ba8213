"""The agenda rules on hand-built metric results: each fires where it must, stays silent
where it must not; the ranking is by dollar impact; on the hand-built store every number
an item prints recomputes from the metric layer.

Thresholds are the governed defaults ([review] in data/definitions.toml): conversion drop
10 pts, SLA compliance goal 80%, owner stalled share 25%, slippage ratio 5% and segment
share 50%, created behind by 10%.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest
from fixtures_pipeline import AS_OF, PERIOD, A

from steward.definitions import Definitions
from steward.metrics.core import Filters, Query, Result
from steward.narrative.model import STYLES
from steward.review import Inputs, apply, build_agenda, read_value
from steward.review.rules import (
    conversion_drop,
    coverage_below_goal,
    created_behind,
    sla_breach,
    slippage_segment,
    stalled_owner,
    trust_worse,
)

Q = Query(as_of=date(2026, 11, 15), period="FY2026-Q4")
PREV = date(2026, 11, 8)


def res(mid: str, table: pd.DataFrame | None, value: Any = None, q: Query = Q) -> Result:
    return Result(mid, q, value, table)


def inputs(defs: Definitions, **kw: Any) -> Inputs:
    return Inputs(q=Q, defs=defs, compare_to=PREV, **kw)


# ---- conversion ---------------------------------------------------------------------------
def cohort(adv: int, lost: int, reached_amount: float = 1_000_000.0) -> Result:
    t = pd.DataFrame(
        [{"stage": "Discovery", "advanced_count": adv, "lost_count": lost,
          "reached_amount": reached_amount, "conversion_to_next": None}]
    )  # fmt: skip
    return res("funnel_cohort", t, q=Q.with_(filters=Filters.of(segment="Enterprise")))


def test_conversion_drop_fires_on_a_20_point_fall(defs: Definitions) -> None:
    # now 6 / (6 + 4) = 60%; trailing 4 x (8 advanced, 2 lost) = 32 / 40 = 80%: -20 pts
    inp = inputs(defs, cohorts={"Enterprise": (cohort(6, 4), [cohort(8, 2)] * 4)})
    (item,) = conversion_drop(inp)
    assert item.key == "conversion_drop:FY2026-Q4:Enterprise:Discovery"
    assert item.owner_role == "sales"  # Discovery is the qualified stage
    # impact: the 20-point drop x the $1.0M that reached Discovery
    assert item.impact_usd == pytest.approx(200_000.0)
    assert "Discovery → Solution conversion is 60%" in item.evidence.text
    assert "against 80% over the trailing four quarters (-20 pts)" in item.evidence.text
    assert item.reading.metric_id == "funnel_cohort" and item.reading.direction == "up"


def test_conversion_drop_silent_when_steady_or_too_few(defs: Definitions) -> None:
    steady = inputs(defs, cohorts={"Enterprise": (cohort(8, 2), [cohort(8, 2)] * 4)})
    assert conversion_drop(steady) == []
    # 2 / (2 + 2) = 50% is a 30-point fall, but 4 decided deals are fewer than 5
    few = inputs(defs, cohorts={"Enterprise": (cohort(2, 2), [cohort(8, 2)] * 4)})
    assert conversion_drop(few) == []


# ---- coverage -----------------------------------------------------------------------------
def coverage_table() -> pd.DataFrame:
    cols = ["period", "offset", "segment", "open_pipeline", "won_to_date", "bookings_target",
            "remaining_target", "coverage", "goal"]  # fmt: skip
    rows = [
        ("FY2026-Q4", 0, "Enterprise", 200_000, 100_000, 300_000, 200_000, 1.0, 3.0),
        ("FY2026-Q4", 0, "Mid-Market", 700_000, 0, 200_000, 200_000, 3.5, 3.0),
        ("FY2026-Q4", 0, "All", 900_000, 100_000, 500_000, 400_000, 2.25, 3.0),
        ("FY2027-Q2", 2, "Enterprise", 0, 0, 100_000, 100_000, 0.0, 1.5),
    ]
    return pd.DataFrame(rows, columns=cols)


def test_coverage_below_goal_fires_per_segment(defs: Definitions) -> None:
    (item,) = coverage_below_goal(inputs(defs, coverage=res("coverage_matrix", coverage_table())))
    # Enterprise 1.0x < 3.0x; gap = 3.0 x (300,000 - 100,000) - 200,000 = 400,000.
    # Mid-Market meets its goal; 'All' repeats the segments; offset 2 is not reviewed.
    assert item.key == "coverage_below_goal:FY2026-Q4:Enterprise"
    assert item.impact_usd == pytest.approx(400_000.0)
    assert item.evidence.text == (
        "Enterprise FY2026-Q4 coverage is 1.0x against a 3.0x goal: $400K more qualified "
        "pipeline is needed ($200K open against $200K still to book)."
    )
    assert item.owner_role == "sales"
    assert item.reading.filters == Filters.of(segment="Enterprise")


def test_coverage_rule_silent_for_a_cut_without_targets(defs: Definitions) -> None:
    inp = inputs(defs, coverage=res("coverage_matrix", coverage_table()))
    inp.q = Q.with_(filters=Filters.of(region="EMEA"))
    assert coverage_below_goal(inp) == []


# ---- stalled ------------------------------------------------------------------------------
def test_stalled_owner_fires_for_a_concentrated_owner(defs: Definitions) -> None:
    t = pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "c", "d", "e"],
            "owner": ["Alice", "Alice", "Bob", "Carol", "Carol"],
            "amount": [300_000.0, 100_000.0, 500_000.0, 50_000.0, 50_000.0],
        }
    )
    # total 1,000,000: Alice 400,000 (40%, 2 deals) fires; Bob 50% but one deal; Carol 10%
    (item,) = stalled_owner(inputs(defs, stalled=res("stalled_deals", t)))
    assert item.key == "stalled_owner:Alice" and item.impact_usd == 400_000.0
    assert item.evidence.text.startswith(
        "Alice holds 2 stalled deals worth $400K: 40% of the $1.0M stalled"
    )
    assert item.drill is not None and item.drill.where == (("owner", "Alice"),)


def test_stalled_owner_silent_when_spread(defs: Definitions) -> None:
    t = pd.DataFrame({"owner": list("ABCDEFGH") * 2, "amount": [100.0] * 16})
    assert stalled_owner(inputs(defs, stalled=res("stalled_deals", t))) == []  # 12.5% each


# ---- speed-to-lead ------------------------------------------------------------------------
def speed_table(web_within: int = 10) -> pd.DataFrame:
    rows = [
        ("all", "All leads", 107, 73 + web_within - 10, None),
        ("source", "Web", 20, web_within, 12.0),
        ("source", "Event", 30, 27, 3.0),
        ("source", "Tiny", 5, 0, 50.0),
        ("owner", "Ann", 40, 30, 20.0),
        ("owner", "Ben", 12, 6, 30.0),
    ]
    t = pd.DataFrame(rows, columns=["dimension", "value", "leads", "within_sla", "median_hours"])
    t["sla_compliance"] = t["within_sla"] / t["leads"]
    return t


def test_sla_breach_names_the_worst_source_and_owner(defs: Definitions) -> None:
    items = sla_breach(inputs(defs, speed=res("speed_to_lead", speed_table())))
    # sources: Web 10/20 = 50% (10 missed); Event 90% meets 80%; Tiny has < 10 leads.
    # owners: Ann 30/40 = 75% (10 missed) before Ben 6/12 = 50% (6 missed).
    assert [i.key for i in items] == ["sla_breach:source:Web", "sla_breach:owner:Ann"]
    assert [i.owner_role for i in items] == ["marketing", "sales"]
    assert all(i.impact_usd == 0.0 for i in items)
    assert "reached 10 of 20 leads within the 24-hour SLA: 50% against the 80% goal" in (
        items[0].evidence.text
    )


def test_sla_breach_silent_when_every_source_and_owner_meets_the_goal(defs: Definitions) -> None:
    t = speed_table(web_within=18)  # Web 90%
    t = t[t["value"] != "Ann"]
    t = t[t["value"] != "Ben"]
    assert sla_breach(inputs(defs, speed=res("speed_to_lead", t))) == []


# ---- slippage -----------------------------------------------------------------------------
def waterfall(start: float = 1_000_000.0) -> Result:
    t = pd.DataFrame({"bucket": ["Start", "Pushed out", "End"], "amount": [start, 0.0, start]})
    return res("waterfall", t, q=Q.with_(compare_to=PREV))


def pushed(amounts: dict[str, tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"opportunity_id": k, "segment": s, "amount": a} for k, (s, a) in amounts.items()]
    )


def test_slippage_segment_fires_when_one_segment_holds_most(defs: Definitions) -> None:
    deals = pushed({"A": ("Enterprise", 60_000), "B": ("Enterprise", 40_000), "C": ("SMB", 20_000)})
    # pushed 120,000 = 12% of the 1,000,000 start (>= 5%); Enterprise 100,000 = 83% (>= 50%)
    (item,) = slippage_segment(inputs(defs, waterfall=waterfall(), pushed=deals))
    assert item.key == "slippage_segment:FY2026-Q4:Enterprise" and item.impact_usd == 100_000.0
    assert item.evidence.text == (
        "2 Enterprise deals worth $100K were pushed out of FY2026-Q4 since 8 Nov: 83% of the "
        "$120K pushed, and 12% of the $1.0M pipeline at the start."
    )
    assert item.reading.metric_id == "coverage"


def test_slippage_segment_silent_when_small_or_spread(defs: Definitions) -> None:
    small = pushed({"A": ("Enterprise", 40_000)})  # 4% of the start
    assert slippage_segment(inputs(defs, waterfall=waterfall(), pushed=small)) == []
    spread = pushed({"A": ("Enterprise", 40_000), "B": ("SMB", 40_000), "C": ("MM", 40_000)})
    assert slippage_segment(inputs(defs, waterfall=waterfall(), pushed=spread)) == []


# ---- pipeline created ----------------------------------------------------------------------
def created(total: float) -> Result:
    t = pd.DataFrame(
        {"source": ["Marketing", "Partner"], "amount": [total * 0.75, total * 0.25],
         "pipeline_target": [1_000_000.0, 1_000_000.0]}
    )  # fmt: skip
    return res("pipeline_created", t, value=total)


def test_created_behind_fires_against_the_pro_rated_target(defs: Definitions) -> None:
    # Nov 15 is day 46 of the 92 in FY2026-Q4: 50% gone. 200,000 = 20% of the 1,000,000
    # target < 50% x (1 - 10%) = 45%. Impact: 500,000 expected by now - 200,000 = 300,000.
    (item,) = created_behind(inputs(defs, created=created(200_000.0)))
    assert item.impact_usd == pytest.approx(300_000.0)
    assert item.evidence.text == (
        "FY2026-Q4 pipeline created is $200K, 20% of the $1.0M pipeline target with 50% of the "
        "quarter gone; Marketing created the most ($150K)."
    )


def test_created_behind_silent_when_on_pace(defs: Definitions) -> None:
    assert created_behind(inputs(defs, created=created(460_000.0))) == []  # 46% >= 45%


# ---- data trust ---------------------------------------------------------------------------
def trust(counts: dict[str, tuple[int, float]], q: Query = Q) -> Result:
    t = pd.DataFrame(
        [
            {"check_id": k, "label": k.title(), "count": n, "amount": a}
            for k, (n, a) in counts.items()
        ]
    )
    return res("trust_checks", t, q=q)


def test_trust_worse_fires_for_a_check_that_grew(defs: Definitions) -> None:
    now = trust({"stale": (5, 500_000.0), "vanished": (1, 100_000.0)})
    before = trust({"stale": (3, 300_000.0), "vanished": (1, 100_000.0)}, Q.with_(as_of=PREV))
    (item,) = trust_worse(inputs(defs, trust_now=now, trust_before=before))
    assert item.key == "trust_worse:stale" and item.impact_usd == 200_000.0
    assert item.evidence.text == "Stale: 5 deals now, up from 3 on 8 Nov ($500K)."
    assert item.owner_role == "RevOps" and item.reading.direction == "down"


def test_trust_worse_silent_when_no_check_grew(defs: Definitions) -> None:
    now = trust({"stale": (3, 300_000.0)})
    assert trust_worse(inputs(defs, trust_now=now, trust_before=now)) == []


# ---- ranking ------------------------------------------------------------------------------
def test_items_rank_by_dollar_impact_and_leads_follow(defs: Definitions) -> None:
    stalled = pd.DataFrame(
        {"owner": ["Alice", "Alice", "Bob"], "amount": [450_000.0, 50_000.0, 100_000.0]}
    )
    inp = inputs(
        defs,
        cohorts={"Enterprise": (cohort(6, 4), [cohort(8, 2)] * 4)},  # 200,000
        coverage=res("coverage_matrix", coverage_table()),  # 400,000
        stalled=res("stalled_deals", stalled),  # Alice 500,000
        speed=res("speed_to_lead", speed_table()),  # 0 (leads)
        created=created(200_000.0),  # 300,000
    )
    ranked = [(i.rule_id, round(i.impact_usd)) for i in apply(inp)]
    assert ranked == [
        ("stalled_owner", 500_000),
        ("coverage_below_goal", 400_000),
        ("created_behind", 300_000),
        ("conversion_drop", 200_000),
        ("sla_breach", 0),
        ("sla_breach", 0),
    ]


# ---- on the hand-built store ----------------------------------------------------------------
def test_every_agenda_number_recomputes_from_the_metric_layer(
    pipeline_con: Any, defs: Definitions
) -> None:
    agenda = build_agenda(pipeline_con, Query(AS_OF, PERIOD, compare_to=A), defs)
    # Enterprise: 80,000 target met; Mid-Market FY2026-Q4 coverage is below 3.0x; the
    # pushed Enterprise deal O03 ($200K of the $642K start) is all the slippage since A.
    keys = [i.key for i in agenda.items]
    assert "slippage_segment:FY2026-Q4:Enterprise" in keys
    checked = 0
    for item in agenda.items:
        for n in item.evidence.numbers:
            value = read_value(pipeline_con, n.fact, defs)
            assert value == pytest.approx(n.fact.num, abs=0.005), (item.key, n.fact.how())
            assert STYLES[n.style](value) == n.formatted
            checked += 1
        if item.drill is not None:
            item.drill.deals(pipeline_con, defs)  # the drill runs
    assert checked >= 5
    slip = next(i for i in agenda.items if i.rule_id == "slippage_segment")
    assert slip.drill is not None
    assert list(slip.drill.deals(pipeline_con, defs)["opportunity_id"]) == ["O03"]
