"""A new team's first month in AppTest: every page on thin stores, one error renderer.

Issue 9 §2. A store with one snapshot, two snapshots, no targets, no touches, no leads
(the hand-made store of browser_helpers has no touches and no leads at all) renders
every page without an error boundary tripping; every user-facing error class the core
raises renders the same way (reason, details, the rest of the page intact).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import browser_helpers as bh
import pytest
from streamlit.testing.v1 import AppTest

from steward import store
from steward.errors import StewardError

APP = str(bh.ROOT / "dashboard" / "app.py")
PAGES = (
    "board_story",
    "funnel",
    "forecast",
    "changes",
    "drilldown",
    "marketing",
    "trust",
    "import",
    "finance",
)


def thin_store(path: Path, weeks: int, targets: bool) -> Path:
    """The first `weeks` snapshots of the hand-made store; targets only when asked."""
    frame = bh._snapshots()
    dates = sorted(frame["snapshot_date"].unique())[:weeks]
    frame = frame[frame["snapshot_date"].isin(dates)]
    with store.writer(path) as con:
        store.commit_snapshots(con, frame, file_name="week.csv", source_format="fixture")
        if targets:
            store.commit_table(con, "targets", bh._targets(), file_name="targets.csv")
    return path


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, bool], Path]:
    base = tmp_path_factory.mktemp("first_month")
    return {
        (weeks, targets): thin_store(base / f"w{weeks}_t{int(targets)}.duckdb", weeks, targets)
        for weeks in (1, 2)
        for targets in (False, True)
    }


@pytest.fixture()
def use_db() -> Iterator[None]:
    old = os.environ.get("STEWARD_DB")
    yield
    if old is None:
        os.environ.pop("STEWARD_DB", None)
    else:
        os.environ["STEWARD_DB"] = old


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page(f"../pages/{page}.py")
    at.run()
    return at


@pytest.mark.parametrize("targets", [False, True], ids=["no-targets", "targets"])
@pytest.mark.parametrize("weeks", [1, 2], ids=["one-snapshot", "two-snapshots"])
def test_every_page_renders_on_a_thin_store(
    stores: dict[tuple[int, bool], Path], use_db: None, weeks: int, targets: bool
) -> None:
    os.environ["STEWARD_DB"] = str(stores[(weeks, targets)])
    for page in PAGES:
        at = run_page(page)
        assert not at.exception, (page, [e.value for e in at.exception])
        # No error boundary tripped ("Could not show …"), no st.error on any page.
        assert [w.value for w in at.warning] == [], page
        assert [e.value for e in at.error] == [], page


def test_board_tiles_with_two_snapshots_and_no_targets(
    stores: dict[tuple[int, bool], Path], use_db: None
) -> None:
    """Seen: 'Could not show the headline numbers' (a sparkline with a None in it)."""
    os.environ["STEWARD_DB"] = str(stores[(2, False)])
    at = run_page("board_story")
    tiles = {m.label: m.value for m in at.metric}
    assert len(tiles) == 8
    # No target for the company: coverage is not a number, and says why.
    assert tiles["Coverage this quarter"] == "—"


# --- one way every user-facing error renders -----------------------------------------


def _all_subclasses(cls: type) -> list[type]:
    out = [cls]
    for sub in cls.__subclasses__():
        out += _all_subclasses(sub)
    return out


def _error_script() -> None:
    import os
    import sys

    sys.path[:0] = [os.environ["STEWARD_ROOT"], os.environ["STEWARD_ROOT"] + "/lib"]
    import importlib

    import streamlit as st

    from dashboard import widgets

    module, name = os.environ["STEWARD_ERROR_CLASS"].rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    with widgets.guard("the numbers"):
        raise cls("row 3, column amount: 'abc' is not a number", ["first detail", "second"])
    st.write("after")


@pytest.mark.parametrize(
    "cls", _all_subclasses(StewardError), ids=lambda c: c.__name__ if isinstance(c, type) else c
)
def test_each_error_class_renders_its_reason_and_details(cls: type) -> None:
    """Seen: AttributeError: 'ImportRejected' object has no attribute 'message'."""
    os.environ["STEWARD_ROOT"] = str(bh.ROOT)
    os.environ["STEWARD_ERROR_CLASS"] = f"{cls.__module__}.{cls.__name__}"
    at = AppTest.from_function(_error_script, default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value for w in at.warning] == [
        "Could not show the numbers: row 3, column amount: 'abc' is not a number"
    ]
    details = at.expander[0]
    assert details.label == "Details"
    assert [t.value for t in details.text] == [
        "row 3, column amount: 'abc' is not a number\nfirst detail\nsecond"
    ]
    assert at.markdown[-1].value == "after"  # the rest of the page still renders


def test_cli_and_screen_read_the_same_reason() -> None:
    from steward.errors import describe

    exc = StewardError("the reason", ["a", "b"])
    assert describe(exc) == ("the reason", ["a", "b"])
    # Errors from the metric layer's argument checks are the user's to fix too.
    assert describe(ValueError("period 'x' is not a fiscal quarter")) == (
        "period 'x' is not a fiscal quarter",
        [],
    )
    # KeyError's str() wraps the message in quotes; the reason does not.
    assert describe(KeyError("unknown metric 'x'")) == ("unknown metric 'x'", [])


# --- a week imported while the app is open ----------------------------------------------


def _add_week(path: Path, week: int) -> None:
    """Commit snapshot number `week` (0-based) of the hand-made store into `path`."""
    frame = bh._snapshots()
    dates = sorted(frame["snapshot_date"].unique())
    with store.writer(path) as con:
        store.commit_snapshots(
            con, frame[frame["snapshot_date"] == dates[week]], file_name="next.csv"
        )


def test_a_new_week_is_shown_unless_a_date_was_chosen(tmp_path: Path, use_db: None) -> None:
    """Seen: the as-of stayed pinned (in the session and the URL) at the older date."""
    db = thin_store(tmp_path / "s.duckdb", weeks=2, targets=False)
    os.environ["STEWARD_DB"] = str(db)
    first, second, third = (
        bh.FIRST_SNAPSHOT,
        *(bh.FIRST_SNAPSHOT + timedelta(weeks=n) for n in (1, 2)),
    )
    at = run_page("board_story")
    assert at.selectbox(key="f_asof").value == second
    assert at.selectbox(key="f_vs").value == first
    # A default is not a choice: the URL does not pin it, so a reload follows the data too.
    assert "asof" not in at.query_params and "vs" not in at.query_params

    _add_week(db, 2)  # another process imports the next week while the page is open
    at.run()
    assert not at.exception
    assert at.selectbox(key="f_asof").value == third
    assert at.selectbox(key="f_vs").value == second  # the comparison follows as well
    assert "asof" not in at.query_params


def test_a_chosen_date_stays_after_an_import(tmp_path: Path, use_db: None) -> None:
    db = thin_store(tmp_path / "s.duckdb", weeks=2, targets=False)
    os.environ["STEWARD_DB"] = str(db)
    first = bh.FIRST_SNAPSHOT
    at = run_page("board_story")
    at.selectbox(key="f_asof").set_value(first).run()
    assert at.query_params["asof"] == first.isoformat()  # a choice is in the link
    _add_week(db, 2)
    at.run()
    assert at.selectbox(key="f_asof").value == first
    assert at.query_params["asof"] == first.isoformat()


def test_a_link_with_a_date_pins_it(stores: dict[tuple[int, bool], Path], use_db: None) -> None:
    os.environ["STEWARD_DB"] = str(stores[(2, False)])
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["asof"] = bh.FIRST_SNAPSHOT.isoformat()
    at.run()
    assert at.selectbox(key="f_asof").value == bh.FIRST_SNAPSHOT
    assert at.query_params["asof"] == bh.FIRST_SNAPSHOT.isoformat()


# --- coverage under a cut with no target, on screen ------------------------------------


def test_region_cut_shows_no_target_for_this_cut_on_board_and_forecast(
    stores: dict[tuple[int, bool], Path], use_db: None
) -> None:
    """Seen: a tile 0.2x against the company target beside 'not measured for this cut'."""
    os.environ["STEWARD_DB"] = str(stores[(2, True)])
    for page in ("board_story", "forecast"):
        at = AppTest.from_file(APP, default_timeout=90)
        at.query_params["region"] = "EMEA"
        at.switch_page(f"../pages/{page}.py")
        at.run()
        assert not at.exception and [w.value for w in at.warning] == []
        spec = next(
            json.loads(c.proto.spec) for c in at.get("plotly_chart") if "coverage" in c.proto.id
        )
        notes = [a["text"] for a in spec["layout"].get("annotations", [])]
        assert any("no target for this cut" in t for t in notes), (page, notes)
        if page == "board_story":
            tiles = {m.label: m for m in at.metric}
            assert tiles["Coverage this quarter"].value == "—"
            assert "no target for this cut" in tiles["Coverage this quarter"].help
            # The tile says it where the change would be, not only behind the (?) icon.
            for label in ("Coverage this quarter", "Coverage next quarter"):
                assert tiles[label].delta == "no target for this cut"
            story = " ".join(m.value for m in at.markdown)
            assert "no target for this cut" in story


def test_finance_preview_under_a_segment_filter_has_no_all_row(
    stores: dict[tuple[int, bool], Path], use_db: None
) -> None:
    """Seen: every row repeated as 'All' with the same values."""
    os.environ["STEWARD_DB"] = str(stores[(2, True)])
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["segment"] = "SMB"
    at.switch_page("../pages/finance.py")
    at.run()
    preview = next(d.value for d in at.dataframe if "Segment" in d.value.columns)
    assert set(preview["Segment"]) == {"SMB"} and len(preview) == 4


# --- the empty store --------------------------------------------------------------------


def test_empty_store_links_to_import_and_loads_the_demo(tmp_path: Path, use_db: None) -> None:
    """Seen: the first page only printed CLI commands."""
    os.environ["STEWARD_DB"] = str(tmp_path / "new.duckdb")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    links = at.get("page_link")
    assert any("Import" in link.proto.label for link in links)
    assert any(link.proto.page.endswith("import") for link in links)
    at.button(key="empty_load_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # The demo is loaded: the sidebar offers its latest snapshot, the board shows tiles.
    with store.reader(tmp_path / "new.duckdb") as con:
        latest = con.execute("select max(snapshot_date) from snapshots").fetchone()[0]
    assert at.selectbox(key="f_asof").value == latest
    assert len(at.metric) == 8


# --- the Import page, the seen crash and an import in the same session ------------------


def _import_page(db: Path) -> AppTest:
    os.environ["STEWARD_DB"] = str(db)
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("../pages/import.py")
    at.run()
    return at


def test_import_check_of_an_unknown_format_shows_the_reason(tmp_path: Path, use_db: None) -> None:
    """Seen: AttributeError: 'ImportRejected' object has no attribute 'message', a
    traceback, and the rest of the page gone."""
    db = thin_store(tmp_path / "s.duckdb", weeks=1, targets=False)
    at = _import_page(db)
    at.file_uploader(key="import_file").set_value(
        ("export.csv", b"Deal,Value,When\nA,100,2026-10-09\n", "text/csv")
    ).run()
    at.button(key="import_check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and warnings[0].startswith("Could not show the import check: ")
    assert "message" not in warnings[0]  # the reason, not an AttributeError
    # The rest of the page still renders.
    assert any(s.value == "Snapshots loaded" for s in at.subheader)


def test_a_week_imported_on_the_import_page_becomes_the_view(tmp_path: Path, use_db: None) -> None:
    db = thin_store(tmp_path / "s.duckdb", weeks=2, targets=False)
    frame = bh._snapshots()
    third = bh.FIRST_SNAPSHOT + timedelta(weeks=2)
    week = frame[frame["snapshot_date"] == third]
    at = _import_page(db)
    assert at.selectbox(key="f_asof").value == bh.FIRST_SNAPSHOT + timedelta(weeks=1)
    at.file_uploader(key="import_file").set_value(
        (f"opportunities_{third.isoformat()}.csv", week.to_csv(index=False).encode(), "text/csv")
    ).run()
    at.button(key="import_check").click().run()
    assert not at.exception and [w.value for w in at.warning] == []
    at.button(key="import_commit").click().run()
    assert not at.exception
    at.run()  # the next rerun: the sidebar shows the new latest snapshot
    assert at.selectbox(key="f_asof").value == third
    assert "asof" not in at.query_params
