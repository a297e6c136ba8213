"""Debian tools some tests drive (chromium, LibreOffice, pdftoppm).

`make test` installs them (scripts/system-deps.sh). On a developer's machine without them
those tests skip with the reason; under CI (`CI` set) a missing tool fails the test instead,
so a broken install step can never turn into a green run that tested nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def require(present: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) when a system tool the test needs is missing."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI must install it (scripts/system-deps.sh)")
    pytest.skip(why)


def recalculated(xlsx: bytes, tmp_path: Path, tag: str) -> Path:
    """`xlsx` opened, recalculated and saved by LibreOffice headless; the saved file."""
    soffice = shutil.which("soffice")
    require(soffice is not None, "LibreOffice (soffice) is not installed")
    assert soffice is not None
    src = tmp_path / "in" / "book.xlsx"
    src.parent.mkdir()
    src.write_bytes(xlsx)
    out = tmp_path / "out"
    profile = Path(f"/tmp/lo_{os.getpid()}_{tag}")
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{profile}",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return out / "book.xlsx"
