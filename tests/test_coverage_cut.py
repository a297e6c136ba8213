"""Coverage under a cut: one rule on every surface (issue 9 §2).

Targets are set per period and segment (or 'All'). Coverage needs a target for the cut:
a region, source, owner, product or stage cut (alone or with a segment) has none, and
every surface — the metric, the tiles, the charts' tables, the narrative, the workbook,
the pack, the CLI — says "no target for this cut" instead of dividing by the company's
or the whole segment's target.

Seen: a tile showed 0.2x against the company target beside a narrative saying coverage
"is not measured for this cut"; the Forecast page used the whole segment's target for a
segment x region cut. On the fixture (tests/fixtures_pipeline.py), FY2026-Q4 as of
2026-11-16: NA open qualified Q4 = O07 40,000 + O08 15,000 + O09 12,000 + O10 80,000
+ O12 0 + O13 100,000 + O16 22,000 = 269,000; against the company's 600,000 − 100,000
it would have read 0.538x — a number for a target nobody set.
"""

from __future__ import annotations

import io
import json

import fixtures_pipeline as fx
import pytest
from openpyxl import load_workbook
from system_tools import require

from steward import definitions, derived, kpis
from steward.cli import main
from steward.export.xlsx import build_workbook
from steward.metrics import Filters, Query, compute
from steward.metrics.targets import NO_TARGET_FOR_CUT

DEFS = definitions.load()
Q = Query(as_of=fx.AS_OF, period=fx.PERIOD)
NA = Q.with_(filters=Filters.of(region="NA"))
MM_NA = Q.with_(filters=Filters.of(segment="Mid-Market", region="NA"))

CUTS = {
    "region": Filters.of(region="NA"),
    "source": Filters.of(source="Marketing"),
    "owner": Filters.of(owner="Alice"),
    "product": Filters.of(product="Core"),
    "segment x region": Filters.of(segment="Mid-Market", region="NA"),
}


@pytest.fixture(scope="module")
def con():
    c = fx.build()
    derived.refresh(c, sorted(fx.SNAPSHOTS))
    return c


@pytest.mark.parametrize("cut", list(CUTS))
def test_coverage_and_target_need_a_target_for_the_cut(con, cut):
    q = Q.with_(filters=CUTS[cut])
    for mid in ("coverage", "bookings_target"):
        res = compute(con, mid, q, DEFS)
        assert res.value is None, (mid, cut)
        assert res.note.startswith(NO_TARGET_FOR_CUT), (mid, cut, res.note)


def test_a_segment_without_a_target_row_is_a_cut_without_a_target(con):
    res = compute(con, "coverage", Q.with_(filters=Filters.of(segment="SMB")), DEFS)
    assert res.value is None
    assert res.note == f"{NO_TARGET_FOR_CUT}: FY2026-Q4 has no target for segment SMB"


def test_segment_cuts_and_the_whole_company_keep_their_targets(con):
    # Mid-Market: 190,000 / 200,000 (test_metrics_asof); the company: 379,000 / 500,000
    mm = compute(con, "coverage", Q.with_(filters=Filters.of(segment="Mid-Market")), DEFS)
    assert mm.value == pytest.approx(0.95)
    assert compute(con, "coverage", Q, DEFS).value == pytest.approx(0.758)


def test_matrix_under_a_region_cut_has_no_target_in_any_cell(con):
    table = compute(con, "coverage_matrix", NA, DEFS).table
    assert len(table) > 0
    assert table["coverage"].isna().all() and table["bookings_target"].isna().all()
    assert table["remaining_target"].isna().all()
    assert set(table["status"]) == {NO_TARGET_FOR_CUT}


def test_matrix_for_segment_x_region_does_not_use_the_whole_segment_target(con):
    """Seen on the Forecast page: Mid-Market x NA against Mid-Market's 200,000."""
    table = compute(con, "coverage_matrix", MM_NA, DEFS).table
    q4 = table[(table["period"] == "FY2026-Q4") & (table["segment"] == "Mid-Market")].iloc[0]
    # Mid-Market x NA open Q4: O07 40,000 + O08 15,000 + O13 100,000 = 155,000
    assert q4["open_pipeline"] == 155000.0
    assert q4["coverage"] is None or q4["coverage"] != q4["coverage"]
    assert q4["status"] == NO_TARGET_FOR_CUT


def test_kpi_tiles_and_the_trend_say_no_target_for_this_cut(con):
    got = {k.id: k for k in kpis.headline_kpis(con, NA, DEFS)}
    for kid in ("coverage_this_quarter", "coverage_next_quarter"):
        assert got[kid].value is None and got[kid].formatted == "—"
        assert got[kid].note.startswith(NO_TARGET_FOR_CUT)
    assert NO_TARGET_FOR_CUT in got["forecast"].note
    trend = compute(con, "kpi_trend", NA, DEFS).table
    assert trend["coverage"].isna().all()  # week by week: no target, no coverage


def test_pipeline_created_has_no_pipeline_target_under_a_region_cut(con):
    res = compute(con, "pipeline_created", NA, DEFS)
    assert res.note.startswith(NO_TARGET_FOR_CUT)
    assert res.table["pipeline_target"].isna().all()


