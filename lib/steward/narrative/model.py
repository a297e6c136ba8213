"""The narrative's building blocks: facts with provenance, sentences, the story.

A `Fact` is one number taken from the metric layer, with the metric id, the Query
and the way it was read (the scalar value, one cell of the metric's table, or a sum
over its deal drill). A sentence keeps the facts behind every number it prints, so
the app can "show the math" and a test can recompute each number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from steward import fmt
from steward.metrics.core import REGISTRY, Column, Query

# How a Fact's value was read from its metric:
#   ()                                         -> Result.value
#   ("table", ((col, val), ...), column)      -> the single table row matching, one column
#   ("table_sum", ((col, val), ...), column)  -> sum of a column over matching rows
#   ("table_count", ((col, val), ...), "")    -> number of matching rows
#   ("drill", ((key, val), ...), ((col, val), ...), "sum"|"count", column)
#   ("derived", op_name)                      -> op over `inputs` (see OPS)
Pick = tuple[Any, ...]


def _num(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else v  # NaN -> None


def _decided_rate(v: list[float | None]) -> float | None:
    half = len(v) // 2
    adv = sum(x or 0.0 for x in v[:half])
    lost = sum(x or 0.0 for x in v[half:])
    return None if adv + lost == 0 else adv / (adv + lost)


OPS: dict[str, Callable[[list[float | None]], float | None]] = {
    # remaining bookings target = target - won to date
    "minus": lambda v: None if v[0] is None or v[1] is None else v[0] - v[1],
    # pipeline still needed to reach the coverage goal = goal * remaining - open
    "gap_to_goal": lambda v: (
        None if None in v else max(0.0, v[0] * (v[1] - v[2]) - v[3])  # type: ignore[operator]
    ),
    # share of the start amount: abs(part) / start
    "share": lambda v: None if v[0] is None or not v[1] else abs(v[0]) / v[1],
    "abs": lambda v: None if v[0] is None else abs(v[0]),
    # conversion of decided deals: sum(advanced) / (sum(advanced) + sum(lost)); inputs are
    # the advanced counts then the lost counts, in pairs (the weekly review's cohort rule)
    "decided_rate": lambda v: _decided_rate(v),
    # change in points between two ratios as shown (48% vs 51% reads -3 pts, not -2)
    "pts_shown": lambda v: (
        None if v[0] is None or v[1] is None else (round(v[0] * 100) - round(v[1] * 100)) / 100
    ),
}

STYLES: dict[str, Callable[[Any], str]] = {
    "money": lambda v: fmt.money(None if v is None else abs(float(v))),
    "signed_money": fmt.signed_money,
    "multiple": fmt.multiple,
    "pct": fmt.pct,
    "pts": fmt.pts,
    "count": fmt.count,
    "score": fmt.score,
    "days": fmt.days,
}
UNIT_STYLE = {
    "usd": "money",
    "multiple": "multiple",
    "ratio": "pct",
    "count": "count",
    "score": "score",
    "days": "days",
}


@dataclass(frozen=True)
class Fact:
    """One number from the metric layer and how it was read."""

    metric_id: str
    query: Query
    value: float | Decimal | int | None
    unit: str = "usd"
    note: str | None = None
    pick: Pick = ()
    inputs: tuple[Fact, ...] = ()

    @property
    def num(self) -> float | None:
        return _num(self.value)

    def how(self) -> str:
        """The read, in words: 'value', 'table[bucket=Won].amount', 'drill(...).sum(amount)'."""
        if not self.pick:
            return "value"
        kind = self.pick[0]
        if kind == "derived":
            args = ", ".join(f"{i.metric_id}:{i.how()}" for i in self.inputs)
            return f"{self.pick[1]}({args})"
        where = ",".join(f"{k}={v}" for k, v in self.pick[1])
        if kind == "drill":
            rows = ",".join(f"{k}={v}" for k, v in self.pick[2])
            agg = self.pick[3] + (f"({self.pick[4]})" if self.pick[4] else "()")
            return f"drill({where})" + (f"[{rows}]" if rows else "") + f".{agg}"
        if kind == "table_count":
            return f"table[{where}].count()"
        if kind == "table_sum":
            return f"table[{where}].sum({self.pick[2]})"
        return f"table[{where}].{self.pick[2]}"


def derived(op: str, *inputs: Fact, unit: str = "usd") -> Fact:
    """A number computed from other facts (e.g. the target still to book)."""
    head = inputs[0]
    value = OPS[op]([i.num for i in inputs])
    return Fact(head.metric_id, head.query, value, unit, None, ("derived", op), tuple(inputs))


@dataclass(frozen=True)
class Number:
    """A printed number and its provenance."""

    fact: Fact
    formatted: str
    style: str = "money"

    def to_dict(self) -> dict[str, Any]:
        v = self.fact.num
        return {
            "metric_id": self.fact.metric_id,
            "query": self.fact.query.describe(),
            "read": self.fact.how(),
            "value": None if v is None else round(v, 6),
            "formatted": self.formatted,
            "style": self.style,
        }


@dataclass
class Sentence:
    section: str  # headline | changes | risks | decisions | trust | definitions
    rule: str
    text: str
    numbers: list[Number] = field(default_factory=list)
    impact: float = 0.0  # dollars, for ranking "what changed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "rule": self.rule,
            "text": self.text,
            "numbers": [n.to_dict() for n in self.numbers],
        }


Part = Fact | tuple[Fact, str] | str | int


def say(section: str, rule: str, template: str, impact: float = 0.0, **parts: Part) -> Sentence:
    """Fill `template` ({name} placeholders); Fact parts are formatted and kept as provenance.

    A part is a plain string, a Fact (formatted by its unit) or (Fact, style) with a
    style from STYLES.
    """
    texts: dict[str, str] = {}
    numbers: list[Number] = []
    for name, part in parts.items():
        if isinstance(part, tuple):
            fact, style = part
        elif isinstance(part, Fact):
            fact, style = part, UNIT_STYLE.get(part.unit, "money")
        else:
            texts[name] = str(part)
            continue
        shown = STYLES[style](fact.value)
        texts[name] = shown
        numbers.append(Number(fact, shown, style))
    return Sentence(section, rule, template.format(**texts), numbers, impact)


def metric_name(metric_id: str) -> str:
    """'Open pipeline (open_pipeline)': the label a board reads, the id the data team greps."""
    spec = REGISTRY.get(metric_id)
    return f"{spec.label} ({metric_id})" if spec and spec.label != metric_id else metric_id


def day(d: date, today: date | None = None) -> str:
    """A date as a board reads it (`fmt.board_date`): '13 Nov 2026', or '13 Nov' in the
    year of `today` when given."""
    return fmt.board_date(d, today)


SECTION_TITLES = {
    "changes": "What changed",
    "risks": "Risks",
    "decisions": "Decisions for next Monday",
}


# The columns of `Narrative.math()`, declared once for whoever shows it (the Board story).
MATH_COLUMNS: tuple[Column, ...] = (
    Column("sentence", "Sentence"),
    Column("shown", "Shown as", None, "the number as the sentence shows it"),
    Column("exact", "Exact value", None, "unrounded, with its unit"),
    Column("metric", "Metric", None, "the metric's label and id"),
    Column("read", "How it is read", None, "the value, a table cell, a sum or a derivation"),
    Column("query", "Query", None, "the as-of date, period, comparison and filters"),
)


@dataclass
class Narrative:
    """The board story: headline, what changed, risks, decisions, trust, definitions."""

    title: str
    scope: str  # filters in words
    comparison: str  # what the changes are measured against, in words
    sentences: list[Sentence]

    def section(self, name: str) -> list[Sentence]:
        return [s for s in self.sentences if s.section == name]

    @property
    def headline(self) -> str:
        return " ".join(s.text for s in self.section("headline"))

    def to_markdown(self) -> str:
        lines = [f"# {self.title}", "", f"*{self.scope} · {self.comparison}*", ""]
        lines += [f"**{self.headline}**", ""]
        for key, title in SECTION_TITLES.items():
            items = self.section(key)
            if not items:
                continue
            lines += [f"## {title}", ""]
            for i, s in enumerate(items, 1):
                lines.append(f"{i}. {s.text}" if key == "decisions" else f"- {s.text}")
            lines.append("")
        lines += ["---", ""]
        lines += [s.text for s in self.section("trust") + self.section("definitions")]
        return "\n".join(lines).rstrip() + "\n"

    def math(self) -> list[dict[str, str]]:
        """'Show the math': one row per number in the story, every cell words with units
        (the columns: MATH_COLUMNS).

        sentence, the number as shown, the metric (label and id), how it was read, the
        exact value in its unit, and the query behind it. Read by the Board story.
        """
        return [
            {
                "sentence": s.text,
                "shown": n.formatted,
                "exact": fmt.exact(n.fact.num, n.fact.unit),
                "metric": metric_name(n.fact.metric_id),
                "read": n.fact.how(),
                "query": ", ".join(f"{k}={v}" for k, v in n.fact.query.describe().items()),
            }
            for s in self.sentences
            for n in s.numbers
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "scope": self.scope,
            "comparison": self.comparison,
            "headline": self.headline,
            "sentences": [s.to_dict() for s in self.sentences],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
