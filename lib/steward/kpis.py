"""Headline KPIs: the tiles of the Board story, `steward report`, the narrative and the
workbook Summary, each with its change since the previous snapshot and since the same
week of the previous quarter.

A KPI keeps its period *relative to its snapshot*: "coverage this quarter" as of a
snapshot in the previous quarter is that quarter's coverage, so a QoQ delta compares
like with like. The same-week-of-previous-quarter snapshot is the one closest to
as_of − 13 weeks, if one lies within 10 days of it.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from steward import fmt, memo
from steward.definitions import Definitions
from steward.metrics.core import REGISTRY, Query, compute
from steward.periods import quarter_of

QOQ_WEEKS = 13
# Metrics owned by other modules whose failure shows as a note on their tile instead of
# an error for the whole set (ours are tested against this module's fixture).
GUARDED = frozenset({"forecast_historical", "win_rate_count", "pipeline_velocity"})
QOQ_TOLERANCE_DAYS = 10


@dataclass(frozen=True)
class KPI:
    id: str
    label: str
    value: float | None
    unit: str
    formatted: str
    delta_prev: float | None  # value − value at the previous snapshot
    delta_qoq: float | None  # value − value at the same week of the previous quarter
    delta_prev_formatted: str
    delta_qoq_formatted: str
    note: str | None
    metric_ids: tuple[str, ...]
    period: str
    prev_as_of: date | None = None
    qoq_as_of: date | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["metric_ids"] = list(self.metric_ids)
        for k in ("prev_as_of", "qoq_as_of"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


@dataclass(frozen=True)
class _Spec:
    id: str
    label: str
    metric_id: str
    offset: int | None  # quarters from the snapshot's quarter; None = the query's period


def snapshot_dates(con: duckdb.DuckDBPyConnection, as_of: date) -> list[date]:
    rows = con.execute(
        "select distinct snapshot_date from snapshots where snapshot_date <= $as_of order by 1",
        {"as_of": as_of},
    ).fetchall()
    return [r[0] for r in rows]


def comparison_dates(
    con: duckdb.DuckDBPyConnection, as_of: date
) -> tuple[date | None, date | None]:
    """(previous snapshot, snapshot closest to as_of − 13 weeks within 10 days).

    Two narrow reads (zone maps skip the rest of the table) instead of listing every
    snapshot date: the last date before as_of, and the dates within 10 days of the target.
    """
    target = as_of - timedelta(weeks=QOQ_WEEKS)
    lo = target - timedelta(days=QOQ_TOLERANCE_DAYS)
    hi = min(target + timedelta(days=QOQ_TOLERANCE_DAYS), as_of - timedelta(days=1))
    known = memo.snapshot_dates(con)  # the calendar, once per store version (or None)
    if known is not None:
        prev = max((d for d in known if d < as_of), default=None)
        near = [d for d in known if lo <= d <= hi]
    else:
        rows = con.execute(
            "select max(snapshot_date) from snapshots where snapshot_date < $as_of",
            {"as_of": as_of},
        ).fetchall()
        prev = rows[0][0] if rows else None
        near = [
            r[0]
            for r in con.execute(
                "select distinct snapshot_date from snapshots "
                "where snapshot_date >= $lo and snapshot_date <= $hi",
                {"lo": lo, "hi": hi},
            ).fetchall()
        ]
    qoq = min(near, key=lambda d: (abs((d - target).days), d)) if near else None
    return prev, qoq


def _specs(defs: Definitions) -> list[_Spec]:
    forecast_id = "forecast_historical"
    specs = [
        _Spec("qualified_pipeline", "Qualified pipeline", "open_pipeline", None),
        _Spec("coverage_this_quarter", "Coverage this quarter", "coverage", 0),
        _Spec("coverage_next_quarter", "Coverage next quarter", "coverage", 1),
        _Spec(
            "forecast",
            "Forecast (P50)"
            if forecast_id == "forecast_historical"
            else "Forecast (stage-weighted)",
            forecast_id,
            None,
        ),
        _Spec(
            "marketing_sourced_share", "Marketing-sourced share", "marketing_sourced_share", None
        ),
        _Spec("win_rate", "Win rate (count)", "win_rate_count", None),
        _Spec("velocity", "Pipeline velocity", "pipeline_velocity", None),
        _Spec("trust_score", "Trust score", "trust_score", None),
    ]
    return specs


def _query_at(q: Query, spec: _Spec, when: date, defs: Definitions) -> Query:
    """The spec's query at snapshot `when`, keeping the period's offset from its quarter."""
    sm = defs.fiscal_year_start_month
    offset = spec.offset
    if offset is None:
        offset = q.quarter(defs).offset_from(quarter_of(q.as_of, sm))
    period = quarter_of(when, sm).shift(offset).label
    return q.with_(as_of=when, period=period, compare_to=None)


def _value(
    con: duckdb.DuckDBPyConnection, metric_id: str, q: Query, defs: Definitions
) -> tuple[float | None, str | None]:
    if metric_id not in GUARDED:
        res = compute(con, metric_id, q, defs)
        return res.value, res.note
    try:
        res = compute(con, metric_id, q, defs)
    except Exception as exc:  # one failing tile must not take the Board story down
        return None, f"{metric_id} could not be computed: {exc}"
    return res.value, res.note


def _forecast_values(
    con: duckdb.DuckDBPyConnection, queries: list[Query], defs: Definitions
) -> list[float]:
    """forecast_historical's value (the P50) at several as-of points with one shared
    learner: the training snapshots of all points are read in one query, once each (the
    same week last quarter shares most training quarters with today). The values equal
    compute()'s: the learner only caches what it reads."""
    from steward.metrics import forecast

    dates = forecast.snapshot_dates(con, max(x.as_of for x in queries))
    learner = forecast.Learner(con, defs)
    learner.prefetch(
        [
            t
            for x in queries
            for t in forecast.training_quarters(
                dates[: bisect.bisect_right(dates, x.as_of)], x.quarter(defs), x.as_of
            )
        ]
    )
    return [
        forecast.historical_forecast(con, x, defs, known_dates=dates, learner=learner).p50
        for x in queries
    ]


