"""Every SQL string in `lib/steward` binds named parameters (`$name` with a dict).

A positional `?` list spliced from fragments binds by where each fragment lands, so a
reordered CTE silently swaps two dates; named parameters survive any reordering (STYLE
§13). The scan reads every string literal (f-string text included) of the package and
flags a `?` in a placeholder position: after a comparison, a comma, an opening bracket or
a keyword, and followed by the end, a separator or a cast. Regular expressions (`(?:`,
`[-_.]?`) and prose questions do not look like that.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from steward.sqlbind import merge

LIB = Path(__file__).resolve().parents[1] / "lib" / "steward"

PLACEHOLDER = re.compile(
    r"(?:[=<>,(]|\b(?:in|limit|then|else|and|or|values|is|not|between))\s*\?"
    r"(?=\s*(?:$|[,);]|\s|::[a-z]))",
    re.IGNORECASE,
)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string literal, the literal parts of f-strings included."""
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def positional_placeholders(root: Path = LIB) -> list[str]:
    """'path:line: text' for each string under `root` holding a positional placeholder."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, text in _strings(tree):
            if PLACEHOLDER.search(text):
                found.append(f"{path.relative_to(root.parent)}:{line}: {text.strip()[:80]!r}")
    return found


@pytest.mark.parametrize(
    ("text", "positional"),
    [
        ("where s.snapshot_date = ?", True),
        ("list_contains(?::varchar[], s.stage)", True),
        ("insert into import_log values (?, ?, ?)", True),
        (" and s.close_date >= ? and s.close_date < ?", True),
        ("order by audit_id desc limit ?", True),
        ("where s.snapshot_date = $as_of", False),
        ("list_contains($stages::varchar[], s.stage)", False),
        (r"[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?", False),
        (r"(?<!\d)(\d{4})[-_.]?(\d{2})", False),
        ("Is Deal Closed?", False),
        ("metric: none given (which number should move?)", False),
    ],
)
def test_the_scan_tells_a_placeholder_from_a_regex_or_a_question(
    text: str, positional: bool
) -> None:
    assert bool(PLACEHOLDER.search(text)) is positional


def test_no_positional_sql_parameters_in_the_package() -> None:
    assert positional_placeholders() == []


def test_merge_refuses_one_name_bound_to_two_values() -> None:
    assert merge({"a": 1}, {"a": 1, "b": 2}) == {"a": 1, "b": 2}
    with pytest.raises(ValueError, match=r"\$a"):
        merge({"a": 1}, {"a": 2})


def positional_bindings(root: Path = LIB) -> list[str]:
    """'path:line' for each `execute`/`executemany`/`sql` call that passes its parameters
    as a list or tuple literal (positional binding, whatever the SQL text says)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute", "executemany", "sql")
            ):
                continue
            args = [*node.args[1:], *(k.value for k in node.keywords if k.arg == "params")]
            if any(isinstance(a, ast.List | ast.Tuple | ast.ListComp) for a in args):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def test_no_query_binds_a_list_of_values() -> None:
    assert positional_bindings() == []
