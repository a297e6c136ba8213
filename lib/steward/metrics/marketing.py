"""Marketing contribution: influence, attribution, closed-won curves, speed-to-lead.

Marketing-*sourced* pipeline (the `source` column against the governed list) belongs to
the as-of metrics; this module adds what needs the optional `touches` and `leads`
tables, plus the closed-won curves by created cohort and source.

Influence window (one rule for influence and attribution): a touch counts for an
opportunity when it is on that opportunity, or on its account with no opportunity
named, and its date lies in [created_date - lookback_days, min(close_date, as_of)],
both ends included. A touch dated after the as-of date is ignored (no peeking).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from steward import memo
from steward.definitions import Definitions
from steward.metrics import deals as deal_columns
from steward.metrics.core import Column, Filters, Query, Result, drill_for, metric
from steward.metrics.forecast import current_derived_date
from steward.periods import Quarter, quarter_of

NO_TOUCH = "(no touch)"
UNKNOWN_CHANNEL = "(unknown)"
MODELS: tuple[str, ...] = (
    "first_touch",
    "last_touch",
    "linear",
    "u_shaped",
    "w_shaped",
    "time_decay",
)
HALF_LIFE_DAYS = 7.0


def qualified_open_stages(defs: Definitions) -> list[str]:
    """Names of the open stages at or after the qualified stage."""
    return [s.name for s in defs.open_stages if s.rank >= defs.qualified_rank]


# --- the deals of P at S, with their touches in the influence window -----------------

_DEALS_CTE = """
with deals as (
  select s.opportunity_id, s.account_id, s.source, coalesce(s.amount, 0) as amount,
         s.created_date, s.close_date, coalesce(s.is_won, false) as is_won,
         not coalesce(s.is_closed, false) and list_contains($qualified_stages::varchar[], s.stage)
           as is_pipeline,
         row_number() over (order by s.opportunity_id) - 1 as pos
  from snapshots s
  where s.snapshot_date = $as_of
    and s.close_date >= $p_start and s.close_date < $p_end
    and {which}{filters}
)"""
# (`pos`: the deal's place in opportunity id order, how the kept journeys number them.)

_WINDOW_CTES = (
    _DEALS_CTE  # noqa: S608 - constant SQL text, values bound
    + """,
in_window as (
  select d.opportunity_id, d.pos, t.touch_date, t.channel, t.campaign
  from deals d
  join touches t on t.opportunity_id = d.opportunity_id
  where t.touch_date <= least(d.close_date, $as_of::date)
    and (d.created_date is null or t.touch_date >= d.created_date - cast($lookback_days as integer))
  union all
  select d.opportunity_id, d.pos, t.touch_date, t.channel, t.campaign
  from deals d
  join touches t on t.account_id = d.account_id
  where coalesce(t.opportunity_id, '') = ''
    and t.touch_date <= least(d.close_date, $as_of::date)
    and (d.created_date is null or t.touch_date >= d.created_date - cast($lookback_days as integer))
)
"""
)
# (Each touch is matched with its deal's window in the join that finds it: the deals of
# one snapshot are unique by opportunity, so no second join with the deals is needed.)

_JOURNEY_SQL = (
    _WINDOW_CTES  # noqa: S608 - constant SQL text, values bound
    + """
select d.opportunity_id, d.source, d.amount, d.created_date, d.close_date, d.is_won,
       d.is_pipeline, w.touch_date, w.channel, w.campaign
from deals d
left join in_window w using (opportunity_id)
order by d.opportunity_id, w.touch_date, w.channel, w.campaign
"""
)

# The kept deals and touches read the same deals and windows in two lean queries: the
# deals once (dates as day numbers since 1970-01-01); and the touches in their windows by
# deal place alone (no string id, no repeated deal columns), in the journey order.
_KEPT_DEALS_SQL = (
    _DEALS_CTE  # noqa: S608 - constant SQL text, values bound
    + """
select opportunity_id, source, amount, is_won, is_pipeline,
       date_diff('day', date '1970-01-01', created_date) as created_day,
       date_diff('day', date '1970-01-01', close_date) as close_day
from deals
order by pos
"""
)

_KEPT_TOUCHES_SQL = (
    _WINDOW_CTES  # noqa: S608 - constant SQL text, values bound
    + """
select pos, date_diff('day', date '1970-01-01', touch_date) as day, channel
from in_window
order by pos, touch_date, channel, campaign
"""
)

_INFLUENCE_SQL = (
    _WINDOW_CTES  # noqa: S608 - constant SQL text, values bound
    + """
, touched as (
  select distinct opportunity_id from in_window
)
select d.opportunity_id, d.source, d.amount, d.is_won, d.is_pipeline,
       t.opportunity_id is not null as is_influenced
