"""What users wait for: page times in a real headless Chromium (`make bench-browser`).

    .venv/bin/python bench/browser.py --db STORE [--runs 3] [--pages board,funnel]
                                      [--json out/bench.json]

For each page, a fresh `streamlit run` serves the store, and Playwright (Debian's
`chromium`, never a downloaded one) measures:

- **cold**: the first visit after the server starts — from `goto(url)` to settled — in a
  browser that has never opened the app (nothing cached: the browser fetches and
  compiles the app's code, Plotly's 4.7 MB included);
- **cold, returning browser**: the same after the server is started again on the same
  address, in the browser that made the first visit (its cache holds the app's code,
  which Streamlit serves as immutable for a year): a first visit after a restart for
  anyone who has opened the app before;
- **filter**: after that first visit, a change made in the sidebar (one more segment
  picked in the Segment filter: a filter the server has not seen before), from the
  click on the option (once Playwright has found it visible and still) to settled; `--runs` changes (Enterprise, then + Mid-Market, ...),
  median and each run reported.

*Settled* means: the page caption names the new filter (so the new run is on screen),
no element is stale, the running indicator is gone, and the charts the page draws on the
benchmark store (`PAGES`: its Plotly charts) are on the page and have drawn their SVG (two animation frames later). The count matters: the browser
mounts a chart only once the chart's code has arrived (Plotly's is 4.7 MB, fetched when
the first chart reaches the page), so on a first visit the run is on screen, with no
chart yet, up to ~1.3 s before the charts are; a check of "every chart drawn" alone is
true of none. A fixed sleep is never used as the measure.

The figures are merged into the JSON that `make bench` writes (key `browser`), with
the machine and the load average at the start and end of the run, since on a shared
machine a figure means little without it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.serve import free_port, streamlit_server

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
# url path of each page (the board is the default page at "/"), and the Plotly charts it
# draws on the benchmark store
PAGES = {
    "board": ("", 2),
    "weekly_review": ("weekly_review", 0),
    "funnel": ("funnel", 4),
    "forecast": ("forecast", 4),
    "scenario_planner": ("scenario_planner", 2),
    "changes": ("changes", 2),
    "drilldown": ("drilldown", 1),
    "marketing": ("marketing", 3),
    "finance": ("finance", 0),
    "trust": ("trust", 1),
    "maturity": ("maturity", 1),
}
SEGMENTS = ("Enterprise", "Mid-Market", "SMB")

SETTLED_JS = """
([want, charts]) => {
  const caps = Array.from(document.querySelectorAll('[data-testid="stCaptionContainer"]'));
  const titled = want === null || caps.some(c => c.innerText.includes(want));
  const footer = caps.some(c => c.innerText.includes('definitions '));
  const stale = document.querySelector('[data-stale="true"]');
  const running = document.querySelector('[data-testid="stStatusWidgetRunningIcon"]');
  const found = Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'));
  const drawn = charts === null
    || (found.length >= charts && found.every(c => c.querySelector('.main-svg')));
  return titled && footer && !stale && !running && drawn;
}
"""
FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def settle(
    pg: Any, want: str | None, charts: int, timeout_ms: float, t0: float
) -> tuple[float, float]:
    """Wait (polling, up to timeout_ms) until the page is settled; see the module doc.

    Returns (ms until the script's run was on screen, ms until settled) since t0: the
    first is the server's share, the rest is the browser loading and drawing the charts."""
    pg.wait_for_function(SETTLED_JS, arg=[want, None], timeout=timeout_ms, polling=20)
    shown = (time.perf_counter() - t0) * 1000.0
    pg.wait_for_function(SETTLED_JS, arg=[want, charts], timeout=timeout_ms, polling=20)
    pg.evaluate(FRAMES_JS)
    return round(shown, 1), round((time.perf_counter() - t0) * 1000.0, 1)


def measure_page(
    browser: Any, db: Path, app: Path, page: str, runs: int, timeout_ms: float
) -> dict[str, Any]:
    """One fresh server: the cold visit, then `runs` sidebar filter changes."""
    path, charts = PAGES[page]
    out: dict[str, Any] = {
        "path": path,
        "cold_ms": None,
        "cold_run_ms": None,
        "cold_cached_ms": None,
        "filter_ms": [],
        "filter_run_ms": [],
        "error": None,
    }
    context = browser.new_context(viewport={"width": 1600, "height": 1800})
    port = free_port()  # both servers on one address: the browser's cache is per origin
    with streamlit_server(db, timeout_s=120.0, app=app, port=port) as url:
        pg = context.new_page()
        try:
            t0 = time.perf_counter()
            pg.goto(f"{url}/{path}")
            out["cold_run_ms"], out["cold_ms"] = settle(pg, None, charts, timeout_ms, t0)
            chosen: list[str] = []
            for value in SEGMENTS[:runs]:
                chosen.append(value)
                box = pg.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]')
                box = box.filter(has_text="Segment").locator("input")
                box.click()
                box.fill(value)
                option = pg.locator('[role="option"]', has_text=value).first
                option.wait_for()
                # Playwright's own checks (visible, stable: the list has stopped moving)
                # before the clock starts: the person's wait begins with the click
                option.click(trial=True)
                t0 = time.perf_counter()
                option.click()
                want = "Segment: " + ", ".join(sorted(chosen))
                shown, done = settle(pg, want, charts, timeout_ms, t0)
                out["filter_run_ms"].append(shown)
                out["filter_ms"].append(done)
                pg.keyboard.press("Escape")
        except Exception as exc:  # one page failing is reported, not fatal
            out["error"] = repr(exc)[:300]
        finally:
            pg.close()
    if out["error"] is None:
        with streamlit_server(db, timeout_s=120.0, app=app, port=port) as url:
            pg = context.new_page()
            try:
                t0 = time.perf_counter()
                pg.goto(f"{url}/{path}")
                out["cold_cached_ms"] = settle(pg, None, charts, timeout_ms, t0)[1]
            except Exception as exc:
                out["error"] = repr(exc)[:300]
            finally:
                pg.close()
    context.close()
    for key in ("filter_ms", "filter_run_ms"):
        ms = out[key]
        out[key.replace("_ms", "_median_ms")] = statistics.median(ms) if ms else None
    return out


