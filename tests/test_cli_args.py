"""One argument parser for every command (steward.cli.args), and a quiet broken pipe.

Seen: `steward metrics open_pipeline --segment Enterprise,SMB` returned 0.0 (one segment
named "Enterprise,SMB") while `steward narrative` split the same argument; piping any
command into `head` ended with a BrokenPipeError traceback.

The fixture store (tests/fixtures_pipeline.py), FY2026-Q4 as of 2026-11-16. Open
qualified pipeline closing in Q4: Enterprise O06 75,000 + O10 80,000 + O16 22,000
= 177,000; SMB O09 12,000 + O12 0 = 12,000; together 189,000.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_pipeline import run_cli as run
from fixtures_pipeline import write

from steward.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write(tmp_path_factory.mktemp("cli_args") / "fixture.duckdb")


@pytest.mark.parametrize(
    "segments",
    [
        ["--segment", "Enterprise,SMB"],
        ["--segment", "Enterprise", "--segment", "SMB"],
        ["--segment", " SMB , Enterprise "],
    ],
    ids=["commas", "repeated", "padded"],
)
def test_metrics_splits_a_filter_list_like_every_command(
    db: str, capsys: pytest.CaptureFixture[str], segments: list[str]
) -> None:
    code, out, _ = run(
        capsys, "metrics", "open_pipeline", "--db", db, *segments, "--format", "json"
    )
    assert code == 0
    got = json.loads(out)
    assert got["value"] == 189000.0
    assert got["query"]["segment"] == ["Enterprise", "SMB"]


COMMANDS = {
    "metrics": ["metrics", "open_pipeline"],
    "report": ["report"],
    "narrative": ["narrative"],
    "export-xlsx": ["export-xlsx", "out.xlsx"],
    "board-pack": ["board-pack", "out.pptx"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_query_command_parses_filters_and_dates_the_same_way(command: str) -> None:
    from steward.cli.args import query_from_args

    ns = build_parser().parse_args(
        [
            *COMMANDS[command],
            "--segment",
            "Enterprise,SMB",
            "--region",
            "NA",
            "--as-of",
            "2026-11-16",
        ]
    )
    assert ns.segment == ["Enterprise", "SMB"] and ns.region == ["NA"]
    assert str(ns.as_of) == "2026-11-16"
    assert query_from_args.__module__ == "steward.cli.args"


def test_a_filter_does_not_swallow_the_output_file() -> None:
    ns = build_parser().parse_args(["export-xlsx", "--segment", "SMB", "out.xlsx"])
    assert ns.segment == ["SMB"] and str(ns.out) == "out.xlsx"


BAD_DATES = {
    "metrics": ["metrics", "open_pipeline", "--as-of", "2026-13-01"],
    "narrative": ["narrative", "--as-of", "2026-13-01"],
    "check": ["check", "--as-of", "2026-13-01"],
    "import": ["import", "x.csv", "--snapshot-date", "2026-13-01"],
    "delete-snapshot": ["delete-snapshot", "2026-13-01"],
    "demo": ["demo", "--end-date", "2026-13-01"],
}


@pytest.mark.parametrize("command", list(BAD_DATES))
def test_a_bad_date_reads_the_same_on_every_command(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(BAD_DATES[command])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "'2026-13-01' is not a date like 2026-11-20 (YYYY-MM-DD)" in err


def test_report_and_narrative_read_the_same_filters(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "report", "--db", db, "--segment", "Enterprise,SMB", "--format", "json"
    )
    assert code == 0
    tiles = {k["id"]: k for k in json.loads(out)["kpis"]}
    assert tiles["qualified_pipeline"]["value"] == 189000.0
    code, out, _ = run(
        capsys, "narrative", "--db", db, "--segment", "Enterprise,SMB", "--format", "json"
    )
    assert code == 0 and "189" in out


# --- a closed pipe ends quietly --------------------------------------------------------

PIPED = {
    "snapshots": ["snapshots"],
    "metrics --list": ["metrics", "--list"],
    "metrics csv": ["metrics", "waterfall", "--format", "csv"],
    "report": ["report"],
    "narrative": ["narrative"],
    "check": ["check"],
    "glossary": ["glossary"],
}


@pytest.mark.parametrize("command", list(PIPED))
def test_a_reader_that_goes_away_ends_the_command_quietly(db: str, command: str) -> None:
    """`steward … | head -1`: the reader closes the pipe; no BrokenPipeError traceback."""
    env = {**os.environ, "STEWARD_DB": db, "PYTHONPATH": str(ROOT / "lib")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "steward.cli", *PIPED[command]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `head` that has read what it wanted (here: nothing)
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code in (0, 141), (code, err)  # 141 = 128 + SIGPIPE, what a shell tool reports
