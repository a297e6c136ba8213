"""The glossary (docs/metrics.md), rendered from the metric registry.

Nobody edits docs/metrics.md by hand: `steward glossary --write` regenerates it, and a
test fails when the file is stale or a metric lacks a label, description or formula.
The "choices we made" section records how ambiguous definitions were settled.
"""

from __future__ import annotations

from pathlib import Path

from steward.metrics.core import REGISTRY, Metric
from steward.metrics.trust import CHECKS
from steward.review.rules import RULES

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"

UNITS = {
    "usd": "US dollars (reporting currency)",
    "count": "count",
    "ratio": "ratio (shown as %)",
    "multiple": "multiple (shown as 2.7x)",
    "days": "days",
    "usd_per_day": "dollars per day",
    "score": "score 0-100",
    "table": "table",
}
SCOPES = {
    "as_of": "as of one snapshot",
    "history": "across the snapshot history",
}

# How we settled what BRIEF §4 leaves open. Keep each to a sentence or two.
CHOICES: tuple[tuple[str, str], ...] = (
    (
        "Open qualified pipeline",
        "Not closed and a stage at or after the qualified stage. A stage the definitions do "
        "not list (possible when the definitions change after an import) is never pipeline; "
        "the trust check *Unknown stage* counts it.",
    ),
    (
        "Null amounts and probabilities",
        "A null amount counts 0 in every sum (and is flagged by *Blank or zero amount*). A null "
        "probability takes its stage's default; an unknown stage's default is 0.",
    ),
    (
        "Periods",
        "A period is a fiscal quarter of the close date. Won and lost to date use the close date "
        "of the closed deal in the as-of snapshot.",
    ),
    (
        "Filters",
        "Filters cut on the attributes a deal has in the snapshot being read. Targets are set by "
        "segment only: with a region, owner, source, product or stage filter, coverage divides "
        "the cut's pipeline by the segment target and says so in a note.",
    ),
    (
        "Bookings target for a cut",
        "One or more segments filtered: the sum of those segments' rows (no value when one is "
        "missing). No segment filter: the 'All' row, else the sum of the segment rows.",
    ),
    (
        "Coverage edge cases",
        "No target: no value, note 'no target'. Target minus won to date ≤ 0: no value, note "
        "'target already met' (status 'target met' in the matrix). Never divides by ≤ 0.",
    ),
    (
        "Coverage goal",
        "The goal for the period's offset from the as-of quarter (0 = this quarter). In the "
        "coverage matrix, a cell with a target but no goal for its offset has the status 'no goal'.",
    ),
    (
        "Funnel as of",
        "Every open stage (qualified or not, flagged is_qualified), counting open deals with a "
        "close date in the period; % of previous compares with the stage before, % of top with "
        "the first open stage. Deals at unknown stages are left out and named in a note.",
    ),
    (
        "Forecast roll-ups",
        "Commit, best case and stage-weighted add to won to date every open deal (any stage, "
        "not just qualified) closing in the period, matching forecast categories "
        "case-insensitively.",
    ),
    (
        "Waterfall snapshots",
        "A = compare-to, snapped to the latest loaded snapshot on or before it (with a note); "
        "without compare-to, the snapshot before the as-of date. With no earlier snapshot, A = B "
        "and nothing moves.",
    ),
    (
        "Waterfall and changing attributes",
        "The start set is read with A's attributes, the end set with B's. A deal that leaves the "
        "cut (e.g. its segment or owner changed) is *Removed* — unless it closed, since Won and "
        "Lost come first; a deal that enters the cut is *New*. So the bridge reconciles for "
        "every filter.",
    ),
    (
        "Won outside the period",
        "A deal open in P at A and closed-won at B with a close date outside P leaves as *Won* "
        "(Won comes first in the priority order), though it does not count in won to date(P).",
    ),
    (
        "Pulled in before Reopened",
        "A deal closed in A with a close date outside P that is open qualified in P at B is "
        "*Pulled in*, following the brief's priority order (New, Pulled in, Qualified, "
        "Reopened).",
    ),
    (
        "Unchanged deals",
        "Deals in both the start and end sets with the same amount are in no bucket; the "
        "Start and End counts include them.",
    ),
    (
        "Trust checks scope",
        "Checks read the whole as-of snapshot (the period does not apply, except to closed "
        "deals with no open history; filters do). Past "
        "close date, blank amount, pushes, staleness and outliers look at open deals; unknown "
        "stage, probability, duplicates and created-after-close at every deal.",
    ),
    (
        "Deals with an unknown past",
        "A deal no snapshot showed open (first seen already closed: every closed deal of a "
        "one-snapshot import of a current-state export, or of a history that starts at the "
        "loss). A won one reaches every stage, as always. A lost one counts, by default, as a "
        "qualified loss in the win rate and as lost at the qualified stage in cohort "
        "conversion: its stage before the loss is unknown, and counting it is the "
        'conservative choice. Definitions `win_rate.lost_never_seen_open = "exclude"` '
        "leaves them out of both instead. Lost deals seen open only below the qualified stage "
        "are out either way (disqualified early). Velocity, the KPI tiles, the narrative, the "
        "workbook and the board pack take the same numbers; a win rate's note and the "
        "workbook's Win rates sheet say how many lost deals never seen open it holds and "
        "which reading is in force.",
    ),
    (
        "Closed deals with no open history",
        "The trust check that shows how much of a win rate rests on that assumption: deals "
        "closed in the period (the only check that reads the period) that no snapshot up to "
        "the as-of date showed open, with their amount and their share of the period's "
        "closed deals. The narrative says so when the share is 25% or more, and never prints "
        "a 0% or 100% win rate without the won and lost deals behind it. Example: a "
        "one-snapshot file with 3 won and 2 lost deals closed in the quarter has a win rate "
        "of 3 / 5 = 60% (100% under the old reading), and this check shows 5 deals, 100%.",
    ),
    (
        "Closed deals with a future close date",
        "Closed deals in the snapshot whose close date is after the snapshot date. A closed "
        "deal's close date is the day it closed, so such a row cannot be true (in a "
        "reconstruction: a closed state carried back before the history row that records it). "
        "Not part of the score (it counts closed deals only).",
    ),
    (
        "Probability contradicts the stage",
        "Open deals more than 25 points from their stage default; closed-won below 100%; "
        "closed-lost above 0%. Null probabilities are not flagged (the default applies).",
    ),
    (
        "Pushes and staleness",
        "A push is a move of the close date to a later fiscal quarter between consecutive "
        "snapshots in which the deal is present. Stale = an open deal present in the latest "
        "snapshot at least stale_weeks before the as-of date and in every snapshot since, "
        "with stage, amount, close date and open/won status unchanged (the fields the derived "
        "change table tracks; probability and forecast category are not compared). Both are "
        "read from the derived change tables when they are current, else from the raw "
        "snapshots, with the same answer.",
    ),
    (
        "Outliers and duplicates",
        "The outlier median is over open deals with a positive amount. Of duplicated ids, the "
        "copy with the largest amount is taken as the real one and the others are counted as "
        "duplicates; duplicates and vanished deals are not per-deal flags in the trust score "
        "(vanished deals have their own term).",
    ),
    (
        "Headline KPIs",
        "Qualified pipeline, marketing-sourced share, forecast, win rate and velocity use the "
        "query's period; coverage 'this' and 'next quarter' are relative to the as-of quarter. "
        "The forecast tile is the historical P50 when that metric exists, else stage-weighted, "
        "and its note says which and compares it with the target. A tile whose metric fails "
        "shows a note instead of a number.",
    ),
    (
        "KPI deltas",
        "Against the previous snapshot and the snapshot closest to 13 weeks earlier (within 10 "
        "days; none otherwise). A KPI keeps its period's offset from its snapshot's quarter, so "
        "'coverage this quarter' compares with that quarter's coverage then. Ratio deltas are "
        "in percentage points.",
    ),
)


