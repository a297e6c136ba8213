"""The finance workbook: typed, formatted, reconciling to the cent with the screen.

Sheets: Summary, Coverage, Forecast, Waterfall, Pipeline, Win rates, Scenarios,
Maturity (both in `xlsx_plan`), Definitions.
Every number is read from the metric layer (compute / drill) with the same Query the
screen uses. Bookings targets on the Coverage sheet are input cells (yellow, blue
text) and coverage is a live formula over them, so finance can try other targets.

Text from the CRM never becomes a formula: a string starting with = + - @ (or a tab or
carriage return) is stored as a string cell with Excel's quote prefix.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from steward import query, textsafe
from steward.definitions import Definitions
from steward.fmt import EXCEL_FORMATS
from steward.metrics.core import REGISTRY, Column, Query, columns_of, compute, drill
from steward.metrics.deals import deal_schema
from steward.metrics.targets import NO_TARGET_FOR_CUT
from steward.narrative.facts import WATERFALL_MOVES

FONT_NAME = "Calibri"
ACCENT = "1F3A5F"
INPUT_FILL = "FFF2CC"
INPUT_BLUE = "0000FF"
RISKY_PREFIXES = textsafe.FORMULA_PREFIXES
WRAP_CHARS = 62  # characters per line of a 60-wide wrapped column (Calibri 11)

SHEETS = (
    "Summary",
    "Coverage",
    "Forecast",
    "Waterfall",
    "Pipeline",
    "Win rates",
    "Scenarios",
    "Maturity",
    "Definitions",
)

SUMMARY_METRICS = (
    "open_pipeline",
    "weighted_pipeline",
    "open_count",
    "won_to_date",
    "lost_to_date",
    "bookings_target",
    "coverage",
    "coverage_goal",
    "forecast_commit",
    "forecast_best_case",
    "forecast_weighted",
    "forecast_historical",
    "marketing_sourced_pipeline",
    "marketing_sourced_share",
    "win_rate_count",
    "win_rate_value",
    "sales_cycle_days",
    "pipeline_velocity",
    "trust_score",
)

_WATERFALL_EXTRA = ("amount_from", "amount_to", "amount_change", "stage_from", "close_date_from")


# ---- cells -------------------------------------------------------------------------------
def clean(value: Any) -> Any:
    """A value openpyxl can type: NaN/NaT -> None, Timestamp -> date, numpy -> Python."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        return textsafe.for_cell(value)
    if isinstance(value, date | Decimal | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item"):  # numpy scalar
        return clean(value.item())
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def put(ws: Worksheet, row: int, col: int, value: Any, number_format: str | None = None) -> Cell:
    """Write one cell; text that a spreadsheet would run as a formula stays text."""
    cell = ws.cell(row=row, column=col)
    v = clean(value)
    if isinstance(v, str) and v.startswith(RISKY_PREFIXES):
        cell.value = v
        cell.data_type = "s"
        cell.quotePrefix = True
    else:
        cell.value = v
    if number_format and not isinstance(v, str):
        cell.number_format = number_format
    return cell


def formula(ws: Worksheet, row: int, col: int, text: str, number_format: str | None) -> Cell:
    """Write a formula we built ourselves (never from data)."""
    cell = ws.cell(row=row, column=col, value=text)
    if number_format:
        cell.number_format = number_format
    return cell


# A sheet's table columns are the metric layer's `Column` (name, label, unit): a table
# metric's declared columns go in as they are (`columns_of`, the deal schema); the sheet's
# own (the Summary's, the input cells) are written the same way. The header is the
# label, the number format the unit's (EXCEL_FORMATS).
DEAL_SHEET_COLUMNS = deal_schema()


class Sheet:
    """Writes titled, tabled sheets with one font, frozen headers and sensible widths."""

    def __init__(self, wb: Workbook, title: str, first: bool = False) -> None:
        self.ws = wb.active if first else wb.create_sheet()
        assert self.ws is not None
        self.ws.title = title
        self.widths: dict[int, int] = {}
        self.tables = 0

    def title(self, text: str, subtitle: str) -> None:
        put(self.ws, 1, 1, text).font = Font(name=FONT_NAME, size=14, bold=True, color=ACCENT)
        put(self.ws, 2, 1, subtitle).font = Font(name=FONT_NAME, size=10, italic=True)

    def note(self, row: int, text: str) -> None:
        put(self.ws, row, 1, text).font = Font(name=FONT_NAME, size=10, color="5B6670")

    def fit(self, col: int, value: Any, fmt_unit: str | None = None) -> None:
        v = clean(value)
        if v is None:
            n = 4
        elif isinstance(v, date):
            n = 10
        elif isinstance(v, int | float | Decimal) and fmt_unit in ("usd", "usd_whole"):
            n = len(f"{float(v):,.2f}") + 5  # "$", sign, and air before the next column
        elif isinstance(v, int | float | Decimal):
            n = len(f"{float(v):,.2f}") + 3
        else:
            n = len(str(v))
        self.widths[col] = min(60, max(self.widths.get(col, 8), n + 2))

    def table(
        self,
        top: int,
        name: str,
        columns: Sequence[Column],
        rows: Sequence[dict[str, Any]],
        left: int = 1,
    ) -> int:
        """Header at `top`, rows below, as a native Excel table. Returns the last row."""
        ws = self.ws
        for j, c in enumerate(columns):
            cell = put(ws, top, left + j, c.label)
            cell.font = Font(name=FONT_NAME, bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor=ACCENT)
            cell.alignment = Alignment(wrap_text=False)
            self.fit(left + j, c.label)
        for i, row in enumerate(rows, start=1):
            for j, c in enumerate(columns):
                value = row.get(c.name)
                fmtx = EXCEL_FORMATS.get(c.unit or "") if c.unit else None
                if c.name in row.get("_formulas", ()):
                    formula(ws, top + i, left + j, str(value), fmtx)
                    self.fit(left + j, "at or above goal")  # the widest formula result
                else:
                    put(ws, top + i, left + j, value, fmtx)
                    self.fit(left + j, value, c.unit)
        last = top + max(1, len(rows))
        if not rows:  # an Excel table needs a data row
            put(ws, top + 1, left, "(none)")
        ref = f"{get_column_letter(left)}{top}:{get_column_letter(left + len(columns) - 1)}{last}"
        self.tables += 1
        t = Table(displayName=name, ref=ref)
        t.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        ws.add_table(t)
        return last

    def finish(self, freeze_row: int) -> None:
        ws = self.ws
        for row in ws.iter_rows():
            for cell in row:
                f = cell.font
                if f is None or f.name != FONT_NAME:
                    cell.font = Font(
                        name=FONT_NAME,
                        size=f.size if f and f.size else 11,
                        bold=f.bold if f else False,
                        italic=f.italic if f else False,
                        color=f.color if f else None,
                    )
        for col, width in self.widths.items():
            ws.column_dimensions[get_column_letter(col)].width = width
        ws.column_dimensions["A"].width = max(self.widths.get(1, 10), 14)
        ws.freeze_panes = f"A{freeze_row}"
        # Printing: landscape, every column on one page width, header rows repeated.
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = f"1:{freeze_row - 1}"


# ---- data --------------------------------------------------------------------------------
def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None or frame.empty:
        return []
    return [dict(r) for r in frame.to_dict(orient="records")]


def _scalar(con: duckdb.DuckDBPyConnection, mid: str, q: Query, defs: Definitions) -> Any:
    return compute(con, mid, q, defs).value


@dataclass
class Context:
    con: duckdb.DuckDBPyConnection
    q: Query
    defs: Definitions
    compare_to: date | None
    generated_at: datetime
    trust_score: Any

    @property
    def subtitle(self) -> str:
        return (
            f"{self.q.period} · as of {self.q.as_of.isoformat()} · {self.q.filters.describe()}"
            f" · {self.defs.stamp}"
        )

    def metadata(self) -> list[tuple[str, Any, str | None]]:
        return [
            ("As of snapshot", self.q.as_of, "date"),
            ("Period", self.q.period, None),
            ("Compared with snapshot", self.compare_to, "date"),
            ("Filters", self.q.filters.describe(), None),
            ("Access scope", self.q.filters.scope.label, None),
            ("Definitions", self.defs.stamp, None),
            ("Definitions version", self.defs.version, None),
            ("Trust score (0-100)", self.trust_score, "score"),
            ("Generated at (UTC)", self.generated_at.strftime("%Y-%m-%d %H:%M:%S"), None),
        ]


def _metadata_block(sh: Sheet, ctx: Context, top: int) -> int:
    for i, (label, value, unit) in enumerate(ctx.metadata()):
        put(sh.ws, top + i, 1, label).font = Font(name=FONT_NAME, bold=True)
        cell = put(sh.ws, top + i, 2, value, EXCEL_FORMATS.get(unit or "", None))
        cell.alignment = Alignment(horizontal="left")
        sh.fit(1, label)
        sh.fit(2, value)
    return top + len(ctx.metadata())


def summary_sheet(wb: Workbook, ctx: Context) -> None:
    sh = Sheet(wb, "Summary", first=True)
    sh.title("Pipeline Steward: finance workbook", ctx.subtitle)
    end = _metadata_block(sh, ctx, 4)
    rows = []
    for mid in SUMMARY_METRICS:
        m = REGISTRY[mid]
        r = compute(ctx.con, mid, ctx.q, ctx.defs)
        rows.append(
            {"label": m.label, "value": r.value, "unit": m.unit, "id": mid, "note": r.note or ""}
        )
    top = end + 2
    last = sh.table(
        top,
        "tblSummary",
        [
            Column("label", "Metric"),
            Column("value", "Value"),
            Column("id", "Metric id"),
            Column("note", "Note"),
        ],
        rows,
    )
    for i, row in enumerate(rows, start=1):  # one unit per row: format cell by cell
        sh.ws.cell(row=top + i, column=2).number_format = EXCEL_FORMATS.get(
            str(row["unit"]), "General"
        )
    kpi_table(sh, ctx, last + 3)
    sh.finish(freeze_row=3)


def kpi_table(sh: Sheet, ctx: Context, top: int) -> None:
    """The Board story tiles with their changes (steward.kpis), as on the screen."""
    from steward.kpis import headline_kpis

    kpis = headline_kpis(ctx.con, ctx.q, ctx.defs)
    put(sh.ws, top - 1, 1, "Headline KPIs (as on the Board story page)").font = Font(
        name=FONT_NAME, bold=True, color=ACCENT
    )
    rows = [
        {
            "label": k.label,
            "period": k.period,
            "value": k.value,
            "prev": k.delta_prev,
            "qoq": k.delta_qoq,
            "ids": ", ".join(k.metric_ids),
            "note": k.note or "",
        }
        for k in kpis
    ]
    sh.table(
        top,
        "tblKPIs",
        [
            Column("label", "KPI"),
            Column("period", "Period"),
            Column("value", "Value"),
            Column("prev", "Change vs previous snapshot"),
            Column("qoq", "Change vs same week last quarter"),
            Column("ids", "Metric ids"),
            Column("note", "Note"),
        ],
        rows,
    )
    for i, k in enumerate(kpis, start=1):
        for col in (3, 4, 5):
            sh.ws.cell(row=top + i, column=col).number_format = EXCEL_FORMATS.get(k.unit, "General")


# The coverage_matrix's declared columns; the target is the sheet's input cell.
COVERAGE_COLUMNS = [
    replace(c, label=c.label + " (input)") if c.name == "bookings_target" else c
    for c in columns_of("coverage_matrix")
]


def coverage_sheet(wb: Workbook, ctx: Context) -> None:
    sh = Sheet(wb, "Coverage")
    sh.title("Coverage by quarter and segment", ctx.subtitle)
    sh.note(
        3,
        "Yellow cells are inputs: change a bookings target and remaining target, coverage "
        "and status recalculate. Coverage = open pipeline / (target - won to date).",
    )
    table = compute(ctx.con, "coverage_matrix", ctx.q, ctx.defs).table
    top = 4
    rows = []
    for i, rec in enumerate(_records(table), start=1):
        r = top + i  # D open, E won, F target, G remaining, H coverage, I goal
        rec = dict(rec)
        rec["_formulas"] = ("remaining_target", "coverage", "status")
        rec["remaining_target"] = f'=IF(F{r}="","",F{r}-E{r})'
        # A blank target reads as the metric layer says: "no target for this cut" when
        # the cut can have none (typing a target in then computes coverage anyway).
        blank = NO_TARGET_FOR_CUT if rec.get("status") == NO_TARGET_FOR_CUT else "no target"
        rec["coverage"] = f'=IF(F{r}="","{blank}",IF(F{r}-E{r}<=0,"target met",D{r}/(F{r}-E{r})))'
        rec["status"] = (
            f'=IF(ISNUMBER(H{r}),IF(I{r}="","no goal",IF(H{r}>=I{r},"at or above goal","below goal")),H{r})'
        )
        rows.append(rec)
    sh.table(top, "tblCoverage", COVERAGE_COLUMNS, rows)
    for i in range(1, len(rows) + 1):
        cell = sh.ws.cell(row=top + i, column=6)
        cell.fill = PatternFill("solid", fgColor=INPUT_FILL)
        cell.font = Font(name=FONT_NAME, color=INPUT_BLUE)
    sh.finish(freeze_row=top + 1)


def forecast_sheet(wb: Workbook, ctx: Context) -> None:
    sh = Sheet(wb, "Forecast")
    sh.title("Forecast by method", ctx.subtitle)
    cols = columns_of("forecast_range", "label", "value", "p10", "p90", "method")
    rows = _records(compute(ctx.con, "forecast_range", ctx.q, ctx.defs).table)
    if not rows:
        for mid in ("forecast_commit", "forecast_best_case", "forecast_weighted"):
            rows.append(
                {
                    "label": REGISTRY[mid].label,
                    "value": _scalar(ctx.con, mid, ctx.q, ctx.defs),
                    "method": mid,
                }
            )
        rows.append(
            {
                "label": "Bookings target",
                "value": _scalar(ctx.con, "bookings_target", ctx.q, ctx.defs),
                "method": "target",
            }
        )
    sh.note(3, "Each method = won to date + its view of the open deals closing in the period.")
    sh.table(4, "tblForecast", cols, rows)
    sh.finish(freeze_row=5)


def waterfall_rows(ctx: Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(bridge rows, deal rows with their bucket) between compare_to and as_of."""
    if ctx.compare_to is None:
        return [], []
    wq = ctx.q.with_(compare_to=ctx.compare_to)
    bridge = _records(compute(ctx.con, "waterfall", wq, ctx.defs).table)
    deals: list[dict[str, Any]] = []
    for b in bridge:
        if b["bucket"] not in WATERFALL_MOVES or not b.get("count"):
            continue
        for rec in _records(drill(ctx.con, "waterfall", wq, ctx.defs, bucket=b["bucket"])):
            rec["bucket"] = b["bucket"]
            rec["effect"] = _dec(rec.get("effect"))
            deals.append(rec)
    return bridge, deals


def _dec(x: Any) -> Decimal:
    v = clean(x)
    return Decimal("0") if v is None else Decimal(str(v)).quantize(Decimal("0.01"))


def waterfall_sheet(wb: Workbook, ctx: Context) -> None:
    sh = Sheet(wb, "Waterfall")
    since = ctx.compare_to.isoformat() if ctx.compare_to else "no earlier snapshot"
    sh.title(f"Pipeline waterfall: {since} -> {ctx.q.as_of.isoformat()}", ctx.subtitle)
    bridge, deals = waterfall_rows(ctx)
    sh.note(3, "Leaving buckets are negative; Start + movements = End, to the cent.")
    last = sh.table(4, "tblBridge", columns_of("waterfall"), bridge)
    top = last + 3
    put(sh.ws, top - 1, 1, "Deal-level detail (one bucket per deal)").font = Font(
        name=FONT_NAME, bold=True, color=ACCENT
    )
    extra = [k for k in _WATERFALL_EXTRA if deals and k in deals[0]]
    cols = [*deal_schema(("bucket", "effect"))]
    cols += [c for c in DEAL_SHEET_COLUMNS if c.name != "crm_url"]
    cols += deal_schema((*extra, "crm_url"))
    sh.table(top, "tblWaterfallDeals", cols, deals)
    sh.finish(freeze_row=5)


def pipeline_sheet(wb: Workbook, ctx: Context) -> None:
    sh = Sheet(wb, "Pipeline")
    sh.title(f"Open qualified pipeline closing in {ctx.q.period}", ctx.subtitle)
    deals = _records(drill(ctx.con, "open_pipeline", ctx.q, ctx.defs))
    total = _scalar(ctx.con, "open_pipeline", ctx.q, ctx.defs)
    put(sh.ws, 3, 1, "Total (metric open_pipeline)").font = Font(name=FONT_NAME, bold=True)
    put(sh.ws, 3, 9, total, EXCEL_FORMATS["usd"]).font = Font(name=FONT_NAME, bold=True)
    sh.table(4, "tblPipeline", DEAL_SHEET_COLUMNS, deals)
    sh.finish(freeze_row=5)


def win_rate_sheet(wb: Workbook, ctx: Context) -> None:
    sh = Sheet(wb, "Win rates")
    sh.title("Win rates by quarter (qualified deals closed in the quarter)", ctx.subtitle)
    quarter = ctx.q.quarter(ctx.defs)
    rows = []
    for k in range(-3, 1):
        qq = ctx.q.with_(period=quarter.shift(k).label, compare_to=None)
        rate = compute(ctx.con, "win_rate_count", qq, ctx.defs)
        deals = rate.table.iloc[0] if rate.table is not None and len(rate.table) else None
        rows.append(
            {
                "period": qq.period,
                "count": rate.value,
                "value": _scalar(ctx.con, "win_rate_value", qq, ctx.defs),
                "won": _scalar(ctx.con, "won_to_date", qq, ctx.defs),
                "lost": _scalar(ctx.con, "lost_to_date", qq, ctx.defs),
                "won_n": None if deals is None else int(deals["won_count"]),
                "lost_n": None if deals is None else int(deals["lost_count"]),
                "never_open_lost_n": None if deals is None else int(deals["never_open_lost_count"]),
            }
        )
    reading = (
        "counted as qualified losses"
        if ctx.defs.counts_unseen_lost
        else "left out, like deals disqualified early"
    )
    sh.note(
        3,
        "By count: won / (won + lost). By value: won amount / (won + lost) amount. Lost deals "
        f"never seen open in a snapshot are {reading} (definitions "
        f"win_rate.lost_never_seen_open = {ctx.defs.lost_never_seen_open}).",
    )
    sh.table(
        4,
        "tblWinRates",
        [
            Column("period", "Period"),
            Column("count", "Win rate (by count)", "ratio"),
            Column("value", "Win rate (by value)", "ratio"),
            Column("won", "Won", "usd"),
            Column("lost", "Lost", "usd"),
            Column("won_n", "Won deals (qualified)", "count"),
            Column("lost_n", "Lost deals (qualified)", "count"),
            Column("never_open_lost_n", "Of them never seen open", "count"),
        ],
        rows,
    )
    sh.finish(freeze_row=5)


def definitions_sheet(wb: Workbook, ctx: Context) -> None:
    sh = Sheet(wb, "Definitions")
    sh.title("Definitions and metadata", ctx.subtitle)
    end = _metadata_block(sh, ctx, 4)
    top = end + 2
    glossary = [
        {"id": m.id, "label": m.label, "unit": m.unit, "formula": m.formula, "desc": m.description}
        for m in sorted(REGISTRY.values(), key=lambda m: m.id)
    ]
    last = sh.table(
        top,
        "tblGlossary",
        [
            Column("id", "Metric id"),
            Column("label", "Label"),
            Column("unit", "Unit"),
            Column("formula", "Formula"),
            Column("desc", "Description"),
        ],
        glossary,
    )
    settings = [{"k": k, "v": v} for k, v in ctx.defs.as_rows()]
    sh.table(last + 3, "tblSettings", [Column("k", "Setting"), Column("v", "Value")], settings)
    for col in (4, 5):
        sh.widths[col] = 60
    sh.finish(freeze_row=3)
    for row in sh.ws.iter_rows(min_row=top + 1, max_row=last, min_col=1, max_col=5):
        lines = 1
        for cell in row:
            cell.alignment = Alignment(wrap_text=cell.column >= 4, vertical="top")
            if cell.column >= 4 and cell.value:
                lines = max(lines, -(-len(str(cell.value)) // WRAP_CHARS))
        # Spreadsheets do not grow a row for wrapped text written by a program: size it.
        sh.ws.row_dimensions[row[0].row].height = 15 * lines


def build_workbook(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    compare_to: date | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """The finance workbook as .xlsx bytes."""
    ctx = Context(
        con=con,
        q=q,
        defs=defs,
        compare_to=query.complete(con, q.with_(compare_to=compare_to or q.compare_to)).compare_to,
        generated_at=generated_at or datetime.now(UTC),
        trust_score=_scalar(con, "trust_score", q, defs),
    )
    wb = Workbook()
    summary_sheet(wb, ctx)
    coverage_sheet(wb, ctx)
    forecast_sheet(wb, ctx)
    waterfall_sheet(wb, ctx)
    pipeline_sheet(wb, ctx)
    win_rate_sheet(wb, ctx)
    from steward.export import xlsx_plan  # its sheets build on this module's helpers

    xlsx_plan.scenarios_sheet(wb, ctx)
    xlsx_plan.maturity_sheet(wb, ctx)
    definitions_sheet(wb, ctx)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
