"""Debian tools some tests drive (chromium, LibreOffice, pdftoppm).

`make test` installs them (scripts/system-deps.sh). On a developer's machine without them
those tests skip with the reason; under CI (`CI` set) a missing tool fails the test instead,
so a broken install step can never turn into a green run that tested nothing.
"""

from __future__ import annotations

import os

import pytest


def require(present: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) when a system tool the test needs is missing."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI must install it (scripts/system-deps.sh)")
    pytest.skip(why)
