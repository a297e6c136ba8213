"""Decisions: recorded all-or-nothing, the schema migrated forward, followed on later
snapshots of the hand-built store (tests/fixtures_pipeline.py), the follow-through rate by hand.

Paper numbers used below (fixture docstring): FY2026-Q4 open qualified pipeline is
$642,000 at A (2026-11-02) and $379,000 at B (2026-11-16); the FY2026-Q4 'All' bookings
target is $600,000 at every snapshot.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fixtures_pipeline import AS_OF, PERIOD, PREV, A

from steward import store
from steward.definitions import Definitions
from steward.metrics import compute
from steward.metrics.core import Filters, Query
from steward.review import DecisionRejected, Reading, follow, follow_all, load, record

OPEN_DOWN = Reading("open_pipeline", PERIOD, Filters(), (), "down", "usd")
TARGET_UP = Reading("bookings_target", PERIOD, Filters(), (), "up", "usd")


def decide(
    con: Any, defs: Definitions, reading: Reading, due: date, ids: list[str], what: str = "x"
) -> int:
    return record(
        con, defs, as_of=A, what=what, owner="VP Sales", due_date=due, reading=reading,
        opportunity_ids=ids, rule_id="test", item_key=f"test:{what}", item_title="Test item",
    )  # fmt: skip


def test_a_decision_is_recorded_with_its_baseline(pipeline_con: Any, defs: Definitions) -> None:
    new_id = decide(pipeline_con, defs, OPEN_DOWN, AS_OF, ["O01", "O03"])
    (d,) = load(pipeline_con)
    assert (d.decision_id, d.as_of, d.owner, d.due_date) == (new_id, A, "VP Sales", AS_OF)
    assert d.baseline_value == 642_000.0
    assert d.opportunity_ids == ("O01", "O03") and d.reading == OPEN_DOWN


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"what": " "}, "what: empty"),
        ({"owner": ""}, "owner: empty"),
        ({"due_date": A}, "due_date: 2026-11-02 is not after"),
        ({"as_of": date(2026, 11, 3)}, "as_of: no snapshot loaded for 2026-11-03"),
        ({"opportunity_ids": ["O01", "NOPE"]}, "deals: not in the 2026-11-02 snapshot: NOPE"),
        ({"reading": Reading("no_such_metric", PERIOD, Filters())}, "unknown metric id"),
    ],
)
def test_a_bad_decision_changes_nothing(
    pipeline_con: Any, defs: Definitions, change: dict[str, Any], problem: str
) -> None:
    kw: dict[str, Any] = dict(
        as_of=A, what="Call them", owner="VP Sales", due_date=AS_OF, reading=OPEN_DOWN,
        opportunity_ids=["O01"], rule_id="test", item_key="test:1", item_title="t",
    )  # fmt: skip
    kw.update(change)
    with pytest.raises(DecisionRejected) as err:
        record(pipeline_con, defs, **kw)
    assert problem in " ".join([str(err.value), *err.value.details])
    assert load(pipeline_con) == []


def test_follow_through_where_the_deals_move(pipeline_con: Any, defs: Definitions) -> None:
    # A -> B: O01 closed won; O03 close date FY2026-Q4 -> FY2027-Q2 (pushed again);
    # O10 Solution/Pipeline -> Proposal/Commit (the category wins over the stage: now in
    # Commit); O07 close 2027-02-01 -> 2026-12-20 (pulled in); O05 missing from B (gone);
    # O08 Prospecting -> Discovery (advanced); O04 Discovery -> Prospecting (fell back).
    decide(pipeline_con, defs, OPEN_DOWN, AS_OF, ["O01", "O03", "O10", "O07", "O05", "O08", "O04"])
    (d,) = load(pipeline_con)
    f = follow(pipeline_con, d, AS_OF, defs)
    assert f.deal_outcomes == {
        "O01": "won",
        "O03": "pushed again",
        "O10": "now in Commit",
        "O07": "pulled in",
        "O05": "gone from the CRM",
        "O08": "advanced",
        "O04": "fell back",
    }
    # open pipeline fell 642,000 -> 379,000, the intended way, on the due date: done
    assert f.value_now == 379_000.0 and f.moved and f.status == "done"
    assert f.summary == (
        "7 deals: 1 won, 1 gone from the CRM, 1 pushed again, 1 now in Commit, 1 advanced, "
        "1 fell back, 1 pulled in; "
        "Open pipeline $642K → $379K (should go down)"
    )


def test_follow_through_where_nothing_moves(pipeline_con: Any, defs: Definitions) -> None:
    # O13, O16 are unchanged A -> B; the bookings target never moves.
    decide(pipeline_con, defs, TARGET_UP, date(2026, 11, 30), ["O13", "O16"])
    (d,) = load(pipeline_con)
    at_b = follow(pipeline_con, d, AS_OF, defs)
    assert at_b.deal_outcomes == {"O13": "no change", "O16": "no change"}
    assert at_b.status == "slipping" and not at_b.moved  # not moved, due date not passed
    assert follow(pipeline_con, d, A, defs).status == "recorded"  # no later snapshot yet


def test_overdue_and_the_follow_through_rate_by_hand(pipeline_con: Any, defs: Definitions) -> None:
    decide(pipeline_con, defs, TARGET_UP, PREV, [], what="never moves")  # due Nov 9
    decide(pipeline_con, defs, OPEN_DOWN, AS_OF, [], what="moves")  # due Nov 16
    statuses = {f.decision.what: f.status for f in follow_all(pipeline_con, AS_OF, defs)}
    # 'never moves' is past due (Nov 9 < Nov 16) and its metric did not move by then
    assert statuses == {"never moves": "overdue", "moves": "done"}

    def rate(as_of: date) -> Any:
        return compute(pipeline_con, "decision_follow_through_rate", Query(as_of, PERIOD), defs)

    # At B both are due: 'moves' moved by its due date, 'never moves' did not -> 1 / 2
    r = rate(AS_OF)
    assert r.value == 0.5 and r.table is not None and len(r.table) == 2
    # At PREV only 'never moves' is due (Nov 9), not moved -> 0 / 1
    assert rate(PREV).value == 0.0
    # At A nothing was due yet: no value, and a note says why
    assert rate(A).value is None and rate(A).note == "no decision was due by this snapshot"


def _version_1_store(path: Path) -> Path:
    """A store as the first release wrote it (schema version 1), holding one target."""
    con = duckdb.connect(str(path))
    for stmt in store.MIGRATIONS[0]:
        con.execute(stmt)
    con.execute("insert into schema_info values (1, now())")
    con.execute("insert into targets values ('FY2026-Q4', 'All', 100, 200)")
    con.close()
    return path


def test_a_version_1_store_migrates_forward_with_its_data(tmp_path: Path) -> None:
    path = _version_1_store(tmp_path / "old.duckdb")
    with store.writer(path) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION >= 2
        tables = {
            r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
        }
        assert "decisions" in tables
        assert con.execute("select count(*) from targets").fetchall() == [(1,)]


def test_operating_cadence_is_placed_by_the_follow_through_rate(
    pipeline_con: Any, defs: Definitions
) -> None:
    """The maturity rule reads the same metric: at B 1 of 2 decisions moved -> 0.5, which
    is exactly the governed stage-2 threshold (0.50), so stage 2; before any decision was
    due (A) the rule has no value and places nothing, and its evidence says why."""
    from steward.maturity import scorecard

    decide(pipeline_con, defs, TARGET_UP, PREV, [], what="never moves")
    decide(pipeline_con, defs, OPEN_DOWN, AS_OF, [], what="moves")
    assert defs.maturity_thresholds["decision_follow_through"] == (0.5, 0.75)

    def cadence(as_of: date) -> Any:
        detail = scorecard.evaluate(pipeline_con, Query(as_of, PERIOD), defs)
        return detail[detail["dimension_id"] == "operating_cadence"].iloc[0]

    at_b = cadence(AS_OF)
    assert at_b["basis"] == "evidence" and at_b["value"] == 0.5 and at_b["rule_stage"] == 2
    assert at_b["evidence"].startswith("1 of 2 decisions due moved their metric")
    assert at_b["metric_id"] == "decision_follow_through_rate"
    at_a = cadence(A)
    assert at_a["value"] is None or at_a["value"] != at_a["value"]  # no value (None/NaN)
    assert "no weekly-review decision was due" in at_a["evidence"]


def test_an_older_store_is_migrated_when_first_read(tmp_path: Path) -> None:
    """An upgraded app opens an older store read-only: it is migrated forward once, data
    kept, instead of refusing with 'run any write command to migrate it'."""
    path = _version_1_store(tmp_path / "old.duckdb")
    with store.reader(path) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION
        assert con.execute("select count(*) from decisions").fetchall() == [(0,)]
        assert con.execute("select count(*) from targets").fetchall() == [(1,)]
