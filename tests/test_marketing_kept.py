"""Attribution and influence from what is kept per store version (`marketing.period_deals`,
`window_touches`, `touch_credits`) give exactly the answers of the per-view reference
(`attribution_direct`, `influence_flags_direct`: the journeys read for the view alone),
for any filter; and an import of touches, leads, targets or snapshots makes a kept set
go stale (a new store version)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from browser_helpers import small_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_marketing import AS_OF, DEALS, DEFS, PERIOD, TOUCHES, insert_snapshots, insert_table, lead

from steward import derived, ingest, memo, store
from steward.metrics import Filters, Query, RowScope, compute, current_period
from steward.metrics import marketing as mk
from steward.store import LEAD_COLUMNS, TOUCH_COLUMNS

BASES = ("pipeline", "bookings")


@pytest.fixture()
def store_memo() -> Iterator[None]:
    memo.use_store_memo(True)
    yield
    memo.use_store_memo(False)


def same_result(a, b) -> None:
    """Equal to the last bit: value, note and table (dtypes included)."""
    assert a.value == b.value
    assert a.note == b.note
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)


def same_flags(con, q: Query) -> None:
    """The kept flags are the reference's, deal for deal (the reference's row order is the
    hash join's, so both are put in id order)."""
    fast = mk._influence_flags(con, q, DEFS).sort_values("opportunity_id")
    ref = mk.influence_flags_direct(con, q, DEFS).sort_values("opportunity_id")
    for frame in (fast, ref):  # a blank source is NaN in one frame, None in the other
        frame["source"] = frame["source"].astype(object).where(frame["source"].notna(), None)
    cols = ["opportunity_id", "source", "amount", "is_won", "is_pipeline"]
    cols += ["is_influenced", "is_sourced"]
    pd.testing.assert_frame_equal(
        fast[cols].reset_index(drop=True),
        ref[cols].reset_index(drop=True),
        check_dtype=False,  # the reference reads booleans as nullable from SQL
    )


def check_view(con, q: Query) -> None:
    """Every answer of the kept path equals the reference's for the view q."""
    for basis in BASES:
        qb = q.with_(options=(("basis", basis),))
        same_result(compute(con, "attribution", qb, DEFS), mk.attribution_direct(con, qb, DEFS))
    same_flags(con, q)
    ref = mk.influence_result(q, mk.influence_flags_direct(con, q, DEFS))
    same_result(compute(con, "marketing_influenced_pipeline", q, DEFS), ref)


# --- the hand-built deals of test_marketing ---------------------------------------------


@pytest.fixture()
def con():
    c = store.init_memory()
    insert_snapshots(c, DEALS)
    touches = [{**t, "touch_date": date.fromisoformat(t["touch_date"])} for t in TOUCHES]
    insert_table(c, "touches", TOUCH_COLUMNS, touches)
    derived.new_version(c)  # a version token: the store memo keeps answers for it
    yield c
    c.close()


CUTS = [
    Filters(),
    Filters.of(segment=["Enterprise"]),
    Filters.of(segment=["SMB"], source=["Partner"]),
    Filters.of(source=["Marketing", "Partner"]),
    Filters.of(region=["Nowhere"]),  # matches no deal
    Filters(scope=RowScope.of(segment=["Enterprise"])),
]


@pytest.mark.parametrize("memo_on", [False, True])
def test_every_cut_equals_the_reference(con, memo_on: bool) -> None:
    memo.use_store_memo(memo_on)
    try:
        for cut in CUTS:
            check_view(con, Query(as_of=AS_OF, period=PERIOD, filters=cut))
    finally:
        memo.use_store_memo(False)


def test_a_cut_picks_its_deals_out_of_the_kept_journeys(con) -> None:
    # Enterprise pipeline of Q4 at 11-16 (test_marketing's table): O1 1000, one touch
    # (Webinar 06-03) and O3 500, three touches (A3 Paid Search 10-05, Event 11-02,
    # Webinar 11-09). First touch: Webinar 1000 (O1), Paid Search 500 (O3). Last touch:
    # Webinar 1000 + 500. Linear: O3's 500 in thirds (166.66 or 166.67 each), O1's 1000
    # to Webinar; the column sums to 1500.00 exactly.
    kept = mk.period_deals(con, Query(as_of=AS_OF, period=PERIOD), DEFS)
    assert list(kept.ids) == ["O1", "O10", "O2", "O3", "O4", "O6", "O8", "O9"]
    q = Query(as_of=AS_OF, period=PERIOD, filters=Filters.of(segment=["Enterprise"]))
    assert list(kept.ids[kept.chosen(con, q, DEFS)]) == ["O1", "O3"]
    t = compute(con, "attribution", q, DEFS).table.set_index("channel")
    assert t["first_touch"].to_dict() == {"Event": 0.0, "Paid Search": 500.0, "Webinar": 1000.0}
    assert t["last_touch"].to_dict() == {"Event": 0.0, "Paid Search": 0.0, "Webinar": 1500.0}
    assert round(t["linear"].sum(), 2) == 1500.0
    assert t.loc["Event", "linear"] in (166.66, 166.67)
    assert t.loc["Webinar", "linear"] - 1000 in (pytest.approx(166.66), pytest.approx(166.67))