def run(db: Path, app: Path, pages: list[str], runs: int, timeout_ms: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {
        "db": str(db),
        "app": str(app),
        "machine": f"{platform.machine()} · {os.cpu_count()} cores · {platform.node()}",
        "load_average_start": load_average(),
        "runs": runs,
        "pages": {},
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name in pages:
                result["pages"][name] = measure_page(browser, db, app, name, runs, timeout_ms)
                print(name, json.dumps(result["pages"][name]), file=sys.stderr, flush=True)
        finally:
            browser.close()
    result["load_average_end"] = load_average()
    return result


def merge_json(path: Path, browser: dict[str, Any]) -> None:
    """Put the browser figures under `browser` in the bench JSON (created if missing)."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data["browser"] = browser
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def render(result: dict[str, Any]) -> str:
    lines = [
        f"browser timings · {result['machine']} · load {result['load_average_start']} -> "
        f"{result['load_average_end']}",
        "ms; 'script' = the run on screen, 'settled' = every chart drawn too; 'returning' ="
        " a cold visit (settled) by a browser that has opened the app before",
        f"{'page':18s} {'cold script':>11s} {'settled':>8s} {'returning':>9s} "
        f"{'filter script':>13s} {'settled':>8s}  filter runs (settled)",
    ]

    def ms(x: float | None) -> str:
        return "error" if x is None else f"{x:.0f}"

    for name, r in result["pages"].items():
        extra = f"  {r['error']}" if r["error"] else ""
        lines.append(
            f"{name:18s} {ms(r['cold_run_ms']):>11s} {ms(r['cold_ms']):>8s} "
            f"{ms(r['cold_cached_ms']):>9s} "
            f"{ms(r['filter_run_median_ms']):>13s} {ms(r['filter_median_ms']):>8s}  "
            f"{r['filter_ms']}{extra}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(ROOT / "data" / "bench.duckdb"))
    ap.add_argument("--runs", type=int, default=3, help="filter changes per page (max 3)")
    ap.add_argument("--pages", default=",".join(PAGES))
    ap.add_argument("--json", default="out/bench.json")
    ap.add_argument("--timeout-s", type=float, default=300.0)
    ap.add_argument(
        "--app",
        default=str(ROOT / "dashboard" / "app.py"),
        help="the entrypoint to serve (another checkout's, for before/after figures)",
    )
    args = ap.parse_args(argv)
    db = Path(args.db).expanduser().resolve()
    if not db.exists():
        print(f"no store at {db}: build one with `make bench BENCH_ARGS=--keep`", file=sys.stderr)
        return 2
    pages = [p for p in args.pages.split(",") if p]
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        print(f"unknown page(s): {', '.join(unknown)}; known: {', '.join(PAGES)}", file=sys.stderr)
        return 2
    result = run(
        db, Path(args.app).resolve(), pages, min(args.runs, len(SEGMENTS)), args.timeout_s * 1000.0
    )
    print(render(result))
    merge_json(Path(args.json), result)
    print(f"\nfigures written to {args.json} (key 'browser')")
    return 0 if all(r["error"] is None for r in result["pages"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
