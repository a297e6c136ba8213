"""Each bundled sample export loads through its preset with exact values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from steward import ingest
from steward.definitions import Definitions
from steward.errors import ImportRejected

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
COLS = ["opportunity_id", "stage", "amount", "probability", "close_date", "is_closed", "is_won"]


def _rows(p: ingest.Prepared, cols: list[str] = COLS) -> list[list[object]]:
    out = []
    for rec in p.frame[cols].itertuples(index=False):
        row = []
        for v in rec:
            if isinstance(v, pd.Timestamp):
                v = v.date().isoformat()
            elif v is None or (isinstance(v, float) and pd.isna(v)):
                v = None
            row.append(v)
        out.append(row)
    return out


def test_detect_preset() -> None:
    assert (
        ingest.detect_preset(["snapshot_date", "opportunity_id", "stage", "close_date"])
        == "canonical"
    )
    assert (
        ingest.detect_preset(["Opportunity Name", "Stage", "Close Date", "Amount"])
        == "salesforce_report"
    )
    assert (
        ingest.detect_preset(["Account.Name", "Opportunity.Name", "StageName", "CloseDate"])
        == "salesforce_report"
    )
    assert (
        ingest.detect_preset(["Id", "AccountId", "StageName", "CloseDate"])
        == "salesforce_data_export"
    )
    assert (
        ingest.detect_preset(["Record ID", "Deal Name", "Deal Stage", "Close Date"])
        == "hubspot_deals"
    )
    assert ingest.detect_preset(["Deal #", "Phase"]) is None
    # both a canonical and a Salesforce-report signature fit: ambiguous -> None
    both = ["opportunity_id", "stage", "close_date", "Opportunity Name", "Close Date"]
    assert ingest.detect_preset(both) is None


def test_salesforce_report_with_footer(defs: Definitions) -> None:
    p = ingest.prepare(SAMPLES / "salesforce_report_2026-11-20.csv", defs)
    assert p.preset == "salesforce_report"
    assert p.ok and p.snapshot_dates == [pd.Timestamp("2026-11-20").date()]
    # Stages via the Salesforce aliases in data/definitions.toml; "Probability (%)" / 100.
    assert _rows(p) == [
        ["0065e00000AbC01", "Negotiation", 120000.0, 0.8, "2026-12-15", False, False],
        ["0065e00000AbC02", "Discovery", 45500.5, 0.2, "2027-01-30", False, False],
        ["0065e00000AbC03", "Proposal", 80250.0, 0.75, "2026-11-28", False, False],
        ["0065e00000AbC04", "Closed Won", 30000.0, 1.0, "2026-11-02", True, True],
        ["0065e00000AbC05", "Closed Lost", 60000.0, 0.0, "2026-10-30", True, False],
        ["0065e00000AbC06", "Prospecting", None, 0.1, "2027-02-27", False, False],
    ]
    assert p.frame["owner"].tolist()[:2] == ["Dana Reyes", "Dana Reyes"]
    assert p.frame["forecast_category"].tolist()[2] == "Best Case"
    assert set(p.frame["segment"]) == {"Unassigned"}  # no segment column
    # 120000 + 45500.50 + 80250 + 30000 + 60000 = 335750.50 (blank amount not counted)
    assert round(float(p.frame["amount"].sum()), 2) == 335750.50
    assert [(w.row, w.column, w.value) for w in p.warnings] == [(7, "Amount", "")]


def test_salesforce_data_export(defs: Definitions) -> None:
    p = ingest.prepare(SAMPLES / "Opportunity.csv", defs, snapshot_date="2026-11-20")
    assert p.preset == "salesforce_data_export"
    assert p.ok and p.warnings == []
    assert _rows(p) == [  # the IsDeleted = "1" record is skipped
        ["0065e00000XyZ01", "Negotiation", 120000.0, 0.9, "2026-12-15", False, False],
        ["0065e00000XyZ02", "Discovery", 45500.5, 0.2, "2027-01-30", False, False],
        ["0065e00000XyZ03", "Proposal", 80250.0, 0.75, "2026-11-28", False, False],
        ["0065e00000XyZ04", "Closed Won", 30000.0, 1.0, "2026-11-02", True, True],
    ]
    assert p.frame["created_date"].dt.date.astype(str).tolist()[0] == "2026-06-02"
    assert p.frame["segment"].tolist() == ["Enterprise", "Mid-Market", "Unassigned", "SMB"]
    assert p.frame["forecast_category"].tolist() == ["Commit", "Pipeline", "Best Case", "Closed"]
    assert any("deleted" in n for n in p.notes)


def test_data_export_without_date_is_an_error(defs: Definitions) -> None:
    p = ingest.prepare(SAMPLES / "Opportunity.csv", defs)
    assert not p.ok
    assert p.errors[0].column == "snapshot_date" and "no snapshot date" in p.errors[0].message


def test_hubspot_deals(defs: Definitions) -> None:
    p = ingest.prepare(SAMPLES / "hubspot_deals_2026-11-20.csv", defs)
    assert p.preset == "hubspot_deals"
    assert _rows(
        p, ["opportunity_id", "stage", "amount", "close_date", "owner", "account_name"]
    ) == [
        ["9001", "Negotiation", 24000.0, "2026-12-10", "Ava Brooks", "Northwind Traders"],
        ["9002", "Discovery", 12500.0, "2027-01-15", "Ava Brooks", "Contoso"],
        ["9003", "Closed Won", 8000.0, "2026-11-05", "Ben Ortiz", "Fabrikam"],
        ["9004", "Prospecting", None, "2027-02-01", "Ben Ortiz", "Tailspin Toys"],
    ]
    assert p.frame["probability"].tolist() == [0.8, 0.2, 1.0, 0.1]  # stage defaults
    assert p.frame["source"].tolist()[1] == "Paid Search"


def test_canonical_parquet_and_xlsx_round_trip(defs: Definitions, tmp_path: Path) -> None:
    p = ingest.prepare(SAMPLES / "Opportunity.csv", defs, snapshot_date="2026-11-20")
    pq_path = tmp_path / "snap.parquet"
    p.frame.to_parquet(pq_path)
    back = ingest.prepare(pq_path, defs)
    assert back.preset == "canonical" and back.ok
    pd.testing.assert_frame_equal(back.frame, p.frame)
    xlsx = tmp_path / "snap.xlsx"
    p.frame.to_excel(xlsx, index=False)
    back2 = ingest.prepare(xlsx, defs)
    assert back2.ok
    assert _rows(back2) == _rows(p)


def test_unknown_format_is_refused_with_hint(defs: Definitions) -> None:
    with pytest.raises(ImportRejected, match="cannot tell which export") as exc:
        ingest.prepare(b"Deal #,Phase\n1,A\n", defs, name="x.csv")
    assert any("--preset" in d for d in exc.value.details)


def test_typed_parquet_dates_decimals_and_float_ids(defs: Definitions) -> None:
    import datetime as dt
    import decimal
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "snapshot_date": pa.array([dt.date(2026, 11, 20)] * 2, pa.date32()),
            "opportunity_id": pa.array([9001.0, None]),  # ids that went through a float column
            "stage": ["Discovery", "Proposal"],
            "amount": pa.array([decimal.Decimal("1234.50"), None], pa.decimal128(18, 2)),
            "close_date": pa.array([dt.date(2026, 12, 1)] * 2, pa.date32()),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    p = ingest.prepare(buf.getvalue(), defs, name="typed.parquet")
    assert p.frame["opportunity_id"].iloc[0] == "9001"
    assert p.frame["amount"].iloc[0] == 1234.5
    assert p.frame["close_date"].iloc[0] == pd.Timestamp("2026-12-01")
    assert [(e.row, e.column, e.value) for e in p.errors] == [(2, "opportunity_id", "")]
