"""The view state, bound to the URL so a copied link reproduces the view.

Every widget that shapes what is shown has a stable key, takes its first value from
`st.query_params` (so a link restores it), and writes its value back to the URL on
every rerun. Parameters:

    asof=2026-11-20  period=FY2026-Q4  vs=2026-11-13          (sidebar, every page)
    segment=SMB&segment=Enterprise  region=…  source=…  owner=…  product=…
    page-specific: measure=amount, stage_sel=Discovery, bucket=New, cell=EMEA|SMB, …

A chart selection (a clicked bar, bucket or cell) is stored in the URL too, so the deal
table behind it comes back when the link is opened.

The as-of, period and comparison snapshot are written to the URL only when someone chose
them (in the sidebar or through a link). Their defaults — the latest snapshot, its
quarter, the snapshot before — follow the data: a week imported while the app is open
becomes the view on the next rerun, and a reload does too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import streamlit as st

from dashboard import data, widgets
from steward import access
from steward.access import Access
from steward.definitions import Definitions
from steward.metrics import Filters, Query

LABELS = {
    "segment": "Segment",
    "region": "Region",
    "source": "Source",
    "owner": "Owner",
    "product": "Product",
    "stage": "Stage",
}


@dataclass(frozen=True)
class View:
    """What the sidebar chose: one snapshot, one period, one cut, one comparison."""

    as_of: date
    period: str
    compare_to: date | None
    filters: Filters = field(default_factory=Filters)
    snapshots: tuple[date, ...] = ()
    who: Access = access.OPEN

    @property
    def query(self) -> Query:
        """Resolved once by `steward.query.resolve` (the CLI's resolver too), seen through
        the viewer's access scope (steward.access)."""
        return data.resolve(self.as_of, self.period, self.compare_to, self.filters, self.who.scope)


# --- URL helpers ----------------------------------------------------------------------


def param(name: str, default: str | None = None) -> str | None:
    value = st.query_params.get(name)
    return value if value not in (None, "") else default


def params(name: str) -> list[str]:
    return [v for v in st.query_params.get_all(name) if v != ""]


def set_param(name: str, value: str | Sequence[str] | None) -> None:
    """Write (or remove) one URL parameter; lists become repeated keys."""
    if value is None or value == "" or (not isinstance(value, str) and len(value) == 0):
        if name in st.query_params:
            del st.query_params[name]
        return
    if isinstance(value, str):
        if st.query_params.get(name) != value:
            st.query_params[name] = value
    elif st.query_params.get_all(name) != list(value):
        st.query_params[name] = list(value)


def _iso(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _init(key: str, value: Any) -> None:
    """Seed a widget's value once per session (from the URL or the default)."""
    if key not in st.session_state:
        st.session_state[key] = value


# --- the sidebar ----------------------------------------------------------------------


def _choose(key: str) -> None:
    """on_change of a sidebar picker: the user chose this value; it no longer follows."""
    st.session_state[f"_chose_{key}"] = True


def _followed(
    key: str,
    url: str,
    options: Sequence[Any],
    default: Any,
    from_url: Any,
    widget: Callable[[], Any],
) -> Any:
    """A sidebar picker whose value follows its default until someone chooses one.

    A default (the latest snapshot, its quarter, the snapshot before) is recomputed on
    every rerun, so a week imported while the app is open is shown; it is kept out of
    the URL, so a reload follows the data as well. A value the user picked, or one a
    link carried, is a choice: it stays (while it is still an option) and is written
    to the URL so the link reproduces the view.
    """
    chose = f"_chose_{key}"
    if key not in st.session_state and from_url in options:
        st.session_state[chose] = True
        st.session_state[key] = from_url
    if not st.session_state.get(chose) or st.session_state.get(key) not in options:
        st.session_state[chose] = False
        st.session_state[key] = default
    value = widget()
    if st.session_state.get(chose) and value is not None:
        set_param(url, value.isoformat() if isinstance(value, date) else str(value))
    else:
        set_param(url, None)
    return value


def sidebar(d: Definitions, who: Access = access.OPEN) -> View | None:
    """Render the shared sidebar; None when nothing is loaded yet."""
    dates = data.snapshot_dates()
    if not dates:
        return None
    newest_first = sorted(dates, reverse=True)

    as_of: date = _followed(
        "f_asof",
        "asof",
        newest_first,
        default=newest_first[0],
        from_url=_iso(param("asof")),
        widget=lambda: st.sidebar.selectbox(
            "As of snapshot",
            newest_first,
            key="f_asof",
            format_func=lambda x: x.strftime("%a %d %b %Y"),
            help="The weekly snapshot every number is computed from. Default: the latest "
            "(a newly imported week is shown unless you chose a date).",
            on_change=_choose,
            args=("f_asof",),
        ),
    )

    defaults = data.resolve(as_of)  # the resolver's defaults for this snapshot
    choices = data.period_choices(as_of, d)
    current = defaults.period
    period: str = _followed(
        "f_period",
        "period",
        choices,
        default=current,
        from_url=param("period"),
        widget=lambda: st.sidebar.selectbox(
            "Period (fiscal quarter of close date)",
            choices,
            key="f_period",
            format_func=lambda p: f"{p} (current)" if p == current else p,
            on_change=_choose,
            args=("f_period",),
        ),
    )

    earlier = [x for x in newest_first if x < as_of]
    compare_to: date | None = _followed(
        "f_vs",
        "vs",
        earlier,
        default=defaults.compare_to,
        from_url=_iso(param("vs")),
        widget=lambda: st.sidebar.selectbox(
            "Compare with snapshot",
            earlier,
            key="f_vs",
            format_func=lambda x: x.strftime("%a %d %b %Y"),
            help="The earlier snapshot for the pipeline bridge and the changes.",
            disabled=not earlier,
            on_change=_choose,
            args=("f_vs",),
        ),
    )

    chosen: dict[str, list[str]] = {}
    with st.sidebar.expander("Filters", expanded=True):
        for dim in data.FILTER_DIMS:
            from_url = params(dim)
            options = sorted(set(data.dim_values(dim, who.scope)) | set(from_url))
            _init(f"f_{dim}", [v for v in from_url if v in options])
            chosen[dim] = st.multiselect(
                LABELS[dim], options, key=f"f_{dim}", placeholder=f"All {LABELS[dim].lower()}s"
            )
    filters = Filters.of(**chosen)

    for dim in data.FILTER_DIMS:
        set_param(dim, list(getattr(filters, dim)))
    return View(as_of, period, compare_to, filters, tuple(dates), who)


# --- page-level state -----------------------------------------------------------------


def choice(
    label: str,
    options: Sequence[str],
    key: str,
    url: str,
    default: str | None = None,
    horizontal: bool = True,
    labels: dict[str, str] | None = None,
    where: Any = None,
) -> str:
    """A radio bound to one URL parameter."""
    opts = list(options)
    start = param(url)
    _init(key, start if start in opts else (default or opts[0]))
    if st.session_state[key] not in opts:
        st.session_state[key] = default or opts[0]
    widget = where or st
    value: str = widget.radio(
        label,
        opts,
        key=key,
        horizontal=horizontal,
        format_func=(lambda o: labels.get(o, o)) if labels else str,
    )
    set_param(url, value)
    return value


def pick(
    label: str,
    options: Sequence[str],
    key: str,
    url: str,
    default: str | None = None,
    where: Any = None,
    **kw: Any,
) -> str | None:
    """A selectbox bound to one URL parameter."""
    opts = list(options)
    if not opts:
        return None
    start = param(url)
    _init(key, start if start in opts else (default if default in opts else opts[0]))
    if st.session_state[key] not in opts:
        st.session_state[key] = default if default in opts else opts[0]
    widget = where or st
    value: str = widget.selectbox(label, opts, key=key, **kw)
    set_param(url, value)
    return value


def multi(label: str, options: Sequence[str], key: str, url: str, where: Any = None) -> list[str]:
    """A multiselect bound to one repeated URL parameter."""
    from_url = params(url)
    opts = sorted(set(options) | set(from_url))
    _init(key, [v for v in from_url if v in opts])
    widget = where or st
    value: list[str] = widget.multiselect(label, opts, key=key, placeholder=f"All {label.lower()}s")
    set_param(url, value)
    return value


def selection(
    event: Any, url: str, key: str, key_of: Callable[[dict[str, Any]], str] | None = None
) -> str | None:
    """Turn a chart's selection event into the URL parameter `url`; return the selection.

    A new click replaces the selection; clearing the chart selection clears it; a link
    opened with the parameter (no click yet) keeps it. The selection key of a point is
    its customdata[0] (see steward.charts), else its x or y label.
    """
    points = list(event.selection.points) if event and getattr(event, "selection", None) else []
    seen_key = f"_seen_{key}"
    signature = json.dumps(
        [[p.get("curve_number"), p.get("point_index"), p.get("point_number")] for p in points],
        default=str,
    )
    last = st.session_state.get(seen_key)
    if points and signature != last:
        st.session_state[seen_key] = signature
        set_param(url, (key_of or point_key)(points[0]))
    elif not points and last:
        st.session_state[seen_key] = None
        set_param(url, None)
    return param(url)


def point_key(point: dict[str, Any]) -> str:
    custom = point.get("customdata")
    if isinstance(custom, list | tuple) and custom:
        return str(custom[0])
    if custom not in (None, ""):
        return str(custom)
    for k in ("label", "x", "y"):
        if point.get(k) not in (None, ""):
            return str(point[k])
    return ""


def clear(url: str, key: str) -> None:
    """Forget a chart selection (the 'clear' button next to a deal table)."""
    set_param(url, None)
    st.session_state[f"_seen_{key}"] = st.session_state.get(f"_seen_{key}") or "cleared"


def open_page(page_id: str, title: str, extra: Callable[[View], str] | None = None) -> View:
    """Every page's first lines, in one place: the sidebar's view (the entrypoint shows
    the empty state instead when nothing is loaded), the metrics `steward.pages` declares
    for this page prefetched, and the header saying what the numbers are for."""
    view = current()
    assert view is not None  # the entrypoint shows the empty state otherwise
    data.prefetch_page(page_id, view.query)
    widgets.page_header(title, view, extra(view) if extra else None)
    return view


def current() -> View | None:
    """The view the entrypoint's sidebar chose for this run (None: nothing loaded)."""
    view: View | None = st.session_state.get("_view")
    return view


def selected_deals(
    heading: str, deals: Any, *, url: str, chart_key: str, key: str, file_name: str
) -> None:
    """The deals behind a chart selection: a heading, a 'Clear selection' button (keyed
    `{key}_clear`) that forgets the selection, and the deal table (keyed `{key}_deals`)."""
    head = st.columns([4, 1])
    head[0].subheader(heading)
    if head[1].button("Clear selection", key=f"{key}_clear"):
        clear(url, chart_key)
        st.rerun()
    widgets.deal_table(deals, key=f"{key}_deals", file_name=file_name)
