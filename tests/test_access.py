"""The access file (validated like the definitions), deny by default, `steward --as`, audit.

The fixture store (tests/fixtures_pipeline.py) at 2026-11-16, FY2026-Q4: open pipeline
379,000 in all; EMEA 110,000 (O06 75,000 + O11 35,000); SMB 12,000 (O09).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures_pipeline import run_cli as run
from fixtures_pipeline import write

from steward import access, store

ACCESS = """
version = "test"
sign_in = true

[[grants]]
name = "CRO"
emails = ["cro@northwind.example"]
role = "admin"

[[grants]]
name = "VP EMEA"
emails = ["VP.EMEA@northwind.example"]
role = "viewer"
scope = { region = "EMEA" }
label = "EMEA only"

[[grants]]
name = "SMB leads"
claims = { groups = ["smb-leads"] }
role = "viewer"
scope = { segment = ["SMB"] }
"""


@pytest.fixture
def access_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "access.toml"
    path.write_text(ACCESS, encoding="utf-8")
    monkeypatch.setenv("STEWARD_ACCESS", str(path))
    return path


@pytest.fixture
def db(tmp_path: Path) -> str:
    return write(tmp_path / "fixture.duckdb")


def test_grants_match_on_email_or_a_claim_and_deny_by_default(access_file: Path) -> None:
    policy = access.load()
    assert policy.sign_in
    cro = policy.resolve({"email": "cro@northwind.example", "is_logged_in": True})
    assert (cro.role, cro.scope.is_all, cro.is_admin) == ("admin", True, True)
    vp = policy.resolve({"email": "vp.emea@NorthWind.example"})  # e-mails match any case
    assert (vp.role, vp.scope.rules, vp.scope.label) == (
        "viewer",
        (("region", ("EMEA",)),),
        "EMEA only",
    )
    lead = policy.resolve({"email": "someone@northwind.example", "groups": ["staff", "smb-leads"]})
    assert (lead.grant, lead.scope.label) == ("SMB leads", "SMB only")
    stranger = policy.resolve({"email": "stranger@elsewhere.example"})
    assert stranger.denied and not stranger.is_admin and stranger.scope.rules == (("segment", ()),)


def test_no_access_file_is_the_open_local_demo(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("STEWARD_ACCESS", raising=False)
    monkeypatch.setattr(access, "DEFAULT_PATH", tmp_path / "absent.toml")
    policy = access.load()
    assert (policy.sign_in, policy.grants, policy.version) == (False, (), "embedded default")


def test_the_shipped_access_file_is_valid_and_open() -> None:
    policy = access.load(access.DEFAULT_PATH)
    assert policy.sign_in is False
    assert policy.user("vp.emea@northwind.example").scope.label == "EMEA only"


def test_a_bad_access_file_lists_every_problem_with_where_it_is(tmp_path: Path) -> None:
    bad = tmp_path / "access.toml"
    bad.write_text(
        """
