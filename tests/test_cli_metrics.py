"""`steward metrics / report / check / glossary` against the fixture store on disk."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fixtures_pipeline import run_cli as run
from fixtures_pipeline import write


@pytest.fixture
def db(tmp_path):
    return write(tmp_path / "fixture.duckdb")


def test_metric_json_defaults_to_the_latest_snapshot_and_its_quarter(db, capsys):
    code, out, _ = run(capsys, "metrics", "open_pipeline", "--db", db, "--format", "json")
    got = json.loads(out)
    assert code == 0
    # resolved once (steward.query): the comparison is the snapshot before, 2026-11-09
    assert got["query"] == {
        "as_of": "2026-11-16",
        "period": "FY2026-Q4",
        "compare_to": "2026-11-09",
    }
    assert (got["value"], got["formatted"], got["unit"]) == (379000.0, "$379K", "usd")


def test_metric_filters_and_notes(db, capsys):
    args = ["metrics", "coverage", "--db", db, "--as-of", "2026-11-16", "--period", "FY2026-Q4"]
    _, out, _ = run(capsys, *args, "--segment", "Enterprise", "--format", "json")
    assert (json.loads(out)["value"], json.loads(out)["note"]) == (None, "target already met")
    # two segments, repeated flag: 190,000 Mid-Market + 12,000 SMB; target 200,000 + none
    _, out, _ = run(
        capsys, *args, "--segment", "Mid-Market", "--segment", "SMB", "--format", "json"
    )
    assert json.loads(out)["note"] == (
        "no target for this cut: FY2026-Q4 has no target for segment SMB"
    )
    _, out, _ = run(
        capsys, "metrics", "open_pipeline", "--db", db, "--owner", "Bob", "--region", "EMEA"
    )
    assert "$110K" in out  # O06 75,000 + O11 35,000


def test_waterfall_table_csv_and_drill(db, capsys):
    base = ["metrics", "waterfall", "--db", db, "--compare-to", "2026-11-02"]
    _, out, _ = run(capsys, *base, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["bucket"] for r in rows][0::12] == ["Start", "End"]
    assert (rows[0]["amount"], rows[-1]["amount"]) == ("642000.0", "379000.0")
    _, out, _ = run(capsys, *base, "--drill", "bucket=Won", "--format", "json")
    got = json.loads(out)
    assert [r["opportunity_id"] for r in got["rows"]] == ["O01", "O15"]
    assert got["rows"][0]["close_date"] == "2026-11-10"
    code, _, err = run(capsys, *base, "--drill", "bucket=Nope")
    assert code == 1 and "unknown waterfall bucket" in err


def test_list_and_unknown_metric(db, capsys):
    code, out, _ = run(capsys, "metrics", "--list", "--format", "json")
    ids = [r["id"] for r in json.loads(out)["rows"]]
    assert code == 0 and "waterfall" in ids and "trust_score" in ids
    code, _, err = run(capsys, "metrics", "nope", "--db", db)
    assert code == 1 and "unknown metric 'nope'" in err
    code, _, err = run(capsys, "metrics", "open_pipeline", "--db", db, "--period", "2026Q4")
    assert code == 1 and "not a fiscal quarter" in err


def test_report_json(db, capsys):
    code, out, _ = run(capsys, "report", "--db", db, "--as-of", "2026-11-16", "--format", "json")
    got = {k["id"]: k for k in json.loads(out)["kpis"]}
    assert code == 0
    assert (got["qualified_pipeline"]["value"], got["qualified_pipeline"]["delta_prev"]) == (
        379000.0,
        -63000.0,
    )
    assert got["trust_score"]["value"] == 57.8
    code, out, _ = run(capsys, "report", "--db", db)
    assert code == 0 and "Qualified pipeline" in out and "-$63K" in out


def test_check_exits_0_with_findings(db, capsys):
    code, out, _ = run(capsys, "check", "--db", db, "--format", "json")
    got = json.loads(out)
    assert code == 0 and got["trust_score"] == 57.8
    assert {c["check_id"]: c["count"] for c in got["checks"]}["vanished"] == 1
    code, out, _ = run(capsys, "check", "--db", db)
    assert code == 0 and "score 58/100" in out and "$200,000.00" in out


def test_missing_store_is_a_clear_error(tmp_path, capsys):
    code, _, err = run(capsys, "check", "--db", str(tmp_path / "none.duckdb"))
    assert code == 1 and err.startswith("error: no database at")


def test_glossary_check(capsys):
    code, out, _ = run(capsys, "glossary", "--check")
    assert code == 0 and "up to date" in out
    code, out, _ = run(capsys, "glossary")
    assert out.startswith("# Metrics glossary")


def test_funnel_option_and_stage_drill(db, capsys):
    base = ["metrics", "funnel_asof", "--db", db, "--format", "json"]
    _, out, _ = run(capsys, *base)
    counts = {r["stage"]: r["count_open"] for r in json.loads(out)["table"]}
    assert counts["Negotiation"] == 1  # O11 only; O03 closes in FY2027-Q2
    _, out, _ = run(capsys, *base, "--option", "all_periods=true")
    counts = {r["stage"]: r["count_open"] for r in json.loads(out)["table"]}
    assert counts["Negotiation"] == 2  # O03 counted once the close-date filter is off
    _, out, _ = run(capsys, *base, "--option", "all_periods=false")
    assert {r["stage"]: r["count_open"] for r in json.loads(out)["table"]}["Negotiation"] == 1
    _, out, _ = run(capsys, *base, "--drill", "stage=Proposal")
    assert [r["opportunity_id"] for r in json.loads(out)["rows"]] == ["O10", "O07"]


def test_as_of_must_be_a_loaded_snapshot(db, capsys):
    code, _, err = run(capsys, "check", "--db", db, "--as-of", "2026-11-10")
    assert code == 1
    assert "no snapshot dated 2026-11-10 is loaded" in err and "2026-11-09, 2026-11-16" in err
    code, _, err = run(capsys, "metrics", "open_pipeline", "--db", db, "--as-of", "2026-12-01")
    assert code == 1 and "Nearest loaded: 2026-11-16." in err
