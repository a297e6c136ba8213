"""Every page in Streamlit's AppTest, on a small demo store.

Renders without exception; key widgets present by key; a filter change changes the
numbers; URL parameters restore the view (drill selection included); each chart's
figure JSON has the expected trace type and totals equal to the metric layer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from browser_helpers import APP, ROOT, small_store, store_env
from browser_helpers import chart_spec as chart
from browser_helpers import run_app as run
from streamlit.testing.v1 import AppTest

from steward import definitions, fmt, store
from steward.metrics import Filters, Query, columns_of, compute, drill

# page file -> plotly charts it draws on the small demo store
PAGES = {
    "board_story": 2,
    "funnel": 4,
    "forecast": 4,
    "changes": 2,
    "drilldown": 1,
    "marketing": 3,
    "trust": 1,
    "import": 0,
    "finance": 0,
    "scenario_planner": 2,  # pipeline needed, what-if (saved scenarios: none on this store)
    "maturity": 1,
}


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = small_store(tmp_path_factory.mktemp("app") / "steward.duckdb")
    with store_env(path):
        yield path


@pytest.fixture(scope="session")
def facts(demo_db: Path) -> dict[str, Any]:
    """The default view (latest snapshot, its quarter, the previous snapshot)."""
    with store.reader(demo_db) as con:
        sql = "select distinct snapshot_date from snapshots order by 1"
        dates = [r[0] for r in con.execute(sql).fetchall()]
        segments = [
            r[0]
            for r in con.execute(
                "select distinct segment from snapshots where snapshot_date = ? order by 1",
                [dates[-1]],
            ).fetchall()
        ]
    d = definitions.load()
    from steward.metrics import current_period

    q = Query(as_of=dates[-1], period=current_period(dates[-1], d), compare_to=dates[-2])
    return {"dates": dates, "segments": segments, "defs": d, "q": q, "db": demo_db}


def metric(f: dict[str, Any], metric_id: str, q: Query | None = None) -> Any:
    with store.reader(f["db"]) as con:
        return compute(con, metric_id, q or f["q"], f["defs"])


def deals(f: dict[str, Any], metric_id: str, q: Query | None = None, **sel: Any) -> Any:
    with store.reader(f["db"]) as con:
        return drill(con, metric_id, q or f["q"], f["defs"], **sel)


def frames(at: AppTest) -> list[Any]:
    return [d.value for d in at.dataframe]


def headed(at: AppTest, labels: list[str]) -> Any:
    """The table shown under exactly these headers (a table without a selection has no
    widget id to find it by)."""
    for shown in frames(at):
        if list(shown.columns) == labels:
            return shown
    raise AssertionError(f"no table headed {labels}; have {[list(f.columns) for f in frames(at)]}")


def declared_labels(metric_id: str, *names: str) -> list[str]:
    """The headers a page's table of this metric must show: the declared labels."""
    return [c.label for c in columns_of(metric_id, *names)]


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_without_errors(demo_db: Path, page: str) -> None:
    at = run(page)
    assert [w.value for w in at.warning] == []  # no error boundary tripped
    assert len(at.get("plotly_chart")) == PAGES[page]
    # The footer carries the definitions stamp on every page.
    assert any("definitions " in c.value for c in at.caption)


def test_sidebar_widgets_by_key_and_defaults(facts: dict[str, Any]) -> None:
    at = run()
    q = facts["q"]
    assert at.selectbox(key="f_asof").value == q.as_of  # latest snapshot
    assert at.selectbox(key="f_period").value == q.period  # its fiscal quarter
    assert at.selectbox(key="f_vs").value == q.compare_to  # the snapshot before
    for dim in ("segment", "region", "source", "owner", "product"):
        assert at.multiselect(key=f"f_{dim}").value == []
    # Defaults stay out of the URL: a reload (or a copied link) follows the latest
    # snapshot; a date the user chooses is written there (tests/test_app_first_month.py).
    assert "asof" not in at.query_params and "period" not in at.query_params
    other = next(p for p in at.selectbox(key="f_period").options if p != q.period)
    at.selectbox(key="f_period").set_value(other).run()
    assert at.query_params["period"] == other


