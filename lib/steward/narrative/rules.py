"""The narrative's rules: Facts in, sentences out. Deterministic and plain.

Each rule is a small function so a test can drive it with a hand-built Facts object.
Setbacks are stated in the same voice as wins: the numbers decide the words.
"""

from __future__ import annotations

from steward import fmt
from steward.metrics.targets import uncut_dimensions
from steward.narrative.facts import Facts, Move
from steward.narrative.model import Fact, Sentence, day, derived, say

TRUST_LOW = 80.0  # below this the story warns that the numbers need care
TRUST_FIX = 90.0  # below this the top trust issue becomes a Monday decision
# share of the period's closed deals never seen open above which the story says the win
# rate rests on the governed assumption about their unknown past
UNKNOWN_PAST_SHARE = 0.25
PUSHED_RISK_SHARE = 0.05  # pushed-out share of the start pipeline that counts as a risk
MAX_CHANGES = 5
MAX_DECISIONS = 4


def deals(n: Fact) -> str:
    return "deal" if n.num == 1 else "deals"


def scope_prefix(f: Facts) -> str:
    """'Enterprise, EMEA ' for a filtered story, '' for all deals."""
    values = [v for _, vals in f.q.filters.items() for v in vals]
    return (", ".join(values) + " ") if values else ""


def period(f: Facts) -> str:
    return f.q.period


def next_period(f: Facts) -> str:
    return f.q.quarter(f.defs).shift(1).label


def since(f: Facts) -> str:
    return day(f.compare_to, f.q.as_of) if f.compare_to else ""


def period_closed(f: Facts) -> bool:
    """The period ended before the as-of snapshot: report the result, not the pipeline."""
    return f.q.quarter(f.defs).end <= f.q.as_of


def target_applies(f: Facts) -> bool:
    """Targets are set by segment: a region/source/owner/... cut has no target of its own
    (the rule of steward.metrics.targets)."""
    return not uncut_dimensions(f.q.filters)


def _lt(a: Fact | None, b: Fact | None) -> bool:
    return (
        a is not None
        and b is not None
        and a.num is not None
        and b.num is not None
        and a.num < b.num
    )


def below_goal(f: Facts) -> bool:
    return target_applies(f) and not period_closed(f) and _lt(f.coverage, f.goal)


def target_met(f: Facts) -> bool:
    if not target_applies(f):
        return False
    rem = f.remaining.num
    return f.target.num is not None and rem is not None and rem <= 0


# ---- headline ---------------------------------------------------------------------------


def _since_clause(f: Facts, parts: dict[str, object]) -> str:
    """', down {delta} since {a}' (or up / unchanged) for the headline; fills `parts`.
    Empty when there is no earlier snapshot to compare with."""
    if f.start is None or f.end is None or f.start.num is None:
        return ""
    delta = derived("minus", f.end, f.start)
    d = delta.num or 0.0
    parts["a"] = since(f)
    if round(d, 2) == 0:
        return ", unchanged since {a}"
    parts["delta"] = (delta, "money")
    return (", up {delta}" if d > 0 else ", down {delta}") + " since {a}"


def headline(f: Facts) -> list[Sentence]:
    p = scope_prefix(f) + period(f)
    if period_closed(f):
        return [closed_headline(f, p)]
    if target_met(f):
        return [
            say(
                "headline",
                "headline_target_met",
                "{p} bookings of {won} have already met the {target} target; "
                "{open} of qualified pipeline is still open.",
                p=p,
                won=f.won,
                target=f.target,
                open=f.open_pipeline,
            )
        ]
    if not target_applies(f):
        parts: dict[str, object] = {"p": p, "open": f.open_pipeline, "won": f.won}
        tmpl = "{p} qualified pipeline is {open} with {won} won so far"
        tmpl += _since_clause(f, parts)
        tmpl += "; there is no target for this cut (targets are set by segment), so no coverage."
        return [say("headline", "headline_no_target_for_cut", tmpl, **parts)]  # type: ignore[arg-type]
    if f.target.num is None or f.coverage.num is None:
        return [
            say(
                "headline",
                "headline_no_target",
                "{p} qualified pipeline is {open} with {won} won so far; no bookings target "
                "is loaded for this cut, so coverage cannot be measured.",
                p=p,
                open=f.open_pipeline,
                won=f.won,
            )
        ]
    parts = {"p": p, "cov": f.coverage, "open": f.open_pipeline, "rem": f.remaining}
    tmpl = "{p} coverage is {cov}"
    if f.goal.num is not None:
        if below_goal(f):
            same = fmt.multiple(f.coverage.num) == fmt.multiple(f.goal.num)
            tmpl += ", just below the {goal} goal" if same else ", below the {goal} goal"
        else:
            tmpl += ", meeting the {goal} goal"
        parts["goal"] = f.goal
    tmpl += ": {open} of qualified pipeline against {rem} still to book"
    tmpl += _since_clause(f, parts)
    return [say("headline", "headline_coverage", tmpl + ".", **parts)]  # type: ignore[arg-type]


