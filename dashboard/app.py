"""Pipeline Steward — the Streamlit entrypoint: page config, navigation, shared sidebar.

Run with `make run` (or `streamlit run dashboard/app.py`). The pages live in the
top-level pages/ folder; each reads the view chosen here, calls lib, and renders.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "lib"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import streamlit as st  # noqa: E402

from dashboard import auth, data, state, widgets  # noqa: E402

st.set_page_config(
    page_title="Pipeline Steward",
    page_icon=":material/monitoring:",
    layout="wide",
    initial_sidebar_state="expanded",
)

PAGES = ROOT / "pages"

# Before anything else renders: with sign-in on, nothing shows before sign-in, and a
# person the access file does not name sees only a message (dashboard/auth.py).
who = auth.gate()
st.session_state["_access"] = who


def _page(file: str, title: str, icon: str, url: str, default: bool = False) -> st.Page:
    return st.Page(PAGES / file, title=title, icon=icon, url_path=url, default=default)


NAV = {
    "Board": [
        _page("weekly_review.py", "Weekly review", ":material/event_note:", "weekly_review"),
        _page("board_story.py", "Board story", ":material/slideshow:", "board", True),
    ],
    "Pipeline": [
        _page("funnel.py", "Funnel & conversion", ":material/filter_alt:", "funnel"),
        _page("forecast.py", "Forecast & coverage", ":material/trending_up:", "forecast"),
        _page("scenario_planner.py", "Scenario planner", ":material/tune:", "scenario_planner"),
        _page("changes.py", "Pipeline changes", ":material/waterfall_chart:", "changes"),
        _page("drilldown.py", "Segment drilldown", ":material/grid_view:", "drilldown"),
    ],
    "Marketing": [
        _page("marketing.py", "Marketing contribution", ":material/campaign:", "marketing")
    ],
    "Finance": [_page("finance.py", "Finance export", ":material/table_view:", "finance")],
    "Data": [
        _page("trust.py", "Data trust & definitions", ":material/verified:", "trust"),
        IMPORT_PAGE := _page("import.py", "Import", ":material/upload_file:", "import"),
        _page("maturity.py", "Maturity scorecard", ":material/stairs:", "maturity"),
    ],
}
if not who.is_admin:  # imports, replacements and deletions are for admins only
    NAV["Data"].remove(IMPORT_PAGE)
# Pages that work before any snapshot is loaded.
WITHOUT_DATA = {"import", "trust"}
# Pages that draw no chart: they do not load the chart code (widgets.preload_chart_code).
WITHOUT_CHARTS = {"weekly_review", "finance", "import"}

started = time.perf_counter()
pg = st.navigation(NAV)
if pg.url_path not in WITHOUT_CHARTS:
    widgets.preload_chart_code()  # first: the browser loads it while the page computes
defs = data.defs()
with data.run_scope():
    view = None
    auth.sidebar_badge(who)
    with widgets.guard("the filters"):
        view = state.sidebar(defs, who)
    st.session_state["_view"] = view

    if view is None and pg.url_path not in WITHOUT_DATA:
        widgets.empty_state(data.db_path(), IMPORT_PAGE if who.is_admin else None)
    else:
        pg.run()

    trust = None
    if view is not None:
        try:
            trust = data.metric("trust_score", view.query).value
        except Exception:  # the footer must never break a page
            trust = None
    widgets.footer(defs, trust, view.as_of if view else None, auth.footer_note(who))

# Server-side time of this rerun (the speed budget: <= 1 s after a filter change,
# ~100 ms from cache); kept for the benchmark and logged at debug level.
elapsed_ms = (time.perf_counter() - started) * 1000
st.session_state["_last_run_ms"] = elapsed_ms
logging.getLogger("steward.dashboard").debug("rerun %s: %.0f ms", pg.url_path, elapsed_ms)