def test_board_tiles_and_charts_match_metric_layer(facts: dict[str, Any]) -> None:
    at = run()
    tiles = {m.label: m.value for m in at.metric}
    assert len(tiles) == 8
    assert tiles["Qualified pipeline"] == fmt.money(metric(facts, "open_pipeline").value)
    # the trend tiles' sparklines, inline SVG (steward.charts.sparkline): qualified
    # pipeline, coverage and marketing-sourced share, the columns kpi_trend carries
    sparks = [h.proto.body for h in at.get("html") if "weekly trend" in h.proto.body]
    assert [s.split('alt="', 1)[1].split(":", 1)[0] for s in sparks] == [
        "Qualified pipeline",
        "Coverage this quarter",
        "Marketing-sourced share",
    ]
    wf = chart(at, "board_waterfall")["data"][0]
    table = metric(facts, "waterfall").table
    assert wf["type"] == "waterfall"
    assert wf["x"] == list(table["bucket"])
    assert wf["y"] == [float(a) for a in table["amount"]]
    # Start + every move = End, to the cent, on what the browser receives.
    assert round(wf["y"][0] + sum(wf["y"][1:-1]), 2) == round(wf["y"][-1], 2)
    assert round(wf["y"][-1], 2) == round(float(metric(facts, "open_pipeline").value), 2)


def test_narrative_and_its_math_are_shown(demo_db: Path) -> None:
    at = run()
    text = " ".join(m.value for m in at.markdown)
    assert "What changed" in text
    math = [e for e in at.expander if e.label.startswith("Show the math")]
    assert math and len(math[0].table) == 0  # closed: the table is drawn when opened
    at.session_state["board_math_open"] = True
    at.run()
    math = [e for e in at.expander if e.label.startswith("Show the math")]
    assert math and len(math[0].table) == 1  # a static table: long sentences wrap
    shown = math[0].table[0].value
    assert {"Metric", "Exact value", "Shown as", "Query"} <= set(shown.columns) and len(shown) > 0
    # The exact value carries its unit: '$1,234.56', '2.71x', '38.46%', '12', '4.0 days'.
    units = ("$", "x", "%", "/100", "days", "/day")
    assert all(
        v == "—" or any(u in v for u in units) or v.replace(",", "").isdigit()
        for v in shown["Exact value"]
    )
    # Metrics are named as a board reads them, with the id for the data team.
    assert all(m.endswith(")") and " (" in m for m in shown["Metric"])


def test_funnel_totals_and_filter_change(facts: dict[str, Any]) -> None:
    at = run("funnel")
    assert at.radio(key="funnel_measure").value == "count"
    # The lead chart is the cohort funnel: reached counts per stage, never growing.
    lead = chart(at, "funnel_cohort_chart")["data"][0]
    cohort = metric(facts, "funnel_cohort").table
    reached = cohort[cohort["reached_count"].notna()]
    assert lead["type"] == "funnel" and lead["y"] == list(reached["stage"])
    assert lead["x"] == [float(c) for c in reached["reached_count"]]
    assert all(a >= b for a, b in zip(lead["x"], lead["x"][1:], strict=False))
    assert lead["text"][0].endswith("100% of top")
    # The cohort table under the heatmap: every declared column, under its declared label.
    assert len(headed(at, declared_labels("funnel_cohort"))) == len(cohort)
    # The as-of chart: bars labelled with their share of open deals, not % prev / % top.
    bar = chart(at, "funnel_chart")["data"][0]
    table = metric(facts, "funnel_asof").table
    assert bar["type"] == "bar" and bar["y"] == list(table["stage"])
    assert bar["x"] == [float(c) for c in table["count_open"]]
    total = sum(bar["x"])
    assert bar["text"][0] == (
        f"{fmt.count(bar['x'][0])}  ·  {fmt.pct(bar['x'][0] / total)} of all open deals"
    )
    assert not any("of prev" in t for t in bar["text"])

    segment = facts["segments"][0]
    at.multiselect(key="f_segment").set_value([segment]).run()
    assert not at.exception
    cut = facts["q"].with_(filters=Filters.of(segment=[segment]))
    after = chart(at, "funnel_chart")["data"][0]
    expected = [float(c) for c in metric(facts, "funnel_asof", cut).table["count_open"]]
    assert after["x"] == expected and after["x"] != bar["x"]
    assert at.query_params["segment"] == segment

    at.radio(key="funnel_measure").set_value("amount").run()
    value_bar = chart(at, "funnel_chart")["data"][0]
    table = metric(facts, "funnel_asof", cut).table
    assert value_bar["x"] == [float(a) for a in table["amount_open"]]
    assert at.query_params["measure"] == "amount"
    value_lead = chart(at, "funnel_cohort_chart")["data"][0]
    cohort = metric(facts, "funnel_cohort", cut).table
    reached = cohort[cohort["reached_amount"].notna()]
    assert value_lead["x"] == [float(a) for a in reached["reached_amount"]]