sign_in = "yes"
colour = "blue"
[[grants]]
name = "VP"
emails = ["not-an-email"]
role = "boss"
scope = { territory = "EMEA", region = [] }
[[grants]]
name = "vp"
role = "viewer"
""",
        encoding="utf-8",
    )
    with pytest.raises(access.AccessError) as err:
        access.load(bad)
    assert str(err.value) == f"{bad}: invalid access file (8 problems)"
    assert err.value.details == [
        "unknown key 'colour' (allowed: grants, sign_in, version)",
        "sign_in = 'yes': must be true or false",
        "grants[1] (VP): role = 'boss': must be one of admin, viewer",
        "grants[1] (VP): emails: 'not-an-email' is not an e-mail address",
        "grants[1] (VP): scope.territory: unknown dimension "
        "(allowed: segment, region, source, owner, product, stage)",
        "grants[1] (VP): scope.region = []: must be a non-empty string or list of strings",
        "grants[2] (vp): names nobody (give emails or claims)",
        "grant name 'vp' is used twice",
    ]


def test_cli_as_user_applies_their_scope(db: str, access_file: Path, capsys) -> None:
    base = ["metrics", "open_pipeline", "--db", db, "--format", "json"]
    _, out, _ = run(capsys, *base)
    assert json.loads(out)["value"] == 379000.0  # the local admin sees every deal
    _, out, _ = run(capsys, *base, "--as", "vp.emea@northwind.example")
    got = json.loads(out)
    assert (got["value"], got["query"]["region"]) == (110000.0, ["EMEA"])
    # A filter outside the scope matches nothing; the grant's name works as well.
    _, out, _ = run(capsys, *base, "--as", "VP EMEA", "--region", "NA")
    assert json.loads(out)["value"] == 0.0
    code, _, err = run(capsys, *base, "--as", "stranger@elsewhere.example")
    assert code == 1
    assert "error: --as stranger@elsewhere.example: the access file grants them nothing" in err


def test_cli_viewers_cannot_change_the_store_and_admin_actions_are_audited(
    db: str, access_file: Path, tmp_path: Path, capsys
) -> None:
    code, _, err = run(
        capsys,
        "delete-snapshot",
        "2026-11-16",
        "--yes",
        "--db",
        db,
        "--as",
        "vp.emea@northwind.example",
    )
    assert code == 1
    assert "vp.emea@northwind.example may not delete-snapshot: only admins" in err
    code, _, _ = run(capsys, "delete-snapshot", "2026-10-19", "--yes", "--db", db, "--as", "CRO")
    assert code == 0
    out_xlsx = tmp_path / "emea.xlsx"
    code, _, _ = run(
        capsys, "export-xlsx", str(out_xlsx), "--db", db, "--as", "vp.emea@northwind.example"
    )
    assert code == 0
    with store.reader(db) as con:
        rows = store.audit_log(con)[["who", "action", "target", "scope"]].values.tolist()
        snaps = store.list_snapshots(con)
    assert rows == [
        ["vp.emea@northwind.example", "export", str(out_xlsx), "EMEA only"],
        ["CRO", "delete", "snapshot 2026-10-19", "All deals"],
    ]
    assert "2026-10-19" not in {d.isoformat() for d in snaps["snapshot_date"].dt.date}


def test_the_snapshot_list_under_a_scope_counts_only_its_rows(
    db: str, access_file: Path, capsys
) -> None:
    # B = 2026-11-16 has 5 EMEA rows: O02, O06, O11, O14, O15; every date is still listed.
    _, out, _ = run(capsys, "snapshots", "--db", db, "--as", "vp.emea@northwind.example")
    line = next(row for row in out.splitlines() if row.strip().startswith("2026-11-16"))
    assert line.split()[1] == "5"
    assert "4 snapshot(s)" in out


def test_secrets_stay_out_of_git() -> None:
    ignored = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert ".streamlit/secrets.toml" in ignored


def test_each_digest_recipient_gets_their_own_scope(access_file: Path, capsys) -> None:
    import argparse

    from steward.cli.review_cmds import digest_plan

    local = access.for_cli(None)
    args = argparse.Namespace(access=local, as_user=None)
    plan = digest_plan(args, ["cro@northwind.example", "vp.emea@northwind.example", "x@y.example"])
    assert [(who.scope.label, to) for who, to in plan] == [
        ("All deals", ["cro@northwind.example"]),
        ("EMEA only", ["vp.emea@northwind.example"]),
    ]  # sign-in is on: the stranger gets nothing, and the command says so
    assert "not sent to x@y.example: the access file grants them nothing" in capsys.readouterr().err
    # --as: that user's digest for everyone.
    vp = access.for_cli("VP EMEA")
    plan = digest_plan(argparse.Namespace(access=vp, as_user="VP EMEA"), ["a@b.example"])
    assert [(who.scope.label, to) for who, to in plan] == [("EMEA only", ["a@b.example"])]


def test_a_decision_is_shown_only_inside_the_scope_it_was_taken_in() -> None:
    from steward.metrics import Filters, RowScope
    from steward.review.decisions import within

    emea = RowScope.of(region="EMEA")
    assert within(Filters.of(region="EMEA", segment="SMB"), emea)
    assert not within(Filters(), emea)  # a company-wide decision shows company numbers
    assert not within(Filters.of(region=["EMEA", "NA"]), emea)
    assert within(Filters(), RowScope())


def test_only_a_full_view_admin_records_the_company_maturity_history(
    db: str, access_file: Path, capsys
) -> None:
    code, _, err = run(capsys, "maturity", "--record", "--db", db, "--as", "VP EMEA")
    assert code == 1 and "may not record maturity placements" in err
