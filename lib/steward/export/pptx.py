"""The board pack: a 16:9 deck a CMO can present unchanged.

Slides: title; key numbers; the story (headline + what changed); funnel; coverage;
waterfall; forecast range; risks and decisions; maturity scorecard (pptx_maturity);
definitions appendix. Every slide
carries a footer with the definitions stamp, the trust score and the scope. Charts are
the dashboard's own figures (steward.charts), rendered once through kaleido at 2x.

The look is restrained on purpose: white slides, one accent colour, big numbers,
little text. Slide titles say the message; the chart shows the proof.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_CONNECTOR
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.presentation import Presentation as PresentationT
from pptx.slide import Slide
from pptx.util import Emu, Inches, Pt

from steward import charts, fmt, query, textsafe
from steward.definitions import Definitions
from steward.export import render
from steward.metrics.asof import board_coverage_rows
from steward.metrics.core import REGISTRY, Query, compute
from steward.narrative import Narrative, build
from steward.narrative.model import day

FONT = "Calibri"
ACCENT = RGBColor(0x1F, 0x3A, 0x5F)  # charts.NAVY
INK = RGBColor(0x1B, 0x1F, 0x24)
MUTED = RGBColor(0x5B, 0x66, 0x70)
RULE = RGBColor(0xC5, 0xCC, 0xD4)

SLIDE_W, SLIDE_H = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.6)
CONTENT_W = Emu(SLIDE_W - 2 * MARGIN)
CHART_TOP = Inches(1.55)
CHART_H = Inches(5.2)
CHART_PX = (1180, 500)  # CSS pixels for a chart slide (PNG at 2x)

TITLE_ONLY = 5  # layout index in python-pptx's default template


@dataclass
class PackData:
    q: Query
    defs: Definitions
    compare_to: date | None
    story: Narrative
    kpis: list[Any]
    funnel: pd.DataFrame | None
    coverage: pd.DataFrame | None
    waterfall: pd.DataFrame | None
    forecast: pd.DataFrame | None
    target: float | None
    trust_score: float | None
    maturity: pd.DataFrame | None = None  # maturity_scorecard's evidence table

    @property
    def footer_left(self) -> str:
        trust = fmt.score(self.trust_score) if self.trust_score is not None else "not measured"
        return f"{self.defs.stamp} · data trust {trust}"

    @property
    def footer_right(self) -> str:
        return (
            f"{self.q.period} · as of {fmt.board_date(self.q.as_of)} · {self.q.filters.describe()}"
        )


def _table(con: duckdb.DuckDBPyConnection, mid: str, q: Query, defs: Definitions) -> Any:
    return compute(con, mid, q, defs).table


def gather(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> PackData:
    from steward.kpis import headline_kpis

    q = query.complete(con, q)
    compare_to = q.compare_to
    wq = q.with_(compare_to=compare_to) if compare_to else None
    target = compute(con, "bookings_target", q, defs).value
    trust = compute(con, "trust_score", q, defs).value
    return PackData(
        q=q,
        defs=defs,
        compare_to=compare_to,
        story=build(con, q, defs, compare_to),
        kpis=headline_kpis(con, q, defs),
        funnel=_table(con, "funnel_asof", q, defs),
        coverage=_table(con, "coverage_matrix", q, defs),
        waterfall=_table(con, "waterfall", wq, defs) if wq else None,
        forecast=_table(con, "forecast_range", q, defs),
        target=target,
        trust_score=trust,
        maturity=_table(con, "maturity_scorecard", q, defs),
    )


# ---- drawing helpers -------------------------------------------------------------------
def _text(
    slide: Slide,
    left: int,
    top: int,
    width: int,
    height: int,
    lines: Sequence[str] | str,
    size: int,
    *,
    bold: bool = False,
    color: RGBColor = INK,
    align: PP_ALIGN = PP_ALIGN.LEFT,
    anchor: MSO_ANCHOR = MSO_ANCHOR.TOP,
    space_after: int = 0,
    listing: str = "",
) -> Any:
    """A text box, one paragraph per line; listing 'bullet' or 'number' hangs the indent."""
    box = slide.shapes.add_textbox(Emu(left), Emu(top), Emu(width), Emu(height))
    tf = box.text_frame
    tf.word_wrap = True
    tf.vertical_anchor = anchor
    tf.margin_left = tf.margin_right = Inches(0.05)
    tf.margin_top = tf.margin_bottom = Inches(0.03)
    for i, line in enumerate([lines] if isinstance(lines, str) else lines):
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        p.alignment = align
        p.space_after = Pt(space_after)
        if listing:
            _hang(p, listing, size)
        run = p.add_run()
        run.text = textsafe.for_xml(line)
        run.font.name = FONT
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.color.rgb = color
    return box


def title_lines(text: str, size: int) -> int:
    """Lines a bold title wraps to across the content width (conservative glyph width)."""
    chars_per_line = int(CONTENT_W / Emu(int(Pt(size) * 0.62)))
    return max(1, -(-len(text) // max(1, chars_per_line)))


def _hang(paragraph: Any, listing: str, size: int) -> None:
    """Bullet or auto-number with a hanging indent (DrawingML a:pPr marL/indent)."""
    ppr = paragraph._p.get_or_add_pPr()
    hang = int(Pt(size) * (1.1 if listing == "bullet" else 1.6))
    ppr.set("marL", str(hang))
    ppr.set("indent", str(-hang))
    color = ppr.makeelement(qn("a:buClr"), {})
    srgb = color.makeelement(qn("a:srgbClr"), {"val": str(ACCENT)})
    color.append(srgb)
    ppr.append(color)
    if listing == "bullet":
        ppr.append(ppr.makeelement(qn("a:buChar"), {"char": "•"}))
    else:
        ppr.append(ppr.makeelement(qn("a:buAutoNum"), {"type": "arabicPeriod"}))


def _title(slide: Slide, text: str, kicker: str, size: int = 28) -> int:
    """Kicker (small, accent) above a message title in the layout's title placeholder."""
    _text(
        slide,
        MARGIN,
        Inches(0.35),
        CONTENT_W,
        Inches(0.3),
        kicker.upper(),
        11,
        bold=True,
        color=ACCENT,
    )
    title = slide.shapes.title
    assert title is not None
    title.left, title.top = MARGIN, Inches(0.62)
    title.width, title.height = Emu(CONTENT_W), Inches(0.85)
    tf = title.text_frame
    tf.word_wrap = True
    tf.vertical_anchor = MSO_ANCHOR.TOP
    tf.margin_left = tf.margin_right = Inches(0.05)
    tf.text = textsafe.for_xml(text)
    p = tf.paragraphs[0]
    p.alignment = PP_ALIGN.LEFT
    for run in p.runs:
        run.font.name = FONT
        run.font.size = Pt(size)
        run.font.bold = True
        run.font.color.rgb = INK
    return Emu(Inches(0.62) + int(Pt(size) * 1.25) * title_lines(text, size) + Inches(0.1))


