"""`steward plan ...`, `steward maturity`, `steward maturity-assess` on the small demo store.

Each command's output is checked against the metric layer; the writes against the store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser_helpers import latest_query, migrated_store

from steward import definitions, store
from steward.cli import main
from steward.maturity import scorecard
from steward.metrics import Query, compute
from steward.plan import needed, scenarios

DEFS = definitions.load()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return migrated_store(tmp_path_factory.mktemp("cli_plan") / "steward.duckdb")


@pytest.fixture(scope="module")
def q(db) -> Query:
    return latest_query(db, DEFS)


def run_json(capsys, *args: str) -> dict:
    assert main([*args, "--format", "json"]) == 0
    out: dict = json.loads(capsys.readouterr().out)
    return out


def test_plan_needed_defaults_to_next_quarter(db, q, capsys):
    out = run_json(capsys, "plan", "needed", "--db", str(db), "--target", "2000000")
    nq = q.with_(
        period=needed.next_quarter(q.as_of, DEFS), options=(("by_week", 13), ("target", 2e6))
    )
    with store.reader(db) as con:
        res = compute(con, "pipeline_needed", nq, DEFS)
    assert out["period"] == nq.period and out["bookings_target"] == 2_000_000
    assert out["pipeline_needed"] == res.value
    assert [r["source"] for r in out["rows"]] == list(res.table["source"])


def test_plan_whatif_save_list_delete(db, q, capsys):
    out = run_json(
        capsys,
        "plan",
        "whatif",
        "--db",
        str(db),
        "--cycle-days",
        "14",
        "--remove-category",
        "Omitted",
        "--save",
        "Slip two weeks",
    )
    with store.reader(db) as con:
        res = compute(
            con,
            "scenario_forecast",
            q.with_(options=(("cycle_days", 14), ("remove_categories", "Omitted"))),
            DEFS,
        )
        assert list(scenarios.saved(con)["name"]) == ["Slip two weeks"]
    assert [r["p50"] for r in out["rows"]] == list(res.table["p50"])
    listed = run_json(capsys, "plan", "scenarios", "--db", str(db))
    assert [r["scenario"] for r in listed["rows"]] == ["Baseline", "Slip two weeks"]
    assert listed["rows"][1]["p50"] == out["rows"][1]["p50"]
    assert main(["plan", "scenarios", "--db", str(db), "--delete", "Slip two weeks"]) == 0
    assert main(["plan", "scenarios", "--db", str(db), "--delete", "Slip two weeks"]) == 1
    assert "no saved scenario" in capsys.readouterr().err


def test_plan_whatif_rejects_bad_input(db, capsys):
    assert main(["plan", "whatif", "--db", str(db), "--source-creation", "Marketing"]) == 1
    assert "SOURCE:PERCENT" in capsys.readouterr().err
    assert (
        main(
            [
                "plan",
                "whatif",
                "--db",
                str(db),
                "--conversion-stage",
                "Nope",
                "--conversion-pts",
                "5",
            ]
        )
        == 1
    )
    assert "not a governed stage" in capsys.readouterr().err


def test_maturity_assess_record_and_show(db, q, capsys):
    assert (
        main(
            [
                "maturity-assess",
                "enablement",
                "2",
                "--db",
                str(db),
                "--on",
                q.as_of.isoformat(),
                "--note",
                "playbook shipped",
            ]
        )
        == 0
    )
    assert main(["maturity-assess", "trust_score", "2", "--db", str(db)]) == 1
    assert "unknown maturity dimension" in capsys.readouterr().err
    out = run_json(capsys, "maturity", "--db", str(db), "--record")
    with store.reader(db) as con:
        res = compute(con, "maturity_scorecard", q, DEFS)
        hist = scorecard.history(con)
    assert out["at_stage_3"] == res.value
    enablement = [r for r in out["rows"] if r["dimension_id"] == "enablement"][0]
    assert enablement["stage"] == 2 and "playbook shipped" in enablement["evidence"]
    assert set(hist["snapshot_date"]) == {q.as_of}
    assert main(["maturity", "--db", str(db), "--history"]) == 0
    assert "Enablement" in capsys.readouterr().out


def test_maturity_text_lists_every_dimension_with_its_evidence(db, q, capsys):
    assert main(["maturity", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    with store.reader(db) as con:
        detail = compute(con, "maturity_scorecard", q, DEFS).table
    for dim in scorecard.DIMENSIONS:
        assert f"{dim.matrix} · {dim.label}: stage " in out
    for evidence in detail["evidence"]:
        assert evidence in out