def test_url_restores_the_view_and_the_drill(facts: dict[str, Any]) -> None:
    older = facts["dates"][-3]
    segment = facts["segments"][-1]
    at = run(
        "funnel",
        asof=older.isoformat(),
        segment=segment,
        measure="amount",
        stage_sel="Discovery",
    )
    assert at.selectbox(key="f_asof").value == older
    assert at.multiselect(key="f_segment").value == [segment]
    assert at.radio(key="funnel_measure").value == "amount"
    # The drill selection comes back from the URL: the deals of that bar are listed.
    d = facts["defs"]
    from steward.metrics import current_period

    q = Query(
        as_of=older,
        period=current_period(older, d),
        compare_to=facts["dates"][-4],
        filters=Filters.of(segment=[segment]),
    )
    expected = deals(facts, "funnel_asof", q, stage="Discovery")
    assert len(expected) > 0
    assert any(len(f) == len(expected) and "opportunity_id" in f for f in frames(at))
    assert any("Open deals in Discovery" in s.value for s in at.subheader)


def test_waterfall_bucket_from_url_lists_its_deals(facts: dict[str, Any]) -> None:
    table = metric(facts, "waterfall").table
    moving = table[(table["kind"] != "start") & (table["kind"] != "end") & (table["count"] > 0)]
    bucket = str(moving.iloc[0]["bucket"])
    at = run("changes", bucket=bucket)
    spec = chart(at, "changes_waterfall")["data"][0]
    assert spec["type"] == "waterfall" and spec["measure"][0] == "absolute"
    assert spec["measure"][-1] == "total"
    expected = deals(facts, "waterfall", bucket=bucket)
    assert len(expected) == int(moving.iloc[0]["count"])
    assert any(f"Deals: {bucket}" in s.value for s in at.subheader)
    assert any(len(f) == len(expected) for f in frames(at))


def test_drilldown_matrix_totals_and_cell_from_url(facts: dict[str, Any]) -> None:
    at = run("drilldown")
    assert at.selectbox(key="drill_rows").value == "segment"
    assert at.selectbox(key="drill_cols").value == "stage"
    spec = chart(at, "drill_matrix")
    heat = spec["data"][0]
    total = sum(sum(row) for row in heat["z"])
    assert round(total, 2) == round(float(metric(facts, "open_pipeline").value), 2)

    segment = facts["segments"][0]
    at = run("drilldown", cell=f"{segment}|Discovery")
    cut = facts["q"].with_(filters=Filters.of(segment=[segment], stage=["Discovery"]))
    expected = deals(facts, "open_pipeline", cut)
    assert len(expected) > 0
    assert any(len(f) == len(expected) and "opportunity_id" in f for f in frames(at))


def test_forecast_page_charts(facts: dict[str, Any]) -> None:
    at = run("forecast")
    cov = chart(at, "forecast_coverage")
    bars = [t for t in cov["data"] if t["type"] == "bar"]
    matrix = metric(facts, "coverage_matrix").table
    all_rows = matrix[(matrix["segment"] == "All") & matrix["goal"].notna()]
    all_bar = next(b for b in bars if b["name"] == "All")
    assert [round(y, 6) for y in all_bar["y"]] == [
        round(float(v), 6) if v == v and v is not None else 0 for v in all_rows["coverage"]
    ]
    assert chart(at, "forecast_range")["data"][0]["type"] == "bar"
    # The backtest: method labels, not ids; money and blanks formatted, no raw None.
    bt = metric(facts, "forecast_backtest").table
    shown = headed(at, declared_labels("forecast_backtest", *[c for c in bt if c != "as_of"]))
    assert len(shown) == len(bt)
    assert not set(shown["Method"]) & set(bt["method"])
    assert "Forecast: commit" in set(shown["Method"])
    assert all(v.startswith(("$", "-$")) for v in shown["Actual"])
    cells = {str(v) for col in shown.columns for v in shown[col]}
    assert not cells & {"None", "nan", "NaN"}
    lines = chart(at, "forecast_backtest_chart")["data"]
    assert lines[0]["name"] == "Actual bookings"
    assert {t["name"] for t in lines[1:]} <= set(shown["Method"])


