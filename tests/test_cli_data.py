"""The data commands, end to end through `steward.cli.main`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from steward import store
from steward.cli import data_cmds, main

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
REPORT = str(SAMPLES / "salesforce_report_2026-11-20.csv")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_data_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in (
        "import",
        "import-targets",
        "import-table",
        "reconstruct",
        "snapshots",
        "delete-snapshot",
        "export-parquet",
    ):
        assert f"    {cmd}" in out


def test_import_replace_snapshots_log_delete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "s.duckdb")
    code, out, _ = run(capsys, "import", REPORT, "--db", db)
    assert code == 0 and "committed import 1" in out
    code, _, err = run(capsys, "import", str(SAMPLES / "hubspot_deals_2026-11-20.csv"), "--db", db)
    assert code == 1
    assert "error: hubspot_deals_2026-11-20.csv: snapshot date(s) already loaded: 2026-11-20" in err
    assert "--replace" in err
    code, out, _ = run(
        capsys, "import", str(SAMPLES / "hubspot_deals_2026-11-20.csv"), "--db", db, "--replace"
    )
    assert code == 0
    code, out, _ = run(capsys, "snapshots", "--db", db)
    assert "2026-11-20" in out and "44,500.00" in out and "1 snapshot(s), 4 rows" in out
    code, out, _ = run(capsys, "snapshots", "--log", "--db", db)
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["3", "2", "1"]
    assert "rejected" in out and "committed" in out
    code, _, err = run(capsys, "delete-snapshot", "2026-11-20", "--db", db)
    assert code == 1 and "without --yes" in err
    code, out, _ = run(
        capsys,
        "import",
        str(SAMPLES / "Opportunity.csv"),
        "--snapshot-date",
        "2026-11-27",
        "--db",
        db,
    )
    assert code == 0
    code, out, _ = run(capsys, "delete-snapshot", "2026-11-20", "--yes", "--db", db)
    assert code == 0 and "deleted snapshot 2026-11-20 (4 rows)" in out
    code, out, _ = run(capsys, "snapshots", "--db", db)
    assert "2026-11-20" not in out and "1 snapshot(s), 4 rows" in out


def test_bad_file_message_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.duckdb"
    assert run(capsys, "import", REPORT, "--db", str(db))[0] == 0
    with store.reader(db) as con:
        before = con.execute("select * from snapshots order by all").fetchall()
    bad = tmp_path / "bad_2026-11-27.csv"
    bad.write_text(
        "opportunity_id,stage,close_date,amount\nA,Discovery,2026-12-01,5\nB,Shortlist,2026-12-01,5\n"
    )
    code, out, err = run(capsys, "import", str(bad), "--db", str(db))
    assert code == 1
    assert "error: bad_2026-11-27.csv: 1 error(s); nothing was written" in err
    assert "error: bad_2026-11-27.csv, row 3, column 'stage': unknown stage" in out
    with store.reader(db) as con:
        assert con.execute("select * from snapshots order by all").fetchall() == before


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.duckdb"
    code, out, _ = run(capsys, "import", REPORT, "--dry-run", "--db", str(db))
    assert code == 0 and "dry run: nothing was written" in out
    assert not db.exists()


def test_mapping_preset_and_snapshot_date_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "s.duckdb")
    code, _, _ = run(
        capsys,
        "import",
        str(SAMPLES / "Opportunity.csv"),
        "--preset",
        "salesforce_data_export",
        "--snapshot-date",
        "2026-11-27",
        "--db",
        db,
    )
    assert code == 0
    code, _, _ = run(
        capsys,
        "import",
        str(SAMPLES / "custom_pipeline_2026-11-20.csv"),
        "--mapping",
        str(SAMPLES / "custom_pipeline.mapping.toml"),
        "--db",
        db,
    )
    assert code == 0
    with store.reader(db) as con:
        rows = con.execute(
            "select snapshot_date::varchar, count(*), sum(amount) from snapshots group by 1 order by 1"
        ).fetchall()
    # custom: 1234.50 + 12000 + 950 + 0 = 14184.50; data export: 275750.50
    assert rows == [("2026-11-20", 4, Decimal("14184.50")), ("2026-11-27", 4, Decimal("275750.50"))]


def test_reconstruct_and_export_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "s.duckdb")
    code, out, _ = run(
        capsys,
        "reconstruct",
        "--history",
        str(SAMPLES / "history" / "OpportunityHistory.csv"),
        "--opportunities",
        str(SAMPLES / "history" / "Opportunity.csv"),
        "--from",
        "2026-01-02",
        "--to",
        "2026-01-30",
        "--weekday",
        "fri",
        "--db",
        db,
    )
    assert code == 0, out
    outdir = tmp_path / "parquet"
    code, out, _ = run(capsys, "export-parquet", str(outdir), "--db", db)
    assert code == 0 and "wrote 10 rows in 4 partition(s)" in out
    assert sorted(p.name for p in outdir.iterdir()) == [
        "snapshot_date=2026-01-09",
        "snapshot_date=2026-01-16",
        "snapshot_date=2026-01-23",
        "snapshot_date=2026-01-30",
    ]
    back = duckdb.sql(
        f"select snapshot_date::varchar, sum(amount) from read_parquet('{outdir}/*/*.parquet', hive_partitioning = true) group by 1 order by 1"
    ).fetchall()
    assert back == [
        ("2026-01-09", Decimal("180.00")),
        ("2026-01-16", Decimal("200.00")),
        ("2026-01-23", Decimal("230.00")),
        ("2026-01-30", Decimal("260.00")),
    ]
    code, _, err = run(capsys, "export-parquet", str(outdir), "--db", db)
    assert code == 1 and "is not empty" in err


def test_import_targets_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "s.duckdb")
    targets = tmp_path / "targets.csv"
    targets.write_text(
        "period,segment,bookings_target,pipeline_target\nFY2026-Q4,All,1000000,3000000\n"
    )
    assert run(capsys, "import-targets", str(targets), "--db", db)[0] == 0
    touches = tmp_path / "touches.csv"
    touches.write_text("opportunity_id,touch_date,channel\nO1,2026-11-02,Webinar\n")
    assert run(capsys, "import-table", "touches", str(touches), "--db", db)[0] == 0
    with store.reader(db) as con:
        assert con.execute("select count(*) from targets").fetchone() == (1,)
        assert con.execute("select count(*) from touches").fetchone() == (1,)


def test_progress_lines_for_big_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_cmds, "BIG_FILE_BYTES", 0)
    code, _, err = run(capsys, "import", REPORT, "--dry-run", "--db", str(tmp_path / "s.duckdb"))
    assert code == 0
    steps = [line.split(":")[1].split("%")[0].strip() for line in err.splitlines() if "%" in line]
    assert steps[0] == "0" and steps[-1] == "100"
    assert steps == sorted(steps, key=int) and len(set(steps)) == len(steps)


def test_store_is_opened_only_after_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write lock (which blocks dashboard readers) is taken only for the transaction."""
    events: list[str] = []
    real_writer = store.writer
    real_progress = data_cmds.Progress.__call__

    def spy_writer(*a: object, **kw: object):  # type: ignore[no-untyped-def]
        events.append("writer opened")
        return real_writer(*a, **kw)  # type: ignore[arg-type]

    def spy_progress(self: data_cmds.Progress, fraction: float, message: str) -> None:
        events.append(f"progress {fraction:.2f}")
        real_progress(self, fraction, message)

    monkeypatch.setattr(store, "writer", spy_writer)
    monkeypatch.setattr(data_cmds.Progress, "__call__", spy_progress)
    assert run(capsys, "import", REPORT, "--db", str(tmp_path / "s.duckdb"))[0] == 0
    assert events[-1] == "writer opened"
    assert events[-2] == "progress 1.00"
    assert events.count("writer opened") == 1


def test_a_file_refused_before_validation_is_in_the_import_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file refused while it is read (no recognisable columns) leaves a `rejected` line
    in an existing store's log, as the Import page does; a dry run writes nothing."""
    db = str(tmp_path / "s.duckdb")
    assert run(capsys, "import", REPORT, "--db", db)[0] == 0
    odd = tmp_path / "notes.csv"
    odd.write_text("foo,bar\n1,2\n")
    code, _, err = run(capsys, "import", str(odd), "--db", db, "--dry-run")
    assert code == 1 and "notes.csv" in err
    with store.reader(db) as con:
        assert len(store.import_log(con)) == 1
    code, _, err = run(capsys, "import", str(odd), "--db", db)
    assert code == 1
    with store.reader(db) as con:
        log = store.import_log(con)
    assert list(log["outcome"]) == ["rejected", "committed"]
    assert log["file_name"].iloc[0] == "notes.csv"
    assert err.splitlines()[0].removeprefix("error: ") in log["message"].iloc[0]
