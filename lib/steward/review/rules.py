"""The agenda's rules: each declared once (id, label, threshold, owner role), each a small
function from gathered metric results (`Inputs`) to agenda items.

Rules never query the store: `steward.review.agenda.gather` asks the metric layer, and a
test can hand a rule a hand-built `Inputs`. Thresholds come from the governed
definitions ([review] in data/definitions.toml); the glossary lists the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from steward.definitions import Definitions
from steward.metrics.core import Filters, Query, Result, schema
from steward.narrative.facts import table_cell
from steward.narrative.model import Fact, day, derived, say
from steward.review.model import DrillSpec, Item, Reading

# Too few decided deals make a conversion rate noise: below these the rule stays silent.
MIN_DECIDED_NOW = 5
MIN_DECIDED_TRAILING = 10
MIN_LEADS = 10  # a source or owner with fewer leads is not judged on SLA compliance


@dataclass
class Inputs:
    """Everything the rules read, gathered from the metric layer for one Query."""

    q: Query
    defs: Definitions
    compare_to: date | None = None
    # segment -> (this quarter's cohort, the trailing four quarters' cohorts)
    cohorts: dict[str, tuple[Result, list[Result]]] = field(default_factory=dict)
    coverage: Result | None = None  # coverage_matrix
    stalled: Result | None = None  # stalled_deals
    speed: Result | None = None  # speed_to_lead
    waterfall: Result | None = None  # waterfall q -> compare_to
    pushed: pd.DataFrame | None = None  # waterfall drill, bucket 'Pushed out'
    created: Result | None = None  # pipeline_created
    trust_now: Result | None = None  # trust_checks at as_of
    trust_before: Result | None = None  # trust_checks at compare_to

    @property
    def wq(self) -> Query:
        return self.q.with_(compare_to=self.compare_to)

    def elapsed_share(self) -> float:
        """Share of the period's days gone by the as-of date (0-1)."""
        qt = self.q.quarter(self.defs)
        total = (qt.end - qt.start).days
        gone = (self.q.as_of - qt.start).days + 1
        return min(1.0, max(0.0, gone / total)) if total > 0 else 1.0


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    description: str
    threshold: str  # in words, naming the governed setting
    owner_role: str
    fn: Callable[[Inputs], list[Item]]


def _segment_filter(q: Query, segment: str) -> Filters:
    return q.filters if segment == "All" else q.filters.with_(segment=[segment])


def _table(r: Result | None) -> pd.DataFrame | None:
    return None if r is None or r.table is None or r.table.empty else r.table


class _Cells:
    """`narrative.facts.table_cell` for many cells of one small table: the first row
    matching each `where` found by a dict built once per set of columns, instead of a
    pandas mask per cell (the conversion rule reads a hundred cells per segment). The
    same Fact: the value is the column's entry at that row, None when no row matches."""

    def __init__(self, mid: str, q: Query, table: pd.DataFrame) -> None:
        self.mid, self.q, self.table = mid, q, table
        self._index: dict[tuple[str, ...], dict[tuple[object, ...], int]] = {}

    def __call__(
        self, where: tuple[tuple[str, Any], ...], col: str, unit: str | None = None
    ) -> Fact:
        cols = tuple(c for c, _ in where)
        index = self._index.get(cols)
        if index is None:
            index = {}
            keys = zip(*(self.table[c].tolist() for c in cols), strict=True) if cols else ()
            for i, key in enumerate(keys):
                index.setdefault(key, i)
            self._index[cols] = index
        pos = index.get(tuple(v for _, v in where)) if cols else (0 if len(self.table) else None)
        value = None if pos is None else self.table[col].iloc[pos]
        declared = schema(self.mid).get(col)  # the column's declared unit, as table_cell
        if declared is not None and unit is None:
            unit = declared.unit
        if unit is None:
            raise KeyError(f"metric {self.mid!r} declares no unit for column {col!r}")
        return Fact(self.mid, self.q, value, unit, None, ("table", where, col))