def closed_headline(f: Facts, p: str) -> Sentence:
    if target_applies(f) and f.target.num:
        return say(
            "headline",
            "headline_period_closed",
            "{p} closed with bookings of {won}, {share} of the {target} target.",
            p=p,
            won=f.won,
            share=(derived("share", f.won, f.target, unit="ratio"), "pct"),
            target=f.target,
        )
    return say(
        "headline", "headline_period_closed", "{p} closed with bookings of {won}.", p=p, won=f.won
    )


# ---- what changed -----------------------------------------------------------------------
MOVE_TEXT = {
    "Won": "{n} {deals} worth {amt} closed won.",
    "Lost": "{n} {deals} worth {amt} {were} lost.",
    "Pushed out": "{n} {deals} worth {amt} {were} pushed out of {p}: {share} of the {a} pipeline.",
    "Disqualified": "{n} {deals} worth {amt} fell back below {qualified}.",
    "Removed": "{n} {deals} worth {amt} disappeared from the CRM export without closing.",
    "New": "{n} new {deals} added {amt}.",
    "Pulled in": "{n} {deals} worth {amt} {were} pulled into {p} from other quarters.",
    "Qualified": "{n} {deals} worth {amt} reached {qualified} and joined qualified pipeline.",
    "Reopened": "{n} closed {deals} worth {amt} {were} reopened.",
    "Increased": "Amounts rose on {n} {deals}, adding {amt}.",
    "Decreased": "Amounts fell on {n} {deals}, taking away {amt}.",
}


def move_sentence(f: Facts, m: Move) -> Sentence:
    parts: dict[str, object] = {
        "n": m.count,
        "deals": deals(m.count),
        "were": "was" if m.count.num == 1 else "were",
        "amt": (m.amount, "money"),
        "p": period(f),
        "qualified": f.defs.qualified_stage,
    }
    if m.bucket == "Pushed out" and f.start is not None:
        parts["share"] = (derived("share", m.amount, f.start, unit="ratio"), "pct")
        parts["a"] = since(f)
    impact = abs(m.amount.num or 0.0)
    rule = "change_" + m.bucket.lower().replace(" ", "_")
    return say("changes", rule, MOVE_TEXT[m.bucket], impact, **parts)  # type: ignore[arg-type]


def coverage_change(f: Facts) -> Sentence | None:
    if not target_applies(f):
        return None
    if f.coverage_prev is None or f.coverage_prev.num is None or f.coverage.num is None:
        return None
    now, before = round(f.coverage.num, 1), round(f.coverage_prev.num, 1)
    verb = "rose from {prev} to {cov}" if now > before else "fell from {prev} to {cov}"
    if now == before:
        verb = "held at {cov}"
    tmpl = "Coverage " + verb + " since {a}"
    parts: dict[str, object] = {"prev": f.coverage_prev, "cov": f.coverage, "a": since(f)}
    if f.goal.num is not None:
        tmpl += " (goal {goal})"
        parts["goal"] = f.goal
    if forecast_beats_target(f):
        # The win is stated as plainly as a shortfall would be (that one is a risk).
        assert f.forecast_p50 is not None
        tmpl += "; the historical forecast puts {p} bookings at {p50} (P50), {above} above the "
        tmpl += "{target} target"
        parts.update(
            p=period(f),
            p50=f.forecast_p50,
            above=(derived("minus", f.forecast_p50, f.target), "money"),
            target=f.target,
        )
    return say("changes", "change_coverage", tmpl + ".", **parts)  # type: ignore[arg-type]


