"""Helpers for the app tests: a small deterministic store, a streamlit server, Chromium.

`small_store(path)` builds the store the AppTest and browser tests read: the bundled
demo (`steward.demo.load`) when it exists, scaled down; otherwise a hand-made store of
a few dozen opportunities over eight weekly snapshots, enough for every page to draw.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from system_tools import require

from bench.serve import free_port, streamlit_server  # noqa: F401 (the tests import them from here)
from steward import store

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def need_chromium() -> None:
    """Skip (locally) or fail (in CI) without Debian's Chromium."""
    require(Path(CHROMIUM).exists(), "Debian chromium is not installed (make system-deps)")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never `playwright install`)."""
    import playwright.sync_api as playwright_api

    need_chromium()
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def demo_server(folder: Path) -> Iterator[str]:
    """The app served over a small demo store built in `folder`; its base URL."""
    need_chromium()
    with streamlit_server(small_store(folder / "steward.duckdb")) as url:
        yield url


SEGMENTS = ("Enterprise", "Mid-Market", "SMB")
REGIONS = ("NA", "EMEA")
SOURCES = ("Marketing", "SDR Outbound", "Partner", "AE Self-sourced")
STAGES = ("Prospecting", "Discovery", "Solution", "Proposal", "Negotiation")
PROB = {"Prospecting": 0.1, "Discovery": 0.2, "Solution": 0.4, "Proposal": 0.6, "Negotiation": 0.8}
FIRST_SNAPSHOT = date(2026, 10, 2)  # Fridays: Oct 2 .. Nov 20 2026 (FY2026-Q4)
WEEKS = 8


def _snapshots(seed: int = 7) -> pd.DataFrame:
    """Sixty opportunities walking through the stages over eight weekly snapshots."""
    rng = random.Random(seed)
    opps = []
    for i in range(60):
        opps.append(
            {
                "opportunity_id": f"OPP-{i:04d}",
                "opportunity_name": f"Deal {i}",
                "account_id": f"ACC-{i % 25:03d}",
                "account_name": f"Account {i % 25}",
                "segment": SEGMENTS[i % 3],
                "region": REGIONS[i % 2],
                "owner": f"Rep {i % 5}",
                "source": SOURCES[i % 4],
                "lead_source": "Webinar" if i % 4 == 0 else "Other",
                "stage_ix": rng.randrange(0, 4),
                "amount": Decimal(rng.randrange(10, 300) * 1000),
                "close": date(2026, 10, 15) + timedelta(days=rng.randrange(0, 120)),
                "created": date(2026, 6, 1) + timedelta(days=rng.randrange(0, 100)),
                "first_week": 0 if i < 45 else rng.randrange(1, WEEKS),
                "fate": rng.choice(["open", "open", "won", "lost", "push"]),
                "product": "Platform" if i % 3 else "Add-on",
            }
        )
    rows = []
    for w in range(WEEKS):
        snap = FIRST_SNAPSHOT + timedelta(weeks=w)
        for o in opps:
            if w < o["first_week"]:
                continue
            age = w - o["first_week"]
            ix = min(o["stage_ix"] + age // 2, len(STAGES) - 1)
            stage, closed, won = STAGES[ix], False, False
            close = o["close"]
            if o["fate"] in ("won", "lost") and age >= 4:
                stage = "Closed Won" if o["fate"] == "won" else "Closed Lost"
                closed, won = True, o["fate"] == "won"
                close = min(snap, o["close"])
            if o["fate"] == "push" and age >= 3:
                close = o["close"] + timedelta(days=100)
            amount = o["amount"] + (Decimal(5000) if age >= 5 and o["fate"] == "open" else 0)
            rows.append(
                {
                    "snapshot_date": snap,
                    "opportunity_id": o["opportunity_id"],
                    "opportunity_name": o["opportunity_name"],
                    "account_id": o["account_id"],
                    "account_name": o["account_name"],
                    "segment": o["segment"],
                    "region": o["region"],
                    "owner": o["owner"],
                    "source": o["source"],
                    "lead_source": o["lead_source"],
                    "stage": stage,
                    "amount": amount,
                    "currency": "USD",
                    "probability": 1.0 if won else (0.0 if closed else PROB[stage]),
                    "forecast_category": "Closed"
                    if won
                    else ("Omitted" if closed else ("Commit" if ix >= 3 else "Pipeline")),
                    "close_date": close,
                    "created_date": o["created"],
                    "is_closed": closed,
                    "is_won": won,
                    "loss_reason": "Price" if closed and not won else None,
                    "product": o["product"],
                }
            )
    return pd.DataFrame(rows)


def _targets() -> pd.DataFrame:
    rows = []
    for period, total in (("FY2026-Q4", 3_000_000), ("FY2027-Q1", 2_400_000)):
        rows.append((period, "All", Decimal(total), Decimal(total * 3)))
        for seg, share in zip(
            SEGMENTS, (Decimal("0.5"), Decimal("0.3"), Decimal("0.2")), strict=True
        ):
            rows.append((period, seg, Decimal(total) * share, Decimal(total * 3) * share))
    return pd.DataFrame(rows, columns=["period", "segment", "bookings_target", "pipeline_target"])


def build_small_store(path: Path) -> Path:
    """The hand-made store (deterministic): 8 snapshots x up to 60 opportunities."""
    frame = _snapshots()
    with store.writer(path) as con:
        store.commit_snapshots(con, frame, file_name="fixture.csv", source_format="fixture")
        store.commit_table(con, "targets", _targets(), file_name="targets.csv")
    return path


def small_store(path: Path) -> Path:
    """The demo data when the demo module exists (small), else the hand-made store."""
    try:
        from steward import demo  # type: ignore[attr-defined]
    except ImportError:
        return build_small_store(path)
    load = getattr(demo, "load", None)
    if load is None:
        return build_small_store(path)
    for kwargs in ({"opportunities": 300, "weeks": 30}, {"small": True}, {}):
        try:
            load(path, **kwargs)
            return path
        except TypeError:
            continue
    return build_small_store(path)


def migrated_store(path: Path) -> Path:
    """`small_store` with the schema migrated to the current version (a write connection
    opened once), so the planner's and the maturity tables exist before a test reads."""
    small_store(path)
    with store.writer(path):
        pass
    return path


