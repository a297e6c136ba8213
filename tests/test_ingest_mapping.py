"""Mapping files: a custom export loads through an explicit TOML mapping."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from steward import ingest
from steward.definitions import Definitions
from steward.errors import ImportRejected
from steward.ingest import Mapping

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_custom_sample_with_mapping(defs: Definitions) -> None:
    p = ingest.prepare(
        SAMPLES / "custom_pipeline_2026-11-20.csv",
        defs,
        mapping=SAMPLES / "custom_pipeline.mapping.toml",
    )
    assert p.ok, p.summary()
    f = p.frame
    assert f["opportunity_id"].tolist() == ["D-100", "D-101", "D-102", "D-103"]
    # Windows-1252 umlauts decoded; stage aliases from the mapping; segment value map.
    assert f["account_name"].tolist() == ["Müller GmbH", "Schmidt AG", "Bäckerei Koch", "Weber KG"]
    assert f["stage"].tolist() == ["Proposal", "Negotiation", "Closed Won", "Prospecting"]
    assert f["segment"].tolist() == ["Enterprise", "Mid-Market", "SMB", "Unassigned"]
    # decimal comma: 1.234,50 -> 1234.50; 12.000,00 -> 12000; (0,00) -> 0
    assert f["amount"].tolist() == [1234.5, 12000.0, 950.0, 0.0]
    # "60 %" percent scale; blank -> Closed Won default 1.0
    assert f["probability"].tolist() == [0.6, 0.8, 1.0, 0.1]
    # DMY: 02.11.2026 is 2 November
    assert [d.date() for d in f["close_date"]] == [
        date(2026, 12, 15),
        date(2026, 12, 20),
        date(2026, 11, 2),
        date(2027, 1, 31),
    ]
    assert set(f["currency"]) == {"EUR"}  # [defaults]
    assert p.snapshot_dates == [date(2026, 11, 20)]  # from the file name


def test_to_toml_round_trip() -> None:
    m = Mapping(
        columns={"opportunity_id": "Deal #", "stage": 'Phase "x"'},
        stage_aliases={"Won - Signed": "Closed Won"},
        values={"segment": {"ENT": "Enterprise"}},
        defaults={"currency": "EUR"},
        preset="canonical",
        snapshot_date=date(2026, 11, 20),
        date_format="DMY",
        decimal_comma=True,
        probability_scale="percent",
    )
    assert Mapping.from_toml(m.to_toml()) == m


def test_mapping_alias_makes_unknown_stage_load(defs: Definitions) -> None:
    data = b"opportunity_id,stage,close_date,amount\nA,Won - Signed,2026-12-01,10\n"
    bad = ingest.prepare(data, defs, name="x_2026-11-20.csv")
    assert [(e.row, e.column, e.value) for e in bad.errors] == [(2, "stage", "Won - Signed")]
    m = Mapping(stage_aliases={"won - signed": "Closed Won"})
    good = ingest.prepare(data, defs, name="x_2026-11-20.csv", mapping=m)
    assert good.ok and good.frame["stage"].tolist() == ["Closed Won"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colums = {}", "unknown key"),
        ('[columns]\nstage_name = "Phase"', "unknown canonical column"),
        ('preset = "zoho"', "unknown preset"),
        ('date_format = "QQ"', "date_format"),
        ('snapshot_date = "20/11/2026"', "not YYYY-MM-DD"),
        ("[columns\n", "not valid TOML"),
    ],
)
def test_bad_mapping_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(ImportRejected, match=message):
        Mapping.from_toml(text + "\n")


def test_mapping_naming_a_missing_column_is_an_error(defs: Definitions) -> None:
    m = Mapping(columns={"amount": "Value"})
    p = ingest.prepare(
        b"opportunity_id,stage,close_date\nA,Discovery,2026-12-01\n",
        defs,
        name="x_2026-11-20.csv",
        mapping=m,
    )
    assert [e.column for e in p.errors] == ["Value"]


def test_suggest_columns_prefills_an_interactive_mapping() -> None:
    # No preset fits ("Deal #" / "Phase"), but known headers are still recognised.
    headers = ["Deal #", "Phase", "Amount", "Close Date", "Account Name"]
    assert ingest.suggest_columns(headers) == {
        "amount": "Amount",
        "close_date": "Close Date",
        "account_name": "Account Name",
    }
    table = ingest.read_table(SAMPLES / "hubspot_deals_2026-11-20.csv")
    suggested = ingest.suggest_columns(table.headers)
    assert suggested["opportunity_id"] == "Record ID" and suggested["stage"] == "Deal Stage"