def _footer(slide: Slide, data: PackData, page: int, total: int) -> None:
    y = SLIDE_H - Inches(0.45)
    rule_y = Emu(y - Inches(0.04))
    line = slide.shapes.add_connector(
        MSO_CONNECTOR.STRAIGHT, MARGIN, rule_y, Emu(SLIDE_W - MARGIN), rule_y
    )
    line.line.color.rgb = RULE
    line.line.width = Pt(0.75)
    _no_shadow(line)
    half = int(CONTENT_W / 2)
    _text(slide, MARGIN, y, half, Inches(0.3), data.footer_left, 9, color=MUTED)
    right = f"{data.footer_right} · {page}/{total}"
    _text(slide, MARGIN + half, y, half, Inches(0.3), right, 9, color=MUTED, align=PP_ALIGN.RIGHT)


def _rule(slide: Slide, left: int, top: int, width: int, color: RGBColor, weight: float) -> None:
    line = slide.shapes.add_connector(
        MSO_CONNECTOR.STRAIGHT, Emu(left), Emu(top), Emu(left + width), Emu(top)
    )
    line.line.color.rgb = color
    line.line.width = Pt(weight)
    _no_shadow(line)


def _no_shadow(shape: Any) -> None:
    """Drop the theme's effect (a soft shadow under lines in the default template)."""
    sppr = shape._element.spPr
    if sppr.find(qn("a:effectLst")) is None:
        sppr.append(sppr.makeelement(qn("a:effectLst"), {}))
    style = shape._element.find(qn("p:style"))
    if style is not None:  # LibreOffice still applies the style's effectRef
        shape._element.remove(style)


