"""Row checks that need the whole column: stages, duplicates, closed/won flags.

Every problem names the file, the 1-based row (line) in it, the column as written in the
file, and the value. Decisions documented in docs/import-formats.md:
- an unknown stage is an error unless the mapping or the definitions alias it;
- is_closed / is_won always follow the governed stage; when the file's flags disagree,
  that is a warning (the stage is what the definitions govern, the flags are CRM noise);
- a duplicate opportunity id within one snapshot date is an error naming both rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steward.definitions import Definitions, normalize_label
from steward.ingest.model import KEEP_PER_KIND, IssueLog
from steward.ingest.presets import FORECAST_SPELLINGS


def resolve_stages(
    raw: pd.Series,
    defs: Definitions,
    aliases: dict[str, str],
    lines: np.ndarray,
    column: str,
    log: IssueLog,
) -> pd.Series:
    """Governed stage names (missing where unknown or blank; both logged as errors)."""
    local = {normalize_label(k): v for k, v in aliases.items()}
    for target in set(local.values()):
        if target not in defs.stage_names:
            log.add(
                f"the mapping aliases a stage to {target!r}, which is not a governed stage",
                column="stage_aliases",
                value=target,
            )
    codes, uniques = pd.factorize(raw, sort=False)
    resolved: list[str | None] = []
    for value in uniques:
        key = normalize_label(value)
        name = local.get(key) if key in local else defs.resolve_stage(value)
        resolved.append(name if name in defs.stage_names else None)
    lookup = np.asarray(resolved + [None], dtype=object)
    stages = pd.Series(lookup[codes], index=raw.index, dtype=object)  # -1 (missing) -> None
    blank = (raw.isna() | (raw == "")).to_numpy(dtype=bool)
    unknown = stages.isna().to_numpy(dtype=bool) & ~blank
    log.add_mask(blank, lines, raw, column=column, message="stage is blank")
    if unknown.any():
        known = ", ".join(defs.stage_names)
        log.add_mask(
            unknown,
            lines,
            raw,
            column=column,
            message=f"unknown stage (governed stages: {known}; add an alias in the mapping)",
        )
    return stages


def stage_flags(stages: pd.Series, defs: Definitions) -> tuple[pd.Series, pd.Series, pd.Series]:
    """is_closed, is_won and default probability for each governed stage name."""
    closed = {s.name: s.is_closed for s in defs.stages}
    won = {s.name: s.is_won for s in defs.stages}
    prob = {s.name: s.probability for s in defs.stages}
    return (
        stages.map(closed).fillna(False).astype(bool),
        stages.map(won).fillna(False).astype(bool),
        stages.map(prob).astype(float),
    )


def check_flags(
    derived: pd.Series,
    given: pd.Series,
    lines: np.ndarray,
    raw: pd.Series,
    column: str,
    what: str,
    log: IssueLog,
) -> None:
    """Warn where the file's flag disagrees with the flag the governed stage implies."""
    mask = (given.notna() & (given.fillna(False).astype(bool) != derived)).to_numpy(dtype=bool)
    log.add_mask(
        mask,
        lines,
        raw,
        column=column,
        message=f"{what} disagrees with the stage; the governed stage wins",
        severity="warning",
    )


def normalize_forecast(
    raw: pd.Series, defs: Definitions, lines: np.ndarray, column: str, log: IssueLog
) -> pd.Series:
    """Governed forecast category labels; unknown values kept as written, with a warning."""
    known = {normalize_label(c): c for c in defs.forecast_categories}
    for spelled, label in FORECAST_SPELLINGS.items():
        if label in defs.forecast_categories:
            known.setdefault(spelled, label)
    codes, uniques = pd.factorize(raw, sort=False)
    mapped = [
        known.get(normalize_label(u).replace(" ", ""), known.get(normalize_label(u)))
        for u in uniques
    ]
    unknown_u = np.asarray([m is None for m in mapped] + [False])
    out = np.asarray(
        [m if m is not None else u for m, u in zip(mapped, uniques, strict=True)] + [None],
        dtype=object,
    )
    log.add_mask(
        unknown_u[codes],
        lines,
        raw,
        column=column,
        message="unknown forecast category (kept as written)",
        severity="warning",
    )
    return pd.Series(out[codes], index=raw.index, dtype=object)


def check_duplicates(frame: pd.DataFrame, lines: np.ndarray, column: str, log: IssueLog) -> None:
    """An opportunity id twice in one snapshot date: one error naming both (all) rows."""
    keys = frame[["snapshot_date", "opportunity_id"]]
    dup = keys.duplicated(keep=False).to_numpy(dtype=bool) & frame[
        "opportunity_id"
    ].notna().to_numpy(dtype=bool)
    if not dup.any():
        return
    sub = keys[dup].assign(_line=lines[dup])
    groups = sub.groupby(["snapshot_date", "opportunity_id"], sort=False)["_line"].agg(list)
    for n, ((snap, oid), rows) in enumerate(groups.items()):
        if n >= KEEP_PER_KIND:
            log.extra_errors += len(groups) - KEEP_PER_KIND
            break
        day = "" if pd.isna(snap) else f" in snapshot {pd.Timestamp(snap).date().isoformat()}"
        log.add(
            f"duplicate opportunity id{day}: rows {' and '.join(str(r) for r in rows)}",
            row=int(rows[0]),
            column=column,
            value=oid,
        )
