"""The workbook's Scenarios and Maturity sheets: read back, and recalculated by LibreOffice.

The Scenarios sheet's plan is live formulas over input cells; LibreOffice's results must
equal the planner's (`pipeline_needed`) to the cent, and, with the bookings target
doubled in the input cell before recalculation, equal the planner run with that target.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from browser_helpers import latest_query, small_store
from openpyxl import load_workbook
from system_tools import recalculated

from steward import definitions, store
from steward.export.xlsx import SHEETS, build_workbook
from steward.export.xlsx_plan import INPUT_ROWS, NEEDED_TOP
from steward.maturity import scorecard
from steward.metrics import Query, compute, current_period
from steward.plan import needed, scenarios, whatif

DEFS = definitions.load()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = small_store(tmp_path_factory.mktemp("xlsx_plan") / "steward.duckdb")
    with store.writer(path) as con:
        last = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
        q = Query(as_of=last, period=current_period(last, DEFS))
        scenarios.save(con, "Slower", q, DEFS, whatif.Assumptions(cycle_days=14))
        scorecard.record(con, q, DEFS)
    return path


@pytest.fixture(scope="module")
def q(db) -> Query:
    return latest_query(db, DEFS)


@pytest.fixture(scope="module")
def book(db, q) -> bytes:
    with store.reader(db) as con:
        return build_workbook(con, q, DEFS, generated_at=datetime(2026, 11, 21, 8, 0))


def _plan(db, q, target=None) -> pd.DataFrame:
    period = needed.next_quarter(q.as_of, DEFS)
    opts = () if target is None else (("target", target),)
    with store.reader(db) as con:
        return compute(con, "pipeline_needed", q.with_(period=period, options=opts), DEFS).table


def test_sheets_inputs_and_maturity_rows(book, db, q):
    wb = load_workbook(io.BytesIO(book))
    assert wb.sheetnames == list(SHEETS)
    ws = wb["Scenarios"]
    assert ws.cell(INPUT_ROWS["target"], 2).fill.fgColor.rgb.endswith("FFF2CC")
    assert ws.cell(NEEDED_TOP, 1).value == "Source"
    assert str(ws.cell(NEEDED_TOP + 1, 6).value).startswith("=IF(")  # live formula
    names = [c.value for c in ws["A"] if c.value]
    assert "Baseline" in names and "Slower" in names
    m = wb["Maturity"]
    with store.reader(db) as con:
        detail = compute(con, "maturity_scorecard", q, DEFS).table
    dims = [m.cell(r, 2).value for r in range(5, 5 + len(detail))]
    assert dims == list(detail["dimension"])
    assert "Placement history (stage by snapshot)" in [c.value for c in m["A"]]


def _recalc(src_bytes: bytes, tmp_path: Path) -> Path:
    return recalculated(src_bytes, tmp_path, "plan")


def _check(ws, plan: pd.DataFrame) -> int:
    cols = {"needed_pipeline": 6, "new_pipeline": 7, "weeks_left": 9, "new_per_week": 10}
    checked = 0
    for i, rec in enumerate(plan.to_dict(orient="records"), start=1):
        r = NEEDED_TOP + i
        assert ws.cell(r, 1).value == rec["source"]
        for key, col in cols.items():
            want, got = rec[key], ws.cell(r, col).value
            if want is None or want != want:
                assert got in (None, ""), (rec["source"], key, got)
            else:
                assert got == pytest.approx(want, abs=0.01), (rec["source"], key)
        if rec["source"] != "Total" and rec["create_by"] is not None:
            assert ws.cell(r, 8).value.date() == rec["create_by"]
        checked += 1
    return checked


@pytest.mark.libreoffice
def test_libreoffice_recalculates_the_plan_as_the_planner(tmp_path, book, db, q):
    ws = load_workbook(_recalc(book, tmp_path), data_only=True)["Scenarios"]
    plan = _plan(db, q)
    assert _check(ws, plan) == len(plan)
    # coverage of each scenario row: the live formula equals the what-if's coverage
    with store.reader(db) as con:
        table = scenarios.comparison(con, q, DEFS)
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    for rec in table.to_dict(orient="records"):
        row = rows[rec["scenario"]]
        got = ws.cell(row, 9).value
        assert ws.cell(row, 11).value == rec["conversion_pts"]  # assumptions one per cell
        assert ws.cell(row, 12).value == rec["cycle_days"]
        if rec["coverage"] is None or rec["coverage"] != rec["coverage"]:
            assert got in ("target met", "no target")
        else:
            assert got == pytest.approx(rec["coverage"], abs=1e-9)


@pytest.mark.libreoffice
def test_changing_an_input_cell_moves_the_plan(tmp_path, book, db, q):
    wb = load_workbook(io.BytesIO(book))
    ws = wb["Scenarios"]
    target = float(ws.cell(INPUT_ROWS["target"], 2).value or 0) * 2 + 1_000_000
    ws.cell(INPUT_ROWS["target"], 2).value = target
    buf = io.BytesIO()
    wb.save(buf)
    recalced = load_workbook(_recalc(buf.getvalue(), tmp_path), data_only=True)["Scenarios"]
    plan = _plan(db, q, target=target)
    assert _check(recalced, plan) == len(plan)