def value_size(text: str) -> int:
    """Big-number font size that keeps a KPI value on one line of its tile."""
    return 40 if len(text) <= 7 else 32 if len(text) <= 9 else 26


def _new_slide(prs: PresentationT, title: str, kicker: str, size: int = 28) -> Slide:
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    _title(slide, title, kicker, size)
    return slide


def _picture(slide: Slide, png: bytes, top: int = CHART_TOP, height: int = CHART_H) -> None:
    width = int(height * CHART_PX[0] / CHART_PX[1])
    if width > CONTENT_W:
        width, height = CONTENT_W, int(CONTENT_W * CHART_PX[1] / CHART_PX[0])
    left = int((SLIDE_W - width) / 2)
    slide.shapes.add_picture(io.BytesIO(png), Emu(left), Emu(top), Emu(width), Emu(height))


# ---- slides ------------------------------------------------------------------------------
def title_slide(prs: PresentationT, data: PackData) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    accent = slide.shapes.add_connector(
        MSO_CONNECTOR.STRAIGHT, MARGIN, Inches(2.3), MARGIN, Inches(4.5)
    )
    accent.line.color.rgb = ACCENT
    accent.line.width = Pt(9)
    _no_shadow(accent)
    title = slide.shapes.title
    assert title is not None
    title.left, title.top = Emu(MARGIN + Inches(0.4)), Inches(2.2)
    title.width, title.height = Emu(CONTENT_W - Inches(0.4)), Inches(1.1)
    title.text_frame.text = f"Pipeline review: {data.q.period}"
    p = title.text_frame.paragraphs[0]
    p.alignment = PP_ALIGN.LEFT
    for run in p.runs:
        run.font.name, run.font.size, run.font.bold = FONT, Pt(44), True
        run.font.color.rgb = INK
    since = f"changes since {day(data.compare_to)}" if data.compare_to else "first snapshot"
    _text(
        slide,
        MARGIN + Inches(0.4),
        Inches(3.35),
        CONTENT_W - Inches(0.4),
        Inches(1.2),
        [f"As of the {day(data.q.as_of)} snapshot · {since}", data.q.filters.describe()],
        20,
        color=MUTED,
        space_after=4,
    )


def kpi_slide(prs: PresentationT, data: PackData) -> None:
    scope = ", ".join(v for _, vals in data.q.filters.items() for v in vals)
    title = f"{scope + ' ' if scope else ''}{data.q.period} at a glance, as of {day(data.q.as_of)}"
    slide = _new_slide(prs, title, "Key numbers")
    tiles = data.kpis[:8]
    cols = 4
    gap = Inches(0.25)
    tile_w = int((CONTENT_W - gap * (cols - 1)) / cols)
    tile_h = Inches(2.2)
    for i, k in enumerate(tiles):
        r, c = divmod(i, cols)
        left = MARGIN + c * (tile_w + gap)
        top = Inches(1.85) + r * (tile_h + gap)
        _rule(slide, left, top, tile_w, ACCENT, 3.0)
        label = k.label if k.period == data.q.period else f"{k.label} ({k.period})"
        _text(slide, left, top + Inches(0.12), tile_w, Inches(0.4), label, 14, color=MUTED)
        _text(
            slide,
            left,
            top + Inches(0.5),
            tile_w,
            Inches(0.9),
            k.formatted,
            value_size(k.formatted),
            bold=True,
            color=ACCENT,
        )
        delta = []
        if k.delta_prev is not None:
            delta.append(f"{k.delta_prev_formatted} vs {day(k.prev_as_of, data.q.as_of)}")
        if k.delta_qoq is not None:
            delta.append(f"{k.delta_qoq_formatted} vs last quarter")
        if not delta and k.note:
            delta.append(k.note)
        _text(slide, left, top + Inches(1.45), tile_w, Inches(0.7), delta or [""], 12, color=INK)


