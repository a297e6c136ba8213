"""What an import produces before anything is written: the canonical frame and its issues."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

Progress = Callable[[float, str], None]

#: How many issues of one kind (same column and message) are kept as Issue objects; the
#: rest are only counted, so a file with a million bad rows does not build a million objects.
KEEP_PER_KIND = 50
SHOW = 20


@dataclass(frozen=True)
class Issue:
    """One problem with one value: where it is (file, 1-based line, column) and what is wrong."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (value {self.value!r})"
        return text


@dataclass
class IssueLog:
    """Collects issues; keeps the first KEEP_PER_KIND of each kind and counts the rest."""

    file: str
    items: list[Issue] = field(default_factory=list)
    extra_errors: int = 0
    extra_warnings: int = 0

    def add(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        severity: str = "error",
    ) -> None:
        text = None if value is None else str(value)
        self.items.append(Issue(self.file, row, column, text, message, severity))

    def add_mask(
        self,
        mask: pd.Series | np.ndarray,
        lines: np.ndarray,
        values: pd.Series | None,
        *,
        column: str,
        message: str,
        severity: str = "error",
    ) -> int:
        """Record one issue per True in mask (vectorised: only the first few become objects)."""
        arr = np.asarray(mask, dtype=bool)
        idx = np.flatnonzero(arr)
        for i in idx[:KEEP_PER_KIND]:
            value = None if values is None else values.iloc[int(i)]
            self.add(
                message,
                row=int(lines[i]),
                column=column,
                value="" if value is None or bool(pd.isna(value)) else value,
                severity=severity,
            )
        rest = max(0, len(idx) - KEEP_PER_KIND)
        if severity == "error":
            self.extra_errors += rest
        else:
            self.extra_warnings += rest
        return len(idx)


@dataclass
class Prepared:
    """A parsed, validated import waiting to be committed (or shown as a dry run)."""

    file_name: str
    frame: pd.DataFrame
    preset: str
    issues: list[Issue]
    sha256: str | None = None
    kind: str = "snapshot"  # snapshot | targets | touches | leads
    extra_errors: int = 0
    extra_warnings: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        """Errors in file order (file-wide ones first, then by row and column)."""
        return sorted((i for i in self.issues if i.severity == "error"), key=_position)

    @property
    def warnings(self) -> list[Issue]:
        return sorted((i for i in self.issues if i.severity == "warning"), key=_position)

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.extra_errors

    @property
    def warning_count(self) -> int:
        return len(self.warnings) + self.extra_warnings

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def snapshot_dates(self) -> list[date]:
        if self.kind != "snapshot" or "snapshot_date" not in self.frame or self.frame.empty:
            return []
        values = pd.to_datetime(self.frame["snapshot_date"]).dropna().dt.date.unique()
        return sorted(values)

    def error_lines(self, limit: int = SHOW) -> list[str]:
        """The first `limit` errors as text, plus 'and N more' when there are more."""
        return _listing(self.errors, self.error_count, limit)

    def warning_lines(self, limit: int = SHOW) -> list[str]:
        return _listing(self.warnings, self.warning_count, limit)

    def summary(self) -> str:
        """A few lines a RevOps admin can read: what was found and what would be loaded."""
        lines = [f"{self.file_name}: format {self.preset}, {len(self.frame):,} rows"]
        dates = self.snapshot_dates
        if dates:
            shown = ", ".join(d.isoformat() for d in dates[:5])
            more = f" (+{len(dates) - 5} more)" if len(dates) > 5 else ""
            lines.append(f"  snapshot date(s): {shown}{more}")
        if self.kind == "snapshot" and "amount" in self.frame and len(self.frame):
            total = float(self.frame["amount"].sum(skipna=True))
            lines.append(f"  amount total: {total:,.2f}")
        lines.extend(f"  {n}" for n in self.notes)
        lines.append(f"  {self.error_count} error(s), {self.warning_count} warning(s)")
        lines.extend(f"  error: {t}" for t in self.error_lines())
        lines.extend(f"  warning: {t}" for t in self.warning_lines())
        return "\n".join(lines)


def _position(issue: Issue) -> tuple[int, str]:
    return (-1 if issue.row is None else issue.row, issue.column or "")


def _listing(items: list[Issue], total: int, limit: int) -> list[str]:
    out = [str(i) for i in items[:limit]]
    if total > limit:
        out.append(f"... and {total - limit} more")
    return out