def forecast_beats_target(f: Facts) -> bool:
    p50, target = f.forecast_p50, f.target.num
    if not target_applies(f) or period_closed(f) or target_met(f) or p50 is None:
        return False
    return p50.num is not None and target is not None and p50.num >= target


def extreme_rate(rate: Fact) -> bool:
    """A win rate that prints as 0% or 100%: never stated without the deals behind it."""
    return rate.num is not None and fmt.pct(rate.num) in (fmt.pct(0.0), fmt.pct(1.0))


def conversion_change(f: Facts) -> Sentence | None:
    wr, prev = f.win_rate, f.win_rate_prev
    if wr is None or prev is None or wr.num is None or prev.num is None:
        return None
    delta = derived("pts_shown", wr, prev, unit="ratio")
    parts: dict[str, object] = {
        "so_far": "in " if period_closed(f) else "so far in ",
        "wr": wr,
        "p": period(f),
        "d": (delta, "pts"),
        "pp": prev.query.period,
        "prev": prev,
    }
    wr_n = prev_n = ""
    if extreme_rate(wr) and f.win_counts is not None:
        wr_n = " ({won} won, {lost} lost)"
        parts.update(won=f.win_counts.won, lost=f.win_counts.lost)
    if extreme_rate(prev) and f.win_counts_prev is not None:
        prev_n = ", {pwon} won, {plost} lost"
        parts.update(pwon=f.win_counts_prev.won, plost=f.win_counts_prev.lost)
    return say(
        "changes",
        "change_win_rate",
        "Win rate by count is {wr}"
        + wr_n
        + " {so_far}{p}, {d} against {pp} ({prev}"
        + prev_n
        + ").",
        **parts,  # type: ignore[arg-type]
    )


def changes(f: Facts) -> list[Sentence]:
    """Waterfall moves ranked by dollar impact, then coverage and conversion."""
    if f.compare_to is None:
        return [
            say(
                "changes",
                "change_first_snapshot",
                "This is the first snapshot loaded, so there is no earlier week to compare with.",
            )
        ]
    extras = [s for s in (coverage_change(f), conversion_change(f)) if s is not None]
    moving = [m for m in f.moves if (m.count.num or 0) > 0]
    ranked = sorted((move_sentence(f, m) for m in moving), key=lambda s: -s.impact)
    if not moving and f.start is not None:
        ranked = [
            say(
                "changes",
                "change_none",
                "No deal entered, left or changed amount in {p} qualified pipeline since {a}.",
                p=period(f),
                a=since(f),
            )
        ]
    keep = max(3 - len(extras), MAX_CHANGES - len(extras))
    return ranked[:keep] + extras


# ---- risks ------------------------------------------------------------------------------
def gap_to_goal(f: Facts) -> Fact:
    return derived("gap_to_goal", f.goal, f.target, f.won, f.open_pipeline)


def risk_coverage(f: Facts) -> Sentence | None:
    if not below_goal(f) or target_met(f):
        return None
    return say(
        "risks",
        "risk_coverage_below_goal",
        "Coverage of {cov} is {below} the {goal} goal: {gap} more qualified pipeline is needed "
        "for {p}.",
        cov=f.coverage,
        below="just below" if fmt.multiple(f.coverage.num) == fmt.multiple(f.goal.num) else "below",
        goal=f.goal,
        gap=(gap_to_goal(f), "money"),
        p=period(f),
    )


def risk_next_quarter(f: Facts) -> Sentence | None:
    if not target_applies(f) or period_closed(f) or not _lt(f.next_coverage, f.next_goal):
        return None
    assert f.next_coverage is not None and f.next_goal is not None
    return say(
        "risks",
        "risk_next_quarter_coverage",
        "{np} coverage is {cov} against a {goal} goal.",
        np=next_period(f),
        cov=f.next_coverage,
        goal=f.next_goal,
    )


def pushed_share(f: Facts) -> Fact | None:
    m = f.move("Pushed out")
    if m is None or not (m.count.num or 0) or f.start is None:
        return None
    return derived("share", m.amount, f.start, unit="ratio")


def risk_pushed(f: Facts) -> Sentence | None:
    share = pushed_share(f)
    if share is None or (share.num or 0.0) < PUSHED_RISK_SHARE or f.largest_pushed is None:
        return None
    name, amount = f.largest_pushed
    return say(
        "risks",
        "risk_slippage",
        "{share} of {p} pipeline slipped out of the quarter since {a}; the largest is {name} "
        "({amt}).",
        share=(share, "pct"),
        p=period(f),
        a=since(f),
        name=name,
        amt=(amount, "money"),
    )