def story_slide(prs: PresentationT, data: PackData) -> None:
    slide = _new_slide(prs, data.story.headline, "The story this week", size=22)
    items = [s.text for s in data.story.section("changes")]
    _text(
        slide,
        MARGIN,
        Inches(1.75),
        CONTENT_W,
        Inches(0.4),
        "What changed",
        16,
        bold=True,
        color=ACCENT,
    )
    _text(
        slide,
        MARGIN,
        Inches(2.2),
        CONTENT_W,
        Inches(4.4),
        items,
        20,
        space_after=12,
        listing="bullet",
    )
    _math_notes(slide, data.story.section("headline") + data.story.section("changes"))


def _math_notes(slide: Slide, sentences: Sequence[Any]) -> None:
    """Speaker notes: where every number on the slide comes from ('show the math')."""
    lines = ["Where the numbers come from (metric id · how it was read · filters):"]
    for s in sentences:
        for n in s.numbers:
            q = n.fact.query.describe()
            where = ", ".join(f"{k}={v}" for k, v in q.items())
            lines.append(f"{n.formatted}: {n.fact.metric_id} · {n.fact.how()} · {where}")
    frame = slide.notes_slide.notes_text_frame
    if frame is not None:
        frame.text = textsafe.for_xml("\n".join(lines))


def chart_slide(prs: PresentationT, title: str, kicker: str, png: bytes, note: str = "") -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    y = _title(slide, title, kicker, size=24)
    if note:
        _text(slide, MARGIN, y, CONTENT_W, Inches(0.35), note, 13, color=MUTED)
        y = Emu(y + Inches(0.4))
    bottom = SLIDE_H - Inches(0.6)
    _picture(slide, png, top=y, height=Emu(min(CHART_H, bottom - y)))


def risks_slide(prs: PresentationT, data: PackData) -> None:
    n_risks = len(data.story.section("risks"))
    title = "Risks and decisions for next Monday"
    slide = _new_slide(prs, title, f"{n_risks} risk{'s' if n_risks != 1 else ''} flagged")
    half = int((CONTENT_W - Inches(0.5)) / 2)
    right = MARGIN + half + Inches(0.5)
    _text(slide, MARGIN, Inches(1.6), half, Inches(0.4), "Risks", 18, bold=True, color=ACCENT)
    _text(
        slide,
        MARGIN,
        Inches(2.1),
        half,
        Inches(4.6),
        [s.text for s in data.story.section("risks")],
        16,
        space_after=10,
        listing="bullet",
    )
    _text(slide, right, Inches(1.6), half, Inches(0.4), "Decisions", 18, bold=True, color=ACCENT)
    decisions = [s.text for s in data.story.section("decisions")]
    _text(
        slide,
        right,
        Inches(2.1),
        half,
        Inches(4.6),
        decisions,
        16,
        space_after=10,
        listing="number",
    )
    _math_notes(slide, data.story.section("risks") + data.story.section("decisions"))


APPENDIX_METRICS = (
    "open_pipeline",
    "won_to_date",
    "bookings_target",
    "coverage",
    "coverage_goal",
    "funnel_asof",
    "waterfall",
    "forecast_range",
    "win_rate_count",
    "trust_score",
)


SLIDE_DEFINITION_CHARS = 240


