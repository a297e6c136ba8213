"""Weekly snapshots rebuilt from OpportunityHistory, checked against a history worked on paper.

data/samples/history/ holds the pair. Current opportunities (Opportunity.csv):
  006A Alpha  created Mon 2026-01-05   006B Beta  created Wed 2026-01-07
  006C Gamma  created Tue 2026-01-20, no history rows at all (current: Qualification, 30)
  006D Delta  IsDeleted = 1 -> left out, and its one history row is skipped (warning)

History (oldest first):
  006A 01-05 09:00 Qualification      100 close 03-31  p10 Pipeline
  006B 01-07 11:00 Needs Analysis      80 close 02-27  p20 Pipeline
  006A 01-09 17:00 Needs Analysis     100 close 03-31  p20 Pipeline   (Friday itself: counts)
  006A 01-14 10:00 Needs Analysis     120 close 04-15  p20 Pipeline   } same timestamp: the
  006A 01-14 10:00 Value Proposition  120 close 04-15  p40 BestCase   } later row wins
  006B 01-15 12:00 Closed Lost         80 close 01-15  p0  Omitted
  006A 01-24 08:00 Negotiation/Review 150 close 03-31  p80 Forecast   (Saturday: next week)
  006B 01-28 16:00 Value Proposition   80 close 03-27  p40 Pipeline   (reopened)

Fridays from 2026-01-02 to 2026-01-30:
  01-02: nobody created yet -> no rows
  01-09: A Discovery 100 03-31 .2 Pipeline | B Discovery 80 02-27 .2 Pipeline
  01-16: A Solution 120 04-15 .4 Best Case | B Closed Lost 80 01-15 0 Omitted (closed)
  01-23: A, B as 01-16 | C Prospecting 30 04-30 .1 Pipeline (current values)
  01-30: A Negotiation 150 03-31 .8 Commit | B Solution 80 03-27 .4 Pipeline (open again) | C
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from steward import ingest, store
from steward.definitions import Definitions
from steward.errors import ImportRejected
from steward.ingest.reconstruct import week_ends

HIST = Path(__file__).resolve().parents[1] / "data" / "samples" / "history"

EXPECTED = [
    ("2026-01-09", "006A", "Discovery", 100.0, "2026-03-31", 0.2, "Pipeline", False),
    ("2026-01-09", "006B", "Discovery", 80.0, "2026-02-27", 0.2, "Pipeline", False),
    ("2026-01-16", "006A", "Solution", 120.0, "2026-04-15", 0.4, "Best Case", False),
    ("2026-01-16", "006B", "Closed Lost", 80.0, "2026-01-15", 0.0, "Omitted", True),
    ("2026-01-23", "006A", "Solution", 120.0, "2026-04-15", 0.4, "Best Case", False),
    ("2026-01-23", "006B", "Closed Lost", 80.0, "2026-01-15", 0.0, "Omitted", True),
    ("2026-01-23", "006C", "Prospecting", 30.0, "2026-04-30", 0.1, "Pipeline", False),
    ("2026-01-30", "006A", "Negotiation", 150.0, "2026-03-31", 0.8, "Commit", False),
    ("2026-01-30", "006B", "Solution", 80.0, "2026-03-27", 0.4, "Pipeline", False),
    ("2026-01-30", "006C", "Prospecting", 30.0, "2026-04-30", 0.1, "Pipeline", False),
]


def _rows(p: ingest.Prepared) -> list[tuple[object, ...]]:
    f = p.frame
    return list(
        zip(
            f["snapshot_date"].dt.date.astype(str),
            f["opportunity_id"],
            f["stage"],
            f["amount"],
            f["close_date"].dt.date.astype(str),
            f["probability"],
            f["forecast_category"],
            f["is_closed"],
            strict=True,
        )
    )


def _run(defs: Definitions, history: Path | bytes, **kw: object) -> ingest.Prepared:
    return ingest.reconstruct(
        history,
        HIST / "Opportunity.csv",
        defs,
        history_name="OpportunityHistory.csv",
        start=date(2026, 1, 2),
        end=date(2026, 1, 30),
        **kw,  # type: ignore[arg-type]
    )


def _lines() -> list[str]:
    return (HIST / "OpportunityHistory.csv").read_text().splitlines()


def test_week_ends() -> None:
    assert week_ends(date(2026, 1, 1), date(2026, 1, 16), "fri") == [
        date(2026, 1, 2),
        date(2026, 1, 9),
        date(2026, 1, 16),
    ]
    assert week_ends(date(2026, 1, 3), date(2026, 1, 12), "mon") == [
        date(2026, 1, 5),
        date(2026, 1, 12),
    ]


def test_reconstruction_matches_paper(defs: Definitions) -> None:
    p = _run(defs, HIST / "OpportunityHistory.csv")
    assert p.ok, p.summary()
    assert _rows(p) == EXPECTED
    assert [w.message for w in p.warnings] == [
        "1 history row(s) belong to opportunities not in the current file (deleted); skipped"
    ]
    # not tracked by history: from the current file
    assert p.frame["segment"].tolist()[:2] == ["Enterprise", "Mid-Market"]
    assert p.snapshot_dates == [
        date(2026, 1, 9),
        date(2026, 1, 16),
        date(2026, 1, 23),
        date(2026, 1, 30),
    ]


def test_newest_first_file_gives_the_same_snapshots(defs: Definitions) -> None:
    lines = _lines()
    # Reversed: the tie at 01-14 10:00 now has Value Proposition *above* Needs Analysis;
    # read bottom-up (newest-first detected), Value Proposition is still the later row.
    flipped = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"
    p = _run(defs, flipped.encode())
    assert p.ok
    assert _rows(p) == EXPECTED


def test_history_keyed_by_name(defs: Definitions) -> None:
    names = {"006A": "Alpha", "006B": "Beta", "006D": "Delta"}
    lines = _lines()
    out = [lines[0].replace('"OpportunityId"', '"Opportunity Name"')]
    for line in lines[1:]:
        cells = line.split(",")
        cells[1] = '"' + names[cells[1].strip('"')] + '"'
        out.append(",".join(cells))
    p = _run(defs, ("\n".join(out) + "\n").encode())
    assert p.ok, p.summary()
    assert _rows(p) == EXPECTED


def test_ambiguous_name_is_an_error(defs: Definitions, tmp_path: Path) -> None:
    opps = (HIST / "Opportunity.csv").read_text().replace('"Gamma"', '"Alpha"')
    hist = "Opportunity Name,CreatedDate,StageName,Amount,CloseDate\nAlpha,2026-01-05 09:00:00,Qualification,1,2026-03-31\n"
    p = ingest.reconstruct(
        hist.encode(),
        opps.encode(),
        defs,
        history_name="h.csv",
        opportunities_name="Opportunity.csv",
    )
    assert not p.ok
    assert [(e.row, e.column, e.value) for e in p.errors] == [(2, "Opportunity Name", "Alpha")]


def test_unknown_stage_in_history_is_an_error(defs: Definitions) -> None:
    text = (HIST / "OpportunityHistory.csv").read_text().replace('"Closed Lost"', '"Dead"')
    p = _run(defs, text.encode())
    assert [(e.row, e.column, e.value) for e in p.errors] == [(8, "StageName", "Dead")]


def test_commit_reconstruction(defs: Definitions) -> None:
    con = store.init_memory()
    p = _run(defs, HIST / "OpportunityHistory.csv")
    ingest.commit(con, p)
    rows = con.execute(
        "select snapshot_date::varchar, count(*), sum(amount)::double from snapshots group by 1 order by 1"
    ).fetchall()
    # 100+80; 120+80; 120+80+30; 150+80+30
    assert rows == [
        ("2026-01-09", 2, 180.0),
        ("2026-01-16", 2, 200.0),
        ("2026-01-23", 3, 230.0),
        ("2026-01-30", 3, 260.0),
    ]


def test_bad_weekday(defs: Definitions) -> None:
    with pytest.raises(ImportRejected, match="--weekday 'friday': use one of mon, tue"):
        _run(defs, HIST / "OpportunityHistory.csv", weekday="friday")


def test_both_files_from_one_data_export_zip(defs: Definitions) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(HIST / "Opportunity.csv", "Opportunity.csv")
        z.write(HIST / "OpportunityHistory.csv", "OpportunityHistory.csv")
    export = buf.getvalue()
    p = ingest.reconstruct(
        export,
        export,
        defs,
        history_name="WE.zip",
        opportunities_name="WE.zip",
        start=date(2026, 1, 2),
        end=date(2026, 1, 30),
    )
    assert p.ok, p.summary()
    assert _rows(p) == EXPECTED


def test_direction_read_per_opportunity_not_from_first_and_last_row(defs: Definitions) -> None:
    # Sorted by opportunity, each block newest-first: 006D (01-05 08:00), then 006B
    # (01-28, 01-15, 01-07), then 006A (01-24, 01-14 Value Proposition, 01-14 Needs
    # Analysis, 01-09, 01-05 09:00). First row 01-05 08:00 is earlier than the last row
    # 01-05 09:00, so comparing first and last rows would call it oldest-first and let Needs
    # Analysis win the 01-14 tie. The steps within each opportunity (all going down) say
    # newest-first, so Value Proposition wins and the snapshots are the paper ones.
    lines = _lines()
    body = lines[1:]
    d_rows = [r for r in body if '"006D"' in r]
    b_rows = [r for r in body if '"006B"' in r]
    a_rows = [r for r in body if '"006A"' in r]
    ordered = [*d_rows, *reversed(b_rows), *reversed(a_rows)]
    p = _run(defs, ("\n".join([lines[0], *ordered]) + "\n").encode())
    assert p.ok
    assert _rows(p) == EXPECTED