def risk_forecast(f: Facts) -> Sentence | None:
    if not target_applies(f) or period_closed(f) or not _lt(f.forecast_p50, f.target):
        return None
    assert f.forecast_p50 is not None
    return say(
        "risks",
        "risk_forecast_short",
        "The historical forecast puts {p} bookings at {p50} (P50), {short} short of the "
        "{target} target.",
        p=period(f),
        p50=f.forecast_p50,
        short=(derived("minus", f.target, f.forecast_p50), "money"),
        target=f.target,
    )


def risk_stalled(f: Facts) -> Sentence | None:
    if f.stalled_count is None or not f.stalled_count.num:
        return None
    parts: dict[str, object] = {"n": f.stalled_count, "deals": deals(f.stalled_count)}
    tmpl = "{n} open {deals}"
    if f.stalled_amount is not None:
        tmpl += " worth {amt}"
        parts["amt"] = (f.stalled_amount, "money")
    tmpl += ", across all close dates, are stalled: in their stage longer than three in four deals before them."
    return say("risks", "risk_stalled", tmpl, **parts)  # type: ignore[arg-type]


def risk_unknown_past(f: Facts) -> Sentence | None:
    """Much of the win rate rests on deals no snapshot showed open (a one-snapshot import,
    a reconstruction with gaps): say so, and which reading the definitions chose."""
    c = f.win_counts
    if c is None or f.win_rate is None or f.win_rate.num is None:
        return None
    share = c.never_open_share.num
    if share is None or share < UNKNOWN_PAST_SHARE:
        return None
    reading = (
        "counts the lost ones as qualified, as the definitions say"
        if c.reading == "count"
        else "leaves the lost ones out, as the definitions say"
    )
    return say(
        "risks",
        "risk_unknown_past",
        "{n} of the {closed} deals closed {so_far}{p} ({share}) were never seen open in a "
        "snapshot, so their stage before closing is unknown; the {wr} win rate " + reading + ".",
        n=c.never_open,
        closed=c.closed,
        so_far="in " if period_closed(f) else "so far in ",
        p=period(f),
        share=c.never_open_share,
        wr=f.win_rate,
    )


def risk_trust(f: Facts) -> Sentence | None:
    s = f.trust_score
    if s is None or s.num is None or s.num >= TRUST_LOW:
        return None
    return say(
        "risks",
        "risk_low_trust",
        "Data trust is {score}, below {low}: read this week's numbers with care.",
        score=s,
        low=f"{TRUST_LOW:.0f}",
    )


def risks(f: Facts) -> list[Sentence]:
    rules = (
        risk_coverage,
        risk_next_quarter,
        risk_pushed,
        risk_forecast,
        risk_stalled,
        risk_unknown_past,
        risk_trust,
    )
    out = [s for s in (r(f) for r in rules) if s is not None]
    return out or [say("risks", "risk_none", "No risk crossed its threshold this week.")]


# ---- decisions --------------------------------------------------------------------------
def decide_pushed(f: Facts) -> Sentence | None:
    m = f.move("Pushed out")
    if m is None or not (m.count.num or 0):
        return None
    g = f.pushed_group
    if g is not None:
        return say(
            "decisions",
            "decide_pushed",
            "Review the {n} {seg} {deals} worth {amt} pushed out of {p} (of {all} deals pushed).",
            n=g.count,
            seg=g.segment,
            deals=deals(g.count),
            amt=(g.amount, "money"),
            p=period(f),
            all=m.count,
        )
    seg = " ".join(f.q.filters.segment) + " " if len(f.q.filters.segment) == 1 else ""
    if m.count.num == 1 and f.largest_pushed is not None:
        return say(
            "decisions",
            "decide_pushed",
            "Review {name} ({amt}), the {seg}deal pushed out of {p}: recommit it or re-forecast.",
            name=f.largest_pushed[0],
            amt=(f.largest_pushed[1], "money"),
            seg=seg,
            p=period(f),
        )
    tmpl = "Review the {n} {seg}{deals} worth {amt} pushed out of {p}"
    parts: dict[str, object] = {
        "n": m.count,
        "seg": seg,
        "deals": deals(m.count),
        "amt": (m.amount, "money"),
        "p": period(f),
    }
    if f.largest_pushed is not None:
        tmpl += ", starting with {name} ({big})"
        parts["name"], parts["big"] = f.largest_pushed[0], (f.largest_pushed[1], "money")
    return say("decisions", "decide_pushed", tmpl + ".", **parts)  # type: ignore[arg-type]