# --- any deals, touches and cut (hypothesis) ---------------------------------------------

STAGES = ["Prospecting", "Discovery", "Solution", "Proposal", "Closed Won", "Closed Lost"]
Q4_START = date(2026, 10, 1)
day = st.integers(min_value=-150, max_value=140).map(lambda n: Q4_START + timedelta(days=n))
deal_st = st.fixed_dictionaries(
    {
        "account_id": st.sampled_from(["A1", "A2", "A3"]),
        "stage": st.sampled_from(STAGES),
        "amount": st.integers(min_value=0, max_value=10**6).map(lambda c: c / 100),
        "created_date": st.one_of(st.none(), day),
        "close_date": day,
        "segment": st.sampled_from(["SMB", "Enterprise"]),
        "source": st.sampled_from(["Marketing", "Partner", None]),
    }
)
touch_st = st.fixed_dictionaries(
    {
        "opp": st.one_of(st.none(), st.integers(min_value=0, max_value=7)),
        "account_id": st.sampled_from(["A1", "A2", "A3"]),
        "touch_date": day,
        "channel": st.sampled_from(["Webinar", "Event", "Paid Search", None]),
        "campaign": st.sampled_from(["c1", "c2", None]),
    }
)


@pytest.fixture(scope="module")
def empty_con():
    c = store.init_memory()  # one store for every example: the tables are emptied each time
    yield c
    c.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    deals=st.lists(deal_st, min_size=0, max_size=7),
    touches=st.lists(touch_st, min_size=0, max_size=14),
    segments=st.sampled_from([(), ("SMB",), ("Enterprise",)]),
)
def test_kept_journeys_equal_the_reference_for_any_data(
    empty_con, deals, touches, segments
) -> None:
    c = empty_con
    c.execute("delete from snapshots")
    c.execute("delete from touches")
    try:
        rows = [
            {**d, "snapshot_date": AS_OF, "opportunity_id": f"O{i}"} for i, d in enumerate(deals)
        ]
        if rows:
            insert_snapshots(c, [mk_row(r) for r in rows])
        tch = [
            {
                **{k: v for k, v in t.items() if k != "opp"},
                "opportunity_id": None if t["opp"] is None else f"O{t['opp']}",
            }
            for t in touches
        ]
        if tch:
            insert_table(c, "touches", TOUCH_COLUMNS, tch)
        derived.new_version(c)
        memo.use_store_memo(True)  # the unfiltered view fills the kept set, the cut reads it
        for cut in (Filters(), Filters.of(segment=list(segments))):
            check_view(c, Query(as_of=AS_OF, period=PERIOD, filters=cut))
    finally:
        memo.use_store_memo(False)


def mk_row(r: dict) -> dict:
    """test_marketing's canonical row (closed and won from the stage)."""
    import fixtures_pipeline as fp

    return fp.canonical(r, segment="SMB")


# --- the demo store ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_store(tmp_path_factory.mktemp("kept") / "steward.duckdb")


def test_the_demo_store_gives_the_reference_answers_for_every_segment_and_source(
    demo_db: Path, store_memo: None
) -> None:
    with store.reader(demo_db) as c:
        rows = c.execute("select distinct snapshot_date from snapshots order by 1").fetchall()
        dates = [r[0] for r in rows]
        for as_of in (dates[-1], dates[-9]):
            q = Query(as_of=as_of, period=current_period(as_of, DEFS))
            values = c.execute(
                "select distinct segment, source from snapshots where snapshot_date = $d",
                {"d": as_of},
            ).fetchall()
            deals = mk.period_deals(c, q, DEFS)
            assert mk.window_touches(c, q, DEFS, deals).is_influenced.any()  # touches count
            check_view(c, q)
            for segment, source in values[:6]:
                cut = Filters.of(segment=[segment], source=[] if source is None else [source])
                check_view(c, q.with_(filters=cut))


# --- a kept set goes stale with every import ----------------------------------------------


