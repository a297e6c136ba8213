"""A fast, deterministic synthetic snapshot generator for the benchmark's own checks.

The benchmark builds its database with `steward.demo` when that module is present; this
generator is the fallback (and what the bench smoke test uses): vectorised numpy, one
weekly snapshot frame at a time, with stage moves, pushes, amount changes, wins,
losses and deals that vanish.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import pandas as pd

from steward.definitions import Definitions

SEGMENTS = np.array(["Enterprise", "Mid-Market", "SMB"])
REGIONS = np.array(["NA", "EMEA", "APAC"])
SOURCES = np.array(["Inbound", "Outbound", "Partner", "Event", "Paid Search"])
OWNERS = np.array([f"Rep {i:02d}" for i in range(40)])
PRODUCTS = np.array(["Core", "Analytics", "Platform"])


def first_monday(weeks: int, end: date = date(2026, 11, 16)) -> date:
    return end - timedelta(weeks=weeks - 1)


class Generator:
    """n opportunities over `weeks` weekly snapshots; `week_frame(i)` is snapshot i."""

    def __init__(self, defs: Definitions, opportunities: int, weeks: int, seed: int = 7):
        rng = np.random.default_rng(seed)
        self.defs, self.n, self.weeks = defs, opportunities, weeks
        self.start = first_monday(weeks)
        n = opportunities
        self.ids = np.array([f"OPP-{i:07d}" for i in range(n)], dtype=object)
        self.names = np.array([f"Deal {i}" for i in range(n)], dtype=object)
        self.accounts = np.array([f"Account {i % (n // 3 + 1)}" for i in range(n)], dtype=object)
        self.segment = SEGMENTS[rng.integers(0, len(SEGMENTS), n)]
        self.region = REGIONS[rng.integers(0, len(REGIONS), n)]
        self.source = SOURCES[rng.integers(0, len(SOURCES), n)]
        self.owner = OWNERS[rng.integers(0, len(OWNERS), n)]
        self.product = PRODUCTS[rng.integers(0, len(PRODUCTS), n)]
        self.w0 = rng.integers(-12, weeks, n)  # week the deal first appears
        self.life = rng.integers(3, 30, n)  # weeks open
        n_open = len(defs.open_stages)
        self.max_stage = rng.integers(0, n_open, n)
        self.outcome = rng.choice(3, n, p=[0.3, 0.6, 0.1])  # 0 won, 1 lost, 2 vanish
        self.max_stage[self.outcome == 0] = n_open - 1
        self.amount = np.round(rng.lognormal(10, 1, n), 2)
        self.amount_change_week = self.w0 + rng.integers(1, 20, n)
        self.amount_factor = rng.choice([0.8, 1.0, 1.25], n)
        self.close0 = self.w0 + self.life + rng.integers(-2, 6, n)
        self.push_week = self.w0 + rng.integers(1, 25, n)
        self.push_weeks = rng.choice([0, 0, 13, 6], n)

    def snapshot_date(self, week: int) -> date:
        return self.start + timedelta(weeks=week)

    def week_frame(self, week: int) -> pd.DataFrame:
        defs = self.defs
        t = week
        end = self.w0 + self.life
        visible = (self.w0 <= t) & (t < end + 8)
        visible &= ~((self.outcome == 2) & (t >= end))
        idx = np.nonzero(visible)[0]
        n_open = len(defs.open_stages)
        age = t - self.w0[idx]
        frac = np.minimum(age / np.maximum(self.life[idx], 1), 1.0)
        stage_i = np.minimum((frac * (self.max_stage[idx] + 1)).astype(int), self.max_stage[idx])
        closed = t >= end[idx]
        won = closed & (self.outcome[idx] == 0)
        open_names = np.array([s.name for s in defs.open_stages], dtype=object)
        stage = open_names[np.clip(stage_i, 0, n_open - 1)].astype(object)
        stage[won] = defs.won_stage.name
        lost_name = defs.lost_stages[0].name
        stage[closed & ~won] = lost_name
        amount = self.amount[idx] * np.where(
            t >= self.amount_change_week[idx], self.amount_factor[idx], 1.0
        )
        close_week = self.close0[idx] + np.where(t >= self.push_week[idx], self.push_weeks[idx], 0)
        close_week = np.where(closed, end[idx], close_week)
        base = np.datetime64(self.start)
        close_date = base + (close_week * 7).astype("timedelta64[D]")
        created = base + (self.w0[idx] * 7 - 3).astype("timedelta64[D]")
        prob_map = {s.name: s.probability for s in defs.stages}
        prob = np.array([prob_map[s] for s in stage])
        frame = pd.DataFrame(
            {
                "snapshot_date": pd.Timestamp(self.snapshot_date(week)),
                "opportunity_id": self.ids[idx],
                "opportunity_name": self.names[idx],
                "account_id": self.accounts[idx],
                "account_name": self.accounts[idx],
                "segment": self.segment[idx],
                "region": self.region[idx],
                "owner": self.owner[idx],
                "source": self.source[idx],
                "lead_source": self.source[idx],
                "stage": stage,
                "amount": np.round(amount, 2),
                "currency": "USD",
                "probability": prob,
                "forecast_category": np.where(prob >= 0.8, "Commit", "Pipeline"),
                "close_date": close_date,
                "created_date": created,
                "is_closed": closed,
                "is_won": won,
                "loss_reason": None,
                "product": self.product[idx],
            }
        )
        return frame

    def frames(self, weeks: range | None = None) -> Iterator[pd.DataFrame]:
        for w in weeks if weeks is not None else range(self.weeks):
            yield self.week_frame(w)
