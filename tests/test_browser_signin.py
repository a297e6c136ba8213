"""Sign-in end to end, offline: `streamlit run` with `[auth]` pointing at a mock OIDC provider.

A local OpenID Connect provider (`oidc-provider-mock`) runs on loopback; the app's secrets
file (written to a temp dir, passed with --secrets.files) points `[auth]` at it, and the
access file turns sign-in on. Chromium signs in as the CRO and then, in a fresh browser
context, as the EMEA VP: each sees their own 'Qualified pipeline' tile, equal to the metric
layer under their scope. A signed-in stranger sees only the deny message.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import ROOT, chromium, free_port, need_chromium, small_store, streamlit_server
from oidc_provider_mock import run_server_in_thread

from steward import access, definitions, fmt, store
from steward.metrics import Query, compute, current_period

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(os.environ.get("STEWARD_SHOTS", str(ROOT / "artifacts" / "screenshots" / "signin")))
CRO = "cro@northwind.example"
VP = "vp.emea@northwind.example"
STRANGER = "stranger@elsewhere.example"
ACCESS = f"""
sign_in = true

[[grants]]
name = "CRO"
emails = ["{CRO}"]
role = "admin"

[[grants]]
name = "VP EMEA"
emails = ["{VP}"]
role = "viewer"
scope = {{ region = ["EMEA"] }}
label = "EMEA only"
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    need_chromium()
    root = tmp_path_factory.mktemp("signin")
    db = small_store(root / "steward.duckdb")
    rules = root / "access.toml"
    rules.write_text(ACCESS, encoding="utf-8")
    port = free_port()
    with run_server_in_thread() as provider:
        issuer = f"http://localhost:{provider.server_port}"
        secrets_file = root / "secrets.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            'client_id = "pipeline-steward-test"\n'
            f'client_secret = "{secrets.token_hex(16)}"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n',
            encoding="utf-8",
        )
        with streamlit_server(
            db,
            port=port,
            host="localhost",
            env={"STEWARD_ACCESS": str(rules)},
            args=("--secrets.files", str(secrets_file)),
        ) as url:
            yield {"url": url, "db": db, "rules": rules}


@pytest.fixture(scope="module")
def browser(app: dict[str, Any]) -> Iterator[Any]:
    with chromium() as b:
        yield b


def expected_total(app: dict[str, Any], email: str) -> str:
    """The board's 'Qualified pipeline' for this person, from the metric layer."""
    d = definitions.load()
    who = access.load(app["rules"]).resolve({"email": email})
    with store.reader(app["db"]) as con:
        latest = con.execute("select max(snapshot_date) from snapshots").fetchall()[0][0]
        q = access.scoped(Query(as_of=latest, period=current_period(latest, d)), who)
        return fmt.money(compute(con, "open_pipeline", q, d).value)


def sign_in(browser: Any, url: str, email: str) -> Any:
    """A fresh browser context (no cookies): sign-in screen -> provider form -> back."""
    ctx = browser.new_context(viewport={"width": 1500, "height": 1300})
    pg = ctx.new_page()
    pg.goto(url)
    pg.get_by_text("Sign in to see the pipeline").wait_for(timeout=90_000)
    pg.get_by_role("button", name="Sign in").click()
    pg.locator('input[name="sub"]').wait_for(timeout=60_000)  # the provider's own form
    pg.locator('input[name="sub"]').fill(email)
    pg.get_by_role("button", name="Authorize").click()
    return pg


def tile(pg: Any, label: str) -> str:
    box = pg.locator('[data-testid="stMetric"]', has_text=label).first
    box.wait_for(timeout=120_000)
    return str(box.locator('[data-testid="stMetricValue"]').inner_text()).strip()


def test_two_people_sign_in_and_see_two_totals(app: dict[str, Any], browser: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen = {}
    for email, shot in ((CRO, "signed_in_cro.png"), (VP, "signed_in_vp_emea.png")):
        pg = sign_in(browser, app["url"], email)
        seen[email] = tile(pg, "Qualified pipeline")
        pg.locator(
            '[data-testid="stCaptionContainer"]', has_text=f"signed in as {email}"
        ).first.wait_for(timeout=60_000)
        pg.screenshot(path=str(SHOTS / shot), full_page=True)
        pg.context.close()
    assert seen[CRO] == expected_total(app, CRO)
    assert seen[VP] == expected_total(app, VP)
    assert seen[CRO] != seen[VP]
    (SHOTS / "totals.txt").write_text(f"{CRO}: {seen[CRO]}\n{VP}: {seen[VP]}\n", encoding="utf-8")


def test_signed_out_and_unknown_people_see_no_numbers(app: dict[str, Any], browser: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1500, "height": 900})
    pg = ctx.new_page()
    pg.goto(app["url"])
    pg.get_by_text("Sign in to see the pipeline").wait_for(timeout=90_000)
    assert pg.locator('[data-testid="stMetric"]').count() == 0
    pg.screenshot(path=str(SHOTS / "signed_out.png"), full_page=True)
    ctx.close()

    pg = sign_in(browser, app["url"], STRANGER)
    pg.get_by_text("does not grant you any data").wait_for(timeout=90_000)
    assert pg.locator('[data-testid="stMetric"]').count() == 0
    assert pg.locator('[data-testid="stSidebarNav"]').count() == 0
    pg.screenshot(path=str(SHOTS / "unknown_user.png"), full_page=True)
    pg.context.close()
