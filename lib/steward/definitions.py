"""Governed definitions: stages, aliases, sources, fiscal calendar, goals.

Loaded from a versioned TOML file and validated strictly, because every number the
product shows depends on it. `Definitions.stamp` (version + short hash) is printed on
every page footer and export so a change is always visible.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from steward.errors import DefinitionsError

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "definitions.toml"

_TOP_KEYS = {
    "version",
    "owner",
    "fiscal",
    "pipeline",
    "stages",
    "stage_aliases",
    "sources",
    "forecast",
    "coverage_goals",
    "sla",
    "influence",
    "trust",
    "crm",
    "review",
    "win_rate",
    "import",
    "maturity",
}
_SECTION_KEYS = {
    "fiscal": {"year_start_month"},
    "pipeline": {"qualified_stage", "currency"},
    "sources": {"marketing"},
    "forecast": {"categories", "commit", "best_case"},
    "sla": {"speed_to_lead_hours"},
    "influence": {"lookback_days"},
    "trust": {"stale_weeks", "push_count", "outlier_multiple"},
    "crm": {"record_url_template"},
    "review": {
        "conversion_drop_pts",
        "sla_compliance_goal",
        "owner_stalled_share",
        "segment_slippage_share",
        "slippage_ratio",
        "created_behind_share",
        "max_items",
    },
    "win_rate": {"lost_never_seen_open"},
    "import": {"earliest_date", "latest_date"},
}
# How a lost deal that no snapshot ever showed open counts in win rates and cohorts:
# "count" = as qualified (its stage before the loss is unknown; the conservative
# reading), "exclude" = left out like a deal disqualified early.
LOST_NEVER_SEEN_OPEN = ("count", "exclude")
_STAGE_KEYS = {"name", "probability", "is_closed", "is_won"}


def normalize_label(value: str) -> str:
    """Case- and whitespace-insensitive key used to match stage names and aliases."""
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


@dataclass(frozen=True)
class Stage:
    name: str
    rank: int  # 0-based order in the governed list
    probability: float
    is_closed: bool = False
    is_won: bool = False


@dataclass(frozen=True)
class ReviewThresholds:
    """The Monday agenda's thresholds ([review] in the definitions): signed off, not tuned in code."""

    conversion_drop_pts: float = 0.10  # stage conversion this quarter vs its trailing four
    sla_compliance_goal: float = 0.80  # share of leads contacted within the SLA hours
    owner_stalled_share: float = 0.25  # one owner's share of the stalled dollars
    segment_slippage_share: float = 0.50  # one segment's share of the pushed-out dollars
    slippage_ratio: float = 0.05  # pushed-out share of the start pipeline worth a review
    created_behind_share: float = 0.10  # pipeline created behind its pro-rated target by this share
    max_items: int = 8  # the agenda a meeting can get through