from deals d
left join touched t using (opportunity_id)
"""
)


# Which deals of P at S: open qualified pipeline, won to date, or both.
_WHICH = {
    "pipeline": "not coalesce(s.is_closed, false) "
    "and list_contains($qualified_stages::varchar[], s.stage)",
    "bookings": "coalesce(s.is_won, false)",
    "both": "(coalesce(s.is_won, false) or (not coalesce(s.is_closed, false) "
    "and list_contains($qualified_stages::varchar[], s.stage)))",
}


def _deal_params(
    q: Query, defs: Definitions, which: str, template: str
) -> tuple[str, dict[str, Any]]:
    """SQL and parameters for the deals of P at S (`which`: a whitelisted condition)."""
    p = q.quarter(defs)
    fsql, fparams = q.filters.named_sql("s")
    sql = template.format(which=_WHICH[which], filters=fsql)
    params = {
        "qualified_stages": qualified_open_stages(defs),
        "as_of": q.as_of,
        "p_start": p.start,
        "p_end": p.end,
        "lookback_days": defs.lookback_days,
        **fparams,
    }
    return sql, params


def _journeys(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, basis: str
) -> pd.DataFrame:
    """One row per (deal, touch in its window), ordered; deals without touches once, touch null."""
    sql, params = _deal_params(q, defs, basis, _JOURNEY_SQL)
    return con.execute(sql, params).df()


# --- the journeys of every deal of P at S, once per store version ------------------------
#
# Which touches fall in a deal's window, and what each model credits them, depend only on
# the deal, its touches, the as-of date and the definitions: never on the view's filters.
# So they are worked out once per (store version, S, P, definitions) for every open
# qualified or won deal of P at S, unfiltered, and a view only picks its deals out of them.
# The store version changes with every snapshot import, replacement or deletion and with
# every touches / leads / targets import (store.commit_table), so a kept set never
# outlives the touches or snapshots it was read from.

_KEPT = 8  # (S, P) pairs kept per store version

# The view's cut of the kept deals (the same deals as `_DEALS_CTE` with "both").
_CHOSEN_SQL = """
select s.opportunity_id
from snapshots s
where s.snapshot_date = $as_of
  and s.close_date >= $p_start and s.close_date < $p_end
  and {which}{filters}
"""


@dataclass(frozen=True)
class PeriodDeals:
    """The open qualified and won deals of P at S (no filter), in opportunity id order,
    with what influence and attribution read of each."""

    ids: pd.Index
    source: np.ndarray
    amount: np.ndarray
    is_won: np.ndarray
    is_pipeline: np.ndarray
    is_sourced: np.ndarray
    created_day: np.ndarray  # day numbers since 1970-01-01, NaN when missing
    close_day: np.ndarray

    def chosen(self, con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> np.ndarray:
        """Which deals the view's filters (and access scope) keep: a boolean per deal.

        The cut runs in SQL on the as-of snapshot, bound by name like every metric's, so
        a filter means exactly what it means elsewhere; no filter keeps every deal."""
        fsql, fparams = q.filters.named_sql("s")
        if not fsql:
            return np.ones(len(self.ids), dtype=bool)
        p = q.quarter(defs)
        params = {
            "qualified_stages": qualified_open_stages(defs),
            "as_of": q.as_of,
            "p_start": p.start,
            "p_end": p.end,
            **fparams,
        }
        sql = _CHOSEN_SQL.format(which=_WHICH["both"], filters=fsql)
        found = con.execute(sql, params).df()["opportunity_id"]
        pos = self.ids.get_indexer(found.to_numpy())
        mask = np.zeros(len(self.ids), dtype=bool)
        mask[pos[pos >= 0]] = True
        return mask


@dataclass(frozen=True)
class WindowTouches:
    """The touches in the influence windows of `PeriodDeals`' deals, one row per touch in
    the journey order (deal, date, channel, campaign): each one's deal place, day number
    and channel; and per deal whether it has any (`is_influenced`)."""

    touch_deal: np.ndarray
    day: np.ndarray
    channel: np.ndarray
    is_influenced: np.ndarray


@dataclass(frozen=True)
class TouchCredits:
    """Every model's credit of each `WindowTouches` row: `credit` has the models' credits
    (amount × weight) and the channel, row for row. A view selects rows, it never
    recomputes a weight, so its sums add the same numbers in the same order as the
    per-view path."""

    credit: pd.DataFrame


def _touch_credits(j: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Each touch row of the journeys `j` (as `_journeys` orders them) with every model's
    credit (the deal's amount × the touch's weight) and its channel."""
    touched = j[j["touch_date"].notna().to_numpy()]
    close_day = _day_numbers(touched["close_date"])
    won = touched["is_won"].fillna(False).astype(bool).to_numpy()
    frame = pd.DataFrame(
        {
            # integer deal keys: journey_weights groups by them five times (strings are
            # slower to group; the groups and their row order are the same)
            "deal": pd.factorize(touched["opportunity_id"])[0],
            "day": _day_numbers(touched["touch_date"]),
            "created_day": _day_numbers(touched["created_date"]),
            "ref_day": _ref_days(won, close_day, as_of),
            "amount": touched["amount"].astype(float).to_numpy(),
            "channel": touched["channel"].to_numpy(),
        }
    )
    return _credits(frame)


def _ref_days(won: np.ndarray, close_day: np.ndarray, as_of: date) -> np.ndarray:
    """The time-decay reference day: the close date of a won deal, else the as-of date."""
    as_of_day = float((pd.Timestamp(as_of) - pd.Timestamp("1970-01-01")).days)
    return np.where(won & ~np.isnan(close_day), close_day, as_of_day)