# ---- 1. stage conversion fell against its trailing four quarters ---------------------------
def conversion_drop(inp: Inputs) -> list[Item]:
    """Per segment and stage: conversion of decided deals (advanced / (advanced + lost)) in
    this quarter's cohort vs the trailing four quarters' cohorts pooled."""
    out: list[Item] = []
    limit = inp.defs.review.conversion_drop_pts
    open_names = [s.name for s in inp.defs.open_stages]
    for seg, (cur, trailing) in inp.cohorts.items():
        now_t = _table(cur)
        trail_t = [t for t in (_table(r) for r in trailing) if t is not None]
        if now_t is None or not trail_t:
            continue
        now_cells = _Cells("funnel_cohort", cur.query, now_t)
        trail_cells = [
            _Cells("funnel_cohort", r.query, t) for r, t in zip(trailing, trail_t, strict=False)
        ]
        for k, stage in enumerate(open_names):
            where = (("stage", stage),)

            def cells(c: _Cells, where: tuple = where) -> tuple[Fact, Fact]:
                return c(where, "advanced_count"), c(where, "lost_count")

            adv, lost = cells(now_cells)
            pairs = [cells(c) for c in trail_cells]
            if (adv.num or 0) + (lost.num or 0) < MIN_DECIDED_NOW:
                continue
            if sum((a.num or 0) + (b.num or 0) for a, b in pairs) < MIN_DECIDED_TRAILING:
                continue
            now = derived("decided_rate", adv, lost, unit="ratio")
            before = derived(
                "decided_rate", *[a for a, _ in pairs], *[b for _, b in pairs], unit="ratio"
            )
            if now.num is None or before.num is None or before.num - now.num < limit:
                continue
            reached = now_cells(where, "reached_amount")
            nxt = open_names[k + 1] if k + 1 < len(open_names) else inp.defs.won_stage.name
            ev = say(
                "agenda",
                "conversion_drop",
                "{seg}: {stage} → {nxt} conversion is {now} for {p}'s cohort against {before} "
                "over the trailing four quarters ({d}); {amt} reached {stage} this quarter.",
                seg=seg,
                stage=stage,
                nxt=nxt,
                now=(now, "pct"),
                p=inp.q.period,
                before=(before, "pct"),
                d=(derived("pts_shown", now, before, unit="ratio"), "pts"),
                amt=(reached, "money"),
            )
            role = "marketing" if k < inp.defs.qualified_rank else "sales"
            out.append(
                Item(
                    "conversion_drop",
                    f"conversion_drop:{inp.q.period}:{seg}:{stage}",
                    f"{seg} {stage} → {nxt} conversion fell",
                    ev,
                    (before.num - now.num) * float(reached.num or 0.0),
                    role,
                    Reading(
                        "funnel_cohort",
                        inp.q.period,
                        _segment_filter(inp.q, seg),
                        ("table", where, "conversion_to_next"),
                        "up",
                        "ratio",
                    ),
                    DrillSpec(
                        "funnel_asof",
                        inp.q.with_(filters=_segment_filter(inp.q, seg), compare_to=None),
                        (("stage", stage),),
                        (),
                        f"open {seg} deals at {stage} closing in {inp.q.period}",
                    ),
                )
            )
    return out


# ---- 2. coverage below goal ---------------------------------------------------------------
def _target_applies(q: Query) -> bool:
    return all(dim == "segment" for dim, _ in q.filters.items())