@dataclass(frozen=True)
class Definitions:
    version: str
    digest: str
    stages: tuple[Stage, ...]
    qualified_stage: str
    aliases: dict[str, str]
    marketing_sources: tuple[str, ...]
    fiscal_year_start_month: int = 1
    currency: str = "USD"
    forecast_categories: tuple[str, ...] = ("Pipeline", "Best Case", "Commit", "Closed", "Omitted")
    commit_categories: tuple[str, ...] = ("Commit", "Closed")
    best_case_categories: tuple[str, ...] = ("Best Case", "Commit", "Closed")
    coverage_goals: dict[int, float] = field(default_factory=dict)
    sla_hours: float = 24.0
    lookback_days: int = 90
    stale_weeks: int = 8
    push_count: int = 3
    outlier_multiple: float = 20.0
    record_url_template: str = ""
    review: ReviewThresholds = field(default_factory=ReviewThresholds)
    lost_never_seen_open: str = "count"
    # The governed window for every date an import reads: outside it a date is a typo or
    # a CRM placeholder (0000-01-01, 9999-12-31), refused rather than stored.
    earliest_date: date = date(1990, 1, 1)
    latest_date: date = date(2100, 12, 31)
    # Maturity evidence rules: rule id -> (stage 2 from, stage 3 from); see steward.maturity.
    maturity_thresholds: dict[str, tuple[float, float]] = field(default_factory=dict)
    self_assessment_max_age_days: int = 180
    owner: str = ""
    source_path: str = ""

    # ---- derived views -------------------------------------------------------------
    @property
    def stamp(self) -> str:
        """Short label for footers and exports, e.g. 'definitions 2026.11 · 3f9a1c2d'."""
        return f"definitions {self.version} · {self.digest}"

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    @property
    def open_stages(self) -> list[Stage]:
        return [s for s in self.stages if not s.is_closed]

    @property
    def qualified_rank(self) -> int:
        return self.stage(self.qualified_stage).rank

    @property
    def won_stage(self) -> Stage:
        return next(s for s in self.stages if s.is_won)

    @property
    def lost_stages(self) -> list[Stage]:
        return [s for s in self.stages if s.is_closed and not s.is_won]

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    def resolve_stage(self, raw: Any) -> str | None:
        """Map a CRM stage label to the governed stage name, or None when unknown."""
        if raw is None:
            return None
        key = normalize_label(str(raw))
        if not key:
            return None
        for s in self.stages:
            if normalize_label(s.name) == key:
                return s.name
        return self.aliases.get(key)

    def is_marketing(self, source: str | None) -> bool:
        if source is None:
            return False
        return normalize_label(source) in {normalize_label(m) for m in self.marketing_sources}

    @property
    def counts_unseen_lost(self) -> bool:
        """Whether lost deals never seen open count as qualified losses (the default)."""
        return self.lost_never_seen_open == "count"

    def coverage_goal(self, offset: int) -> float | None:
        return self.coverage_goals.get(offset)

    def record_url(self, opportunity_id: str) -> str | None:
        if not self.record_url_template:
            return None
        return self.record_url_template.replace("{opportunity_id}", str(opportunity_id))

    def as_rows(self) -> list[tuple[str, str]]:
        """Flat (setting, value) rows for the Definitions sheet and page."""
        rows = [
            ("Version", self.version),
            ("Hash", self.digest),
            ("Owner", self.owner),
            ("Fiscal year starts (month)", str(self.fiscal_year_start_month)),
            ("Reporting currency", self.currency),
            ("Qualified pipeline starts at", self.qualified_stage),
        ]
        for s in self.stages:
            kind = "closed-won" if s.is_won else "closed-lost" if s.is_closed else "open"
            rows.append((f"Stage {s.rank + 1}: {s.name}", f"{s.probability:.0%} · {kind}"))
        rows.append(("Marketing-sourced sources", ", ".join(self.marketing_sources)))
        rows.append(("Commit roll-up categories", ", ".join(self.commit_categories)))
        rows.append(("Best-case roll-up categories", ", ".join(self.best_case_categories)))
        for off, goal in sorted(self.coverage_goals.items()):
            rows.append((f"Coverage goal, quarter +{off}", f"{goal:.1f}x"))
        rows.append(("Speed-to-lead SLA (hours)", f"{self.sla_hours:g}"))
        rows.append(("Influence look-back (days)", str(self.lookback_days)))
        rows.append(("Stalled / stale after (weeks)", str(self.stale_weeks)))
        rows.append(("Pushed too often (times)", str(self.push_count)))
        rows.append(("Amount outlier (x median)", f"{self.outlier_multiple:g}"))
        rows.append(("Lost deals never seen open (win rate)", self.lost_never_seen_open))
        rows.append(("Stage aliases", str(len(self.aliases))))
        rows.append(("Dates accepted on import", f"{self.earliest_date} to {self.latest_date}"))
        for rule, (two, three) in sorted(self.maturity_thresholds.items()):
            rows.append((f"Maturity rule {rule}", f"stage 2 from {two:g}, stage 3 from {three:g}"))
        rows.append(("Self-assessment valid for (days)", str(self.self_assessment_max_age_days)))
        return rows


def _fail(path: str, msg: str) -> DefinitionsError:
    return DefinitionsError(f"{path}: {msg}")


def _check_keys(path: str, where: str, got: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(got) - allowed)
    if unknown:
        raise _fail(path, f"unknown key(s) in {where}: {', '.join(unknown)}")