def problems(registry: dict[str, Metric] | None = None) -> list[str]:
    """Metrics missing a label, description or formula."""
    out = []
    for mid, m in sorted((registry or REGISTRY).items()):
        for attr in ("label", "description", "formula"):
            if not str(getattr(m, attr) or "").strip():
                out.append(f"{mid}: no {attr}")
    return out


def _metric_md(m: Metric) -> list[str]:
    dims = ", ".join(m.dims) if m.dims else "none"
    lines = [
        f"### {m.label} (`{m.id}`)",
        "",
        m.description.strip(),
        "",
        f"- **Formula**: {m.formula.strip()}",
        f"- **Unit**: {UNITS.get(m.unit, m.unit)}",
        f"- **Scope**: {SCOPES.get(m.scope, m.scope)}",
        f"- **Cuts**: {dims}",
    ]
    if m.columns:
        cols = "; ".join(
            f"`{c.name}` {c.label}"
            + (f" ({c.unit})" if c.unit else "")
            + (f": {c.description}" if c.description else "")
            for c in m.columns
        )
        lines.append(f"- **Columns**: {cols}")
    if m.drill is not None:
        lines.append("- **Drill**: the deals behind it")
    return [*lines, ""]


def render(registry: dict[str, Metric] | None = None) -> str:
    reg = registry or REGISTRY
    out = [
        "# Metrics glossary",
        "",
        "Generated from the metric registry by `steward glossary --write`; do not edit by hand.",
        "Every number the screen, the CLI, the workbook and the narrative show is declared once",
        "here. Periods are fiscal quarters of the close date unless stated; *open qualified* =",
        "not closed and at or after the qualified stage (see the governed definitions).",
        "",
        "## Contents",
        "",
    ]
    ordered = sorted(reg.values(), key=lambda m: (m.scope != "as_of", m.id))
    out += [f"- [{m.label}](#{_anchor(m)}) — `{m.id}`" for m in ordered]
    out.append("")
    for scope, title in (("as_of", "As-of metrics"), ("history", "History metrics")):
        group = [m for m in ordered if m.scope == scope]
        if not group:
            continue
        out += [f"## {title}", ""]
        for m in group:
            out += _metric_md(m)
    out += ["## Data-trust checks", "", "| check | what it flags | severity |", "|---|---|---|"]
    out += [
        f"| {c.label.format(push_count='N', stale_weeks='N')} (`{c.id}`) | {c.description} "
        f"| {c.severity} |"
        for c in CHECKS
    ]
    out += ["", "## Weekly review agenda rules", ""]
    out += [
        "The Weekly review page and `steward agenda` list the week's bottlenecks, each found "
        "by one of these rules over the metrics above and ranked by dollar impact. Thresholds "
        "are governed: `[review]` (and `[coverage_goals]`, `[sla]`) in the definitions.",
        "",
        "| rule | what fires it | threshold | owner role |",
        "|---|---|---|---|",
    ]
    out += [
        f"| {r.label} (`{r.id}`) | {r.description} | {r.threshold} | {r.owner_role} |"
        for r in RULES
    ]
    out += ["", *_maturity_md()]
    out += ["", "## Choices we made", ""]
    out += [f"- **{title}.** {text}" for title, text in CHOICES]
    return "\n".join(out) + "\n"