def coverage_below_goal(inp: Inputs) -> list[Item]:
    """This and next quarter, per segment (the 'All' row when no segment has a target)."""
    t = _table(inp.coverage)
    if t is None or not _target_applies(inp.q):
        return []
    assert inp.coverage is not None
    cq = inp.coverage.query
    rows = t[t["offset"].isin([0, 1])]
    segs = rows[rows["segment"] != "All"]
    rows = segs if segs["bookings_target"].notna().any() else rows[rows["segment"] == "All"]
    out: list[Item] = []
    cov_cells = _Cells("coverage_matrix", cq, t)
    for _, r in rows.iterrows():
        if pd.isna(r["goal"]) or pd.isna(r["coverage"]) or not r["remaining_target"] > 0:
            continue
        if float(r["coverage"]) >= float(r["goal"]):
            continue
        where = (("period", r["period"]), ("segment", r["segment"]))

        def cell(col: str, where: tuple = where) -> Fact:
            return cov_cells(where, col)

        gap = derived(
            "gap_to_goal",
            cell("goal"),
            cell("bookings_target"),
            cell("won_to_date"),
            cell("open_pipeline"),
        )
        seg = str(r["segment"])
        name = "All segments" if seg == "All" else seg
        ev = say(
            "agenda",
            "coverage_below_goal",
            "{name} {p} coverage is {cov} against a {goal} goal: {gap} more qualified pipeline "
            "is needed ({open} open against {rem} still to book).",
            name=name,
            p=str(r["period"]),
            cov=cell("coverage"),
            goal=cell("goal"),
            gap=(gap, "money"),
            open=cell("open_pipeline"),
            rem=cell("remaining_target"),
        )
        offset = int(r["offset"])
        out.append(
            Item(
                "coverage_below_goal",
                f"coverage_below_goal:{r['period']}:{seg}",
                f"{name} {r['period']} coverage below goal",
                ev,
                float(gap.num or 0.0),
                "sales" if offset == 0 else "marketing",
                Reading(
                    "coverage",
                    str(r["period"]),
                    _segment_filter(inp.q, seg),
                    (),
                    "up",
                    "multiple",
                ),
                DrillSpec(
                    "coverage_matrix",
                    cq,
                    (("period", str(r["period"])), ("segment", seg)),
                    (("counts_as", "open_pipeline"),),
                    f"open qualified {name} deals closing in {r['period']}",
                ),
            )
        )
    return out


# ---- 3. stalled dollars concentrated in owners ------------------------------------------------
def stalled_owner(inp: Inputs) -> list[Item]:
    t = _table(inp.stalled)
    if t is None or "owner" not in t.columns:
        return []
    assert inp.stalled is not None
    sq = inp.stalled.query
    amounts = pd.to_numeric(t["amount"], errors="coerce").fillna(0.0)
    total = float(amounts.sum())
    if total <= 0:
        return []
    by_owner = amounts.groupby(t["owner"].fillna("(no owner)")).agg(["sum", "count"])
    out: list[Item] = []
    total_f = Fact("stalled_deals", sq, total, "usd", None, ("table_sum", (), "amount"))
    for owner, row in by_owner.sort_values("sum", ascending=False).iterrows():
        share = float(row["sum"]) / total
        if share < inp.defs.review.owner_stalled_share or int(row["count"]) < 2:
            continue
        where = (("owner", owner),)
        amt = Fact(
            "stalled_deals", sq, float(row["sum"]), "usd", None, ("table_sum", where, "amount")
        )
        n = Fact("stalled_deals", sq, int(row["count"]), "count", None, ("table_count", where, ""))
        ev = say(
            "agenda",
            "stalled_owner",
            "{owner} holds {n} stalled deals worth {amt}: {share} of the {total} stalled "
            "(in their stage longer than three in four deals before them).",
            owner=str(owner),
            n=n,
            amt=(amt, "money"),
            share=(derived("share", amt, total_f, unit="ratio"), "pct"),
            total=(total_f, "money"),
        )
        out.append(
            Item(
                "stalled_owner",
                f"stalled_owner:{owner}",
                f"Stalled deals concentrated with {owner}",
                ev,
                float(row["sum"]),
                "sales",
                Reading(
                    "stalled_deals", sq.period, sq.filters, ("table_sum", where, "amount"), "down"
                ),
                DrillSpec("stalled_deals", sq, (), where, f"stalled deals owned by {owner}"),
            )
        )
    return out


