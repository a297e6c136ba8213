"""Start the app warm: `python -m dashboard.launch [streamlit run options]` (from the repo).

`make run`, the browser tests and `make bench-browser` start the app through this file;
`streamlit run dashboard/app.py` works as well, and answers the same. What this adds is
time: the first visit after a plain `streamlit run` pays for importing pandas, Plotly,
DuckDB and the product (~0.6-1.4 s on the 2-core box), the first store open, and the
work steward.memo keeps per store version (the historical forecast's learning, the
snapshot calendar, the trust checks' deal flags, the stalled deals' stays, the KPI
trend's groups) — ~2.3 s of server time on the 10M-row
benchmark store before the page shows. Here that is done once before the server
answers: the modules are imported into the process Streamlit then runs the app in, and
the Board story (the default page) is computed once for its default view, which fills
the per-store-version memo. Nothing of that view is kept but that memo, so a first
visit still computes its own numbers, with the same answers (the memo is keyed by the
store's version token, which every import replaces).

A store that is missing or cannot be read is not an error here: the app shows its own
empty state or message, and the server starts anyway.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"


def warm() -> float:
    """Import what every page needs and fill the store memo for the Board story's
    default view; returns the seconds it took (0 when there is no store)."""
    started = time.perf_counter()
    # The cache decorators in dashboard/ are declared before Streamlit's runtime exists
    # (they are created lazily, in the runtime, on first use): quiet the notice that
    # says so once per decorator.
    caching = logging.getLogger("streamlit.runtime.caching")
    level = caching.level
    caching.setLevel(logging.ERROR)
    try:
        from dashboard import data, state, widgets  # noqa: F401 - imported to warm
    finally:
        caching.setLevel(level)
    import steward.charts  # noqa: F401 - every page draws
    import steward.export.pptx  # noqa: F401 - the board pack and the workbook, which
    import steward.export.xlsx  # noqa: F401 - dashboard.data imports when first asked
    from steward import access, definitions, kpis, memo, narrative, pages, query, store
    from steward.metrics import compute

    if not data.has_store():
        return 0.0
    memo.use_store_memo(True)
    defs = definitions.load(os.environ.get("STEWARD_DEFINITIONS"))  # what data.defs() reads
    with store.reader(data.db_path()) as con, memo.view():
        data.listing(con)  # the sidebar: the snapshot list and the filter pickers
        for dim in data.FILTER_DIMS:  # as the open (no sign-in) sidebar asks them
            data.picker_values(con, dim, access.OPEN.scope)
        q = query.resolve(con, defs)
        for metric_id in pages.page("board_story").metrics:
            compute(con, metric_id, q, defs)
        kpis.headline_kpis(con, q, defs)
        narrative.build(con, q, defs)
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    for p in (ROOT, ROOT / "lib"):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    try:
        took = warm()
        print(f"steward: warmed in {took:.1f} s", file=sys.stderr, flush=True)
    except Exception as exc:  # a failed warm-up costs time, never the server
        print(f"steward: warm-up skipped ({exc})", file=sys.stderr, flush=True)
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *argv]
    return int(cli.main() or 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
