"""The board pack's maturity scorecard slide: every dimension, its stage and its evidence.

The title says the message (how many dimensions run as an operating system, how many
are still ad hoc); the table shows each placement with the evidence or the dated
self-assessment behind it, so the board sees why, not just where.
"""

from __future__ import annotations

import pandas as pd
from pptx.dml.color import RGBColor
from pptx.presentation import Presentation as PresentationT
from pptx.util import Emu, Inches, Pt

from steward import fmt
from steward.export.pptx import (
    ACCENT,
    CONTENT_W,
    MARGIN,
    MUTED,
    _cell,
    _new_slide,
    _text,
    title_lines,
)
from steward.maturity import scorecard
from steward.metrics.core import columns_of

EVIDENCE_CHARS = 150  # two lines of the evidence column at 10 pt
STAGE_FILL = {
    1: RGBColor(0xF6, 0xDA, 0xDA),
    2: RGBColor(0xF5, 0xEB, 0xD3),
    3: RGBColor(0xD8, 0xEC, 0xDF),
}


def title(placed: pd.DataFrame) -> str:
    counts = scorecard.stage_counts(placed)
    total, top, ad_hoc = len(placed), counts[3], counts[1]
    return (
        f"Maturity: {top} of {total} dimensions run as an operating system, {ad_hoc} still ad hoc"
    )


def _short(text: str) -> str:
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1].rstrip() + "…"


def maturity_slide(prs: PresentationT, detail: pd.DataFrame | None) -> None:
    if detail is None or detail.empty:
        return
    placed = scorecard.placements(detail)
    text = title(placed)
    slide = _new_slide(prs, text, "Maturity scorecard", size=26)
    top = Emu(Inches(1.5) + Inches(0.45) * (title_lines(text, 26) - 1))  # below a wrapped title
    n = len(placed) + 1
    shape = slide.shapes.add_table(n, 4, MARGIN, top, Emu(CONTENT_W), Emu(Inches(0.3) * n))
    table = shape.table
    widths = (Inches(3.4), Inches(1.9), Inches(1.3))
    for j, w in enumerate(widths):
        table.columns[j].width = w
    table.columns[3].width = Emu(CONTENT_W - sum(widths))
    heads = columns_of("maturity_scorecard", "dimension", "stage", "basis", "evidence")
    for j, head in enumerate(c.label for c in heads):
        _cell(table.cell(0, j), head, bold=True, color=RGBColor(0xFF, 0xFF, 0xFF), fill=ACCENT)
    for i, rec in enumerate(placed.to_dict(orient="records"), start=1):
        stage = None if pd.isna(rec["stage"]) else int(rec["stage"])
        _cell(table.cell(i, 0), f"{rec['matrix']} · {rec['dimension']}", bold=True)
        _cell(
            table.cell(i, 1),
            scorecard.STAGE_NAMES.get(stage, fmt.DASH) if stage else "not placed",
            fill=STAGE_FILL.get(stage or 0),
        )
        _cell(table.cell(i, 2), str(rec["basis"]))
        _cell(table.cell(i, 3), _short(str(rec["evidence"])))
        for j in range(4):
            for p in table.cell(i, j).text_frame.paragraphs:
                for run in p.runs:
                    run.font.size = Pt(10)
    _text(
        slide,
        MARGIN,
        Inches(6.55),
        CONTENT_W,
        Inches(0.4),
        "Evidence rules over the data, thresholds governed in the definitions ([maturity]); "
        "self-assessed dimensions are dated. The weakest rule places a dimension.",
        10,
        color=MUTED,
    )