# ---- 4. speed-to-lead SLA breaches by source or owner --------------------------------------
def sla_breach(inp: Inputs) -> list[Item]:
    """The source and the owner with the most leads missing the SLA, when below the goal."""
    t = _table(inp.speed)
    if t is None:
        return []
    assert inp.speed is not None
    goal = inp.defs.review.sla_compliance_goal
    out: list[Item] = []
    for dim, role in (("source", "marketing"), ("owner", "sales")):
        rows = t[(t["dimension"] == dim) & (t["leads"] >= MIN_LEADS)].copy()
        rows = rows[rows["sla_compliance"].notna() & (rows["sla_compliance"] < goal)]
        if rows.empty:
            continue
        rows["missed"] = rows["leads"] - rows["within_sla"]
        top = rows.sort_values(["missed", "value"], ascending=[False, True]).iloc[0]
        where = (("dimension", dim), ("value", top["value"]))

        def cell(col: str, where: tuple = where) -> Fact:
            return table_cell("speed_to_lead", inp.speed.query, t, where, col)  # type: ignore[union-attr]

        ev = say(
            "agenda",
            "sla_breach",
            "{value} ({dim}) reached {within} of {leads} leads within the {h}-hour SLA: {rate} "
            "against the {goal} goal; median first contact {med} hours.",
            value=str(top["value"]),
            dim=dim,
            within=cell("within_sla"),
            leads=cell("leads"),
            h=f"{inp.defs.sla_hours:g}",
            rate=(cell("sla_compliance"), "pct"),
            goal=f"{goal:.0%}",
            med=f"{float(top['median_hours']):.0f}" if pd.notna(top["median_hours"]) else "—",
        )
        out.append(
            Item(
                "sla_breach",
                f"sla_breach:{dim}:{top['value']}",
                f"Speed-to-lead SLA missed: {top['value']} ({dim})",
                ev,
                0.0,
                role,
                Reading(
                    "speed_to_lead",
                    inp.q.period,
                    inp.speed.query.filters,
                    ("table", where, "sla_compliance"),
                    "up",
                    "ratio",
                ),
                None,
                ["Leads, not deals: no dollar measure, so it ranks after the dollar items."],
            )
        )
    return out


# ---- 5. slippage concentrated in a segment -------------------------------------------------
def slippage_segment(inp: Inputs) -> list[Item]:
    wt, deals = _table(inp.waterfall), inp.pushed
    if wt is None or deals is None or deals.empty or inp.compare_to is None:
        return []
    wq = inp.wq
    start = table_cell("waterfall", wq, wt, (("bucket", "Start"),), "amount")
    sel = (("bucket", "Pushed out"),)
    amounts = pd.to_numeric(deals["amount"], errors="coerce").fillna(0.0)
    total = float(amounts.sum())
    if not start.num or total / float(start.num) < inp.defs.review.slippage_ratio:
        return []
    by_seg = (
        amounts.groupby(deals["segment"].fillna("Unassigned")).sum().sort_values(ascending=False)
    )
    seg, seg_amount = str(by_seg.index[0]), float(by_seg.iloc[0])
    if seg_amount / total < inp.defs.review.segment_slippage_share:
        return []
    where = (("segment", seg),)
    amt = Fact("waterfall", wq, seg_amount, "usd", None, ("drill", sel, where, "sum", "amount"))
    n_seg = int((deals["segment"].fillna("Unassigned") == seg).sum())
    n = Fact("waterfall", wq, n_seg, "count", None, ("drill", sel, where, "count", ""))
    all_f = Fact("waterfall", wq, total, "usd", None, ("drill", sel, (), "sum", "amount"))
    ev = say(
        "agenda",
        "slippage_segment",
        "{n} {seg} {deals} worth {amt} {were} pushed out of {p} since {a}: {share} of the {all} "
        "pushed, and {ratio} of the {start} pipeline at the start.",
        n=n,
        seg=seg,
        deals="deal" if n_seg == 1 else "deals",
        were="was" if n_seg == 1 else "were",
        amt=(amt, "money"),
        p=inp.q.period,
        a=day(inp.compare_to, inp.q.as_of),
        share=(derived("share", amt, all_f, unit="ratio"), "pct"),
        all=(all_f, "money"),
        ratio=(derived("share", all_f, start, unit="ratio"), "pct"),
        start=(start, "money"),
    )
    return [
        Item(
            "slippage_segment",
            f"slippage_segment:{inp.q.period}:{seg}",
            f"{seg} deals pushed out of {inp.q.period}",
            ev,
            seg_amount,
            "sales",
            Reading("coverage", inp.q.period, _segment_filter(inp.q, seg), (), "up", "multiple"),
            DrillSpec("waterfall", wq, sel, where, f"{seg} deals pushed out of {inp.q.period}"),
        )
    ]


