"""The Weekly review page in Streamlit's AppTest: renders the agenda, records a decision
from the form, and lists it after a fresh run (a reload)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import latest_query, run_app, small_store, store_env
from streamlit.testing.v1 import AppTest

from steward import definitions, review, store


@pytest.fixture(scope="module")
def review_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = small_store(tmp_path_factory.mktemp("review_app") / "steward.duckdb")
    with store_env(path):
        yield path


def _run() -> AppTest:
    return run_app("weekly_review")


def test_page_renders_the_agenda_and_records_a_decision(review_db: Path) -> None:
    at = _run()
    assert at.title[0].value == "Weekly review"
    heads = [h.value for h in at.subheader]
    assert heads[:2] == ["Last week's decisions", "This week's bottlenecks"]
    d = definitions.load()
    latest = latest_query(review_db, d)
    with store.reader(review_db) as con:
        agenda = review.build_agenda(con, latest, d)
    assert agenda.items, "the small demo store should put something on the agenda"
    # every item, in the ranked order, with its evidence word for word
    text = "\n".join(m.value for m in at.markdown)
    positions = [text.find(f"**{n}. {i.title}**") for n, i in enumerate(agenda.items, 1)]
    assert -1 not in positions and positions == sorted(positions)
    assert all(i.evidence.text in text for i in agenda.items)

    key = agenda.items[0].key
    at.selectbox(key="decision_item").set_value(key)
    at.text_input(key="decision_what").set_value("Find the missing pipeline")
    at.text_input(key="decision_owner").set_value("VP Sales")
    at.button(key="decision_submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("recorded" in s.value for s in at.success)

    again = _run()  # a reload: a new session reads the store again
    text = " ".join(m.value for m in again.markdown)
    assert "Find the missing pipeline" in text and "VP Sales" in text
    with store.reader(review_db) as con:
        rows = review.load(con)
    assert [(r.item_key, r.what, r.owner, r.as_of) for r in rows] == [
        (key, "Find the missing pipeline", "VP Sales", latest.as_of)
    ]


def test_an_empty_decision_is_refused_and_nothing_is_written(review_db: Path) -> None:
    with store.reader(review_db) as con:
        before = len(review.load(con))
    at = _run()
    at.text_input(key="decision_what").set_value("")
    at.text_input(key="decision_owner").set_value("VP Sales")
    at.button(key="decision_submit").click()
    at.run()
    assert any("what: empty" in e.value for e in at.error)
    with store.reader(review_db) as con:
        assert len(review.load(con)) == before