def _maturity_md() -> list[str]:
    """The maturity scorecard's evidence rules with the governed thresholds in force."""
    from steward import definitions
    from steward.maturity import rules, scorecard

    defs = definitions.load(definitions.DEFAULT_PATH)
    labels = {d.id: f"{d.matrix} · {d.label}" for d in scorecard.DIMENSIONS}
    out = [
        "## Maturity rules",
        "",
        "Evidence rules of `maturity_scorecard`. Thresholds are the `[maturity]` section of",
        "data/definitions.toml: stage 2 from the first value, stage 3 from the second; a value",
        "at a threshold takes the higher stage; the weakest rule places its dimension.",
        "",
        "| dimension | rule | measures | better | stage 2 from | stage 3 from |",
        "|---|---|---|---|---|---|",
    ]
    for r in rules.RULES:
        two, three = defs.maturity_thresholds.get(r.id, (float("nan"), float("nan")))
        better = "higher" if r.higher_is_better else "lower"
        out.append(
            f"| {labels[r.dimension]} | {r.label} (`{r.id}`) | {r.description} | {better} "
            f"| {two:g} | {three:g} |"
        )
    assessed = [labels[d.id] for d in scorecard.DIMENSIONS if not scorecard.rules_for(d.id)]
    out += [
        "",
        f"Self-assessed (the data cannot tell): {', '.join(assessed)} — the latest dated "
        f"assessment on or before the snapshot, shown as stale after "
        f"{defs.self_assessment_max_age_days} days.",
    ]
    return out


def _anchor(m: Metric) -> str:
    text = f"{m.label} ({m.id})".lower()
    keep = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return keep.replace(" ", "-")


def is_stale(path: Path = DOC_PATH) -> bool:
    try:
        return path.read_text(encoding="utf-8") != render()
    except FileNotFoundError:
        return True


def write(path: Path = DOC_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path
