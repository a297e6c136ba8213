"""The Import page in a real Chromium: files go in through the file chooser
(Playwright's set_input_files), as a user's would.

A current-state export (leads mixed in, blank close dates on open deals, no id column,
segment and region in side files) loads with a mapping file and its side files; the
mapping downloads as the same TOML; a refused upload shows up in the import history.
Every wait is for a condition on the page, never a fixed time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import ROOT, chromium, demo_server

from steward.ingest import Mapping

pytest.importorskip("playwright.sync_api")

CURRENT = ROOT / "data" / "samples" / "current_state"
SHOTS = ROOT.parent / "shots" / "i9a"
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_server(tmp_path_factory.mktemp("browser_import")) as url:
        yield url


@pytest.fixture()
def page(server: str) -> Iterator[Any]:
    with chromium() as b:
        pg = b.new_page(viewport={"width": 1500, "height": 2600}, accept_downloads=True)
        pg.goto(f"{server}/import")
        pg.get_by_text("Snapshots loaded").wait_for(timeout=WAIT_MS)
        yield pg


def _choose(pg: Any, label: str, *files: Path) -> None:
    """Put files into the uploader whose label contains `label`, through its chooser."""
    box = pg.locator('[data-testid="stFileUploader"]', has_text=label)
    box.locator('input[type="file"]').set_input_files([str(f) for f in files])
    # The chooser shows each file (its name shortened in the middle) once it is uploaded.
    box.locator('[data-testid="stFileChip"]').nth(len(files) - 1).wait_for(timeout=WAIT_MS)


def _idle(pg: Any) -> None:
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] svg')", timeout=WAIT_MS
    )


def test_current_state_export_loads_from_the_page(page: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg = page
    _choose(pg, "CSV, XLSX or Parquet", CURRENT / "crm_current_2026-11-27.csv")
    pg.get_by_text("Column mapping").wait_for(timeout=WAIT_MS)
    _choose(pg, "Start from a mapping file", CURRENT / "crm_current.mapping.toml")
    pg.get_by_text("Lookups (a column from a side file").click()
    _choose(pg, "Side files", CURRENT / "accounts.csv", CURRENT / "sales_team.csv")
    _idle(pg)
    with pg.expect_download(timeout=WAIT_MS) as download:
        pg.get_by_role("button", name="Download this mapping").click()
    got = Mapping.from_toml(Path(download.value.path()))
    assert got == Mapping.from_toml(CURRENT / "crm_current.mapping.toml")
    pg.get_by_role("button", name="Check the file").click()
    report = pg.get_by_text("skipped 3 row(s)")
    report.wait_for(timeout=WAIT_MS)
    text = pg.locator('[data-testid="stText"]').first.inner_text()
    assert "crm_current_2026-11-27.csv: format canonical, 6 rows" in text
    assert "amount total: 285,650.50" in text
    assert "filled 4 blank close_date cell(s) from column 'Expected Close'" in text
    assert "1 unmatched (first: 'Hooli')" in text
    assert "lookup region from sales_team.csv by 'Deal Owner': 6 row(s) matched" in text
    pg.screenshot(path=str(SHOTS / "import_checked.png"), full_page=True)
    pg.get_by_role("button", name="Commit import").click()
    pg.get_by_text("Imported 6 rows").wait_for(timeout=WAIT_MS)
    _idle(pg)
    assert pg.locator('[data-testid="stException"]').count() == 0
    pg.screenshot(path=str(SHOTS / "import_committed.png"), full_page=True)


def test_refused_upload_appears_in_the_import_history(page: Any, tmp_path: Path) -> None:
    bad = tmp_path / "unknown_stage_2026-11-27.csv"
    bad.write_text("opportunity_id,stage,close_date\nX1,Maybe later,2026-12-31\n")
    _choose(page, "CSV, XLSX or Parquet", bad)
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("1 error(s): fix the file or the mapping").wait_for(timeout=WAIT_MS)
    row = page.locator('[data-testid="stTable"] tr', has_text="unknown_stage_2026-11-27.csv")
    row.first.wait_for(timeout=WAIT_MS)
    assert "rejected" in row.first.inner_text()
    page.screenshot(path=str(SHOTS / "import_rejected_history.png"), full_page=True)


def test_unknown_crm_stages_are_aliased_on_the_page(page: Any, tmp_path: Path) -> None:
    # The seen failure: "unknown stage ... add an alias in the mapping", with no place on
    # the page to add one. Now each unknown stage value gets a picker.
    export = tmp_path / "crm_stages_2026-12-04.csv"
    export.write_text(
        "opportunity_id,stage,amount,close_date\n"
        "S1,Demo Scheduled,1000,2026-12-31\n"
        "S2,Verbal Yes,2500,2026-12-20\n"
        "S3,Demo Scheduled,500,2027-01-15\n"
    )
    _choose(page, "CSV, XLSX or Parquet", export)
    page.locator('[data-testid="stSelectbox"]', has_text="Verbal Yes →").wait_for(timeout=WAIT_MS)
    for value, stage in (("Verbal Yes", "Negotiation"), ("Demo Scheduled", "Discovery")):
        page.locator('[data-testid="stSelectbox"]', has_text=f"{value} →").click()
        page.get_by_role("option", name=stage, exact=True).click()
    # Wait for the rerun that has both choices: the mapping's TOML shows the aliases.
    page.get_by_text("This mapping as a file").click()
    page.get_by_text('"Demo Scheduled" = "Discovery"').wait_for(timeout=WAIT_MS)
    page.get_by_text('"Verbal Yes" = "Negotiation"').wait_for(timeout=WAIT_MS)
    _idle(page)
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="Download this mapping").click()
    got = Mapping.from_toml(Path(download.value.path()))
    assert got.stage_aliases == {"Verbal Yes": "Negotiation", "Demo Scheduled": "Discovery"}
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("0 error(s)", exact=False).wait_for(timeout=WAIT_MS)
    page.screenshot(path=str(SHOTS / "import_stage_aliases.png"), full_page=True)
    page.get_by_role("button", name="Commit import").click()
    page.get_by_text("Imported 3 rows").wait_for(timeout=WAIT_MS)
