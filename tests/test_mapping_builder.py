"""The Import page's mapping builder without TOML: what the widgets hold becomes the
same Mapping as the hand-written file, and loads the same rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dashboard.mapping_builder import (
    ALIASES,
    AUTO,
    COLUMNS,
    FILLS,
    LOOKUPS,
    SKIPS,
    VALUES,
    Entries,
    spec_from_entries,
)
from steward import ingest
from steward.definitions import Definitions
from steward.errors import ImportRejected
from steward.ingest import Mapping

CURRENT = Path(__file__).resolve().parents[1] / "data" / "samples" / "current_state"


def _table(cols: tuple[str, ...], *rows: tuple[str, ...]) -> pd.DataFrame:
    """An editor's frame: the rows typed in, plus the empty row a user leaves behind."""
    return pd.DataFrame([*rows, ("",) * len(cols)], columns=list(cols))


def _entries() -> Entries:
    """What a user enters on the page for the current-state export (no mapping file)."""
    return Entries(
        columns=_table(
            COLUMNS,
            ("account_name", "Account"),
            ("owner", "Deal Owner"),
            ("stage", "Phase"),
            ("amount", "Value"),
            ("close_date", "Close Date"),
            ("created_date", "Created"),
            ("source", "Channel"),
        ),
        date_format="DMY",
        decimal_comma="yes",
        id_from_name="Deal",
        aliases=_table(
            ALIASES,
            ("Demo Scheduled", "Discovery"),
            ("Verbal Yes", "Negotiation"),
        ),
        values=_table(
            VALUES, ("source", "Web", "Marketing"), ("source", "Outbound", "SDR Outbound")
        ),
        fills=_table(FILLS, ("close_date", "Expected Close", ""), ("amount", "", "0")),
        skip_blank=["Phase"],
        skips=_table(SKIPS, ("Record Type", "Lead")),
        lookups=_table(
            LOOKUPS,
            ("segment", "accounts.csv", "Account", "Account Name", "Segment"),
            ("region", "sales_team.csv", "Deal Owner", "Owner", "Region"),
        ),
    )


def test_entries_make_the_same_mapping_as_the_file() -> None:
    built = Mapping.from_dict(spec_from_entries(_entries()))
    assert built == Mapping.from_toml(CURRENT / "crm_current.mapping.toml")
    # and the download is the TOML the CLI takes
    assert Mapping.from_toml(built.to_toml()) == built


def test_built_mapping_loads_the_export_with_uploaded_side_files(defs: Definitions) -> None:
    built = Mapping.from_dict(spec_from_entries(_entries()))
    built.side_files = {n: (CURRENT / n).read_bytes() for n in ("accounts.csv", "sales_team.csv")}
    raw = (CURRENT / "crm_current_2026-11-27.csv").read_bytes()
    page = ingest.prepare(raw, defs, name="crm_current_2026-11-27.csv", mapping=built)
    cli = ingest.prepare(
        CURRENT / "crm_current_2026-11-27.csv", defs, mapping=CURRENT / "crm_current.mapping.toml"
    )
    assert page.ok and cli.ok
    pd.testing.assert_frame_equal(page.frame, cli.frame)
    assert page.notes == cli.notes


def test_nothing_entered_is_no_mapping_and_a_base_file_is_kept() -> None:
    assert spec_from_entries(Entries(date_format=AUTO)) == {}
    base = {"decimal_comma": True, "columns": {"stage": "Phase"}}
    spec = spec_from_entries(Entries(base=base, columns=_table(COLUMNS, ("amount", "Value"))))
    assert spec == {"decimal_comma": True, "columns": {"stage": "Phase", "amount": "Value"}}


def test_page_refuses_what_the_cli_refuses() -> None:
    e = Entries(fills=_table(FILLS, ("opportunity_id", "", "X")))
    with pytest.raises(ImportRejected, match="opportunity_id cannot be looked up or filled"):
        Mapping.from_dict(spec_from_entries(e), "the page")
