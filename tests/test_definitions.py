"""Governed definitions: the default file loads, and every kind of bad file is refused."""

from __future__ import annotations

import pytest

from steward import definitions
from steward.errors import DefinitionsError

GOOD = definitions.DEFAULT_PATH.read_text(encoding="utf-8")


def test_default_definitions_load():
    d = definitions.load()
    assert d.stage_names == [
        "Prospecting",
        "Discovery",
        "Solution",
        "Proposal",
        "Negotiation",
        "Closed Won",
        "Closed Lost",
    ]
    assert d.qualified_stage == "Discovery" and d.qualified_rank == 1
    assert [s.probability for s in d.stages] == [0.10, 0.20, 0.40, 0.60, 0.80, 1.0, 0.0]
    assert d.won_stage.name == "Closed Won"
    assert [s.name for s in d.lost_stages] == ["Closed Lost"]
    assert d.coverage_goal(0) == 3.0 and d.coverage_goal(1) == 2.0 and d.coverage_goal(9) is None
    assert d.stamp == f"definitions {d.version} · {d.digest}" and len(d.digest) == 8


@pytest.mark.parametrize(
    ("raw", "governed"),
    [
        ("Needs Analysis", "Discovery"),
        ("  needs   ANALYSIS ", "Discovery"),
        ("Id. Decision Makers", "Solution"),
        ("Proposal/Price Quote", "Proposal"),
        ("Negotiation/Review", "Negotiation"),
        ("Closed Won", "Closed Won"),
        ("closedlost", "Closed Lost"),
        ("Decision Maker Bought-In", "Proposal"),
        ("discovery", "Discovery"),
        ("Something Else", None),
        ("", None),
        (None, None),
    ],
)
def test_stage_aliases_resolve(raw, governed):
    assert definitions.load().resolve_stage(raw) == governed


def test_hash_changes_with_the_file():
    a = definitions.parse(GOOD)
    b = definitions.parse(GOOD.replace("speed_to_lead_hours = 24", "speed_to_lead_hours = 12"))
    assert a.digest != b.digest and b.sla_hours == 12.0


def test_marketing_sources_case_insensitive():
    d = definitions.load()
    assert d.is_marketing("marketing") and d.is_marketing(" Webinar")
    assert not d.is_marketing("SDR Outbound") and not d.is_marketing(None)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'owner = "RevOps"',
            'owner = "RevOps"\ncolour = "blue"',
            "unknown key(s) in the top level: colour",
        ),
        (
            "year_start_month = 1",
            "year_start_month = 1\nweek_start = 1",
            "unknown key(s) in [fiscal]",
        ),
        ("year_start_month = 1", "year_start_month = 13", "year_start_month must be 1-12"),
        (
            'qualified_stage = "Discovery"',
            'qualified_stage = "Qualify"',
            "qualified_stage 'Qualify' is not one of the stages",
        ),
        (
            'qualified_stage = "Discovery"',
            'qualified_stage = "Closed Won"',
            "qualified_stage must be an open stage",
        ),
        ('name = "Solution"', 'name = "Discovery"', "duplicate stage 'Discovery'"),
        ("probability = 0.40", "probability = 40", "probability 40 is outside 0-1"),
        ("probability = 0.40", "probability = 0.15", "open-stage probabilities must not decrease"),
        (
            '"Needs Analysis" = "Discovery"',
            '"Needs Analysis" = "Discovry"',
            "maps to unknown stage 'Discovry'",
        ),
        ('"0" = 3.0', '"0" = 0', "goal for offset 0 must be > 0"),
        ('version = "2026.12"', 'version = ""', "missing 'version'"),
        (
            'lost_never_seen_open = "count"',
            'lost_never_seen_open = "maybe"',
            "lost_never_seen_open must be one of count, exclude, got 'maybe'",
        ),
        ("[pipeline]", "[pipeline", "not valid TOML"),
    ],
)
def test_invalid_definitions_are_refused(old, new, message):
    assert old in GOOD
    with pytest.raises(DefinitionsError) as err:
        definitions.parse(GOOD.replace(old, new, 1), "defs.toml")
    assert message in str(err.value)
    assert str(err.value).startswith("defs.toml: ")


def test_closed_stage_before_open_stage_is_refused():
    # Move the Closed Won block in front of Negotiation.
    won = '[[stages]]\nname = "Closed Won"\nprobability = 1.0\nis_closed = true\nis_won = true\n\n'
    assert won in GOOD
    text = GOOD.replace(won, "").replace(
        '[[stages]]\nname = "Negotiation"', won + '[[stages]]\nname = "Negotiation"'
    )
    with pytest.raises(DefinitionsError, match="closed stages must come after every open stage"):
        definitions.parse(text)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DefinitionsError, match="cannot read definitions file"):
        definitions.load(tmp_path / "nope.toml")
