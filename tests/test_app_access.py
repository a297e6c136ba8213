"""Sign-in, roles and row scope in the app, through AppTest with `at.user` set.

The access file (a temp file via $STEWARD_ACCESS) turns sign-in on: signed out -> only the
sign-in screen; the CRO (admin) -> every deal; the EMEA VP (viewer, region = EMEA) -> only
EMEA on every page, in the drill and in both exports, each total equal to the metric layer
under the same scope; a stranger -> denied; a viewer -> no Import page.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from browser_helpers import run_app, small_store, snapshot_dates
from openpyxl import load_workbook
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from steward import access, definitions, fmt, store
from steward.metrics import Query, compute, current_period, drill

CRO = {"is_logged_in": True, "email": "cro@northwind.example", "name": "Casey CRO"}
VP = {"is_logged_in": True, "email": "vp.emea@northwind.example", "name": "Vera VP"}
STRANGER = {"is_logged_in": True, "email": "stranger@elsewhere.example"}
ACCESS = """
sign_in = true

[[grants]]
name = "CRO"
emails = ["cro@northwind.example"]
role = "admin"

[[grants]]
name = "VP EMEA"
emails = ["vp.emea@northwind.example"]
role = "viewer"
scope = { region = ["EMEA"] }
label = "EMEA only"
"""
# page -> does it render deal tables to check for out-of-scope rows
PAGES = ["board_story", "weekly_review", "funnel", "forecast", "changes", "drilldown", "scenario_planner", "maturity",
         "marketing", "trust", "finance"]  # fmt: skip


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("access_app")
    db = small_store(root / "steward.duckdb")
    rules = root / "access.toml"
    rules.write_text(ACCESS, encoding="utf-8")
    old = {k: os.environ.get(k) for k in ("STEWARD_DB", "STEWARD_ACCESS")}
    os.environ["STEWARD_DB"], os.environ["STEWARD_ACCESS"] = str(db), str(rules)
    with store.reader(db) as con:
        dates = snapshot_dates(con)
    d = definitions.load()
    q = Query(as_of=dates[-1], period=current_period(dates[-1], d), compare_to=dates[-2])
    vp = access.load(rules).resolve(VP)
    yield {"db": db, "defs": d, "q": q, "emea": access.scoped(q, vp)}
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def run(user: dict[str, Any], page: str | None = None, **params: Any) -> AppTest:
    return run_app(page, user=user, **params)


def value(env: dict[str, Any], metric_id: str, q: Query) -> Any:
    with store.reader(env["db"]) as con:
        return compute(con, metric_id, q, env["defs"]).value


def texts(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.title, *at.markdown, *at.caption, *at.error])


def test_signed_out_sees_only_the_sign_in_screen(env: dict[str, Any]) -> None:
    at = run({"is_logged_in": False})
    assert [t.value for t in at.title] == ["Pipeline Steward"]
    assert [s.value for s in at.subheader] == ["Sign in to see the pipeline"]
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.get("plotly_chart")) == 0
    assert len(at.sidebar.selectbox) == 0  # not even the filters
    # Without an [auth] provider configured, the screen says what is missing.
    assert "no identity provider is configured" in texts(at)


def test_the_cro_sees_every_deal(env: dict[str, Any]) -> None:
    at = run(CRO)
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Qualified pipeline"] == fmt.money(value(env, "open_pipeline", env["q"]))
    assert "signed in as cro@northwind.example (admin) · scope: All deals" in texts(at)


def test_an_unknown_user_is_denied(env: dict[str, Any]) -> None:
    at = run(STRANGER)
    assert "does not grant you any data" in texts(at)
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.sidebar.selectbox) == 0
    assert at.button(key="auth_sign_out") is not None


def test_a_viewer_has_no_import_page(env: dict[str, Any]) -> None:
    at = run(VP, "import")
    assert at.get("file_uploader") == []  # the page is not in a viewer's navigation
    assert [t.value for t in at.title] != ["Import"]
    admin = run(CRO, "import")
    assert [t.value for t in admin.title] == ["Import"] and admin.get("file_uploader")


@pytest.mark.parametrize("page", PAGES)
def test_the_emea_vp_sees_only_emea_on_every_page(env: dict[str, Any], page: str) -> None:
    at = run(VP, page)
    assert [w.value for w in at.warning] == []
    # The page says what its numbers are for: the query's cut, narrowed to the scope.
    assert "Region: EMEA · scope: EMEA only" in texts(at)
    for frame in (d.value for d in at.dataframe):
        if "region" in frame.columns and len(frame):
            assert set(frame["region"].dropna()) <= {"EMEA"}, page
    if page == "board_story":
        tiles = {m.label: m.value for m in at.metric}
        emea = value(env, "open_pipeline", env["emea"])
        assert tiles["Qualified pipeline"] == fmt.money(emea)
        assert emea < value(env, "open_pipeline", env["q"])
        # The company's target is not the region's: the tile has no value and says why.
        cover = next(m for m in at.metric if m.label == "Coverage this quarter")
        assert cover.value == "—" and "no target for this cut" in cover.help


def test_the_drill_never_leaves_the_scope(env: dict[str, Any]) -> None:
    # A shared link pointing at another region's cell shows no deals, not that region's.
    at = run(VP, "drilldown", rows="region", cols="segment", cell="North America|SMB")
    assert "No deals." in texts(at)
    at = run(VP, "drilldown", rows="region", cols="region", cell="EMEA|All")
    with store.reader(env["db"]) as con:
        expected = drill(con, "open_pipeline", env["emea"], env["defs"])
    shown = [d.value for d in at.dataframe if "opportunity_id" in d.value.columns]
    assert shown and set(shown[-1]["opportunity_id"]) == set(expected["opportunity_id"])


def test_both_exports_carry_only_emea_and_say_so(env: dict[str, Any]) -> None:
    emea = env["emea"]
    at = run(VP, "finance")
    at.button(key="finance_build").click().run()
    wb = load_workbook(io.BytesIO(at.session_state["finance_xlsx"]))
    ws = wb["Pipeline"]
    ref = ws.tables["tblPipeline"].ref
    cells = ws[ref]
    head = [c.value for c in cells[0]]
    rows = [dict(zip(head, [c.value for c in r], strict=True)) for r in cells[1:]]
    assert {r["Region"] for r in rows} == {"EMEA"}
    total = sum(Decimal(str(r["Amount"] or 0)) for r in rows)
    assert total == Decimal(str(value(env, "open_pipeline", emea)))
    meta = {
        c.value: ws_b.value for c, ws_b in zip(wb["Summary"]["A"], wb["Summary"]["B"], strict=False)
    }
    assert meta.get("Access scope") == "EMEA only"

    at = run(VP)
    at.button(key="board_pack_build").click().run()
    prs = Presentation(io.BytesIO(at.session_state["board_pack_bytes"]))
    every = [
        " ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame) for s in prs.slides
    ]
    assert all("scope: EMEA only" in t for t in every)  # the footer of every slide
    assert fmt.money(value(env, "open_pipeline", emea)) in every[1]  # the KPI slide

    with store.reader(env["db"]) as con:
        audit = store.audit_log(con)
    made = audit[audit["who"] == "vp.emea@northwind.example"][["action", "target", "scope"]]
    assert made.values.tolist() == [
        ["export", "board pack", "EMEA only"],
        ["export", "finance workbook", "EMEA only"],
    ]


def test_the_local_demo_runs_open_and_says_so(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped data/access.toml: sign_in = false -> no sign-in screen, every deal, and
    # the footer says so; the Import page is there (everyone is the local admin).
    monkeypatch.delenv("STEWARD_ACCESS")
    assert access.load().sign_in is False
    at = run({})
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Qualified pipeline"] == fmt.money(value(env, "open_pipeline", env["q"]))
    assert "open access: no sign-in (sign_in = false in access.toml)" in texts(at)
    at = run({}, "import")
    assert [t.value for t in at.title] == ["Import"]