def test_narrative_says_no_target_for_this_cut(con):
    from steward.narrative import build

    story = build(con, NA, DEFS)
    headline = story.section("headline")[0].text
    assert NO_TARGET_FOR_CUT in headline
    assert "coverage is" not in headline.lower()


def test_workbook_under_a_region_cut(con):
    wb = load_workbook(io.BytesIO(build_workbook(con, NA, DEFS, compare_to=fx.A)))
    ws = wb["Coverage"]
    texts = [
        ws.cell(r, 8).value for r in range(5, ws.max_row + 1) if ws.cell(r, 1).value is not None
    ]
    assert texts and all(f'"{NO_TARGET_FOR_CUT}"' in str(t) for t in texts)
    assert all(ws.cell(r, 6).value is None for r in range(5, 5 + len(texts)))
    summary = " ".join(
        str(c.value) for row in wb["Summary"].iter_rows() for c in row if c.value is not None
    )
    assert NO_TARGET_FOR_CUT in summary


def test_cli_metrics_coverage_under_a_region_cut(con, tmp_path, capsys):
    import duckdb

    from steward import store

    path = tmp_path / "fx.duckdb"
    disk = duckdb.connect(str(path))
    store.migrate(disk)
    fx.build(disk)
    disk.close()
    code = main(["metrics", "coverage", "--db", str(path), "--region", "NA", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["value"] is None
    assert out["note"].startswith(NO_TARGET_FOR_CUT)


# --- the finance preview and workbook under a segment filter ---------------------------


def test_matrix_under_a_segment_filter_has_no_all_row(con):
    """Seen: each row repeated as 'All' with the same values (a double count)."""
    one = compute(con, "coverage_matrix", Q.with_(filters=Filters.of(segment="Mid-Market")), DEFS)
    assert set(one.table["segment"]) == {"Mid-Market"}
    assert len(one.table) == 4  # FY2026-Q4 .. FY2027-Q3
    two = Filters.of(segment=["Enterprise", "Mid-Market"])
    both = compute(con, "coverage_matrix", Q.with_(filters=two), DEFS).table
    assert set(both["segment"]) == {"Enterprise", "Mid-Market"}
    # Unfiltered, 'All' is the company: 379,000 open in FY2026-Q4 (test_metrics_asof).
    whole = compute(con, "coverage_matrix", Q, DEFS).table
    all_q4 = whole[(whole["segment"] == "All") & (whole["period"] == "FY2026-Q4")]
    assert list(all_q4["open_pipeline"]) == [379000.0]


def test_workbook_under_a_segment_filter_has_no_all_row(con):
    q = Q.with_(filters=Filters.of(segment="Mid-Market"))
    wb = load_workbook(io.BytesIO(build_workbook(con, q, DEFS, compare_to=fx.A)))
    ws = wb["Coverage"]
    segs = [ws.cell(r, 3).value for r in range(5, ws.max_row + 1) if ws.cell(r, 1).value]
    assert segs == ["Mid-Market"] * 4


# --- the charts say it too -----------------------------------------------------------------


def _annotations(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_coverage_chart_under_a_region_cut_says_no_target_for_this_cut(con):
    from steward import charts

    fig = charts.coverage_chart(compute(con, "coverage_matrix", NA, DEFS).table)
    assert not fig.data  # no bars at 0x pretending to be a measurement
    assert any(NO_TARGET_FOR_CUT in t.lower() for t in _annotations(fig))


def test_coverage_trend_under_a_region_cut_says_why_it_is_empty(con):
    from steward import charts

    trend = compute(con, "kpi_trend", NA, DEFS).table
    note = compute(con, "coverage", NA, DEFS).note
    fig = charts.coverage_trend_chart(trend, goal=3.0, note=note)
    assert not fig.data
    assert any(NO_TARGET_FOR_CUT in t.lower() for t in _annotations(fig))


def test_board_pack_under_a_region_cut(con):
    import shutil

    from pptx import Presentation

    from steward.export.pptx import build_board_pack

    require(
        shutil.which("chromium") is not None,
        "Chromium is not installed (kaleido needs it to render the charts)",
    )
    prs = Presentation(io.BytesIO(build_board_pack(con, NA, DEFS)))
    text = " ".join(
        sh.text_frame.text for s in prs.slides for sh in s.shapes if sh.has_text_frame
    ).lower()
    assert NO_TARGET_FOR_CUT in text
    assert "coverage is 0." not in text  # no ratio against a target nobody set


def test_coverage_chart_without_any_target_says_so_instead_of_empty_bars():
    """Seen on the thin store's Board: bars at 0x labelled 'no target' for each quarter."""
    import pandas as pd

    from steward import charts

    table = pd.DataFrame(
        {
            "period": ["FY2026-Q4", "FY2027-Q1"],
            "offset": [0, 1],
            "segment": ["All", "All"],
            "open_pipeline": [4_100_000.0, 900_000.0],
            "won_to_date": [0.0, 0.0],
            "bookings_target": [None, None],
            "remaining_target": [None, None],
            "coverage": [None, None],
            "goal": [3.0, 2.0],
            "status": ["no target", "no target"],
        }
    )
    fig = charts.coverage_chart(table)
    assert not fig.data
    assert _annotations(fig) == ["No coverage to show: no targets loaded for these periods."]