def test_marketing_and_trust_pages(facts: dict[str, Any]) -> None:
    at = run("marketing")
    assert chart(at, "mkt_attribution")["layout"]["barmode"] == "group"
    assert at.selectbox(key="mkt_curve_source").value == "All"
    at = run("trust")
    assert at.metric[0].value == fmt.score(metric(facts, "trust_score").value)
    checks = declared_labels("trust_checks", "label", "count", "amount", "severity", "description")
    assert len(headed(at, checks)) == len(metric(facts, "trust_checks").table)
    cal = chart(at, "trust_calendar")["data"][0]
    assert cal["type"] == "heatmap"
    loaded = sum(1 for row in cal["z"] for v in row if v == 1.0)
    assert loaded == len(facts["dates"])


def test_import_page_widgets(demo_db: Path) -> None:
    at = run("import")
    assert at.radio(key="import_kind").value == "snapshot"
    assert at.selectbox(key="import_delete_date") is not None
    assert at.checkbox(key="import_delete_confirm").value is False
    assert at.button(key="import_delete").disabled  # delete waits for the confirmation
    # The last imports and the snapshot list, under the columns steward.listings declares.
    from steward import listings

    history = at.table[0].value
    assert [history.index.name, *history.columns] == [c.label for c in listings.IMPORT_HISTORY]
    assert headed(at, [c.label for c in listings.SNAPSHOT_COLUMNS]) is not None


def test_board_pack_is_built_on_request(demo_db: Path) -> None:
    at = run("finance")
    assert at.button(key="finance_build") is not None
    at = run()
    at.button(key="board_pack_build").click().run()
    assert not at.exception and [w.value for w in at.warning] == []
    assert at.session_state["board_pack_bytes"][:2] == b"PK"  # a .pptx is a zip
    assert not at.get("download_button")[0].proto.disabled


def test_empty_store_explains_how_to_load(tmp_path: Path, demo_db: Path) -> None:
    os.environ["STEWARD_DB"] = str(tmp_path / "none.duckdb")
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        assert not at.exception
        text = " ".join(m.value for m in [*at.markdown, *at.caption])
        assert "make demo" in text and "steward import" in text
    finally:
        os.environ["STEWARD_DB"] = str(demo_db)


def test_error_boundary_shows_a_message_not_a_traceback() -> None:
    def script() -> None:
        import sys

        sys.path[:0] = [__import__("os").environ["STEWARD_ROOT"]]
        from dashboard import widgets

        with widgets.guard("the numbers"):
            raise ValueError("boom")
        import streamlit as st

        st.write("after")

    os.environ["STEWARD_ROOT"] = str(ROOT)
    at = AppTest.from_function(script, default_timeout=30)
    at.run()
    assert not at.exception
    assert at.warning[0].value.startswith("Could not show the numbers")
    assert at.expander[0].label.startswith("Details")
    assert at.markdown[-1].value == "after"  # the rest of the page still renders


def test_biggest_movers_rank_by_effect_on_the_bridge(facts: dict[str, Any]) -> None:
    at = run("changes")
    movers = next(f for f in frames(at) if "effect" in f.columns)
    effects = [abs(v) for v in movers["effect"]]
    assert effects == sorted(effects, reverse=True) and len(effects) > 0
    kinds = dict(
        zip(*[metric(facts, "waterfall").table[c] for c in ("bucket", "kind")], strict=True)
    )
    for _, row in movers.iterrows():
        # Leaving deals move the bridge by minus their old amount, entering by the new one.
        if kinds[row["bucket"]] == "leaving":
            assert row["effect"] == -row["amount_from"]
        elif kinds[row["bucket"]] == "entering":
            assert row["effect"] == row["amount_to"]


