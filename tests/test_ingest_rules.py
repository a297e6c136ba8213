"""Mapping rules for real exports: fill blanks, skip rows, lookups, id from a name, the
governed date window; each refusal names the key, or the file, row, column and value."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from steward import ingest
from steward.cli import main
from steward.definitions import Definitions
from steward.errors import ImportRejected
from steward.ingest import Mapping

CURRENT = Path(__file__).resolve().parents[1] / "data" / "samples" / "current_state"
EXPORT = CURRENT / "crm_current_2026-11-27.csv"
MAPPING = CURRENT / "crm_current.mapping.toml"


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_current_state_export_loads_with_every_rule(defs: Definitions) -> None:
    p = ingest.prepare(EXPORT, defs, mapping=MAPPING)
    assert p.ok, p.summary()
    f = p.frame
    # 9 data rows; the 3 leads (blank Phase, Record Type Lead) are skipped -> 6 deals,
    # their ids taken from the Deal column.
    assert f["opportunity_id"].tolist() == [
        "Acme renewal 2027",
        "Globex expansion",
        "Initech pilot",
        "Umbrella data platform",
        "Hooli analytics",
        "Stark upgrade",
    ]
    assert f["stage"].tolist() == [
        "Discovery",
        "Negotiation",
        "Closed Won",
        "Closed Lost",
        "Discovery",
        "Negotiation",
    ]
    # Open deals have a blank Close Date: filled from Expected Close (day first).
    assert [d.date() for d in f["close_date"]] == [
        date(2026, 12, 31),
        date(2027, 1, 15),
        date(2026, 11, 6),
        date(2026, 11, 13),
        date(2027, 2, 27),
        date(2026, 12, 30),
    ]
    # Decimal comma; Hooli's blank Value filled with "0".
    assert f["amount"].tolist() == [48000.0, 125500.5, 9900.0, 30000.0, 0.0, 72250.0]
    # segment from accounts.csv by account (Hooli is not in it -> Unassigned, warned);
    # region from sales_team.csv by owner.
    assert f["segment"].tolist() == [
        "Enterprise",
        "Enterprise",
        "SMB",
        "Mid-Market",
        "Unassigned",
        "Enterprise",
    ]
    assert f["region"].tolist() == [
        "EMEA",
        "North America",
        "North America",
        "APAC",
        "APAC",
        "EMEA",
    ]
    assert f["source"].tolist() == [
        "Marketing",
        "Partner",
        "Marketing",
        "SDR Outbound",
        "Marketing",
        "SDR Outbound",
    ]
    assert f["opportunity_name"].tolist() == f["opportunity_id"].tolist()
    summary = p.summary()
    assert "skipped 3 row(s): 'Phase' is blank (3), 'Record Type' is 'Lead' (3)" in summary
    assert "filled 4 blank close_date cell(s) from column 'Expected Close'" in summary
    assert "filled 1 blank amount cell(s) with '0'" in summary
    assert "lookup segment from accounts.csv by 'Account': 5 row(s) matched, 1 unmatched" in summary
    assert "(first: 'Hooli')" in summary
    assert "lookup region from sales_team.csv by 'Deal Owner': 6 row(s) matched" in summary
    assert [(w.row, w.column, w.value) for w in p.warnings] == [(8, "Account", "Hooli")]


def test_round_trip_with_rules() -> None:
    m = Mapping.from_toml(MAPPING)
    again = Mapping.from_toml(m.to_toml())
    assert again == m
    assert again.fill["close_date"].column == "Expected Close"
    assert again.skip_values == {"Record Type": ["Lead"]}
    assert again.lookups["region"].value == "Region"


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        # the seen failure: a default for a mapped column was silently ignored
        ('[columns]\nclose_date = "Close"\n[defaults]\nclose_date = "2026-12-31"', "[defaults]"),
        ('[fill.close_date]\nvalue = "x"\ncolumn = "y"', "[fill.close_date]"),
        ('[fill.close]\nvalue = "x"', "[fill]"),
        ('[skip]\nempty = ["Stage"]', "[skip] unknown key(s) ['empty']"),
        ('[lookups.segment]\nfile = "a.csv"\nkey = "A"', "[lookups.segment]"),
        ('id_from_name = "Deal"\n[columns]\nopportunity_id = "Id"', "id_from_name"),
        (
            '[lookups.segment]\nfile="a"\nkey="k"\nmatch="m"\nvalue="v"\n[columns]\nsegment="S"',
            "both",
        ),
        ('fill_blanks = "yes"', "unknown key(s) ['fill_blanks']"),
    ],
)
def test_inapplicable_or_unknown_keys_are_refused(toml: str, named: str) -> None:
    with pytest.raises(ImportRejected) as err:
        Mapping.from_toml(toml + "\n")
    assert named in str(err.value)


def test_default_for_a_column_the_preset_reads_is_refused(defs: Definitions) -> None:
    # The canonical preset reads close_date from the file, so the default would never apply.
    text = "opportunity_id,stage,close_date\nA1,Discovery,\n"
    m = Mapping(defaults={"close_date": "2026-12-31"})
    p = ingest.prepare(text.encode(), defs, name="x_2026-11-20.csv", mapping=m)
    messages = [e.message for e in p.errors]
    assert any(m.startswith("[defaults] close_date does not apply") for m in messages)


def test_value_map_for_a_column_the_file_lacks_is_refused(defs: Definitions) -> None:
    text = "opportunity_id,stage,close_date\nA1,Discovery,2026-12-31\n"
    m = Mapping(values={"region": {"E": "EMEA"}})
    p = ingest.prepare(text.encode(), defs, name="x_2026-11-20.csv", mapping=m)
    assert [e.message for e in p.errors] == [
        "[values.region] does not apply: no column feeds region"
    ]


def test_repeated_names_are_refused_naming_the_rows(defs: Definitions) -> None:
    # Lines: header 1, Acme 2, Beta 3, "acme " 4 -> Acme repeats on rows 2 and 4.
    text = "Name,stage,close_date\nAcme,Discovery,2026-12-31\nBeta,Proposal,2026-12-31\nacme ,Solution,2027-01-31\n"
    m = Mapping(id_from_name="Name")
    p = ingest.prepare(text.encode(), defs, name="x_2026-11-20.csv", mapping=m)
    assert [(e.row, e.column, e.value, e.message) for e in p.errors] == [
        (2, "Name", "Acme", "repeated name (the id is taken from the name): rows 2, 4")
    ]


def test_conflicting_side_file_is_refused_naming_its_rows(
    tmp_path: Path, defs: Definitions
) -> None:
    _csv(tmp_path, "acc.csv", "Account,Segment\nAcme,Enterprise\nBeta,SMB\nACME,SMB\n")
    export = _csv(
        tmp_path,
        "e_2026-11-20.csv",
        "opportunity_id,stage,close_date,Account\nA1,Discovery,2026-12-31,Acme\n",
    )
    mapping = _csv(
        tmp_path,
        "m.toml",
        '[lookups.segment]\nfile = "acc.csv"\nkey = "Account"\nmatch = "Account"\n'
        'value = "Segment"\n',
    )
    with pytest.raises(ImportRejected) as err:
        ingest.prepare(export, defs, mapping=mapping)
    assert str(err.value) == "acc.csv: 1 key(s) have more than one 'Segment'"
    assert err.value.details == [
        "acc.csv, rows 2, 4, column 'Account': key 'acme' has different 'Segment' values"
    ]


@pytest.mark.parametrize(
    ("column", "value"),
    [("snapshot_date", "0000-01-01"), ("close_date", "2101-01-01"), ("close_date", "1/1/1989")],
)
def test_dates_outside_the_governed_window_are_refused(
    defs: Definitions, column: str, value: str
) -> None:
    # The seen failure: 0000-01-01 was stored as 1753-08-29 (a silent nanosecond wrap).
    row = {"snapshot_date": "2026-11-20", "close_date": "2026-12-31", column: value}
    text = (
        "snapshot_date,opportunity_id,stage,close_date\n"
        f"{row['snapshot_date']},A1,Discovery,{row['close_date']}\n"
    )
    p = ingest.prepare(text.encode(), defs, name="w.csv")
    assert [(e.file, e.row, e.column, e.value) for e in p.errors] == [("w.csv", 2, column, value)]
    assert p.errors[0].message == (
        "date outside the accepted window 1990-01-01 to 2100-12-31 (definitions [import])"
    )


def test_the_window_is_governed(defs: Definitions) -> None:
    from dataclasses import replace

    narrow = replace(defs, earliest_date=date(2026, 1, 1))
    text = "snapshot_date,opportunity_id,stage,close_date\n2026-11-20,A1,Discovery,2025-12-31\n"
    assert ingest.prepare(text.encode(), defs, name="w.csv").ok
    p = ingest.prepare(text.encode(), narrow, name="w.csv")
    assert [(e.row, e.column) for e in p.errors] == [(2, "close_date")]


# ---- the same features from the command line -------------------------------------------


def test_cli_loads_the_current_state_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "s.duckdb")
    code = main(["import", str(EXPORT), "--mapping", str(MAPPING), "--db", db])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "crm_current_2026-11-27.csv: format canonical, 6 rows" in out
    assert "amount total: 285,650.50" in out  # 48,000 + 125,500.50 + 9,900 + 30,000 + 0 + 72,250
    assert "skipped 3 row(s)" in out and "1 unmatched (first: 'Hooli')" in out
    assert "committed import 1" in out


def test_cli_refuses_a_default_that_would_be_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _csv(
        tmp_path, "bad.toml", MAPPING.read_text() + '\n[defaults]\nclose_date = "2026-12-31"\n'
    )
    code = main(["import", str(EXPORT), "--mapping", str(bad), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 1
    assert "bad.toml: [defaults] close_date does not apply: close_date is read from a column" in err


def test_optional_tables_use_the_window_too(defs: Definitions) -> None:
    text = "lead_id,created_at\nL1,2026-11-20 09:00\nL2,1899-12-31 09:00\n"
    p = ingest.prepare_table("leads", text.encode(), defs, name="leads.csv")
    assert [(e.row, e.column, e.value) for e in p.errors] == [(3, "created_at", "1899-12-31 09:00")]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            Mapping(defaults={"currency": "EUR"}, values={"currency": {"EUR": "USD"}}),
            "[values.currency] does not apply: no column feeds currency",
        ),
        (
            Mapping(probability_scale="percent"),
            "probability_scale does not apply: no column feeds probability",
        ),
    ],
)
def test_keys_this_file_cannot_use_are_refused(
    defs: Definitions, mapping: Mapping, message: str
) -> None:
    text = "opportunity_id,stage,close_date\nA1,Discovery,2026-12-31\n"
    p = ingest.prepare(text.encode(), defs, name="x_2026-11-20.csv", mapping=mapping)
    assert [e.message for e in p.errors] == [message]
