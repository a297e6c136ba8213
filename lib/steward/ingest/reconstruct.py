"""Weekly snapshots rebuilt from Salesforce OpportunityHistory + the current opportunities.

For each week end W (a chosen weekday, e.g. every Friday) and every opportunity created on
or before W (and present, not deleted, in the current opportunities file), the snapshot row
holds the *last history row at or before the end of day W*: its stage, amount, close date,
probability and forecast category. Everything the history does not track (name, account,
owner, segment, region, source, created date, currency, product) comes from the current
opportunities file.

Rules (also in docs/import-formats.md, with a worked example). Reconstruction invents
nothing: a week shows only what the history (or the current file) is evidence of.
- At week end W a deal with a history row dated on or before W shows its latest such row
  (the history is the evidence it existed, even when its created date is later).
- Before its first history row a deal shows that row's state from its created date only
  when that state is open; a closed state is never carried back before the row that
  records it.
- A deal with no history rows: open now -> its current state from its created date;
  closed now -> its current state from its close date on, and absent before.
- Rows with the same timestamp keep the file's order (the later one wins). File order can
  be oldest-first or newest-first: the direction is what most consecutive rows of the same
  opportunity say (timestamps going down = newest first), so in a newest-first file the
  upper row is the later one.
- History keyed by opportunity name (OpportunityName, Opportunity Name, Opportunity.Name)
  is matched to the current file's names; a name that fits several opportunities is an
  error for its history rows. A current file without an Id column (a report export) is
  keyed by name, and a repeated name there is refused, naming the rows.
- A history row is the full state at that moment (that is what Salesforce writes). Only a
  blank stage or close date is filled from the previous row; a blank amount stays blank,
  a blank probability falls back to the stage default.
- Closed Lost and later reopened is just another stage change.
- is_closed / is_won follow the governed stage; loss_reason is kept only in closed-lost weeks.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from steward import store
from steward.definitions import Definitions, normalize_label
from steward.errors import ImportRejected
from steward.ingest import parse, validate
from steward.ingest.importer import build_snapshots, choose_preset, typed
from steward.ingest.mapping import Mapping
from steward.ingest.model import Issue, IssueLog, Prepared, Progress
from steward.ingest.presets import COLUMNS, resolve_columns
from steward.ingest.readers import RawTable, read_table

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "opportunity_id": ("OpportunityId", "Opportunity ID", "Opportunity.Id", "Opportunity Id"),
    "opportunity_name": ("OpportunityName", "Opportunity Name", "Opportunity.Name", "Name"),
    "ts": (
        "CreatedDate",
        "Created Date",
        "Edit Date",
        "Last Modified Date",
        "Date",
        "Modified Date",
    ),
    "stage": ("StageName", "Stage", "To Stage"),
    "amount": ("Amount",),
    "close_date": ("CloseDate", "Close Date"),
    "probability": ("Probability", "Probability (%)"),
    "forecast_category": ("ForecastCategory", "Forecast Category", "ForecastCategoryName"),
    "is_deleted": ("IsDeleted",),
}


def week_ends(first: date, last: date, weekday: str) -> list[date]:
    """Every `weekday` from the first on/after `first` to the last on/before `last`."""
    wd = WEEKDAYS[weekday]
    d = first + timedelta(days=(wd - first.weekday()) % 7)
    out = []
    while d <= last:
        out.append(d)
        d += timedelta(days=7)
    return out


def _history_columns(headers: list[str]) -> dict[str, str]:
    by_key = {normalize_label(h): h for h in headers}
    out = {}
    for col, names in HISTORY_COLUMNS.items():
        for n in names:
            if normalize_label(n) in by_key:
                out[col] = by_key[normalize_label(n)]
                break
    return out


def reconstruct(
    history_source: str | Path | bytes,
    opportunities_source: str | Path | bytes,
    defs: Definitions,
    *,
    history_name: str | None = None,
    opportunities_name: str | None = None,
    start: date | None = None,
    end: date | None = None,
    weekday: str = "fri",
    preset: str | None = None,
    mapping: Mapping | str | Path | None = None,
    progress: Progress | None = None,
) -> Prepared:
    """Rebuild weekly snapshots; a Prepared of many snapshot dates, ready for commit().

    `preset` and `mapping` describe the opportunities file, as for `steward import`."""
    report = progress or (lambda _f, _m: None)
    if weekday not in WEEKDAYS:
        raise ImportRejected(f"--weekday {weekday!r}: use one of {', '.join(WEEKDAYS)}")
    current = _current(opportunities_source, opportunities_name, defs, preset, mapping, end)
    report(0.3, "current opportunities read")
    raw = read_table(history_source, history_name, member="OpportunityHistory.csv")
    log = IssueLog(raw.name)
    cols = _history_columns(raw.headers)
    for need in ("ts", "stage"):
        if need not in cols:
            log.add(
                f"history lacks a {need} column (headers: {', '.join(raw.headers)})", column=need
            )
    if "opportunity_id" not in cols and "opportunity_name" not in cols:
        log.add(
            "history has neither an OpportunityId nor an Opportunity Name column",
            column="OpportunityId",
        )
    if not current.ok or log.items:
        return _failed(raw.name, current, log)

    events = _events(raw, cols, current.frame, defs, log)
    if log.extra_errors or any(i.severity == "error" for i in log.items):
        return _failed(raw.name, current, log)
    events["pos"] = _chronological_positions(events)
    events = events[events["opportunity_id"].notna()]
    report(0.6, "history parsed")

    first_day = start or _first_day(current.frame, events)
    last_day = end or (events["ts"].max().date() if len(events) else date.today())
    weeks = week_ends(first_day, last_day, weekday)
    if not weeks:
        log.add(_no_week_end(weekday, first_day, last_day, start, end), column="--weekday")
        return _failed(raw.name, current, log)
    frame = _rebuild(current.frame, events, weeks, defs, set(cols))
    report(0.95, "snapshots rebuilt")
    return Prepared(
        file_name=f"{raw.name} + {current.file_name}",
        frame=frame,
        preset="reconstructed",
        issues=current.issues + log.items,
        sha256=raw.sha256,
        extra_errors=current.extra_errors + log.extra_errors,
        extra_warnings=current.extra_warnings + log.extra_warnings,
        notes=[
            f"{frame['snapshot_date'].nunique()} weekly snapshot(s) with rows, "
            f"{weekday} {weeks[0]} .. {weeks[-1]}",
            f"{len(events):,} history rows for {events['opportunity_id'].nunique():,} opportunities",
        ],
    )


def _no_week_end(
    weekday: str, first: date, last: date, start: date | None, end: date | None
) -> str:
    """Which flag fixes a range without the week-end day (e.g. history on one Saturday)."""
    days = list(WEEKDAYS)
    have = sorted({(first + timedelta(days=i)).weekday() for i in range((last - first).days + 1)})
    span = f"{first}" if first == last else f"{first} .. {last}"
    fix = f"pass --weekday {days[have[-1]] if last == first else days[last.weekday()]}"
    widen = "widen the range with --from / --to" if start or end else "pass --from / --to"
    return (
        f"no {weekday} in {span} (the range the history covers), so there is no week end to "
        f"snapshot: {fix} to end the weeks on a day in the range, or {widen} to include a {weekday}"
    )


def _current(
    source: str | Path | bytes,
    name: str | None,
    defs: Definitions,
    preset: str | None,
    mapping: Mapping | str | Path | None,
    end: date | None,
) -> Prepared:
    """The current opportunities, read as `steward import` reads them (same presets and
    mapping file). A file without an Id column (a report export) is keyed by the
    opportunity name; a repeated name is then refused, naming its rows."""
    if isinstance(mapping, str | Path):
        mapping = Mapping.from_toml(mapping)
    raw = read_table(source, name, member="Opportunity.csv")
    used = choose_preset(raw, preset, mapping)
    cols = resolve_columns(raw.headers, COLUMNS[used])
    by_name = "opportunity_id" not in cols and "opportunity_name" in cols
    if mapping is not None and "opportunity_id" in mapping.columns:
        by_name = False
    if by_name:
        mapping = copy.deepcopy(mapping) if mapping is not None else Mapping()
        mapping.columns["opportunity_id"] = cols["opportunity_name"]
        mapping.columns.setdefault("opportunity_name", cols["opportunity_name"])
    current = build_snapshots(raw, defs, used, mapping, end or date.today(), lambda _f, _m: None)
    if by_name:
        _refuse_repeated_names(raw, current, cols["opportunity_name"])
        current.notes.append(
            f"no Id column: opportunities keyed by {cols['opportunity_name']!r} "
            "(the history must name them the same way)"
        )
    return current


def _refuse_repeated_names(raw: RawTable, current: Prepared, header: str) -> None:
    """Names are the key: two rows with the same name (case and spaces aside) are refused."""
    names = current.frame["opportunity_id"]
    keys = names.map(normalize_label, na_action="ignore")
    repeated = keys.notna() & keys.duplicated(keep=False)
    # build_snapshots reported exact repeats as duplicate ids: say it in terms of names
    current.issues[:] = [
        i for i in current.issues if not i.message.startswith("duplicate opportunity id")
    ]
    for _key, group in keys[repeated].groupby(keys[repeated], sort=False):
        rows = [int(raw.lines[i]) for i in group.index]
        value = str(names[group.index[0]])
        current.issues.append(
            Issue(
                raw.name,
                rows[0],
                header,
                value,
                f"opportunity name repeated (the file has no Id column, so the name is the key): "
                f"rows {' and '.join(str(r) for r in rows)}",
                "error",
            )
        )


def _events(
    raw: RawTable, cols: dict[str, str], current: pd.DataFrame, defs: Definitions, log: IssueLog
) -> pd.DataFrame:
    """One parsed row per (not deleted) history row: ts, stage, opportunity_id, amount,
    close_date, probability, forecast_category. Problems go to the log."""
    src, lines = raw.frame, raw.lines
    if "is_deleted" in cols:
        deleted, _ = parse.parse_bool(src[cols["is_deleted"]])
        keep = ~deleted.fillna(False).to_numpy(dtype=bool)
        src, lines = src[keep].reset_index(drop=True), lines[keep]

    def cells(name: str) -> pd.Series:
        return src[cols[name]]

    def flag(mask: np.ndarray, name: str, message: str) -> None:
        log.add_mask(mask, lines, cells(name), column=cols[name], message=message)

    ts, bad = parse.parse_dates(cells("ts"), keep_time=True)
    flag(bad | ts.isna().to_numpy(), "ts", "unreadable or blank timestamp")
    stages = validate.resolve_stages(
        parse.text(cells("stage")), defs, {}, lines, cols["stage"], log
    )
    events = pd.DataFrame({"ts": ts, "stage": stages})
    events["opportunity_id"] = _keys(src, cols, current, lines, log)
    events["amount"] = np.nan
    events["close_date"] = pd.NaT
    events["probability"] = np.nan
    events["forecast_category"] = None
    if "amount" in cols:
        amounts, bad, _ = parse.parse_money(cells("amount"))
        flag(bad, "amount", "unreadable amount")
        events["amount"] = amounts
    if "close_date" in cols:
        closes, bad = parse.parse_dates(cells("close_date"))
        flag(bad, "close_date", "unreadable date")
        events["close_date"] = closes
    if "probability" in cols:
        probs, bad = parse.parse_probability(cells("probability"), "percent")
        flag(bad, "probability", "probability must be 0-1 or 0-100")
        events["probability"] = probs
    if "forecast_category" in cols:
        events["forecast_category"] = validate.normalize_forecast(
            parse.optional_text(cells("forecast_category")),
            defs,
            lines,
            cols["forecast_category"],
            log,
        )
    return events


def _failed(name: str, current: Prepared, log: IssueLog) -> Prepared:
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in store.SNAPSHOT_COLUMNS})
    return Prepared(
        file_name=name,
        frame=empty,
        preset="reconstructed",
        issues=current.issues + log.items,
        extra_errors=current.extra_errors + log.extra_errors,
        extra_warnings=current.extra_warnings + log.extra_warnings,
    )


def _keys(
    src: pd.DataFrame, cols: dict[str, str], current: pd.DataFrame, lines: np.ndarray, log: IssueLog
) -> pd.Series:
    """Opportunity id per history row, by id, or else by name via the current file."""
    known = set(current["opportunity_id"].dropna())
    if "opportunity_id" in cols:
        ids = parse.optional_text(src[cols["opportunity_id"]]).astype(object)
    else:
        names = parse.optional_text(src[cols["opportunity_name"]]).astype(object)
        by_name = (
            current.dropna(subset=["opportunity_name"])
            .groupby(current["opportunity_name"].map(normalize_label, na_action="ignore"))[
                "opportunity_id"
            ]
            .agg(list)
        )
        keys = names.map(normalize_label, na_action="ignore")
        hits = keys.map(by_name)
        ambiguous = hits.map(lambda h: isinstance(h, list) and len(h) > 1).to_numpy(dtype=bool)
        log.add_mask(
            ambiguous,
            lines,
            names,
            column=cols["opportunity_name"],
            message="this name fits several current opportunities; export the history with OpportunityId",
        )
        ids = hits.map(lambda h: h[0] if isinstance(h, list) and len(h) == 1 else None)
    unknown = ids.notna() & ~ids.isin(known)
    if bool(unknown.any()):
        log.add(
            f"{int(unknown.sum())} history row(s) belong to opportunities not in the current file "
            "(deleted); skipped",
            severity="warning",
        )
    return ids.where(~unknown, None)


def _chronological_positions(events: pd.DataFrame) -> np.ndarray:
    """File position read in the file's own time direction (newest-first files bottom-up).

    The direction is what most consecutive rows of the same opportunity say (timestamps
    going down = newest first), so a file sorted by opportunity and then by date reads
    right whatever its first and last rows are."""
    n = len(events)
    step = events.groupby("opportunity_id", sort=False)["ts"].diff()
    newest_first = int((step < pd.Timedelta(0)).sum()) > int((step > pd.Timedelta(0)).sum())
    return np.arange(n - 1, -1, -1) if newest_first else np.arange(n)


def _first_day(current: pd.DataFrame, events: pd.DataFrame) -> date:
    candidates = [current["created_date"].min(), events["ts"].min()]
    valid = [pd.Timestamp(c).date() for c in candidates if not pd.isna(c)]
    if not valid:
        raise ImportRejected(
            "no created dates and no history: cannot tell where to start (use --from)"
        )
    return min(valid)


# The rule, per opportunity and week end W (cutoff = the end of day W):
#   1. a history row at or before the cutoff -> the latest such row (ties: file order);
#   2. else, before its first history row: that row's state from the created date, only
#      when the state is open (a closed state is never carried back before its row);
#   3. a deal without history rows: open now -> its current row from the created date;
#      closed now -> its current row from the close date; absent before.
# `born` is the first day a deal shows (the grid starts there); rule 2/3 rows exist only
# from `born` on, so the cases below need no date tests of their own.
REBUILD_SQL = """
with chained as (
    select opportunity_id, ts, pos, amount, probability, forecast_category,
           last_value(stage ignore nulls) over w as stage,
           last_value(close_date ignore nulls) over w as close_date
    from events
    window w as (partition by opportunity_id order by ts, pos
                 rows between unbounded preceding and current row)
),
collapsed as (
    select *
    from chained
    qualify row_number() over (partition by opportunity_id, ts order by pos desc) = 1
),
first_event as (
    select *, not list_contains($closed_stages::varchar[], stage) as first_open
    from collapsed
    qualify row_number() over (partition by opportunity_id order by ts, pos) = 1
),
starts as (
    select c.*, f.opportunity_id is not null as has_history,
           case
             when f.opportunity_id is not null and f.first_open and c.created_date is not null
               then least(c.created_date, f.ts::date)
             when f.opportunity_id is not null then f.ts::date
             when list_contains($closed_stages::varchar[], c.stage)
               then coalesce(c.close_date, $last_week::date)
             else coalesce(c.created_date, $last_week::date)
           end as born
    from current_opps c
    left join first_event f using (opportunity_id)
),
grid as (
    select w.week_end, w.week_end + interval 1 day - interval 1 microsecond as cutoff, s.*
    from weeks w
    join starts s on s.born <= w.week_end
),
asof_state as (
    select g.*, e.stage as e_stage, e.amount as e_amount, e.close_date as e_close,
           e.probability as e_prob, e.forecast_category as e_fc, e.ts as e_ts
    from grid g
    asof left join collapsed e on g.opportunity_id = e.opportunity_id and g.cutoff >= e.ts
)
select a.week_end as snapshot_date,
       a.opportunity_id, a.opportunity_name, a.account_id, a.account_name, a.segment,
       a.region, a.owner, a.source, a.lead_source,
       case when a.e_ts is not null then a.e_stage
            when a.has_history then f.stage
            else a.stage end as stage,
       case when a.e_ts is not null then a.e_amount
            when a.has_history then f.amount
            else a.amount end as amount,
       a.currency,
       case when a.e_ts is not null then a.e_prob
            when a.has_history then f.probability
            else a.probability end as probability,
       case when a.e_ts is not null then a.e_fc
            when a.has_history then f.forecast_category
            else a.forecast_category end as forecast_category,
       case when a.e_ts is not null then a.e_close
            when a.has_history then f.close_date
            else a.close_date end as close_date,
       a.created_date, a.loss_reason, a.product,
       a.has_history