# --- a live server --------------------------------------------------------------------


# A chart is drawn when Plotly has laid it out and put its traces in the DOM: `gd.data`
# filled and at least one trace group (bars, lines, funnel, pie) or heatmap image drawn.
# Waiting for the `.main-svg` shell alone is not enough on a loaded machine: the shell
# is there before the traces are (a seen flake: a funnel with 0 points).
_CHARTS_DRAWN = """n => {
  const graphs = Array.from(document.querySelectorAll('.js-plotly-plot'));
  const drawn = graphs.filter(g => g._fullLayout && (g.data || []).length > 0
                                   && g.querySelector('.trace, .hm'));
  return drawn.length >= n
         && !document.querySelector('[data-testid="stStatusWidget"] svg');
}"""


def wait_for_charts(pg: Any, charts: int, timeout_ms: int = 90_000) -> None:
    """Wait until the script run finished (the footer is drawn, nothing is running) and
    `charts` Plotly figures have their traces drawn. A condition, never a fixed sleep."""
    pg.locator('[data-testid="stCaptionContainer"]', has_text="definitions ").last.wait_for(
        timeout=timeout_ms
    )
    pg.wait_for_function(_CHARTS_DRAWN, arg=charts, timeout=timeout_ms)


@contextlib.contextmanager
def store_env(path: Path) -> Iterator[Path]:
    """STEWARD_DB pointing at `path` for the duration (the app under AppTest reads it),
    restored afterwards."""
    old = os.environ.get("STEWARD_DB")
    os.environ["STEWARD_DB"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("STEWARD_DB", None)
        else:
            os.environ["STEWARD_DB"] = old


def latest_query(path: Path, defs: Any) -> Any:
    """The plain Query for a store's latest snapshot and its quarter (no comparison)."""
    from steward import store
    from steward.metrics import Query, current_period

    with store.reader(path) as con:
        last = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
    return Query(as_of=last, period=current_period(last, defs))


def snapshot_dates(con: Any) -> list[date]:
    """The store's loaded snapshot dates, oldest first (read straight from the table)."""
    sql = "select distinct snapshot_date from snapshots order by 1"
    return [r[0] for r in con.execute(sql).fetchall()]


APP = str(ROOT / "dashboard" / "app.py")


def run_app(page: str | None = None, *, user: dict[str, Any] | None = None, **params: Any) -> Any:
    """The app in Streamlit's AppTest, at `page` (the board when None) with URL `params`
    (and a signed-in `user`), run once with a generous timeout for a loaded CI machine;
    fails on an uncaught exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    if user is not None:
        at.user = dict(user)
    for k, v in params.items():
        at.query_params[k] = v
    if page:
        at.switch_page(f"../pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_spec(at: Any, key: str) -> dict[str, Any]:
    """The figure JSON of the plotly chart with this widget key."""
    import json

    for el in at.get("plotly_chart"):
        if key in el.proto.id:
            spec: dict[str, Any] = json.loads(el.proto.spec)
            return spec
    raise AssertionError(f"no chart {key!r}; have {[e.proto.id for e in at.get('plotly_chart')]}")