# ---- 6. pipeline created behind target ----------------------------------------------------
def created_behind(inp: Inputs) -> list[Item]:
    t = _table(inp.created)
    if t is None or inp.created is None or not _target_applies(inp.q):
        return []
    target_v = t["pipeline_target"].iloc[0]
    if target_v is None or pd.isna(target_v) or float(target_v) <= 0:
        return []
    elapsed = inp.elapsed_share()
    if elapsed >= 1.0:
        return []
    cq = inp.created.query
    created = Fact("pipeline_created", cq, inp.created.value, "usd")
    top = t.sort_values(["amount", "source"], ascending=[False, True]).iloc[0]
    where = (("source", top["source"]),)
    target = table_cell("pipeline_created", cq, t, where, "pipeline_target")
    share = derived("share", created, target, unit="ratio")
    if share.num is None or share.num >= elapsed * (1 - inp.defs.review.created_behind_share):
        return []
    ev = say(
        "agenda",
        "created_behind",
        "{p} pipeline created is {created}, {share} of the {target} pipeline target with {gone} "
        "of the quarter gone; {src} created the most ({src_amt}).",
        p=inp.q.period,
        created=(created, "money"),
        share=(share, "pct"),
        target=(target, "money"),
        gone=f"{elapsed:.0%}",
        src=str(top["source"]),
        src_amt=(table_cell("pipeline_created", cq, t, where, "amount"), "money"),
    )
    return [
        Item(
            "created_behind",
            f"created_behind:{inp.q.period}",
            f"{inp.q.period} pipeline creation behind target",
            ev,
            elapsed * float(target_v) - float(created.num or 0.0),
            "marketing",
            Reading("pipeline_created_total", inp.q.period, cq.filters, (), "up"),
            None,
            ["The target is pro-rated to the day: target × share of the quarter gone."],
        )
    ]


# ---- 7. a data-trust check that got worse ---------------------------------------------------
def trust_worse(inp: Inputs) -> list[Item]:
    now, before = _table(inp.trust_now), _table(inp.trust_before)
    if now is None or before is None or inp.compare_to is None:
        return []
    assert inp.trust_now is not None and inp.trust_before is not None
    out: list[Item] = []
    now_cells = _Cells("trust_checks", inp.trust_now.query, now)
    before_cells = _Cells("trust_checks", inp.trust_before.query, before)
    for _, r in now.iterrows():
        prev = before[before["check_id"] == r["check_id"]]
        if prev.empty or not int(r["count"]) > int(prev["count"].iloc[0]):
            continue
        where = (("check_id", r["check_id"]),)
        n = now_cells(where, "count")
        was = before_cells(where, "count")
        amt = now_cells(where, "amount")
        weeks = r["check_id"] == "missing_weeks"
        ev = say(
            "agenda",
            "trust_worse",
            "{label}: {n} {unit} now, up from {was} on {a}" + ("" if weeks else " ({amt})") + ".",
            label=str(r["label"]),
            n=n,
            unit=("week" if weeks else "deal") + ("" if int(r["count"]) == 1 else "s"),
            was=was,
            a=day(inp.compare_to, inp.q.as_of),
            **({} if weeks else {"amt": (amt, "money")}),  # type: ignore[arg-type]
        )
        prev_amt = float(prev["amount"].iloc[0] or 0.0)
        out.append(
            Item(
                "trust_worse",
                f"trust_worse:{r['check_id']}",
                f"Data trust got worse: {str(r['label']).lower()}",
                ev,
                max(0.0, float(r["amount"] or 0.0) - prev_amt),
                "RevOps",
                Reading(
                    "trust_checks",
                    inp.q.period,
                    inp.trust_now.query.filters,
                    ("table", where, "count"),
                    "down",
                    "count",
                ),
                None
                if weeks
                else DrillSpec(
                    "trust_checks",
                    inp.trust_now.query,
                    (("check_id", str(r["check_id"])),),
                    (),
                    f"deals flagged: {str(r['label']).lower()}",
                ),
            )
        )
    return out


