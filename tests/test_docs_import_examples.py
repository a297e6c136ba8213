"""docs/import-formats.md's worked examples are run, so the docs stay honest.

Each example under "## Worked examples" is a set of fenced files (```csv file=NAME,
```toml file=NAME), a ```console block with one `$ steward ...` command and its exact
output, and for loaded files a ```text stored block: what the importer keeps, for the
columns in its header line. The test writes the files to a fresh folder, runs the
command through the CLI and the importer, and compares both with the text in the doc.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

from steward import definitions, ingest
from steward.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "import-formats.md"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.M | re.S)
ESCAPES = {"\\v": "\x0b", "\\a": "\x07"}  # control characters are written escaped in the doc


def examples() -> list[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    part = text.split("## Worked examples", 1)[1].split("\n## ", 1)[0]
    return [
        (m.group(1).strip(), m.group(2))
        for m in re.finditer(r"^### (.+?)\n(.*?)(?=^### |\Z)", part, re.M | re.S)
    ]


def stored_table(frame: pd.DataFrame, cols: list[str]) -> str:
    """The columns as the doc shows them: dates YYYY-MM-DD, money with two decimals."""
    shown = frame[cols].copy()
    for c in cols:
        if c.endswith("_date"):
            shown[c] = shown[c].dt.strftime("%Y-%m-%d")
        elif c == "amount":
            shown[c] = shown[c].map("{:.2f}".format)
    return shown.to_string(index=False)


def test_every_mapping_feature_has_an_example() -> None:
    titles = [t for t, _ in examples()]
    for feature in (
        "Stage aliases",
        "Value maps",
        "Date format and decimal comma",
        "Fill blanks",
        "Row filters",
        "Lookups",
        "Id from a name",
        "A key that would be ignored is refused",
        "Dates outside the governed window",
        "Control characters",
    ):
        assert feature in titles


@pytest.mark.parametrize(("title", "body"), examples(), ids=[t for t, _ in examples()])
def test_worked_example(
    title: str,
    body: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocks = [(m.group(1), m.group(2).strip(), m.group(3)) for m in FENCE.finditer(body)]
    for _lang, info, content in blocks:
        if info.startswith("file="):
            for shown, char in ESCAPES.items():
                content = content.replace(shown, char)
            (tmp_path / info.removeprefix("file=")).write_text(content, encoding="utf-8")
    console = next(c for lang, _, c in blocks if lang == "console")
    command, expected = console.split("\n", 1)
    argv = shlex.split(command.removeprefix("$ "))
    assert argv[0] == "steward"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STEWARD_DB", str(tmp_path / "s.duckdb"))
    main(argv[1:])
    out, err = capsys.readouterr()
    assert out + err == expected
    stored = [c for lang, info, c in blocks if lang == "text" and info == "stored"]
    if stored:
        cols = stored[0].split("\n", 1)[0].split()
        mapping = tmp_path / argv[argv.index("--mapping") + 1] if "--mapping" in argv else None
        prepared = ingest.prepare(tmp_path / argv[2], definitions.load(), mapping=mapping)
        assert stored_table(prepared.frame, cols) + "\n" == stored[0]