from asof_state a
left join first_event f using (opportunity_id)
order by snapshot_date, a.row_order
"""


# Amount and close date: when the history file has no column for one, it comes from the
# current opportunities file, like name, account and owner. (A missing probability falls
# back to the stage default and a missing forecast category stays blank: the current
# values belong to the current stage.)
TRACKED = ("amount", "close_date")


def _rebuild(
    current: pd.DataFrame,
    events: pd.DataFrame,
    weeks: list[date],
    defs: Definitions,
    carried: set[str],
) -> pd.DataFrame:
    con = duckdb.connect(":memory:")
    try:
        opps = current.drop(columns=["snapshot_date"]).assign(row_order=np.arange(len(current)))
        con.register("current_opps", opps)
        con.register(
            "events",
            events[
                [
                    "opportunity_id",
                    "ts",
                    "pos",
                    "stage",
                    "amount",
                    "close_date",
                    "probability",
                    "forecast_category",
                ]
            ],
        )
        con.execute(
            "create temp table weeks as select unnest($weeks::date[]) as week_end", {"weeks": weeks}
        )
        closed = [st.name for st in defs.stages if st.is_closed]
        # deals with no created / close date to start from show from the last week on
        out = con.execute(REBUILD_SQL, {"closed_stages": closed, "last_week": weeks[-1]}).df()
    finally:
        con.close()
    now = current.set_index("opportunity_id")
    for col in TRACKED:
        if col not in carried:
            out[col] = out["opportunity_id"].map(now[col]).to_numpy()
    closed, won, default_prob = validate.stage_flags(out["stage"], defs)
    out["probability"] = out["probability"].astype(float).fillna(default_prob)
    out["is_closed"] = closed
    out["is_won"] = won
    lost = {s.name for s in defs.lost_stages}
    out["loss_reason"] = out["loss_reason"].where(out["stage"].isin(lost), None)
    out["amount"] = out["amount"].astype(float).round(2)
    return typed(out).reset_index(drop=True)