RULES: tuple[Rule, ...] = (
    Rule(
        "conversion_drop",
        "Stage conversion fell",
        "Per segment, each stage's conversion of decided deals (advanced / (advanced + lost)) in "
        "the cohort created this quarter, against the trailing four quarters' cohorts pooled. "
        f"Silent below {MIN_DECIDED_NOW} decided deals now or {MIN_DECIDED_TRAILING} before. "
        "Dollar impact: the drop × the amount that reached the stage this quarter.",
        "a drop of at least [review] conversion_drop_pts (points)",
        "marketing before the qualified stage, sales from it",
        conversion_drop,
    ),
    Rule(
        "coverage_below_goal",
        "Coverage below goal",
        "This and next quarter, per segment (the 'All' row when no segment has a target): "
        "coverage under its goal. Dollar impact: the pipeline needed to reach the goal, "
        "goal × (target − won) − open.",
        "coverage < [coverage_goals] for the period offset",
        "sales this quarter, marketing next quarter",
        coverage_below_goal,
    ),
    Rule(
        "stalled_owner",
        "Stalled dollars concentrated in an owner",
        "An owner with two or more stalled deals (stalled_deals) holding a large share of the "
        "stalled dollars. Dollar impact: the owner's stalled amount.",
        "owner's share ≥ [review] owner_stalled_share",
        "sales",
        stalled_owner,
    ),
    Rule(
        "sla_breach",
        "Speed-to-lead SLA breaches",
        f"Among sources and owners with {MIN_LEADS}+ leads and compliance under the goal, the "
        "source and the owner with the most leads missing the SLA. Leads carry no dollars, so "
        "these rank after the dollar items.",
        "compliance < [review] sla_compliance_goal within [sla] speed_to_lead_hours",
        "marketing by source, sales by owner",
        sla_breach,
    ),
    Rule(
        "slippage_segment",
        "Slippage concentrated in a segment",
        "Pushed-out dollars since the previous snapshot (waterfall) are a large share of the "
        "start pipeline and one segment holds most of them. Dollar impact: that segment's "
        "pushed amount. The decision's metric is the segment's coverage.",
        "pushed / start ≥ [review] slippage_ratio and the segment's share ≥ "
        "[review] segment_slippage_share",
        "sales",
        slippage_segment,
    ),
    Rule(
        "created_behind",
        "Pipeline created behind target",
        "Pipeline created in the quarter (by source) against the pipeline target pro-rated to "
        "the share of the quarter gone. Dollar impact: pro-rated target − created.",
        "created / target < share of quarter gone × (1 − [review] created_behind_share)",
        "marketing",
        created_behind,
    ),
    Rule(
        "trust_worse",
        "A data-trust check got worse",
        "A trust check flags more deals (or weeks) than at the previous snapshot. Dollar "
        "impact: the increase in the amount it touches.",
        "count now > count at the previous snapshot",
        "RevOps",
        trust_worse,
    ),
)
RULE_IDS = tuple(r.id for r in RULES)


def apply(inp: Inputs) -> list[Item]:
    """Every rule's items, ranked by dollar impact (ties keep the rule order)."""
    items = [item for rule in RULES for item in rule.fn(inp)]
    order = {rid: i for i, rid in enumerate(RULE_IDS)}
    items.sort(key=lambda it: (-round(it.impact_usd, 2), order[it.rule_id]))
    # The cap keeps the dollar items a meeting can get through; items without a dollar
    # measure (speed-to-lead) follow them rather than being cut by it.
    dollars = [i for i in items if i.impact_usd > 0][: inp.defs.review.max_items]
    return dollars + [i for i in items if i.impact_usd <= 0]