def _values(
    con: duckdb.DuckDBPyConnection, metric_id: str, queries: list[Query], defs: Definitions
) -> list[tuple[float | None, str | None]]:
    """The metric at each query; the first is the KPI's own value, the others are only
    computed when it has one (they serve the deltas)."""
    # In a view (steward.memo) each date goes through compute: the narrative and the
    # page's prefetch share those, and the learning is shared per store version anyway.
    if metric_id == "forecast_historical" and memo.current() is None:
        try:
            return [(v, None) for v in _forecast_values(con, queries, defs)]
        except Exception:  # noqa: S110 - the one-by-one path below reports the error
            pass
    first = _value(con, metric_id, queries[0], defs)
    if first[0] is None:
        return [first] + [(None, None)] * (len(queries) - 1)
    return [first] + [_value(con, metric_id, x, defs) for x in queries[1:]]


def _forecast_note(
    con: duckdb.DuckDBPyConnection, spec: _Spec, q: Query, value: float | None, defs: Definitions
) -> str:
    method = "historical P50" if spec.metric_id == "forecast_historical" else "stage-weighted"
    target, why = _value(con, "bookings_target", q, defs)
    if target is None:
        return f"{method} forecast; {why or f'no target for {q.period}'}"
    share = "" if value is None or not target else f" ({fmt.pct(value / target)} of target)"
    return f"{method} forecast vs target {fmt.money(target)}{share}"


def requests(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> list[tuple[str, Query]]:
    """Every (metric, query) the tiles ask, slowest first: a caller with idle threads
    computes them ahead, in one view, and headline_kpis then finds them done."""
    prev, qoq = comparison_dates(con, q.as_of)
    dates = [q.as_of, *(w for w in (prev, qoq) if w is not None)]
    slow = ("trust_score", "pipeline_velocity", "forecast_historical", "win_rate_count")
    specs = sorted(
        _specs(defs), key=lambda s: slow.index(s.metric_id) if s.metric_id in slow else 9
    )
    return [(s.metric_id, _query_at(q, s, w, defs)) for s in specs for w in dates]


def headline_kpis(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> list[KPI]:
    """The headline KPIs for the as-of snapshot, with deltas (every metric is registered:
    a missing one raises)."""
    prev, qoq = comparison_dates(con, q.as_of)
    out = []
    for spec in _specs(defs):
        now_q = _query_at(q, spec, q.as_of, defs)
        thens = [w for w in (prev, qoq) if w is not None]
        got = _values(
            con, spec.metric_id, [now_q, *(_query_at(q, spec, w, defs) for w in thens)], defs
        )
        value, note = got[0]
        at = dict(zip(thens, (v for v, _ in got[1:]), strict=True))
        ids: tuple[str, ...] = (spec.metric_id,)
        if spec.id == "forecast":
            note = _forecast_note(con, spec, now_q, value, defs)
            ids = (spec.metric_id, "bookings_target")
        deltas: list[float | None] = []
        for when in (prev, qoq):
            then = None if when is None or value is None else at[when]
            deltas.append(None if then is None or value is None else value - then)
        unit = REGISTRY[spec.metric_id].unit
        out.append(
            KPI(
                id=spec.id,
                label=spec.label,
                value=value,
                unit=unit,
                formatted=fmt.value(value, unit),
                delta_prev=deltas[0],
                delta_qoq=deltas[1],
                delta_prev_formatted=fmt.delta(deltas[0], unit),
                delta_qoq_formatted=fmt.delta(deltas[1], unit),
                note=note,
                metric_ids=ids,
                period=now_q.period,
                prev_as_of=prev,
                qoq_as_of=qoq,
            )
        )
    return out
