"""Timelines -> canonical snapshot frames (store.SNAPSHOT_COLUMNS, Arrow-backed dtypes).

Rows are built column by column with numpy and pyarrow: per-opportunity strings are made
once and gathered with `take`, so a 10M-row frame never touches Python per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from steward import store
from steward.definitions import Definitions
from steward.demo import catalog as cat
from steward.demo.simulate import LOST, WON, Timelines

_ALPHABET = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8
)


def crm_ids(prefix: str, index: np.ndarray, width: int = 12, suffix: str = "") -> pa.Array:
    """Salesforce-looking ids whose text order follows the index (base62, ASCII order)."""
    v = index.astype(np.int64).copy()
    digits = np.empty((len(v), width), dtype=np.uint8)
    for p in range(width - 1, -1, -1):
        digits[:, p] = _ALPHABET[v % 62]
        v //= 62
    body = digits.view(f"S{width}").ravel()
    return pa.array([prefix + b.decode() + suffix for b in body], pa.string())


def account_names(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng([seed, 101])
    a, b, c = cat.ACCOUNT_WORDS_A, cat.ACCOUNT_WORDS_B, cat.ACCOUNT_WORDS_C
    base = len(a) * len(b) * len(c)
    first = rng.choice(base, size=min(n, base), replace=False)
    codes = first.tolist()
    if n > base:  # add a leading word: "Aster Birch Logistics Inc."
        more = rng.choice(base * len(a), size=n - base, replace=False) + base
        codes += more.tolist()
    out = []
    for code in codes:
        lead, rest = divmod(code, base)
        i, r = divmod(rest, len(b) * len(c))
        j, k = divmod(r, len(c))
        name = f"{a[i]} {b[j]} {c[k]}"
        out.append(f"{a[lead - 1]} {name}" if lead else name)
    return out


@dataclass
class Labels:
    """Per-opportunity strings and the governed names the rows use."""

    opportunity_id: pa.Array
    opportunity_name: pa.Array
    account_id: pa.Array
    account_name: pa.Array
    stage_names: list[str]  # internal code 0..6 -> governed name
    stage_prob: np.ndarray  # internal code -> default probability
    stage_ranks: list[int]  # internal code -> governed rank


def labels(tl: Timelines, defs: Definitions) -> Labels:
    n = tl.n
    opp_ids = crm_ids("006Nw", np.arange(n), 10, "QAE")
    acc_names = account_names(tl.n_accounts, tl.seed)
    acc_ids = crm_ids("001Nw", np.arange(tl.n_accounts), 10, "IAA")
    products = np.array(cat.PRODUCTS, dtype=object)[tl.product]
    acc = tl.account.tolist()
    names = []
    for i in range(n):
        kind = " Expansion" if tl.source[i] == 4 else ""
        names.append(f"{acc_names[acc[i]]} - {products[i]}{kind}")
    if tl.special.get("big_pushed"):
        b = tl.special["big_pushed"][0]
        names[b] = f"{acc_names[acc[b]]} - Platform Enterprise Agreement"
    opens = defs.open_stages
    mapped = [opens[round(k * (len(opens) - 1) / 4)] for k in range(5)]
    stage_names = [s.name for s in mapped] + [defs.won_stage.name, defs.lost_stages[0].name]
    probs = np.array([s.probability for s in mapped] + [1.0, 0.0])
    return Labels(
        opportunity_id=opp_ids,
        opportunity_name=pa.array(names, pa.string()),
        account_id=pa.array(acc_ids).take(pa.array(tl.account)),
        account_name=pa.array(acc_names, pa.string()).take(pa.array(tl.account)),
        stage_names=stage_names,
        stage_prob=probs,
        stage_ranks=[s.rank for s in mapped] + [defs.won_stage.rank, defs.lost_stages[0].rank],
    )


def string_array(codes: np.ndarray, names: list[str] | tuple[str, ...]) -> pa.Array:
    """Strings from small integer codes (negative code = null)."""
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(names), pa.string())).cast(pa.string())


def decimal_array(cents: np.ndarray, valid: np.ndarray) -> pa.Array:
    """decimal(18,2) from integer cents without going through Python Decimals."""
    n = len(cents)
    buf = np.empty((n, 2), dtype=np.int64)
    buf[:, 0] = cents
    buf[:, 1] = np.where(cents < 0, -1, 0)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = int(n - valid.sum())
    return pa.Array.from_buffers(
        pa.decimal128(18, 2), n, [bitmap, pa.py_buffer(buf)], null_count=nulls
    )


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32())


# Forecast category per open stage from a per-deal uniform draw: rep judgement, stable
# for a deal. Categories: 0 Pipeline, 1 Best Case, 2 Commit, 3 Closed, 4 Omitted.
FORECAST_NAMES = ("Pipeline", "Best Case", "Commit", "Closed", "Omitted")


def forecast_codes(stage: np.ndarray, u: np.ndarray) -> np.ndarray:
    out = np.zeros(len(stage), dtype=np.int64)
    out = np.where((stage == 2) & (u < 0.2), 1, out)
    out = np.where(stage == 3, np.where(u < 0.15, 2, np.where(u < 0.85, 1, 0)), out)
    out = np.where(stage == 4, np.where(u < 0.75, 2, 1), out)
    out = np.where(stage == WON, 3, out)
    return np.where(stage == LOST, 4, out)


def state(tl: Timelines, opp: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
    """Stage code, loss reason, close day, amount cents and validity on the given days."""
    si = tl.stage_ev.lookup(tl.base_day, opp, day)
    ci = tl.close_ev.lookup(tl.base_day, opp, day)
    ai = tl.amount_ev.lookup(tl.base_day, opp, day)
    return {
        "stage": tl.stage_ev.values["stage"][si],
        "reason": tl.stage_ev.values["reason"][si],
        "close": tl.close_ev.values["close"][ci],
        "cents": tl.amount_ev.values["cents"][ai],
        "valid": tl.amount_ev.values["valid"][ai],
    }


def snapshot_frame(tl: Timelines, lab: Labels, weeks: list[int], currency: str) -> pd.DataFrame:
    opp, wk = tl.rows_for_weeks(weeks)
    day = tl.snap_days[wk]
    st = state(tl, opp, day)
    stage = st["stage"]
    closed = stage >= WON
    prob = lab.stage_prob[stage] + np.where(closed, 0.0, tl.prob_bias[opp])
    prob = np.where(closed, prob, np.clip(np.round(prob, 2), 0.05, 0.95))
    fixed = tl.prob_fixed[opp]
    prob = np.where(~closed & ~np.isnan(fixed), fixed, prob)
    take = pa.array(opp)
    n = len(opp)
    cols = {
        "snapshot_date": _dates(day),
        "opportunity_id": lab.opportunity_id.take(take),
        "opportunity_name": lab.opportunity_name.take(take),
        "account_id": lab.account_id.take(take),
        "account_name": lab.account_name.take(take),
        "segment": string_array(tl.segment[opp], cat.SEGMENTS),
        "region": string_array(tl.region[opp], cat.REGIONS),
        "owner": string_array(tl.owner[opp], [o.name for o in cat.OWNERS]),
        "source": string_array(tl.source[opp], cat.SOURCES),
        "lead_source": string_array(tl.lead_source[opp], cat.LEAD_SOURCES),
        "stage": string_array(stage, lab.stage_names),
        "amount": decimal_array(st["cents"], st["valid"]),
        "currency": string_array(np.zeros(n, dtype=np.int64), [currency]),
        "probability": pa.array(prob, pa.float64()),
        "forecast_category": string_array(forecast_codes(stage, tl.fc_u[opp]), FORECAST_NAMES),
        "close_date": _dates(st["close"]),
        "created_date": _dates(tl.created_shown[opp]),
        "is_closed": pa.array(closed),
        "is_won": pa.array(stage == WON),
        "loss_reason": string_array(np.where(stage == LOST, st["reason"], -1), cat.LOSS_REASONS),
        "product": string_array(tl.product[opp], cat.PRODUCTS),
    }
    assert list(cols) == list(store.SNAPSHOT_COLUMNS)
    return pa.table(cols).to_pandas(types_mapper=pd.ArrowDtype)


__all__ = ["crm_ids", "decimal_array", "labels", "snapshot_frame", "state", "string_array"]