def test_an_import_of_touches_makes_the_kept_journeys_stale(
    tmp_path: Path, store_memo: None
) -> None:
    db = small_store(tmp_path / "steward.duckdb")
    with store.writer(db) as c:
        as_of = c.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
        q = Query(as_of=as_of, period=current_period(as_of, DEFS))
        before = compute(c, "attribution", q, DEFS)
        assert compute(c, "attribution", q, DEFS).note == before.note  # kept, served again
        # the touches replaced by one Webinar touch per deal of the quarter, on its close
        # date or the as-of date, whichever is earlier (the window's last day): no deal is
        # left without a touch, no other channel is left
        ids = [str(x) for x in mk.period_deals(c, q, DEFS).ids]
        new = c.execute(
            "select opportunity_id, least(close_date, $d) as touch_date, "
            "'Webinar' as channel, 'fresh' as campaign from snapshots "
            "where snapshot_date = $d and list_contains($ids::varchar[], opportunity_id)",
            {"d": as_of, "ids": ids},
        ).df()
        assert len(new) == len(ids) > 0
        new.to_csv(tmp_path / "touches.csv", index=False)
        token = derived.version(c)
        # the import a user runs (`steward import-table touches touches.csv`)
        prepared = ingest.prepare_table("touches", tmp_path / "touches.csv", DEFS)
        ingest.commit(c, prepared)
        assert derived.version(c) != token
        after = compute(c, "attribution", q, DEFS)
        same_result(after, mk.attribution_direct(c, q, DEFS))
        assert mk.NO_TOUCH in set(before.table["channel"])
        assert set(after.table["channel"]) == {"Webinar"}


@pytest.mark.parametrize("table", ["leads", "targets"])
def test_every_table_import_starts_a_new_store_version(tmp_path: Path, table: str) -> None:
    db = small_store(tmp_path / "steward.duckdb")
    with store.writer(db) as c:
        token = derived.version(c)
        assert token is not None
        frame = c.execute(f"select * from {table}").df()  # noqa: S608 - from the params
        store.commit_table(c, table, frame, file_name=f"{table}.csv")
        assert derived.version(c) not in (None, token)


def test_a_replaced_snapshot_makes_the_kept_journeys_stale(
    tmp_path: Path, store_memo: None
) -> None:
    db = small_store(tmp_path / "steward.duckdb")
    with store.writer(db) as c:
        as_of = c.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
        q = Query(as_of=as_of, period=current_period(as_of, DEFS))
        before = compute(c, "marketing_influenced_pipeline", q, DEFS)
        cols = ", ".join(store.SNAPSHOT_COLUMNS)
        frame = c.execute(
            f"select {cols} from snapshots where snapshot_date = $d",  # noqa: S608
            {"d": as_of},
        ).df()
        frame["amount"] = frame["amount"].astype(float) * 2  # every amount doubled
        store.commit_snapshots(c, frame, file_name="again.csv", replace=True)
        after = compute(c, "marketing_influenced_pipeline", q, DEFS)
        assert before.value is not None and before.value > 0
        assert after.value == pytest.approx(2 * before.value)
        same_result(after, mk.influence_result(q, mk.influence_flags_direct(c, q, DEFS)))


# --- speed to lead: one table per view ----------------------------------------------------


def test_speed_to_lead_and_sla_share_one_table_per_view(monkeypatch) -> None:
    # Q4 up to 11-16, SLA 24 h: L1 contacted in 2 h (within), L2 never contacted and past
    # its window (outside): compliance 1 / 2
    leads_con = store.init_memory()
    rows = [
        lead("L1", "web", "Ann", "2026-10-01 09:00", "2026-10-01 11:00"),
        lead("L2", "event", "Bob", "2026-10-07 08:00"),
    ]
    insert_table(leads_con, "leads", LEAD_COLUMNS, rows)
    q = Query(as_of=AS_OF, period=PERIOD)
    alone = compute(leads_con, "speed_to_lead", q, DEFS)
    reads: list[Query] = []
    read = mk._read_speed_table

    def counted(con, q, defs):
        reads.append(q)
        return read(con, q, defs)

    monkeypatch.setattr(mk, "_read_speed_table", counted)
    with memo.view():
        shared = compute(leads_con, "speed_to_lead", q, DEFS)
        assert compute(leads_con, "sla_compliance", q, DEFS).value == 0.5
        shared.table.loc[0, "leads"] = -1  # a caller's copy: the view's table is untouched
        again = compute(leads_con, "speed_to_lead", q.with_(options=(("x", 1),)), DEFS)
    assert len(reads) == 1
    pd.testing.assert_frame_equal(again.table, alone.table)


def test_a_view_reads_the_deals_once_for_attribution_and_influence(con, monkeypatch) -> None:
    # store memo off: each call alone reads the deals; inside one view (the page and its
    # prefetch threads) the second metric waits for the first one's read
    reads: list[Query] = []
    read = mk._read_deals

    def counted(con, q, defs):
        reads.append(q)
        return read(con, q, defs)

    monkeypatch.setattr(mk, "_read_deals", counted)
    q = Query(as_of=AS_OF, period=PERIOD)
    alone = compute(con, "attribution", q, DEFS)
    assert len(reads) == 1
    with memo.view():
        same_result(compute(con, "attribution", q, DEFS), alone)
        cut = q.with_(filters=Filters.of(segment=["SMB"]))
        compute(con, "marketing_influenced_pipeline", cut, DEFS)
        compute(con, "attribution", cut.with_(options=(("basis", "bookings"),)), DEFS)
    assert len(reads) == 2