def _credits(frame: pd.DataFrame) -> pd.DataFrame:
    """Every model's credit per touch (amount × weight) and the channel, from touch rows
    with `deal`, `day`, `created_day`, `ref_day`, `amount` and `channel`."""
    weights = journey_weights(frame)
    credit = weights.mul(frame["amount"], axis=0)
    credit["channel"] = frame["channel"].fillna(UNKNOWN_CHANNEL).astype(str)
    return credit


def _sourced(defs: Definitions, source: pd.Series) -> np.ndarray:
    """Whether each deal's source is on the governed marketing list."""
    known = {src: defs.is_marketing(src) for src in source.dropna().unique()}
    return source.map(known).eq(True).to_numpy(dtype=bool)  # unknown or blank: False


def _kept_key(q: Query, defs: Definitions) -> tuple[Any, ...]:
    p = q.quarter(defs)
    # the digest names the definitions file; the settings read here are named too, for
    # definitions changed in code (dataclasses.replace keeps the digest)
    settings = (defs.lookback_days, tuple(qualified_open_stages(defs)), defs.marketing_sources)
    return (q.as_of, p.start, p.end, defs.digest, settings)


def _read_deals(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> PeriodDeals:
    bare = replace(q, filters=Filters())  # every deal: the view's cut comes later
    sql, params = _deal_params(bare, defs, "both", _KEPT_DEALS_SQL)
    del params["lookback_days"]  # the deals alone do not read it
    deals = con.execute(sql, params).df()
    return PeriodDeals(
        # plain object arrays: a view picks from them, and an Arrow-backed column would
        # be converted again at every pick
        ids=pd.Index(deals["opportunity_id"].to_numpy(dtype=object), dtype=object),
        source=deals["source"].to_numpy(dtype=object),
        amount=deals["amount"].astype(float).to_numpy(),
        is_won=deals["is_won"].fillna(False).astype(bool).to_numpy(),
        is_pipeline=deals["is_pipeline"].fillna(False).astype(bool).to_numpy(),
        is_sourced=_sourced(defs, deals["source"]),
        created_day=deals["created_day"].to_numpy(dtype=float, na_value=np.nan),
        close_day=deals["close_day"].to_numpy(dtype=float, na_value=np.nan),
    )


def _kept_once(con: duckdb.DuckDBPyConnection, name: str, key: Any, fn: Any) -> Any:
    """memo.kept, asked once per view: the page's prefetch threads compute attribution
    and influence side by side, and the second waits for the first one's read instead of
    reading the same deals again (the answer is shared, never changed by a caller)."""
    v = memo.current()
    if v is None:
        return memo.kept(con, name, key, fn, _KEPT)
    return v.get((name, key), lambda: memo.kept(con, name, key, fn, _KEPT))


def period_deals(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> PeriodDeals:
    """The deals of P at S, kept per store version (read fresh with the memo off)."""
    got: PeriodDeals = _kept_once(
        con, "marketing.deals", _kept_key(q, defs), lambda: _read_deals(con, q, defs)
    )
    return got


def _read_touches(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, deals: PeriodDeals
) -> WindowTouches:
    bare = replace(q, filters=Filters())
    sql, params = _deal_params(bare, defs, "both", _KEPT_TOUCHES_SQL)
    touches = con.execute(sql, params).df()
    pos = touches["pos"].to_numpy(dtype=np.int64)
    influenced = np.zeros(len(deals.ids), dtype=bool)
    influenced[pos] = True
    return WindowTouches(
        touch_deal=pos,
        day=touches["day"].to_numpy(dtype=float),
        channel=touches["channel"].to_numpy(dtype=object),
        is_influenced=influenced,
    )


def window_touches(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions, deals: PeriodDeals
) -> WindowTouches:
    """The touches in the windows of P at S, kept per store version (read fresh with the
    memo off). Their deal places index `deals`, which is `period_deals(con, q, defs)`."""
    got: WindowTouches = _kept_once(
        con, "marketing.touches", _kept_key(q, defs), lambda: _read_touches(con, q, defs, deals)
    )
    return got


def _weigh(deals: PeriodDeals, touches: WindowTouches, as_of: date) -> TouchCredits:
    pos = touches.touch_deal
    frame = pd.DataFrame(
        {
            "deal": pos,
            "day": touches.day,
            "created_day": deals.created_day[pos],
            "ref_day": _ref_days(deals.is_won, deals.close_day, as_of)[pos],
            "amount": deals.amount[pos],
            "channel": touches.channel,
        }
    )
    return TouchCredits(credit=_credits(frame))


def touch_credits(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    deals: PeriodDeals,
    touches: WindowTouches,
) -> TouchCredits:
    """Every model's credit of the `touches` of `deals` (P at S), kept per store version
    (computed fresh with the memo off)."""
    got: TouchCredits = _kept_once(
        con, "marketing.credits", _kept_key(q, defs), lambda: _weigh(deals, touches, q.as_of)
    )
    return got


# --- marketing_influenced_pipeline ------------------------------------------------------


@metric(
    "marketing_influenced_pipeline",
    label="Marketing-influenced pipeline",
    description=(
        "Open qualified pipeline closing in the period whose opportunity has at least one "
        "marketing touch in the influence window: on the opportunity itself, or on its account "
        "when the touch names no opportunity; dated from `lookback_days` before the created "
        "date (that day included) up to the close date or the as-of date, whichever is "
        "earlier (included). Touches after the as-of date are ignored. With no created date "
        "the window has no start. The table splits pipeline and bookings (won to date) into "
        "sourced and influenced, sourced only, influenced only, and neither."
    ),
    formula="Σ amount of open qualified deals in P at S with ≥ 1 touch in "
    "[created − lookback_days, min(close, S)]",
    unit="usd",
    columns=(
        Column("group", "Group", None, "sourced and/or influenced, or neither"),
        Column("pipeline_amount", "Pipeline amount", "usd", "open qualified, closing in P"),
        Column("pipeline_count", "Pipeline count", "count"),
        Column("won_amount", "Won amount", "usd", "won to date in P"),
        Column("won_count", "Won count", "count"),
    ),
)
def marketing_influenced_pipeline(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> Result:
    return influence_result(q, _influence_flags(con, q, defs))


def influence_result(q: Query, deals: pd.DataFrame) -> Result:
    """The influenced-pipeline number and table from the flagged deals of the view."""
    # plain arrays: four groups of a few selections each cost more as frame selections
    amount = deals["amount"].to_numpy(dtype=float)
    sourced, influenced, pipeline, won = (
        deals[c].fillna(False).to_numpy(dtype=bool)
        for c in ("is_sourced", "is_influenced", "is_pipeline", "is_won")
    )
    out = []
    for label, src, inf in INFLUENCE_GROUPS:
        sel = (sourced == src) & (influenced == inf)
        pipe, booked = sel & pipeline, sel & won
        out.append(
            {
                "group": label,
                "pipeline_amount": round(float(amount[pipe].sum()), 2),
                "pipeline_count": int(pipe.sum()),
                "won_amount": round(float(amount[booked].sum()), 2),
                "won_count": int(booked.sum()),
            }
        )
    table = pd.DataFrame(out)
    value = round(float(amount[pipeline & influenced].sum()), 2)
    return Result("marketing_influenced_pipeline", q, value=value, table=table)


INFLUENCE_GROUPS: tuple[tuple[str, bool, bool], ...] = (
    ("Sourced and influenced", True, True),
    ("Sourced only", True, False),
    ("Influenced only", False, True),
    ("Neither", False, False),
)


def _influence_flags(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> pd.DataFrame:
    """Pipeline and won deals of P at S with is_sourced / is_influenced flags: the view's
    deals picked out of the kept deals (`period_deals`)."""
    kept = period_deals(con, q, defs)
    touches = window_touches(con, q, defs, kept)
    mask = kept.chosen(con, q, defs)
    return pd.DataFrame(
        {
            "opportunity_id": kept.ids.to_numpy(dtype=object)[mask],
            "source": kept.source[mask],
            "amount": kept.amount[mask],
            "is_won": kept.is_won[mask],
            "is_pipeline": kept.is_pipeline[mask],
            "is_influenced": touches.is_influenced[mask],
            "is_sourced": kept.is_sourced[mask],
        }
    )


def influence_flags_direct(
    con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions
) -> pd.DataFrame:
    """The same flags read for this view alone, in one query: the reference the kept path
    is tested against (tests/test_marketing_kept.py)."""
    sql, params = _deal_params(q, defs, "both", _INFLUENCE_SQL)
    deals = con.execute(sql, params).df()
    deals["is_sourced"] = _sourced(defs, deals["source"])
    deals["amount"] = deals["amount"].astype(float)
    return deals


@drill_for("marketing_influenced_pipeline")
def influenced_deals(
    con: duckdb.DuckDBPyConnection,
    q: Query,
    defs: Definitions,
    group: str | None = None,
    basis: str = "pipeline",
    **others: Any,
) -> pd.DataFrame:
    """The deals behind the number: influenced open pipeline by default; or one table cell
    (group = 'Sourced only' ..., basis = 'pipeline' | 'bookings')."""
    flags = _influence_flags(con, q, defs)
    sel = flags["is_won"] if basis == "bookings" else flags["is_pipeline"]
    if group is None:
        sel = sel & flags["is_influenced"]
    else:
        match = [g for g in INFLUENCE_GROUPS if g[0] == group]
        if not match:
            names = ", ".join(g[0] for g in INFLUENCE_GROUPS)
            raise ValueError(f"unknown group {group!r}; one of: {names}")
        src, inf = match[0][1], match[0][2]
        sel = sel & (flags["is_sourced"] == src) & (flags["is_influenced"] == inf)
    chosen = flags[sel]
    ids = [str(x) for x in chosen["opportunity_id"]]
    deals = deal_columns.deal_list(
        con, defs, q.as_of, " and list_contains($ids::varchar[], s.opportunity_id)", {"ids": ids}
    )
    extra = chosen[["opportunity_id", "is_sourced", "is_influenced"]]
    return deals.merge(extra, on="opportunity_id", how="left")


# --- attribution --------------------------------------------------------------------------


def touch_weights(
    touch_days: list[int], created_day: int | None, ref_day: int
) -> dict[str, list[float]]:
    """Credit share of each touch of one journey under every model (each sums to 1).

    `touch_days` are the journey's touch dates as day numbers, in time order;
    `created_day` the opportunity's created date; `ref_day` the time-decay reference
    (the close date of a won deal, the as-of date for open pipeline).
    """
    n = len(touch_days)
    frame = pd.DataFrame(
        {
            "deal": [0] * n,
            "day": touch_days,
            "created_day": [created_day] * n,
            "ref_day": [ref_day] * n,
        }
    )
    weights = journey_weights(frame)
    return {m: [float(x) for x in weights[m]] for m in MODELS}


def journey_weights(j: pd.DataFrame) -> pd.DataFrame:
    """Per-touch weights of every model, vectorised over many journeys.

    `j` has one row per touch, grouped by `deal` and in time order within a deal, with
    day numbers `day`, `created_day` (may be NaN) and `ref_day`.
    """
    out = pd.DataFrame(index=j.index)
    if j.empty:
        for m in MODELS:
            out[m] = pd.Series(dtype=float)
        return out
    g = j.groupby("deal", sort=False)
    i = g.cumcount().to_numpy()
    n = g["day"].transform("size").to_numpy()
    first, last = i == 0, i == n - 1
    out["first_touch"] = first.astype(float)
    out["last_touch"] = last.astype(float)
    out["linear"] = 1.0 / n
    middle_u = 0.2 / np.maximum(n - 2, 1)
    out["u_shaped"] = np.where(
        n == 1, 1.0, np.where(n == 2, 0.5, np.where(first | last, 0.4, middle_u))
    )
    # W-shaped: the lead-creation touch is the middle touch nearest the created date
    # (earliest on ties; the first middle touch when there is no created date).
    day = j["day"].to_numpy(dtype=float)
    created = j["created_day"].to_numpy(dtype=float)
    dist = np.where(np.isnan(created), 0.0, np.abs(day - np.nan_to_num(created)))
    key = np.where(first | last, np.inf, dist * 1e6 + i)
    lead_key = pd.Series(key, index=j.index).groupby(j["deal"], sort=False).transform("min")
    is_lead = key == lead_key.to_numpy()
    middle_w = 0.1 / np.maximum(n - 3, 1)
    out["w_shaped"] = np.where(n <= 3, 1.0 / n, np.where(first | last | is_lead, 0.3, middle_w))
    raw = np.exp2(-(j["ref_day"].to_numpy(dtype=float) - day) / HALF_LIFE_DAYS)
    total = pd.Series(raw, index=j.index).groupby(j["deal"], sort=False).transform("sum")
    out["time_decay"] = raw / total.to_numpy()
    return out


def _round_to_total(credits: pd.Series, total_cents: int) -> pd.Series:
    """Round channel credits to cents so that they sum exactly to the total (largest remainder)."""
    raw = credits.to_numpy(dtype=float) * 100.0
    floors = np.floor(raw + 1e-6)  # 1e-6 cent absorbs float noise in exact amounts
    short = int(total_cents - floors.sum())
    order = sorted(range(len(raw)), key=lambda k: (-(raw[k] - floors[k]), credits.index[k]))
    for k in order[: max(short, 0)]:
        floors[k] += 1
    return pd.Series(floors / 100.0, index=credits.index)


def _day_numbers(values: pd.Series) -> np.ndarray:
    """Dates -> day numbers (float; NaN where missing)."""
    ts = pd.to_datetime(values)
    days = (ts - pd.Timestamp("1970-01-01")).dt.days
    return days.to_numpy(dtype=float, na_value=np.nan)


@metric(
    "attribution",
    label="Attribution by channel",
    description=(
        "Credit for open qualified pipeline (option basis=pipeline, the default) or bookings "
        "won to date (basis=bookings) closing in the period, split over the channels of each "
        "deal's touches in the influence window, under six models side by side: first touch; "
        "last touch; linear (equal shares); U-shaped (40% first, 40% last, 20% spread over the "
        "middle; 1 touch 100%, 2 touches 50/50); W-shaped (30% each to the first touch, the "
        "lead-creation touch and the last touch, 10% spread over the others; the lead-creation "
        "touch is the middle touch nearest the created date, earliest on ties; with 1, 2 or 3 "
        "touches they share equally); time decay (weight halves every 7 days before the "
        "reference date: the close date of a won deal, the as-of date for open pipeline). "
        "Touches are ordered by date, then channel, then campaign; the touch weight column is "
        "not used. Deals with no touch are credited to '(no touch)', so every model's column "
        "sums to the same total, rounded to the cent by largest remainder."
    ),
    formula="credit(channel) = Σ_deals amount × Σ_touches on channel model_weight(touch)",
    unit="table",
    columns=(
        Column("channel", "Channel", None, "'(no touch)' for deals without one"),
        Column("first_touch", "First touch", "usd"),
        Column("last_touch", "Last touch", "usd"),
        Column("linear", "Linear", "usd"),
        Column("u_shaped", "U-shaped", "usd"),
        Column("w_shaped", "W-shaped", "usd"),
        Column("time_decay", "Time decay", "usd"),
    ),
)
def attribution(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    basis = _basis(q)
    kept = period_deals(con, q, defs)
    touches = window_touches(con, q, defs, kept)
    credits = touch_credits(con, q, defs, kept, touches)
    mask = kept.chosen(con, q, defs) & (kept.is_pipeline if basis == "pipeline" else kept.is_won)
    credit = credits.credit[mask[touches.touch_deal]]
    untouched = pd.Series(kept.amount[mask & ~touches.is_influenced], dtype=float)
    touched = pd.Series(kept.amount[mask & touches.is_influenced], dtype=float)
    return _attribution_result(q, basis, credit, untouched, touched)


def attribution_direct(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    """Attribution read and weighed for this view alone: the reference the kept path
    (`period_deals`, `window_touches`, `touch_credits`) is tested against (tests/test_marketing_kept.py)."""
    basis = _basis(q)
    j = _journeys(con, q, defs, basis)
    j["amount"] = j["amount"].astype(float)
    # the left join gives a deal without touches exactly one row, with a null touch
    has_touch = j["touch_date"].notna().to_numpy()
    untouched = j.loc[~has_touch, "amount"]
    touched = j[has_touch].drop_duplicates("opportunity_id")["amount"]
    return _attribution_result(q, basis, _touch_credits(j, q.as_of), untouched, touched)


def _basis(q: Query) -> str:
    basis = str(q.option("basis", "pipeline"))
    if basis not in ("pipeline", "bookings"):
        raise ValueError(f"attribution basis must be 'pipeline' or 'bookings', got {basis!r}")
    return basis


def _attribution_result(
    q: Query, basis: str, credit: pd.DataFrame, untouched: pd.Series, touched: pd.Series
) -> Result:
    """The channel table from the view's touch credits (`_touch_credits` rows, journey
    order) and the amounts of its deals without and with touches (id order each)."""
    total_cents = int(round(float(pd.concat([untouched, touched]).sum()) * 100))
    by_channel = credit.groupby("channel")[list(MODELS)].sum()
    if len(untouched):
        no_touch = float(untouched.sum())
        extra = pd.DataFrame({m: [no_touch] for m in MODELS}, index=[NO_TOUCH])
        by_channel = pd.concat([by_channel, extra])
    by_channel = by_channel.sort_index()
    rounded = {m: _round_to_total(by_channel[m], total_cents) for m in MODELS}
    table = pd.DataFrame(
        {"channel": by_channel.index, **{m: rounded[m].to_numpy() for m in MODELS}}
    )
    table = table.reset_index(drop=True)
    deals = len(untouched) + len(touched)
    note = (
        f"{basis}: {deals} deals, {len(touched)} with touches; total "
        f"${total_cents / 100:,.2f} credited under each model"
    )
    return Result("attribution", q, table=table, note=note)


# --- closed-won curve ---------------------------------------------------------------------

# Each opportunity's latest state up to S from the raw snapshots (any as-of date).
_COHORT_RAW_SQL = """
with history as (
  select s.opportunity_id,
         arg_max(s.segment, s.snapshot_date) as segment,
         arg_max(s.region, s.snapshot_date) as region,
         arg_max(s.source, s.snapshot_date) as source,
         arg_max(s.owner, s.snapshot_date) as owner,
         arg_max(s.product, s.snapshot_date) as product,
         arg_max(s.stage, s.snapshot_date) as stage,
         arg_max(s.amount, s.snapshot_date) as amount,
         arg_max(s.is_won, s.snapshot_date) as is_won,
         arg_max(s.close_date, s.snapshot_date) as close_date,
         arg_max(s.created_date, s.snapshot_date) as created_date,
         bool_or(list_contains($reached_stages::varchar[], s.stage)) as reached_qualified
  from snapshots s
  where s.snapshot_date <= $as_of
  group by s.opportunity_id
)
select h.opportunity_id, h.source, h.amount, h.is_won, h.close_date, h.created_date
from history h
where h.reached_qualified and h.created_date is not null{filters}
"""

# The same from the derived per-opportunity tables, valid when S is on or after the
# latest loaded snapshot (opp_facts holds each deal's latest row).
_COHORT_FACTS_SQL = """
with reached as (
  select distinct e.opp_key
  from stage_entries e
  where list_contains($reached_stages::varchar[], e.stage)
),
facts as (
  select h.opportunity_id, h.source, h.amount, h.is_won, h.close_date, h.created_date
  from opp_facts h
  join reached r using (opp_key)
  where h.created_date is not null{filters}
)
select * from facts
"""


def _facts_are_current(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    """True when the derived per-opportunity tables reflect every snapshot up to `as_of`."""
    last = current_derived_date(con)
    return last is not None and as_of >= last


_COHORT_AGG_SQL = """
with deals as (
  {deals}
),
shaped as (
  select (year(created_date) * 12 + month(created_date) - 1 - $fy_offset) // 3 as quarter_index,
         coalesce(source, '(blank)') as source,
         coalesce(amount, 0) as amount,
         case when coalesce(is_won, false) and close_date is not null
              then greatest(date_diff('day', created_date, close_date), 0) // 7
              else -1 end as win_week
  from deals
)
select quarter_index, source, win_week, count(*) as deals, sum(amount) as amount
from shaped
group by quarter_index, source, win_week
order by quarter_index, source, win_week
"""


def _cohort_weeks(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> pd.DataFrame:
    """Deals and amount by (created quarter index, source, week won or -1)."""
    stages = [*qualified_open_stages(defs), defs.won_stage.name]
    fsql, fparams = q.filters.named_sql("h")
    params = {"reached_stages": stages, "fy_offset": defs.fiscal_year_start_month - 1, **fparams}
    if _facts_are_current(con, q.as_of):
        inner = _COHORT_FACTS_SQL.format(filters=fsql)
    else:
        inner, params = _COHORT_RAW_SQL.format(filters=fsql), {**params, "as_of": q.as_of}
    sql = _COHORT_AGG_SQL.format(deals=inner)
    return con.execute(sql, params).df()


def _quarter_from_index(index: int, start_month: int) -> Quarter:
    """Inverse of the SQL quarter_index: the fiscal quarter of its first month."""
    month0 = index * 3 + (start_month - 1)  # months since January of year 0
    return quarter_of(date(month0 // 12, month0 % 12 + 1, 1), start_month)


@metric(
    "closed_won_curve",
    label="Closed-won curve",
    description=(
        "For cohorts of opportunities by the fiscal quarter of their created date and by "
        "source: the cumulative share of the cohort's amount won, by whole weeks since "
        "creation ((close date − created date) // 7, won deals only). The cohort is every "
        "opportunity seen at the qualified stage or later (closed won included) in any "
        "snapshot up to the as-of date; each deal counts at its amount, source and other "
        "attributes in its latest snapshot up to the as-of date (filters apply to those). "
        "Deals without a created date are left out. Weeks run from 0 to the cohort's age at "
        "the as-of date, capped by option max_weeks (default 52); option cohorts (default 8) "
        "keeps the most recent created quarters. Source 'All' rows combine the sources."
    ),
    formula="pct_won(c, src, w) = Σ amount won with weeks_to_win ≤ w / Σ amount of cohort",
    unit="table",
    scope="history",
    columns=(
        Column("cohort", "Created quarter"),
        Column("source", "Source", None, "'All' combines the sources"),
        Column("week", "Weeks since creation", "count"),
        Column("deals", "Deals", "count", "in the cohort"),
        Column("cohort_amount", "Cohort amount", "usd"),
        Column("won_amount", "Won by then", "usd"),
        Column("pct_won", "Share won", "ratio", "won by then ÷ cohort amount"),
    ),
)
def closed_won_curve(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    max_weeks = int(q.option("max_weeks", 52))
    n_cohorts = int(q.option("cohorts", 8))
    agg = _cohort_weeks(con, q, defs)
    cols = ["cohort", "source", "week", "deals", "cohort_amount", "won_amount", "pct_won"]
    if agg.empty:
        return Result("closed_won_curve", q, table=pd.DataFrame(columns=cols), note="no cohorts")
    # plain numpy arrays: the groups are small and pandas selections cost more than the math
    qidx = agg["quarter_index"].to_numpy(dtype=np.int64)
    source = np.array(agg["source"].tolist(), dtype=object)
    win_week = agg["win_week"].to_numpy(dtype=np.int64)
    amount = agg["amount"].to_numpy(dtype=float)
    count = agg["deals"].to_numpy(dtype=np.int64)
    out = []
    for k in sorted(set(qidx.tolist()))[-n_cohorts:]:
        cq = _quarter_from_index(int(k), defs.fiscal_year_start_month)
        in_cohort = qidx == k
        age = min(max_weeks, max((q.as_of - cq.start).days // 7, 0))
        for src in ["All", *sorted(set(source[in_cohort].tolist()))]:
            sel = in_cohort if src == "All" else in_cohort & (source == src)
            total = float(amount[sel].sum())
            won = sel & (win_week >= 0)
            by_week = np.bincount(
                np.minimum(win_week[won], age + 1), weights=amount[won], minlength=age + 2
            )
            cum = np.cumsum(by_week[: age + 1])
            n_deals = int(count[sel].sum())
            for w in range(age + 1):
                out.append(
                    (
                        cq.label,
                        src,
                        w,
                        n_deals,
                        round(total, 2),
                        round(float(cum[w]), 2),
                        float(cum[w]) / total if total > 0 else None,
                    )
                )
    return Result("closed_won_curve", q, table=pd.DataFrame(out, columns=cols))


# --- speed to lead --------------------------------------------------------------------------

_SPEED_SQL = """
with leads_in_period as (
  select coalesce(l.source, '(blank)') as source,
         coalesce(l.owner, '(blank)') as owner, l.created_at,
         case when l.first_contact_at < $as_of_end then l.first_contact_at end as first_contact_at
  from leads l
  where l.created_at >= $p_start and l.created_at < $p_end
    and l.created_at < $as_of_end{filters}
),
timed as (
  select source, owner,
         case when first_contact_at is not null  -- greatest() would turn null into 0
              then greatest(epoch(first_contact_at - created_at), 0) / 3600.0
         end as hours_to_contact,
         epoch($as_of_end::timestamp - created_at) / 3600.0 as hours_open
  from leads_in_period
),
flagged as (
  select source, owner, hours_to_contact,
         hours_to_contact is not null as is_contacted,
         hours_to_contact is not null and hours_to_contact <= $sla_hours as is_within,
         hours_to_contact is null and hours_open < $sla_hours as is_pending
  from timed
),
grouped as (
  select case when grouping(source) = 0 then 'source'
              when grouping(owner) = 0 then 'owner' else 'all' end as dimension,
         case when grouping(source) = 0 then source
              when grouping(owner) = 0 then owner else 'All leads' end as value,
         count(*) as leads,
         count(*) filter (where is_contacted) as contacted,
         count(*) filter (where not is_contacted and not is_pending) as not_contacted,
         count(*) filter (where is_pending) as pending,
         median(hours_to_contact) as median_hours,
         count(*) filter (where is_within) as within_sla
  from flagged
  group by grouping sets ((), (source), (owner))
)
select dimension, value, leads, contacted, not_contacted, pending, median_hours, within_sla,
       case when leads - pending > 0 then within_sla / (leads - pending) end as sla_compliance
from grouped
order by case dimension when 'all' then 0 when 'source' then 1 else 2 end, value
"""

SPEED_COLUMNS = [
    "dimension",
    "value",
    "leads",
    "contacted",
    "not_contacted",
    "pending",
    "median_hours",
    "within_sla",
    "sla_compliance",
]


def _speed_table(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> pd.DataFrame:
    """Rows: all leads, then by source, then by owner (sorted), one query; once per view
    (steward.memo): speed_to_lead and sla_compliance read the same table."""
    v = memo.current()
    if v is None:
        return _read_speed_table(con, q, defs)
    key_q = q.with_(compare_to=None, options=())  # neither is read here
    got = v.get(("speed_table", key_q, defs.digest), lambda: _read_speed_table(con, key_q, defs))
    table: pd.DataFrame = got.copy()
    return table


def _read_speed_table(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> pd.DataFrame:
    p = q.quarter(defs)
    # Leads carry only source and owner: other filters do not apply, and an access scope
    # by another dimension hides every lead (a lead cannot be placed in a region).
    fsql, fparams = q.filters.named_sql("l", dims=("source", "owner"))
    as_of_end = q.as_of + timedelta(days=1)  # the whole as-of day is known
    sla = defs.sla_hours
    params = {"as_of_end": as_of_end, "p_start": p.start, "p_end": p.end, "sla_hours": sla}
    params.update(fparams)
    table = con.execute(_SPEED_SQL.format(filters=fsql), params).df()
    if table.empty:  # no leads: grouping set () still answers one 'all' row with zeros
        return pd.DataFrame(columns=SPEED_COLUMNS)
    table["median_hours"] = table["median_hours"].astype(float)
    table["sla_compliance"] = table["sla_compliance"].astype(float)
    table = table.astype({c: "int64" for c in SPEED_COLUMNS[2:6] + ["within_sla"]})
    return table[SPEED_COLUMNS]


def _none_if_nan(x: Any) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


_SPEED_DESCRIPTION = (
    "Leads created in the period up to the end of the as-of date, from the leads table: "
    "hours from created_at to first_contact_at (a contact after the as-of date is not yet "
    "known). A lead is within SLA when contacted within `sla_hours`. A lead never contacted "
    "counts as outside the SLA (column not_contacted) once its SLA window has passed; one "
    "still inside its window at the as-of date is 'pending' and left out of the compliance "
    "share. The median is over contacted leads. Leads carry only source and owner, so only "
    "the source and owner filters apply; the other filters are ignored here, and an access "
    "scope by any other dimension shows no leads. A first "
    "contact stamped before the lead's creation counts as 0 hours."
)


@metric(
    "speed_to_lead",
    label="Speed-to-lead",
    description=_SPEED_DESCRIPTION + " Table rows: all leads, then by source, then by owner.",
    formula="median(first_contact_at − created_at) in hours; within_sla / (leads − pending)",
    unit="table",
    dims=("source", "owner"),
    columns=(
        Column("dimension", "By", None, "all, source or owner"),
        Column("value", "Source / owner"),
        Column("leads", "Leads", "count", "leads created in the period up to the as-of date"),
        Column("contacted", "Contacted", "count"),
        Column("not_contacted", "Not contacted", "count", "past the SLA and not contacted"),
        Column("pending", "Pending", "count", "not contacted, still inside the SLA"),
        Column("median_hours", "Median hours", "hours", "created to first contact"),
        Column("within_sla", "Within SLA", "count", "contacted within sla_hours"),
        Column("sla_compliance", "SLA compliance", "ratio", "within SLA ÷ (leads − pending)"),
    ),
)
def speed_to_lead(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    table = _speed_table(con, q, defs)
    leads = int(table["leads"].iloc[0]) if len(table) else 0
    note = None if leads else "no leads created in the period"
    return Result("speed_to_lead", q, table=table, note=note)


@metric(
    "sla_compliance",
    label="Speed-to-lead SLA compliance",
    description="Share of leads contacted within the SLA hours. " + _SPEED_DESCRIPTION,
    formula="leads contacted within sla_hours / (leads − pending)",
    unit="ratio",
    dims=("source", "owner"),
)
def sla_compliance(con: duckdb.DuckDBPyConnection, q: Query, defs: Definitions) -> Result:
    table = _speed_table(con, q, defs)
    value = _none_if_nan(table["sla_compliance"].iloc[0]) if len(table) else None
    note = None if value is not None else "no leads past their SLA window"
    return Result("sla_compliance", q, value=value, note=note)
