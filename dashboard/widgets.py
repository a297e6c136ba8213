"""Screen building blocks shared by the pages: KPI tiles, the deal table, the error
boundary, the empty state and the footer. Numbers are formatted with steward.fmt, the
same formatter the exports and the narrative use.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from steward import charts, fmt, textsafe
from steward.definitions import Definitions
from steward.errors import StewardError, describe
from steward.kpis import KPI
from steward.metrics import Column, columns_of
from steward.metrics.deals import DEAL_SCHEMA

log = logging.getLogger("steward.dashboard")

PAGE_ROWS = 500  # deal tables page beyond this many rows; the CSV has them all


# --- error boundary -------------------------------------------------------------------


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Run a block; on failure show a short message and the details in an expander.

    Streamlit's own control flow (st.stop, st.rerun) derives from BaseException and
    passes through untouched.
    """
    try:
        yield
    except StewardError as exc:
        show_error(what, exc)
    except Exception as exc:
        log.exception("dashboard block failed: %s", what)
        st.warning(f"Could not show {what}. The rest of the page is unaffected.")
        with st.expander("Details (for the data team)"):
            st.text(f"{type(exc).__name__}: {exc}")
            st.text("".join(traceback.format_exception(exc)[-6:]))


def show_error(what: str, exc: StewardError) -> None:
    """The one way a user-facing error renders on screen: the reason, details below.

    Reads the error through `steward.errors.describe`, as the CLI does.
    """
    reason, details = describe(exc)
    st.warning(f"Could not show {what}: {reason}")
    with st.expander("Details"):
        st.text("\n".join([reason, *details]))


# --- empty state ----------------------------------------------------------------------


def empty_state(db_path: str, import_page: Any) -> None:
    """A store with no snapshots: two ways to start, each one click away."""
    st.title("Pipeline Steward")
    st.subheader("No snapshots loaded yet")
    st.markdown(f"There is no pipeline data in `{db_path}` yet. Two ways to start:")
    left, right = st.columns(2, gap="large")
    with left, st.container(border=True):
        st.markdown(
            "**Load your own export** — a weekly opportunity report from Salesforce or "
            "HubSpot, or any CSV/XLSX with one row per opportunity."
        )
        if import_page is None:
            st.caption("Imports are for admins: ask your RevOps admin to load the data.")
        else:
            st.page_link(import_page, label="Go to the Import page", icon=":material/upload_file:")
            st.caption("Or from a terminal: `steward import opportunities_2026-11-20.csv`")
    with right, st.container(border=True):
        st.markdown(
            "**Try the demo** — two years of weekly snapshots for a fictional company "
            "(Northwind Analytics), with targets, marketing touches and leads."
        )
        if st.button(
            "Load the demo data",
            key="empty_load_demo",
            type="primary",
            disabled=import_page is None,
        ):
            with guard("the demo"), st.spinner("Building the demo store…"):
                from dashboard import data

                summary = data.load_demo()
                st.success(f"Demo loaded: {fmt.count(summary.rows)} snapshot rows.")
                st.rerun()
        st.caption("Or from a terminal: `make demo` (or `steward demo`)")


# --- KPI tiles ------------------------------------------------------------------------