def decide_coverage(f: Facts) -> Sentence | None:
    if not below_goal(f) or target_met(f):
        return None
    return say(
        "decisions",
        "decide_coverage_gap",
        "Find {gap} of qualified pipeline for {p}, or pull deals in from {np}, to reach the "
        "{goal} goal.",
        gap=(gap_to_goal(f), "money"),
        p=period(f),
        np=next_period(f),
        goal=f.goal,
    )


def decide_next_quarter(f: Facts) -> Sentence | None:
    if not target_applies(f) or period_closed(f) or not _lt(f.next_coverage, f.next_goal):
        return None
    return say(
        "decisions",
        "decide_next_quarter",
        "Start building {np} now: its coverage is {cov} against a {goal} goal.",
        np=next_period(f),
        cov=f.next_coverage,  # type: ignore[arg-type]
        goal=f.next_goal,  # type: ignore[arg-type]
    )


def decide_stalled(f: Facts) -> Sentence | None:
    if f.stalled_count is None or not f.stalled_count.num:
        return None
    return say(
        "decisions",
        "decide_stalled",
        "Ask the owners of the {n} stalled {deals} for a dated next step, or close them out.",
        n=f.stalled_count,
        deals=deals(f.stalled_count),
    )


def decide_trust(f: Facts) -> Sentence | None:
    s = f.trust_score
    if s is None or s.num is None or s.num >= TRUST_FIX or f.top_check is None:
        return None
    label, n, amt = f.top_check
    what, parts = check_size(f, n, amt)
    return say(
        "decisions",
        "decide_trust",
        "Have RevOps review the top data-trust issue ({label}): " + what + ".",
        label=label.lower(),
        **parts,  # type: ignore[arg-type]
    )


def check_size(f: Facts, n: Fact, amt: Fact) -> tuple[str, dict[str, object]]:
    """('{n} deals, {amt}', parts) for deal checks; ('{n} weeks', parts) for missing weeks."""
    if f.top_check_unit == "week":
        return "{n} " + ("week" if n.num == 1 else "weeks"), {"n": n}
    return "{n} " + deals(n) + ", {amt}", {"n": n, "amt": (amt, "money")}


def decisions(f: Facts) -> list[Sentence]:
    rules = (decide_pushed, decide_coverage, decide_next_quarter, decide_stalled, decide_trust)
    out = [s for s in (r(f) for r in rules) if s is not None][:MAX_DECISIONS]
    return out or [
        say(
            "decisions",
            "decide_none",
            "No decision is forced by this week's numbers: keep the weekly review.",
        )
    ]


# ---- trust and definitions ---------------------------------------------------------------
def trust_line(f: Facts) -> list[Sentence]:
    s = f.trust_score
    if s is None or s.num is None:
        return [say("trust", "trust_missing", "Data trust: not measured for this store.")]
    if f.top_check is None:
        return [say("trust", "trust_line", "Data trust: {score}, no check flagged.", score=s)]
    label, n, amt = f.top_check
    what, parts = check_size(f, n, amt)
    return [
        say(
            "trust",
            "trust_line",
            "Data trust: {score}; {k} {checks} flagged, the largest by amount: {label} ("
            + what
            + ").",
            score=s,
            k=str(f.checks_flagged),
            checks="check" if f.checks_flagged == 1 else "checks",
            label=label.lower(),
            **parts,  # type: ignore[arg-type]
        )
    ]


def definitions_line(f: Facts) -> list[Sentence]:
    return [
        say(
            "definitions",
            "definitions",
            "Numbers as of the {asof} snapshot under {stamp}.",
            asof=day(f.q.as_of),
            stamp=f.defs.stamp,
        )
    ]


ALL_SECTIONS = (headline, changes, risks, decisions, trust_line, definitions_line)


def write(f: Facts) -> list[Sentence]:
    return [s for section in ALL_SECTIONS for s in section(f)]