def test_finance_workbook_is_built_on_request(demo_db: Path) -> None:
    at = run("finance")
    download = at.get("download_button")
    assert download and download[0].proto.disabled  # nothing to download before the build
    at.button(key="finance_build").click().run()
    assert not at.exception
    assert [w.value for w in at.warning] == []
    data = at.session_state["finance_xlsx"]
    assert data[:2] == b"PK"  # an .xlsx is a zip
    assert not at.get("download_button")[0].proto.disabled


COMPUTING = (
    "select ",
    ".execute(",
    ".groupby(",
    ".pivot(",
    ".pivot_table(",
    ".crosstab(",
    ".resample(",
)


def test_pages_are_thin() -> None:
    """Pages read state, call lib and render: no SQL, no groupby, no store access."""
    for path in sorted((ROOT / "pages").glob("*.py")):
        text = path.read_text(encoding="utf-8").lower()
        for banned in (*COMPUTING, "duckdb", "store.reader", "store.writer"):
            assert banned not in text, f"{path.name} contains {banned!r}"


def test_dashboard_is_thin_too() -> None:
    """dashboard/ binds state, caches lib calls and renders: every number the screen shows
    comes from a registered metric, so no SQL and no groupby/pivot of metric data here
    either (the drilldown matrix and the movers used to be computed in dashboard/data.py)."""
    for path in sorted((ROOT / "dashboard").glob("*.py")):
        # 'multiselect bound …' is a widget, not SQL: look at whole words only
        text = re.sub(
            r"\w*select\b",
            lambda m: m[0] if m[0] == "select" else "",
            path.read_text(encoding="utf-8").lower(),
        )
        for banned in COMPUTING:
            assert banned not in text, f"dashboard/{path.name} contains {banned!r}"


@pytest.mark.parametrize("page", ["funnel", "changes", "drilldown"])
def test_bad_url_values_fall_back_to_defaults(facts: dict[str, Any], page: str) -> None:
    at = run(
        page,
        asof="garbage",
        period="FY1999-Q9",
        vs="2026-13-01",
        stage_sel="Nope",
        bucket="Bogus",
        rows="zzz",
        measure="weird",
    )
    assert [w.value for w in at.warning] == []
    assert at.selectbox(key="f_asof").value == facts["q"].as_of
    assert at.selectbox(key="f_period").value == facts["q"].period
    # The bad values are dropped from the URL; the defaults are not written in their place.
    assert "asof" not in at.query_params and "period" not in at.query_params
    assert not any(s.value.startswith(("Deals:", "Open deals in")) for s in at.subheader)


def test_delete_a_snapshot_behind_a_confirmation(tmp_path: Path, demo_db: Path) -> None:
    import shutil

    copy = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, copy)
    os.environ["STEWARD_DB"] = str(copy)
    try:
        with store.reader(copy) as con:
            before = len(store.list_snapshots(con))
        at = run("import")
        victim = at.selectbox(key="import_delete_date").value
        at.checkbox(key="import_delete_confirm").check().run()
        assert not at.button(key="import_delete").disabled
        at.button(key="import_delete").click().run()
        assert not at.exception
        with store.reader(copy) as con:
            dates = set(store.list_snapshots(con)["snapshot_date"].dt.date)
        assert len(dates) == before - 1 and victim not in dates
    finally:
        os.environ["STEWARD_DB"] = str(demo_db)


def test_summary_tables_format_money_ratios_and_blanks() -> None:
    from dashboard import widgets
    from steward.metrics import Column

    df = pd.DataFrame(
        {
            "stage": ["Discovery", "Closed Won"],
            "reached_amount": [15_085_872.31, 162_150.0],
            "conversion_to_next": [0.5394, None],
            "p10": [614_611.49, float("nan")],
            "in_range": [True, None],
        }
    )
    declared = (
        Column("reached_amount", "Reached", "usd"),
        Column("conversion_to_next", "Conversion to next", "ratio"),
        Column("p10", "P10", "usd"),
        Column("in_range", "Actual in P10–P90"),
    )
    shown = widgets.table_frame(df, declared)
    # Declared labels; an undeclared snake_case name reads as words ('stage' -> 'Stage').
    assert list(shown.columns) == [
        "Stage",
        "Reached",
        "Conversion to next",
        "P10",
        "Actual in P10–P90",
    ]
    # 15,085,872.31 -> $15.1M; 0.5394 -> 53.9%; 614,611.49 -> $615K; blanks -> em dash.
    assert shown.iloc[0].tolist() == ["Discovery", "$15.1M", "53.9%", "$615K", "yes"]
    assert shown.iloc[1].tolist() == ["Closed Won", "$162K", "—", "—", "—"]