def slide_definition(description: str) -> str:
    """The definition's leading sentences that fit one or two lines of the appendix table
    (the full text stays in the workbook and the glossary), so the table never runs into
    the notes below it however long a governed description grows."""
    sentences = [s.strip() for s in description.replace(". ", ".\n").split("\n") if s.strip()]
    out = sentences[0] if sentences else ""
    for sentence in sentences[1:]:
        if len(out) + 1 + len(sentence) > SLIDE_DEFINITION_CHARS:
            break
        out = f"{out} {sentence}"
    if len(out) > SLIDE_DEFINITION_CHARS:
        out = out[: SLIDE_DEFINITION_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return out


def definitions_slide(prs: PresentationT, data: PackData) -> None:
    slide = _new_slide(prs, "How these numbers are defined", "Appendix: definitions")
    rows = [REGISTRY[m] for m in APPENDIX_METRICS]
    shape = slide.shapes.add_table(
        len(rows) + 1, 2, MARGIN, Inches(1.6), Emu(CONTENT_W), Emu(Inches(0.3) * (len(rows) + 1))
    )
    table = shape.table
    table.columns[0].width = Inches(3.0)
    table.columns[1].width = Emu(CONTENT_W - Inches(3.0))
    for j, head in enumerate(("Number", "Definition")):
        _cell(table.cell(0, j), head, bold=True, color=RGBColor(0xFF, 0xFF, 0xFF), fill=ACCENT)
    for i, m in enumerate(rows, start=1):
        _cell(table.cell(i, 0), m.label, bold=True)
        _cell(table.cell(i, 1), slide_definition(m.description))
    goals = ", ".join(
        f"+{k}: {fmt.multiple(v)}" for k, v in sorted(data.defs.coverage_goals.items())
    )
    notes = [
        f"Qualified pipeline starts at {data.defs.qualified_stage}; periods are fiscal quarters "
        f"of the close date. Coverage goals by quarter offset: {goals}.",
        f"Governed definitions: {data.defs.stamp} (owner {data.defs.owner or 'RevOps'}). "
        "Full definitions: the workbook's Definitions sheet and docs/metrics.md.",
    ]
    _text(slide, MARGIN, Inches(6.3), CONTENT_W, Inches(0.6), notes, 11, color=MUTED)


def _cell(
    cell: Any, text: str, bold: bool = False, color: RGBColor = INK, fill: RGBColor | None = None
) -> None:
    cell.text = textsafe.for_xml(text)
    cell.margin_top = cell.margin_bottom = Inches(0.03)
    if fill is not None:
        cell.fill.solid()
        cell.fill.fore_color.rgb = fill
    else:
        cell.fill.background()
    for p in cell.text_frame.paragraphs:
        for run in p.runs:
            run.font.name, run.font.size, run.font.bold = FONT, Pt(11), bold
            run.font.color.rgb = color


# ---- assembly ------------------------------------------------------------------------------
def figures(data: PackData) -> dict[str, Any]:
    """The dashboard's charts for this pack (titles live on the slides, not in the PNGs)."""
    coverage = board_coverage_rows(data.coverage)  # the Board story's rows, same function
    bridge = data.waterfall
    if bridge is not None and not bridge.empty:  # empty buckets are noise on a slide
        keep = bridge["kind"].isin(["start", "end"]) | (bridge["count"].fillna(0) > 0)
        bridge = bridge[keep]
    figs = {
        "funnel": charts.funnel_chart(data.funnel, measure="amount", title=" "),
        "coverage": charts.coverage_chart(coverage, title=" "),
        "waterfall": charts.waterfall_chart(bridge, title=" "),
        "forecast": charts.forecast_range_chart(data.forecast, target=data.target, title=" "),
    }
    funnel = data.funnel
    if funnel is not None and not funnel.empty and figs["funnel"].data:
        # On a slide, amount and deal count per stage read better than % of previous stage
        # (an as-of stage mix is not a conversion funnel; conversion is on its own page).
        figs["funnel"].data[0].text = [
            f"{fmt.money(a)} · {fmt.count(c)} {'deal' if c == 1 else 'deals'}"
            for a, c in zip(funnel["amount_open"], funnel["count_open"], strict=True)
        ]
    for fig in figs.values():
        fig.update_layout(title=None, margin=dict(t=40, l=10, r=20, b=40))
    return figs


def _chart_notes(data: PackData) -> dict[str, tuple[str, str]]:
    story = data.story
    wf = story.section("changes")
    since = day(data.compare_to, data.q.as_of) if data.compare_to else "the first snapshot"
    cov = next((s.text for s in story.section("risks") if s.rule == "risk_coverage_below_goal"), "")
    return {
        "funnel": (
            f"Where the {data.q.period} open pipeline sits, by stage",
            "Open deals closing in the quarter, by amount; grey stages are not yet qualified.",
        ),
        "coverage": (
            cov or f"Coverage by segment, {data.q.period} and next quarter",
            "Open qualified pipeline / (bookings target - won to date); dashed line = goal.",
        ),
        "waterfall": (
            _bridge_title(data) or (wf[0].text if wf else f"Pipeline movement since {since}"),
            f"How {data.q.period} qualified pipeline moved from {since} to "
            f"{day(data.q.as_of, data.q.as_of)}.",
        ),
        "forecast": (
            next(
                (s.text for s in story.section("risks") if s.rule == "risk_forecast_short"),
                _forecast_title(data),
            ),
            "Won to date plus each method's view of open deals; bars span P10-P90.",
        ),
    }


def _forecast_title(data: PackData) -> str:
    """'FY2026-Q4 forecast: $9.5M (historical P50) against an $8.5M target'."""
    t = data.forecast
    if t is None or t.empty or data.target is None or "method" not in t:
        return f"{data.q.period} forecast by method against target"
    hist = t[t["method"].astype(str).str.contains("historical")]
    if hist.empty:
        return f"{data.q.period} forecast by method against target"
    p50 = float(hist["value"].iloc[0])
    side = "above" if p50 >= data.target else "below"
    return (
        f"{data.q.period} forecast: {fmt.money(p50)} (historical P50), "
        f"{fmt.money(abs(p50 - data.target))} {side} the {fmt.money(data.target)} target"
    )


def _bridge_title(data: PackData) -> str:
    """'FY2026-Q4 qualified pipeline fell $63K since 2026-11-09: $442K to $379K'."""
    t = data.waterfall
    if t is None or t.empty or data.compare_to is None:
        return ""
    amounts = dict(zip(t["bucket"], t["amount"], strict=False))
    if "Start" not in amounts or "End" not in amounts:
        return ""
    start, end = float(amounts["Start"]), float(amounts["End"])
    verb = "grew" if end > start else "fell" if end < start else "held"
    change = "" if verb == "held" else f" {fmt.money(abs(end - start))}"
    return (
        f"{data.q.period} qualified pipeline {verb}{change} since "
        f"{day(data.compare_to, data.q.as_of)}: {fmt.money(start)} to {fmt.money(end)}"
    )


def build_pack(data: PackData) -> bytes:
    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(SLIDE_W), Emu(SLIDE_H)
    figs = figures(data)
    images = [render.Image(f, *CHART_PX) for f in figs.values()]
    pngs = dict(zip(figs, render.render_pngs(images), strict=True))
    notes = _chart_notes(data)
    title_slide(prs, data)
    kpi_slide(prs, data)
    story_slide(prs, data)
    for key, kicker in (
        ("funnel", "Funnel"),
        ("coverage", "Coverage"),
        ("waterfall", "Pipeline changes"),
        ("forecast", "Forecast range"),
    ):
        title, note = notes[key]
        chart_slide(prs, title, kicker, pngs[key], note)
    risks_slide(prs, data)
    from steward.export.pptx_maturity import maturity_slide  # builds on this module's helpers

    maturity_slide(prs, data.maturity)
    definitions_slide(prs, data)
    total = len(prs.slides)
    for i, slide in enumerate(prs.slides, start=1):
        _footer(slide, data, i, total)
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def build_board_pack(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, pdf: bool = False
) -> bytes:
    """The board pack as .pptx bytes, or as PDF bytes when pdf=True (needs LibreOffice)."""
    data = build_pack(gather(con, q, defs))
    return board_pack_pdf(data) if pdf else data


def board_pack_pdf(pptx_bytes: bytes) -> bytes:
    """PDF of a board pack (LibreOffice headless)."""
    from steward.export.pdf import to_pdf

    return to_pdf(pptx_bytes, ".pptx")