def _prob(path: str, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, f"{where}: probability must be a number, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise _fail(path, f"{where}: probability {value!r} is outside 0-1")
    return float(value)


def _maturity(path: str, raw: Any) -> tuple[dict[str, tuple[float, float]], int]:
    """[maturity]: `rule = [stage 2 from, stage 3 from]` pairs and the self-assessment age.

    Which way is better (higher or lower) is declared with the rule in steward.maturity;
    here each pair only has to be two distinct numbers.
    """
    if not isinstance(raw, dict):
        raise _fail(path, "[maturity] must be a table")
    out: dict[str, tuple[float, float]] = {}
    max_age = 180
    for key, value in raw.items():
        if key == "self_assessment_max_age_days":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise _fail(path, f"[maturity] {key} must be a whole number of days > 0")
            max_age = value
            continue
        pair = value if isinstance(value, list) else None
        if (
            pair is None
            or len(pair) != 2
            or any(isinstance(v, bool) or not isinstance(v, int | float) for v in pair)
            or pair[0] == pair[1]
        ):
            raise _fail(
                path, f"[maturity] {key} must be [stage 2 from, stage 3 from], got {value!r}"
            )
        out[str(key)] = (float(pair[0]), float(pair[1]))
    return out, max_age


def parse(text: str, path: str = "<definitions>") -> Definitions:
    """Parse and validate definitions TOML text. Raises DefinitionsError with the reason."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML: {exc}") from exc
    _check_keys(path, "the top level", raw, _TOP_KEYS)
    for section, allowed in _SECTION_KEYS.items():
        if section in raw:
            if not isinstance(raw[section], dict):
                raise _fail(path, f"[{section}] must be a table")
            _check_keys(path, f"[{section}]", raw[section], allowed)
    version = str(raw.get("version", "")).strip()
    if not version:
        raise _fail(path, "missing 'version'")

    raw_stages = raw.get("stages")
    if not isinstance(raw_stages, list) or len(raw_stages) < 3:
        raise _fail(path, "[[stages]] must list at least one open, one won and one lost stage")
    stages: list[Stage] = []
    seen: set[str] = set()
    for i, st in enumerate(raw_stages):
        where = f"stages[{i + 1}]"
        _check_keys(path, where, st, _STAGE_KEYS)
        name = str(st.get("name", "")).strip()
        if not name:
            raise _fail(path, f"{where}: missing 'name'")
        if normalize_label(name) in seen:
            raise _fail(path, f"{where}: duplicate stage {name!r}")
        seen.add(normalize_label(name))
        is_won = bool(st.get("is_won", False))
        is_closed = bool(st.get("is_closed", False)) or is_won
        stages.append(Stage(name, i, _prob(path, where, st.get("probability")), is_closed, is_won))
    first_closed = next((s.rank for s in stages if s.is_closed), None)
    if first_closed is None or any(not s.is_closed for s in stages[first_closed:]):
        raise _fail(path, "stages are out of order: closed stages must come after every open stage")
    if sum(s.is_won for s in stages) != 1:
        raise _fail(path, "exactly one stage must have is_won = true")
    if not any(s.is_closed and not s.is_won for s in stages):
        raise _fail(
            path, "at least one closed-lost stage (is_closed = true, is_won = false) is required"
        )
    open_probs = [s.probability for s in stages if not s.is_closed]
    if open_probs != sorted(open_probs):
        raise _fail(path, "stages are out of order: open-stage probabilities must not decrease")

    pipeline = raw.get("pipeline", {})
    qualified = str(pipeline.get("qualified_stage", "")).strip()
    names = {s.name for s in stages}
    if qualified not in names:
        raise _fail(path, f"[pipeline] qualified_stage {qualified!r} is not one of the stages")
    if next(s for s in stages if s.name == qualified).is_closed:
        raise _fail(path, "[pipeline] qualified_stage must be an open stage")

    aliases: dict[str, str] = {}
    for alias, target in raw.get("stage_aliases", {}).items():
        if target not in names:
            raise _fail(path, f"[stage_aliases] {alias!r} maps to unknown stage {target!r}")
        aliases[normalize_label(alias)] = target

    fiscal_month = raw.get("fiscal", {}).get("year_start_month", 1)
    if not isinstance(fiscal_month, int) or not 1 <= fiscal_month <= 12:
        raise _fail(path, f"[fiscal] year_start_month must be 1-12, got {fiscal_month!r}")

    goals: dict[int, float] = {}
    for key, goal in raw.get("coverage_goals", {}).items():
        if not str(key).isdigit():
            raise _fail(path, f"[coverage_goals] key {key!r} must be a period offset 0, 1, 2 ...")
        if isinstance(goal, bool) or not isinstance(goal, int | float) or goal <= 0:
            raise _fail(path, f"[coverage_goals] goal for offset {key} must be > 0, got {goal!r}")
        goals[int(key)] = float(goal)

    unseen = raw.get("win_rate", {}).get("lost_never_seen_open", "count")
    if unseen not in LOST_NEVER_SEEN_OPEN:
        raise _fail(
            path,
            f"[win_rate] lost_never_seen_open must be one of "
            f"{', '.join(LOST_NEVER_SEEN_OPEN)}, got {unseen!r}",
        )

    maturity, max_age = _maturity(path, raw.get("maturity", {}))
    fc = raw.get("forecast", {})
    sla = raw.get("sla", {})
    infl = raw.get("influence", {})
    trust = raw.get("trust", {})
    earliest, latest = _window(path, raw.get("import", {}))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return Definitions(
        version=version,
        digest=digest,
        stages=tuple(stages),
        qualified_stage=qualified,
        aliases=aliases,
        marketing_sources=tuple(raw.get("sources", {}).get("marketing", [])),
        fiscal_year_start_month=fiscal_month,
        currency=str(pipeline.get("currency", "USD")),
        forecast_categories=tuple(fc.get("categories", Definitions.forecast_categories)),
        commit_categories=tuple(fc.get("commit", Definitions.commit_categories)),
        best_case_categories=tuple(fc.get("best_case", Definitions.best_case_categories)),
        coverage_goals=goals,
        sla_hours=float(sla.get("speed_to_lead_hours", 24)),
        lookback_days=int(infl.get("lookback_days", 90)),
        stale_weeks=int(trust.get("stale_weeks", 8)),
        push_count=int(trust.get("push_count", 3)),
        outlier_multiple=float(trust.get("outlier_multiple", 20.0)),
        record_url_template=str(raw.get("crm", {}).get("record_url_template", "")),
        review=_review(path, raw.get("review", {})),
        lost_never_seen_open=unseen,
        earliest_date=earliest,
        latest_date=latest,
        maturity_thresholds=maturity,
        self_assessment_max_age_days=max_age,
        owner=str(raw.get("owner", "")),
        source_path=path,
    )


def _review(path: str, raw: dict[str, Any]) -> ReviewThresholds:
    """[review] thresholds: shares in 0-1, max_items a positive whole number."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "max_items":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _fail(path, f"[review] max_items must be a whole number >= 1, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise _fail(path, f"[review] {key} must be a share between 0 and 1, got {value!r}")
        values[key] = value
    return ReviewThresholds(**values)


def _window(path: str, section: dict[str, Any]) -> tuple[date, date]:
    """[import] earliest_date / latest_date (TOML dates or YYYY-MM-DD text)."""
    out = []
    for key, default in (("earliest_date", date(1990, 1, 1)), ("latest_date", date(2100, 12, 31))):
        value = section.get(key, default)
        try:
            out.append(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError as exc:
            raise _fail(path, f"[import] {key} {value!r} is not a date YYYY-MM-DD") from exc
    if out[0] >= out[1]:
        raise _fail(path, "[import] earliest_date must be before latest_date")
    return out[0], out[1]


def load(path: str | Path | None = None) -> Definitions:
    """Load definitions from `path`, $STEWARD_DEFINITIONS, or data/definitions.toml."""
    p = Path(path or os.environ.get("STEWARD_DEFINITIONS") or DEFAULT_PATH)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionsError(f"{p}: cannot read definitions file ({exc.strerror})") from exc
    return parse(text, str(p))