def kpi_tiles(
    kpis: Sequence[KPI],
    trend: pd.DataFrame | None = None,
    per_row: int = 4,
    trend_columns: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Tiles with the value, its change vs the previous snapshot and a sparkline.

    Returns what was shown (id, label, value text, delta text) for the page and tests.
    """
    shown: list[dict[str, Any]] = []
    has_trend = trend is not None and len(trend) > 1
    for start in range(0, len(kpis), per_row):
        cols = st.columns(per_row)
        for col, k in zip(cols, kpis[start : start + per_row], strict=False):
            delta: str | None = k.delta_prev_formatted
            help_text = None
            if k.delta_qoq_formatted:
                help_text = f"vs same week last quarter: {k.delta_qoq_formatted}"
            if k.note:
                help_text = f"{help_text or ''}\n\n{k.note}".strip()
            spark = None
            tcol = (trend_columns or {}).get(k.id, k.id)
            if trend is not None and tcol in trend.columns:
                # Weeks without a value (no target yet: no coverage) are left out; a
                # sparkline takes numbers only.
                spark = [float(v) for v in trend[tcol] if v is not None and not pd.isna(v)]
            unchanged = _is_no_change(k.delta_prev, delta)
            if unchanged:
                delta = NO_CHANGE
            why = _why_blank(k.value, k.note)
            if why:  # no number: the tile says why where the change would be
                delta, unchanged = why, True
            # The tile is a bordered box: the metric, then its sparkline as inline SVG
            # (steward.charts.sparkline: no chart library for a first visit to load).
            with col.container(border=True, height=TILE_HEIGHT if has_trend else "content"):
                st.metric(
                    k.label,
                    k.formatted or fmt.DASH,
                    delta=delta if delta not in (None, fmt.DASH, "") else None,
                    delta_color="off" if unchanged else "normal",
                    delta_arrow="off" if unchanged else "auto",
                    help=help_text,
                )
                if spark and len(spark) > 1:
                    st.html(charts.sparkline_html(spark, f"{k.label}: weekly trend"))
            shown.append({"id": k.id, "label": k.label, "value": k.formatted, "delta": delta})
    return shown


NO_CHANGE = "no change"
TILE_HEIGHT = 200  # px: a row's tiles line up whether or not each has a sparkline


def _why_blank(value: Any, note: str | None) -> str | None:
    """The short reason a KPI has no value ('no target for this cut'), from its note."""
    if value is not None or not note:
        return None
    reason = note.split(":", 1)[0].split(";", 1)[0].strip()
    return reason if reason.startswith(("no target", "target already met")) else None


def _is_no_change(raw: Any, text: str | None) -> bool:
    """A delta that rounds to nothing on screen ("+0 pts", "+$0", "+0.0x") is no change."""
    if text is None or text == fmt.DASH:
        return False
    if raw is not None:
        try:
            if float(raw) == 0:
                return True
        except (TypeError, ValueError):
            pass
    digits = [ch for ch in str(text) if ch.isdigit()]
    return bool(digits) and set(digits) == {"0"}


# --- deal table -----------------------------------------------------------------------

# On screen, what a CRO scans first comes first (the CSV keeps the contract's order).
_SCREEN_FIRST = (
    "bucket",
    "opportunity_name",
    "account_name",
    "effect",
    "amount_change",
    "push_count",
    "days_in_stage",
    "amount",
    "amount_from",
    "amount_to",
    "stage",
    "stage_from",
    "close_date",
    "close_date_from",
    "owner",
    "crm_url",
)


def _display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Money as floats for display (Decimals are kept for the CSV), dates as dates."""
    first = [c for c in _SCREEN_FIRST if c in df.columns]
    out = df[first + [c for c in df.columns if c not in first]].copy()
    for c in out.columns:
        if c.startswith("amount") or c in ("value", "pushed_amount", "effect"):
            out[c] = pd.to_numeric(
                out[c].map(lambda v: None if v is None else float(v)), errors="coerce"
            )
        elif c.endswith("_date") or c in ("close_date_from", "close_date_to"):
            out[c] = pd.to_datetime(out[c], errors="coerce")
        elif c != "crm_url" and (out[c].dtype == object or pd.api.types.is_string_dtype(out[c])):
            # Blank text (no loss reason, no product) reads as a dash, not "None".
            out[c] = [fmt.DASH if _blank(v) else v for v in out[c]]
    return out


def _csv_when_clicked(df: pd.DataFrame, file_name: str) -> Callable[[], bytes]:
    """The deal list's CSV, made when Download is clicked; the audit table then says who
    took it, under which scope. Made in Streamlit's own thread, with no rerun: a rerun
    started by the click could drop the file's answer to the browser (Streamlit clears
    the messages not yet sent when a run starts), leaving the button spinning."""
    from dashboard import auth

    record = auth.audit_later("export", f"deal list {file_name}")

    def make() -> bytes:
        body = textsafe.csv_bytes(df)
        record()
        return body

    return make


def _blank(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def deal_table(
    df: pd.DataFrame,
    key: str,
    title: str | None = None,
    file_name: str = "deals.csv",
    metric_id: str | None = None,
) -> None:
    """A formatted deal list: currency, dates, a CRM link, CSV download, paged when large.
    Headers are the deal columns' declared labels (`deals.DEAL_SCHEMA`, shared with the
    workbook), and a table metric's own columns' (`metric_id`: the stalled deals' days
    in stage, the push counts)."""
    if title:
        st.markdown(f"**{title}**")
    if df is None or df.empty:
        st.caption("No deals.")
        return
    n = len(df)
    summary = f"{fmt.count(n)} deal" + ("" if n == 1 else "s")
    money_col = next((c for c in ("amount", "amount_change") if c in df), None)
    if money_col:
        total = sum(float(v) for v in df[money_col] if v is not None and v == v)
        summary += (
            f" · {'net change ' if money_col == 'amount_change' else ''}{fmt.money_exact(total)}"
        )
    top = st.columns([3, 1])
    top[0].caption(summary)
    top[1].download_button(
        "Download CSV",
        # Made when clicked (a callable), not on every rerun: the page shows one page of
        # deals, so it should not pay for the CSV of all of them on each filter change.
        _csv_when_clicked(df, file_name),
        file_name=file_name,
        mime="text/csv",
        key=f"{key}_csv",
        width="stretch",
        on_click="ignore",
    )
    view = df
    if n > PAGE_ROWS:
        pages = (n + PAGE_ROWS - 1) // PAGE_ROWS
        page = st.number_input(
            f"Page (of {pages}, {PAGE_ROWS} deals each)",
            min_value=1,
            max_value=pages,
            value=1,
            step=1,
            key=f"{key}_page",
        )
        view = df.iloc[(int(page) - 1) * PAGE_ROWS : int(page) * PAGE_ROWS]
    view = _display_frame(view)
    declared = {c.name: c for c in (*DEAL_SCHEMA, *(columns_of(metric_id) if metric_id else ()))}
    config: dict[str, Any] = {}
    for c in view.columns:
        label = header(c, declared)
        if c.startswith("amount") or c in ("value", "effect"):
            config[c] = st.column_config.NumberColumn(label, format="dollar")
        elif c == "probability":
            config[c] = st.column_config.NumberColumn(label, format="percent")
        elif c.endswith("_date") or c.startswith("close_date"):
            config[c] = st.column_config.DateColumn(label, format="YYYY-MM-DD")
        elif c == "crm_url":
            if view[c].notna().any():
                config[c] = st.column_config.LinkColumn(label, display_text="open ↗")
            else:
                config[c] = None  # no CRM URL template in the definitions: hide the column
        else:
            config[c] = st.column_config.Column(label)
    st.dataframe(view, key=f"{key}_table", hide_index=True, column_config=config, width="stretch")


def header(name: str, declared: Mapping[str, Column]) -> str:
    """A column's header: its declared label; an undeclared snake_case name as words
    ('snapshot_date' -> 'Snapshot date'); a name that is already a label (a maturity
    dimension) as it is."""
    if name in declared:
        return declared[name].label
    if name.isidentifier() and name == name.lower():
        return name.replace("_", " ").capitalize()
    return name


def _cell(v: Any) -> str:
    """A blank as an em dash, a flag as yes/no, dates as ISO, anything else as text."""
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return fmt.DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if hasattr(v, "isoformat"):
        return str(v.isoformat())[:10]
    try:
        if pd.isna(v):
            return fmt.DASH
    except (TypeError, ValueError):
        pass
    return str(v)


def _unit(c: Column | None, exact: bool) -> str | None:
    """The unit a column is shown in: its declared one (money to the cent when `exact`),
    None when it has no number format (words, dates)."""
    if c is None or c.unit not in fmt.CELL_UNITS:
        return None
    return "usd_exact" if exact and c.unit == "usd" else c.unit


def table_frame(
    df: pd.DataFrame, columns: Sequence[Column] = (), exact: bool = False
) -> pd.DataFrame:
    """What `table` shows: every cell as board text by its column's declared unit (money
    as $, ratios as %, blanks as an em dash), columns under their declared labels.
    Pure, for the page and the tests."""
    declared = {c.name: c for c in columns}
    out = pd.DataFrame(index=range(len(df)))
    for c in df.columns:
        unit = _unit(declared.get(c), exact)
        values = list(df[c])
        if unit is not None:
            text = [fmt.cell(None if _cell(v) == fmt.DASH else float(v), unit) for v in values]
        else:
            text = [_cell(v) for v in values]
        out[header(c, declared)] = text
    return out


def table(
    df: pd.DataFrame,
    key: str,
    metric_id: str | None = None,
    columns: Sequence[Column] = (),
    exact: bool = False,
) -> None:
    """A small summary table with board formatting by column unit ($12.4M, 38.1%, 2.7x,
    blanks as —); columns with a number format are right-aligned. Labels and units come
    from the metric's declared columns (`metric_id`) or a declared schema (`columns`,
    for a listing that is not a metric); `exact` shows money to the cent."""
    if df is None or df.empty:
        st.caption("Nothing to show.")
        return
    declared = tuple(columns) or (columns_of(metric_id) if metric_id else ())
    view = table_frame(df, declared, exact)
    by_name = {c.name: c for c in declared}
    config: dict[str, Any] = {}
    for c, head in zip(df.columns, view.columns, strict=True):
        right = _unit(by_name.get(c), exact) is not None
        config[head] = st.column_config.TextColumn(head, alignment="right" if right else "left")
    # A summary table shows every row when it is short (no inner scrollbar to miss).
    height: Any = 35 * (len(view) + 1) + 3 if len(view) <= 25 else "auto"
    st.dataframe(
        view, key=key, hide_index=True, column_config=config, width="stretch", height=height
    )


_RAW_MONEY = re.compile(r"\$?\b\d{1,3}(?:,\d{3})+\.\d{2}\b|\$?\b\d{4,}\.\d{2}\b")


def note_text(note: str | None) -> str:
    """A metric's note as a board reads it: raw amounts like 26,570,000.00 or
    $13,047,412.17 become $26.6M / $13.0M (counts and percentages are left alone)."""
    if not note:
        return ""
    text = _RAW_MONEY.sub(lambda m: fmt.money(float(m.group(0).lstrip("$").replace(",", ""))), note)
    return text[:1].upper() + text[1:]


# --- exports --------------------------------------------------------------------------


def prepared_download(
    q: Any,
    build: Callable[[], bytes],
    *,
    prepare: str,
    download: str,
    key: str,
    store: str,
    file_name: str,
    mime: str,
    primary: bool = False,
) -> None:
    """'Prepare' builds the file (and `build` records who exported what); 'Download' is
    enabled only while the prepared file is for the query on screen (`q`).

    The bytes stay in `st.session_state[store]`; the buttons are keyed `{key}_build` and
    `{key}_download`.
    """
    if st.button(prepare, key=f"{key}_build", type="primary" if primary else "secondary"):
        st.session_state[store] = build()
        st.session_state[f"{store}_for"] = repr(q)
    ready = st.session_state.get(f"{store}_for") == repr(q)
    st.download_button(
        download,
        st.session_state.get(store) or b"" if ready else b"",
        file_name=file_name,
        mime=mime,
        key=f"{key}_download",
        disabled=not ready,
    )


# --- charts ---------------------------------------------------------------------------


def chart(fig: go.Figure, key: str, selectable: bool = False) -> Any:
    """Draw a figure; selectable charts rerun on a click and return the event."""
    config = {"displayModeBar": False}  # no chart junk: Streamlit's toolbar has fullscreen
    if selectable:
        return st.plotly_chart(
            fig,
            key=key,
            on_select="rerun",
            selection_mode="points",
            theme=None,
            config=config,
            width="stretch",
        )
    st.plotly_chart(fig, key=key, theme=None, config=config, width="stretch")
    return None


# Streamlit loads a chart type's code when the first chart of that type reaches the page;
# Plotly's is 4.7 MB and takes ~1 s to fetch, compile and run in a browser that has not
# seen it. Started when the run starts, it overlaps the page's own work instead of
# following it (~0.1-0.2 s less to the Board's charts, docs/benchmark.md). The script imports the very modules Streamlit will import (same URLs,
# next to Streamlit's own index.*.js, so the browser runs each once): the chunk and, at
# the same time, the chunks it imports, which it would otherwise ask for only once the
# 4.7 MB had arrived. The element hides itself (no gap at the top of the page).
_PRELOAD_JS = """<style>[data-testid="stElementContainer"]:has(.steward-preload) {{ display: none; }}
</style><span class="steward-preload"></span><script>(() => {{
  const main = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (main) for (const name of {names}) import(new URL(name, main.src).href).catch(() => {{}});
}})();</script>"""
_IMPORTS = re.compile(r'(?:from|import)\s*"\./([\w.-]+\.js)"')


@functools.cache
def _chart_code() -> tuple[str, ...]:
    """The installed Streamlit's Plotly chunk and the chunks it imports (empty: not
    found, no preload)."""
    found = list((Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    if len(found) != 1:
        return ()
    with found[0].open(encoding="utf-8") as f:
        head = f.read(8192)  # a bundled chunk's imports come first
    return (found[0].name, *dict.fromkeys(_IMPORTS.findall(head)))


def preload_chart_code() -> None:
    """Start loading Plotly's browser code now (see _PRELOAD_JS); nothing is shown."""
    names = _chart_code()
    if names:
        st.html(_PRELOAD_JS.format(names=json.dumps(list(names))), unsafe_allow_javascript=True)


def page_header(title: str, view: Any, extra: str | None = None) -> None:
    """The page title and, under it, exactly what the numbers are for."""
    st.title(title)
    bits = [
        f"**{view.period}**",
        f"as of {fmt.board_date(view.as_of)}",
        view.query.filters.describe(),
    ]
    if extra:
        bits.append(extra)
    st.caption(" · ".join(bits))


# --- footer ---------------------------------------------------------------------------


def footer(
    d: Definitions,
    trust: float | None = None,
    as_of: date | None = None,
    access_note: str | None = None,
) -> None:
    parts = [d.stamp]
    if trust is not None:
        parts.append(f"trust score {fmt.score(trust)}")
    if as_of is not None:
        parts.append(f"as of {fmt.board_date(as_of)}")
    if access_note:
        parts.append(access_note)
    st.divider()
    st.caption(" · ".join(parts))
