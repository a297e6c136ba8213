"""Row-level checks: every error names file, row (file line), column and value."""

from __future__ import annotations

from datetime import date

import pandas as pd

from steward import ingest
from steward.definitions import Definitions

HEAD = "snapshot_date,opportunity_id,stage,amount,close_date,is_closed,is_won,segment\n"


def _prep(defs: Definitions, body: str, **kw: object) -> ingest.Prepared:
    return ingest.prepare((HEAD + body).encode(), defs, name="week.csv", **kw)  # type: ignore[arg-type]


def test_unknown_stage_bad_date_bad_amount_name_row_column_value(defs: Definitions) -> None:
    p = _prep(
        defs,
        "2026-11-20,A,Discovery,100,2026-12-01,,,\n"
        "2026-11-20,B,Shortlisted,100,2026-12-01,,,\n"
        "2026-11-20,C,Proposal,12 apples,2026-13-45,,,\n",
    )
    assert not p.ok
    got = sorted((e.file, e.row, e.column, e.value) for e in p.errors)
    assert got == [
        ("week.csv", 3, "stage", "Shortlisted"),
        ("week.csv", 4, "amount", "12 apples"),
        ("week.csv", 4, "close_date", "2026-13-45"),
    ]
    text = str(next(e for e in p.errors if e.column == "stage"))
    assert text.startswith("week.csv, row 3, column 'stage': unknown stage")
    assert text.endswith("(value 'Shortlisted')")


def test_duplicate_id_names_both_rows(defs: Definitions) -> None:
    p = _prep(
        defs,
        "2026-11-20,A,Discovery,1,2026-12-01,,,\n"
        "2026-11-20,B,Discovery,1,2026-12-01,,,\n"
        "2026-11-27,A,Discovery,1,2026-12-01,,,\n"  # another snapshot: fine
        "2026-11-20,A,Proposal,1,2026-12-01,,,\n",
    )
    assert [(e.row, e.value, e.message) for e in p.errors] == [
        (2, "A", "duplicate opportunity id in snapshot 2026-11-20: rows 2 and 5")
    ]


def test_first_20_errors_then_count(defs: Definitions) -> None:
    body = "".join(f"2026-11-20,X{i},Nope,1,2026-12-01,,,\n" for i in range(75))
    p = _prep(defs, body)
    # 75 unknown stages: 50 kept as Issue objects, 25 only counted; 20 shown + "and 55 more".
    assert p.error_count == 75
    lines = p.error_lines()
    assert len(lines) == 21
    assert lines[0].startswith("week.csv, row 2, column 'stage'")
    assert lines[-1] == "... and 55 more"


def test_flags_follow_stage_contradiction_is_warning(defs: Definitions) -> None:
    p = _prep(
        defs,
        "2026-11-20,A,Closed Won,1,2026-12-01,1,1,\n"
        "2026-11-20,B,Discovery,1,2026-12-01,1,0,\n"  # says closed, stage says open
        "2026-11-20,C,Closed Lost,1,2026-12-01,,,\n",
    )
    assert p.ok
    assert p.frame["is_closed"].tolist() == [True, False, True]
    assert p.frame["is_won"].tolist() == [True, False, False]
    assert [(w.row, w.column, w.value) for w in p.warnings] == [(3, "is_closed", "1")]


def test_blank_amount_warning_blank_segment_unassigned_probability_default(
    defs: Definitions,
) -> None:
    p = _prep(
        defs, "2026-11-20,A,Solution,,2026-12-01,,,\n2026-11-20,B,Proposal,5,2026-12-01,,,SMB\n"
    )
    assert p.ok
    assert [(w.row, w.column) for w in p.warnings] == [(2, "amount")]
    assert p.frame["segment"].tolist() == ["Unassigned", "SMB"]
    assert p.frame["probability"].tolist() == [0.4, 0.6]
    assert pd.isna(p.frame["amount"].iloc[0])


def test_snapshot_date_precedence(defs: Definitions) -> None:
    no_col = b"opportunity_id,stage,close_date\nA,Discovery,2026-12-01\n"
    # the argument beats the file name
    p = ingest.prepare(no_col, defs, name="opps_2026-11-20.csv", snapshot_date=date(2026, 11, 27))
    assert p.snapshot_dates == [date(2026, 11, 27)]
    p = ingest.prepare(no_col, defs, name="opps_20261120.csv")
    assert p.snapshot_dates == [date(2026, 11, 20)]
    # the column beats both; its blanks are filled from the argument
    with_col = b"snapshot_date,opportunity_id,stage,close_date\n2026-11-13,A,Discovery,2026-12-01\n,B,Discovery,2026-12-01\n"
    p = ingest.prepare(with_col, defs, name="opps_2026-11-20.csv", snapshot_date=date(2026, 11, 27))
    assert p.frame["snapshot_date"].dt.date.tolist() == [date(2026, 11, 13), date(2026, 11, 27)]


def test_blank_id_and_blank_stage_are_errors(defs: Definitions) -> None:
    p = _prep(defs, "2026-11-20,,Discovery,1,2026-12-01,,,\n2026-11-20,B,,1,,,,\n")
    assert sorted((e.row, e.column, e.message) for e in p.errors) == [
        (2, "opportunity_id", "opportunity id is blank"),
        (3, "close_date", "close date is blank"),
        (3, "stage", "stage is blank"),
    ]


def test_closed_lost_then_reopened_across_snapshots_is_fine(defs: Definitions) -> None:
    p = _prep(
        defs,
        "2026-11-13,A,Closed Lost,1,2026-11-10,,,\n2026-11-20,A,Discovery,1,2026-12-31,,,\n",
    )
    assert p.ok and p.frame["is_closed"].tolist() == [True, False]


def test_header_only_file_is_an_error(defs: Definitions) -> None:
    p = ingest.prepare(HEAD.encode(), defs, name="empty_2026-11-20.csv")
    assert [e.message for e in p.errors] == [
        "the file has a header but no data rows; nothing to import"
    ]