def test_zero_kpi_delta_reads_no_change() -> None:
    from dashboard import widgets

    assert widgets._is_no_change(0.0, "+0 pts")
    assert widgets._is_no_change(0.001, "+0 pts")  # rounds to nothing on screen
    assert widgets._is_no_change(None, "+0.0x")
    assert not widgets._is_no_change(0.02, "+2 pts")
    assert not widgets._is_no_change(None, None)
    assert not widgets._is_no_change(12_000.0, "+$12K")


def test_metric_notes_show_money_as_a_board_reads_it() -> None:
    from dashboard import widgets

    # 26,570,000.00 -> $26.6M; $13,047,412.17 -> $13.0M; 78.6% and "209 deals" untouched.
    assert widgets.note_text("pipeline target 26,570,000.00; created 78.6% of it") == (
        "Pipeline target $26.6M; created 78.6% of it"
    )
    assert widgets.note_text("209 deals; total $13,047,412.17 credited") == (
        "209 deals; total $13.0M credited"
    )
    assert widgets.note_text(None) == ""


def test_deal_tables_show_blank_text_as_a_dash() -> None:
    from dashboard import widgets

    df = pd.DataFrame(
        {
            "opportunity_name": ["Deal A", "Deal B"],
            "loss_reason": [None, "Price"],
            "amount": [1000.0, None],
        }
    )
    shown = widgets._display_frame(df)
    assert list(shown["loss_reason"]) == ["—", "Price"]
    assert list(shown["opportunity_name"]) == ["Deal A", "Deal B"]
    assert shown["amount"].isna().tolist() == [False, True]  # numbers stay numbers


def test_no_import_if_present_scaffolding() -> None:
    """Every module exists: a broken import must fail loudly (the seen failure: a bad import
    planted in narrative/rules.py rendered as 'the narrative module is not installed')."""
    for folder in ("dashboard", "pages"):
        for path in sorted((ROOT / folder).glob("*.py")):
            text = path.read_text(encoding="utf-8")
            for banned in ("except ImportError", "importlib", "not installed", "has not landed"):
                assert banned not in text, f"{folder}/{path.name} contains {banned!r}"


def _preloads(at: Any) -> list[Any]:
    return [h.proto for h in at.get("html") if "steward-preload" in h.proto.body]


def test_pages_that_draw_charts_start_loading_the_chart_code_first(demo_db: Path) -> None:
    import streamlit as st

    from dashboard import widgets

    names = widgets._chart_code()
    static = Path(st.__file__).parent / "static" / "static" / "js"
    # Plotly's chunk of the installed Streamlit, and the chunks it imports, all there
    assert names[0].startswith("PlotlyChart.") and len(names) > 1
    assert all((static / n).is_file() for n in names)
    board = _preloads(run())
    assert len(board) == 1 and board[0].unsafe_allow_javascript
    assert all(f'"{n}"' in board[0].body for n in names)
    assert _preloads(run("finance")) == []  # a page without charts does not load them


def test_the_pages_without_charts_are_the_ones_that_draw_none() -> None:
    import ast

    source = Path(APP).read_text()
    tree = ast.parse(source)
    without = next(
        ast.literal_eval(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "WITHOUT_CHARTS" for t in node.targets)
    )
    urls = dict(re.findall(r'_page\(\s*"(\w+)\.py",\s*"[^"]+",\s*"[^"]+",\s*"(\w+)"', source))
    assert len(urls) == len(list((ROOT / "pages").glob("*.py")))
    draws = {
        url
        for file, url in urls.items()
        if re.search(
            r"widgets\.chart\(|st\.plotly_chart\(", (ROOT / "pages" / f"{file}.py").read_text()
        )
    }
    assert without == set(urls.values()) - draws
