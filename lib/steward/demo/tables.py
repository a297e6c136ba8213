"""The demo's optional tables: targets, marketing touches and leads (BRIEF §3.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from steward import periods, store
from steward.demo import catalog as cat
from steward.demo.frames import Labels, decimal_array, state, string_array
from steward.demo.simulate import WON, Timelines, day_to_date, epoch_day, quarter_bounds

SECONDS_PER_DAY = 86_400


def _quarters(tl: Timelines) -> list[periods.Quarter]:
    first = day_to_date(int(tl.snap_days[0]))
    last = day_to_date(tl.end_day)
    qs = periods.quarters_between(first, last, tl.start_month)
    return qs + [qs[-1].shift(k) for k in (1, 2, 3)]


def _quarter_index(tl: Timelines, qs: list[periods.Quarter], days: np.ndarray) -> np.ndarray:
    """Index into qs of the quarter containing each day (-1 when outside)."""
    starts = np.array([epoch_day(q.start) for q in qs] + [epoch_day(qs[-1].end)])
    idx = np.searchsorted(starts, days, side="right") - 1
    return np.where((idx >= 0) & (idx < len(qs)), idx, -1)


def won_by_quarter(tl: Timelines, qs: list[periods.Quarter]) -> np.ndarray:
    """Closed-won amount (USD) by quarter and segment as the last snapshot shows it."""
    opp = np.arange(tl.n)
    st = state(tl, opp, np.full(tl.n, tl.end_day))
    gone = tl.last_week < len(tl.snap_days) - 1
    won = (st["stage"] == WON) & ~gone & st["valid"]
    qi = _quarter_index(tl, qs, st["close"])
    out = np.zeros((len(qs), len(cat.SEGMENTS)))
    sel = won & (qi >= 0)
    np.add.at(out, (qi[sel], tl.segment[sel]), st["cents"][sel] / 100.0)
    return out


# How a quarter's bookings compare with the year's average quarter (Q4 heavy, summer slow).
SEASON = (0.97, 1.0, 0.93, 1.1)
PLAN_GROWTH = np.log(1.35) / 4  # finance plans 35% a year, like the pipeline grows
# The story at the end date: the coverage each segment should show this quarter if the
# plan allows it (Enterprise a little below the 3.0x goal after its big deal slipped).
STORY_COVERAGE = (2.7, 3.2, 3.4)
STORY_BAND = (0.75, 1.2)  # ... but the target stays within this band of the plan


def _plan(won: np.ndarray, qs: list[periods.Quarter], complete: np.ndarray) -> np.ndarray:
    """Finance's plan per quarter: 35% yearly growth times the seasonal index, levelled on
    the deseasonalised bookings of complete quarters. Smooth, so real quarters beat or
    miss it."""
    season = np.array([SEASON[q.quarter - 1] for q in qs])
    x = np.arange(len(qs), dtype=float)
    out = np.zeros_like(won)
    for s in range(won.shape[1]):
        ok = complete & (won[:, s] > 0)
        if ok.any():
            level = float(np.mean(np.log(won[ok, s] / season[ok]) - PLAN_GROWTH * x[ok]))
            out[:, s] = np.exp(level + PLAN_GROWTH * x) * season
        else:
            out[:, s] = cat.SEGMENT_MEDIAN_AMOUNT[s] * 8 * season
    return out


def open_and_won_now(
    tl: Timelines, lab: Labels, qualified_rank: int
) -> tuple[np.ndarray, np.ndarray]:
    """(open qualified pipeline, won to date) in the current quarter by segment, USD, as the
    last snapshot shows them."""
    opp = np.flatnonzero(tl.last_week == len(tl.snap_days) - 1)
    st = state(tl, opp, np.full(len(opp), tl.end_day))
    first, last = quarter_bounds(np.array([tl.end_day]), tl.start_month)
    in_q = (st["close"] >= first[0]) & (st["close"] <= last[0])
    usd = np.where(st["valid"], st["cents"], 0) / 100.0
    qualified = np.isin(st["stage"], [k for k in range(5) if lab.stage_ranks[k] >= qualified_rank])
    open_amt = np.zeros(len(cat.SEGMENTS))
    won_amt = np.zeros(len(cat.SEGMENTS))
    np.add.at(open_amt, tl.segment[opp], np.where(in_q & qualified, usd, 0.0))
    np.add.at(won_amt, tl.segment[opp], np.where(in_q & (st["stage"] == WON), usd, 0.0))
    return open_amt, won_amt


def targets(tl: Timelines, lab: Labels, qualified_rank: int = 1) -> pd.DataFrame:
    """Quarterly bookings and pipeline targets by segment.

    Every quarter follows the plan (`_plan`), rounded to $10k; the current quarter's target
    is moved within STORY_BAND of the plan towards STORY_COVERAGE, so the demo opens on a
    quarter with something to say. Pipeline targets: bookings divided by a segment's
    qualified-pipeline win rate assumption (Enterprise 1/3.4, Mid-Market 1/3.0, SMB 1/2.6).
    """
    qs = _quarters(tl)
    won = won_by_quarter(tl, qs)
    end = day_to_date(tl.end_day)
    complete = np.array([q.end <= end for q in qs])
    plan = _plan(won, qs, complete)
    current = next(i for i, q in enumerate(qs) if q.contains(end))
    open_amt, won_amt = open_and_won_now(tl, lab, qualified_rank)
    story = won_amt + open_amt / np.array(STORY_COVERAGE)
    lo, hi = plan[current] * STORY_BAND[0], plan[current] * STORY_BAND[1]
    plan[current] = np.clip(story, lo, hi)
    rows = []
    for i, q in enumerate(qs):
        for s, seg in enumerate(cat.SEGMENTS):
            bookings = max(round(plan[i, s] / 10_000) * 10_000, 10_000)
            pipeline = round(bookings * (3.4, 3.0, 2.6)[s] / 10_000) * 10_000
            rows.append((q.label, seg, bookings * 100, pipeline * 100))
    cents_b = np.array([r[2] for r in rows], dtype=np.int64)
    cents_p = np.array([r[3] for r in rows], dtype=np.int64)
    ok = np.ones(len(rows), dtype=bool)
    table = pa.table(
        {
            "period": pa.array([r[0] for r in rows], pa.string()),
            "segment": pa.array([r[1] for r in rows], pa.string()),
            "bookings_target": decimal_array(cents_b, ok),
            "pipeline_target": decimal_array(cents_p, ok),
        }
    )
    assert table.column_names == list(store.TARGET_COLUMNS)
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def touches(tl: Timelines, lab: Labels, lookback_days: int = 90) -> pd.DataFrame:
    """Marketing touches on opportunities (and some on their accounts only)."""
    rng = np.random.default_rng([tl.seed, 303])
    n = tl.n
    lam = np.select([tl.source == 0, tl.source == 4], [2.5, 0.7], 1.0)
    count = rng.poisson(lam) + (tl.source == 0)
    opp = np.repeat(np.arange(n), count)
    first = np.r_[True, opp[1:] != opp[:-1]] if len(opp) else np.zeros(0, bool)
    lo = tl.created[opp] - lookback_days
    hi = np.minimum(np.minimum(tl.final_day[opp], tl.end_day), tl.created[opp] + 150)
    day = lo + np.floor(rng.random(len(opp)) * np.maximum(hi - lo, 1)).astype(np.int64)
    # A marketing-sourced deal's first touch is the one that created the lead.
    mkt_first = first & (tl.source[opp] == 0)
    day = np.where(mkt_first, tl.created[opp] - rng.integers(3, 40, len(opp)), day)
    channel = rng.choice(len(cat.TOUCH_CHANNELS), size=len(opp), p=cat.TOUCH_CHANNEL_SHARE)
    channel = np.where(mkt_first, np.array(cat.LEAD_SOURCE_CHANNEL)[tl.lead_source[opp]], channel)
    channel = np.where((tl.source[opp] == 2) & (rng.random(len(opp)) < 0.5), 5, channel)
    keep = day <= tl.end_day
    opp, day, channel = opp[keep], day[keep], channel[keep]
    qs = _quarters(tl)
    first_q = periods.quarter_of(day_to_date(int(day.min())), tl.start_month) if len(day) else qs[0]
    labels_q = [first_q.shift(k) for k in range(first_q.offset_from(qs[-1]) * -1 + 1)]
    qi = _quarter_index(tl, labels_q, day)
    theme = rng.integers(0, 3, len(opp))
    camp_code = (qi * len(cat.TOUCH_CHANNELS) + channel) * 3 + theme
    camp_names = [
        f"{q.label} {ch} - {cat.CAMPAIGN_THEMES[c][t]}"
        for q in labels_q
        for c, ch in enumerate(cat.TOUCH_CHANNELS)
        for t in range(3)
    ]
    account_level = rng.random(len(opp)) < 0.2
    take = pa.array(opp)
    opp_ids = lab.opportunity_id.take(take)
    opp_ids = pa.compute.if_else(pa.array(account_level), pa.nulls(len(opp), pa.string()), opp_ids)
    table = pa.table(
        {
            "opportunity_id": opp_ids,
            "account_id": lab.account_id.take(take),
            "touch_date": pa.array(day.astype(np.int32)).cast(pa.date32()),
            "channel": string_array(channel, cat.TOUCH_CHANNELS),
            "campaign": string_array(camp_code, camp_names),
            "weight": pa.array(np.ones(len(opp))),
        }
    )
    order = np.lexsort((channel, opp, day))
    table = table.take(pa.array(order))
    assert table.column_names == list(store.TOUCH_COLUMNS)
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _timestamps(seconds: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array((seconds * 1_000_000).astype(np.int64), pa.int64(), mask=~valid).cast(
        pa.timestamp("us")
    )


def leads(tl: Timelines, lab: Labels) -> pd.DataFrame:
    """Inbound and outbound leads with speed-to-lead around the 24-hour SLA."""
    rng = np.random.default_rng([tl.seed, 404])
    conv = np.flatnonzero((tl.source == 0) | (tl.source == 1))
    n_other = int(len(conv) * 2.2)
    # Converted leads: one per marketing or SDR-sourced opportunity, created before it.
    c_created = (
        tl.created[conv] * SECONDS_PER_DAY - rng.integers(2, 40, len(conv)) * SECONDS_PER_DAY
    )
    c_source = tl.lead_source[conv]
    # Leads that did not (yet) become opportunities, spread like the converted ones.
    pick = rng.integers(0, max(len(conv), 1), n_other)
    o_created = (c_created[pick] if len(conv) else np.zeros(n_other, np.int64)) + rng.integers(
        -30, 31, n_other
    ) * SECONDS_PER_DAY
    o_source = rng.choice(7, size=n_other, p=[0.24, 0.16, 0.12, 0.16, 0.14, 0.12, 0.06])
    created = np.concatenate([c_created, o_created])
    hour = rng.choice(24, size=len(created), p=_HOUR_WEIGHTS)
    created = created + hour * 3600 + rng.integers(0, 3600, len(created))
    source = np.concatenate([c_source, o_source])
    converted = np.r_[np.ones(len(conv), bool), np.zeros(n_other, bool)]
    keep = created < (tl.end_day + 1) * SECONDS_PER_DAY
    sdr = rng.choice(len(cat.SDRS), size=len(created))
    med_h = np.array([h for _, h in cat.SDRS])[sdr]
    wait_h = med_h * np.exp(0.85 * rng.standard_normal(len(created)))
    dow = ((created // SECONDS_PER_DAY) + 3) % 7
    hod = (created % SECONDS_PER_DAY) // 3600
    weekend = (dow >= 5) | ((dow == 4) & (hod >= 15))
    wait_h = wait_h + np.where(weekend & (rng.random(len(created)) < 0.7), 40.0, 0.0)
    contact = created + (wait_h * 3600).astype(np.int64)
    status = np.where(
        converted, 0, rng.choice([1, 2, 3, 4], size=len(created), p=[0.15, 0.35, 0.40, 0.10])
    )
    never = (status == 4) & (rng.random(len(created)) < 0.5)
    now = (tl.end_day + 1) * SECONDS_PER_DAY - 6 * 3600  # the export ran Friday 18:00
    has_contact = ~never & (contact <= now)
    inbound = source <= 4
    mql = created + (rng.uniform(0.5, 48, len(created)) * 3600).astype(np.int64)
    has_mql = inbound & (converted | (rng.random(len(created)) < 0.6)) & (mql <= now)
    opp_day = np.r_[tl.created[conv], np.zeros(n_other, np.int64)] * SECONDS_PER_DAY
    sql = np.maximum(opp_day + 10 * 3600, contact + 3600)
    has_sql = converted & (sql <= now)
    order = np.flatnonzero(keep)
    order = order[np.argsort(created[order], kind="stable")]
    ids = pa.array([f"00QNw{k:09d}LAA" for k in range(len(order))], pa.string())
    opp_ids = pa.array(
        np.r_[conv, np.full(n_other, -1)][order],
        mask=~converted[order],
    )
    opp_str = pa.compute.if_else(
        pa.array(converted[order]),
        lab.opportunity_id.take(pa.compute.fill_null(opp_ids, 0)),
        pa.nulls(len(order), pa.string()),
    )
    table = pa.table(
        {
            "lead_id": ids,
            "created_at": _timestamps(created[order], np.ones(len(order), bool)),
            "first_contact_at": _timestamps(contact[order], has_contact[order]),
            "source": string_array(source[order], cat.LEAD_SOURCES),
            "owner": string_array(sdr[order], [s for s, _ in cat.SDRS]),
            "status": string_array(status[order], cat.LEAD_STATUSES),
            "mql_at": _timestamps(mql[order], has_mql[order]),
            "sql_at": _timestamps(sql[order], has_sql[order]),
            "opportunity_id": opp_str,
        }
    )
    assert table.column_names == list(store.LEAD_COLUMNS)
    return table.to_pandas(types_mapper=pd.ArrowDtype)


# Inbound leads arrive mostly in working hours (UTC-ish for a US-heavy company).
_HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 7, 8, 8, 8, 7, 6, 4, 3, 2, 2, 1, 1], dtype=float
)
_HOUR_WEIGHTS = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()

__all__ = ["leads", "open_and_won_now", "targets", "touches", "won_by_quarter"]
