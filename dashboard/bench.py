"""Server-side rerun times of every page: `python -m dashboard.bench --db STORE`.

Runs the app in Streamlit's AppTest (in-process, the same script run a server does)
and reads the time the entrypoint measures around each run (`_last_run_ms`): the first
render, a rerun after a filter change (a new segment: cache misses), a second filter
change, and a rerun served from cache. Budget (issue 4): <= 1 s after a filter change,
~100 ms from cache, on the 10M-row benchmark store.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from steward import pages as steward_pages

ROOT = Path(__file__).resolve().parents[1]
# Every page that declares its numbers (steward.pages), and the Import page.
PAGES = (*steward_pages.PAGES, "import")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="the store to read (e.g. the bench store)")
    ap.add_argument("--segments", default="SMB,Enterprise", help="two segments to filter by")
    ap.add_argument("--pages", default=",".join(PAGES))
    args = ap.parse_args(argv)
    os.environ["STEWARD_DB"] = str(Path(args.db).resolve())
    first_seg, second_seg = args.segments.split(",")[:2]

    from streamlit.testing.v1 import AppTest

    print("server-side time per rerun, ms")
    print(f"{'page':14s} {'first':>8s} {'filter 1':>9s} {'filter 2':>9s} {'cached':>8s}")
    for page in args.pages.split(","):
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=1800)
        at.switch_page(f"../pages/{page}.py")
        at.run()
        if at.exception:
            print(f"{page}: {at.exception[0].value}", file=sys.stderr)
            return 1
        first = at.session_state["_last_run_ms"]
        at.multiselect(key="f_segment").set_value([first_seg]).run()
        f1 = at.session_state["_last_run_ms"]
        at.multiselect(key="f_segment").set_value([second_seg]).run()
        f2 = at.session_state["_last_run_ms"]
        cached = []
        for _ in range(3):
            at.run()
            cached.append(at.session_state["_last_run_ms"])
        print(
            f"{page:14s} {first:8.0f} {f1:9.0f} {f2:9.0f} {statistics.median(cached):8.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
