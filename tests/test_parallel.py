"""steward.parallel: a page's independent reads run together, in the caller's view.

Checked: results come back in the calls' order; each call reads through its own cursor;
a failure is raised by its own future (so reading in order raises the first one); the
workers share the caller's view, so a metric two calls read is computed once; and the
two pages that use it (maturity scorecard, weekly agenda) answer the same with one
thread and with several.
"""

from __future__ import annotations

import threading

import history_fixture as hf
import pytest

from steward import definitions, memo, parallel
from steward.maturity import scorecard
from steward.metrics import Query, compute
from steward.review import build_agenda

DEFS = definitions.load()


@pytest.fixture
def hand():
    con = hf.build()
    yield con
    con.close()


def test_results_in_order_each_on_its_own_cursor(hand):
    seen: list[int] = []
    lock = threading.Lock()

    def call(k: int):
        def run(c):
            with lock:
                seen.append(id(c))
            return k * 10 + int(c.execute("select count(*) from snapshots").fetchall()[0][0])

        return run

    # 4 snapshots: A-E, G, H at S1 (7 rows), 7 at S2, 8 at S3, 8 at S4 = 30 rows
    got = [f.result() for f in parallel.run_all(hand, [call(k) for k in range(5)])]
    assert got == [30, 40, 50, 60, 70]
    assert id(hand) not in seen  # never the caller's own connection from a worker


def test_a_failure_is_raised_by_its_own_future(hand):
    def boom(_c):
        raise ValueError("rule 2 failed")

    futures = parallel.run_all(hand, [lambda c: 1, boom, lambda c: 3])
    assert futures[0].result() == 1
    with pytest.raises(ValueError, match="rule 2 failed"):
        futures[1].result()
    assert futures[2].result() == 3
    # one thread: the same answers, the same error
    futures = parallel.run_all(hand, [lambda c: 1, boom], threads=1)
    assert futures[0].result() == 1
    with pytest.raises(ValueError, match="rule 2 failed"):
        futures[1].result()


def test_workers_share_the_callers_view(hand):
    q = Query(as_of=hf.S4, period="FY2026-Q4")
    with memo.view() as v:
        futures = parallel.run_all(
            hand, [lambda c: compute(c, "win_rate_count", q, DEFS) for _ in range(4)]
        )
        values = {f.result().value for f in futures}
        # won A 120 and G 500, qualified lost B: 2 / 3 (C was never qualified)
        assert values == {2 / 3}
        assert v.computed == 2  # the metric and its win/loss counts, once each
        assert v.served >= 3


def test_pages_answer_the_same_with_one_thread(hand, monkeypatch):
    q = Query(as_of=hf.S4, period="FY2026-Q4", compare_to=hf.S3)
    many_card = scorecard.evaluate(hand, q, DEFS)
    many_agenda = build_agenda(hand, q, DEFS).to_json()
    monkeypatch.setattr(parallel, "THREADS", 1)
    assert scorecard.evaluate(hand, q, DEFS).equals(many_card)
    assert build_agenda(hand, q, DEFS).to_json() == many_agenda
