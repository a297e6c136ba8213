"""The Scenario planner and Maturity scorecard pages in Streamlit's AppTest.

On their own small demo store (saving scenarios and assessments writes to it, so the
shared store of test_app_pages stays untouched). Charts and tiles are checked against
the metric layer; the writes are checked in the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from browser_helpers import chart_spec as chart
from browser_helpers import latest_query, small_store, store_env
from browser_helpers import run_app as run

from steward import definitions, fmt, store
from steward.maturity import scorecard
from steward.metrics import Query, compute
from steward.plan import needed, scenarios

DEFS = definitions.load()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = small_store(tmp_path_factory.mktemp("app_plan") / "steward.duckdb")
    with store.writer(path):
        pass
    with store_env(path):
        yield path


@pytest.fixture(scope="module")
def q(db) -> Query:
    return latest_query(db, DEFS)


def compute_in(db: Path, metric_id: str, q: Query) -> Any:
    with store.reader(db) as con:
        return compute(con, metric_id, q, DEFS)


def test_scenario_planner_needed_matches_the_metric_layer(db: Path, q: Query) -> None:
    at = run("scenario_planner")
    assert [w.value for w in at.warning] == []
    nq = q.with_(period=needed.next_quarter(q.as_of, DEFS), options=(("by_week", 13),))
    res = compute_in(db, "pipeline_needed", nq)
    per_source = res.table[res.table["source"] != "Total"].iloc[::-1]
    bars = chart(at, "plan_needed_chart")["data"]
    assert bars[0]["y"] == list(per_source["source"])
    assert bars[0]["x"] == [float(v) for v in per_source["open_pipeline"]]
    assert bars[1]["x"] == [float(v or 0) for v in per_source["new_pipeline"].fillna(0)]
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Qualified pipeline needed"] == fmt.money(res.value)
    # change the target: the plan follows (needed scales with target - won)
    at.number_input(key=f"plan_target_{nq.period}").set_value(1_000_000.0).run()
    res2 = compute_in(
        db, "pipeline_needed", nq.with_(options=(("by_week", 13), ("target", 1_000_000.0)))
    )
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Qualified pipeline needed"] == fmt.money(res2.value)


def test_whatif_against_the_baseline_and_save(db: Path, q: Query) -> None:
    at = run("scenario_planner")
    base = chart(at, "plan_whatif_chart")["data"][1]  # the P50 markers, scenario first
    hist = compute_in(db, "forecast_historical", q).value
    assert base["x"] == [hist, hist]  # no change: the scenario equals the baseline
    at.number_input(key="wi_cycle").set_value(21).run()
    want = compute_in(db, "scenario_forecast", q.with_(options=(("cycle_days", 21),))).table
    p50 = chart(at, "plan_whatif_chart")["data"][1]["x"]
    assert p50 == [float(want["p50"].iloc[1]), float(want["p50"].iloc[0])]
    at.text_input(key="wi_name").set_value("Three weeks slower").run()
    at.button(key="wi_save").click().run()
    assert not at.exception
    with store.reader(db) as con:
        listed = scenarios.saved(con)
    assert list(listed["name"]) == ["Three weeks slower"]
    saved = chart(at, "plan_saved_chart")["data"][1]
    assert saved["y"] == ["Three weeks slower", "Baseline"]
    assert saved["x"][0] == float(want["p50"].iloc[1])


def test_maturity_page_places_records_and_keeps_history(db: Path, q: Query) -> None:
    at = run("maturity")
    assert [w.value for w in at.warning] == []
    res = compute_in(db, "maturity_scorecard", q)
    placed = scorecard.placements(res.table).iloc[::-1]
    bars = chart(at, "maturity_chart")["data"][0]
    assert bars["x"] == [0 if pd.isna(s) else int(s) for s in placed["stage"]]
    assert bars["customdata"] == list(placed["evidence"])
    # a self-assessment for ICP, through the form
    at.selectbox(key="maturity_assess_dim").set_value(scorecard.DIMENSIONS[2])
    at.radio(key="maturity_assess_stage").set_value(2)
    at.text_input(key="maturity_assess_note").set_value("ICP written and shared")
    [b for b in at.button if b.label == "Record self-assessment"][0].click().run()
    assert not at.exception
    detail = compute_in(db, "maturity_scorecard", q).table
    icp = detail[detail["dimension_id"] == "icp"].iloc[0]
    assert icp["stage"] == 2 and "ICP written and shared" in icp["evidence"]
    at.button(key="maturity_record").click().run()
    assert not at.exception
    with store.reader(db) as con:
        hist = scorecard.history(con)
    assert set(hist["snapshot_date"]) == {q.as_of}
    assert len(hist) == len(scorecard.DIMENSIONS)
