"""Any text a CRM free-text field holds survives import -> workbook -> board pack.

The seen failure: a NUL / vertical tab / bell in a name was stored as is and then the
finance workbook died with openpyxl's IllegalCharacterError. Now the importer removes
control characters (a warning per cell) and every writer passes text through
steward.textsafe, so even text that reached the store another way cannot break an export.
"""

from __future__ import annotations

import io
import shutil
from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pptx import Presentation

from steward import definitions, derived, ingest, store, textsafe
from steward.export.pptx import build_board_pack
from steward.export.xlsx import build_workbook
from steward.metrics import Query

DEFS = definitions.load()
WEEK1, WEEK2 = date(2026, 11, 13), date(2026, 11, 20)
Q = Query(as_of=WEEK2, period="FY2026-Q4")
NASTY = "\x00Acme\x0b pilot\x07 =SUM(A1) 😀 +1 @x -2 \x1f"
LONG = "=" + "y" * 100_000 + "\x00"


def _store(text: str):
    """Two weekly files through the real importer: deal A stays in the quarter (Pipeline
    sheet), deal B is pushed out of it (named by the narrative on the board pack)."""
    con = store.init_memory()
    for week, b_close in ((WEEK1, "2026-12-15"), (WEEK2, "2027-02-15")):
        frame = pd.DataFrame(
            {
                "opportunity_id": ["A", "B"],
                "opportunity_name": [text, text],
                "account_name": [text, text],
                "owner": [text, text],
                "product": [text, text],
                "stage": ["Proposal", "Proposal"],
                "amount": ["1000", "2000"],
                "close_date": ["2026-12-15", b_close],
            }
        )
        raw = frame.to_csv(index=False).encode("utf-8")
        prepared = ingest.prepare(raw, DEFS, name=f"w_{week.isoformat()}.csv")
        assert prepared.ok, prepared.summary()
        ingest.commit(con, prepared)
    derived.refresh(con, [WEEK1, WEEK2])
    return con


def _stored(text: str) -> str:
    """What the importer keeps: control characters removed, then the cell stripped."""
    return textsafe.strip_controls(text).strip()


TEXT = st.text(st.characters(blacklist_characters="\r", blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
@example(NASTY)
@example(LONG)
def test_any_text_survives_import_and_workbook(text: str) -> None:
    con = _store(text)
    stored = con.execute("select opportunity_name from snapshots where opportunity_id = 'A'")
    name = stored.fetchall()[0][0]
    expected = _stored(text) or None
    assert name == expected
    wb = load_workbook(io.BytesIO(build_workbook(con, Q, DEFS)))
    ws = wb["Pipeline"]
    cells = [c.value for row in ws.iter_rows(min_row=5) for c in row if c.value is not None]
    if expected:
        assert textsafe.for_cell(expected) in cells
        if expected.startswith(textsafe.FORMULA_PREFIXES):  # text, never a formula
            cell = next(c for row in ws.iter_rows(min_row=5) for c in row if c.value == cells[0])
            assert cell.data_type == "s"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="charts need Chromium")
@pytest.mark.parametrize("text", [NASTY, LONG, "📈 Ünïcödé – “quotes” & <tags>"])
def test_any_text_survives_to_the_board_pack(text: str) -> None:
    con = _store(text)
    prs = Presentation(io.BytesIO(build_board_pack(con, Q, DEFS)))
    body = "\n".join(
        shape.text_frame.text
        for slide in prs.slides
        for shape in slide.shapes
        if shape.has_text_frame
    )
    assert _stored(text) in body  # the narrative names the largest pushed-out deal


def test_writers_take_text_that_skipped_the_importer() -> None:
    # Text written to the store directly (an older version, another tool) still exports.
    con = _store("Acme")
    con.execute("update snapshots set opportunity_name = ?", [NASTY])
    wb = load_workbook(io.BytesIO(build_workbook(con, Q, DEFS)))
    names = [c.value for row in wb["Pipeline"].iter_rows(min_row=5) for c in row]
    assert textsafe.strip_controls(NASTY) in names
    assert textsafe.csv_bytes(pd.DataFrame({"n": [NASTY]})).decode() == (
        "n\n" + textsafe.strip_controls(NASTY) + "\n"
    )
    assert textsafe.for_csv("=1+2") == "'=1+2"
