"""Office file -> PDF (or xlsx round-trip) with LibreOffice headless.

Each conversion uses its own LibreOffice profile directory (-env:UserInstallation), so
two conversions (or a user's open LibreOffice) never fight over the same profile lock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from steward.errors import StewardError

TIMEOUT_S = 180
# One LibreOffice profile per process, so one conversion at a time per process (the app
# may ask from two sessions at once); other processes use their own profile.
_LOCK = threading.Lock()


def find_soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    return None


def convert_file(src: Path, fmt: str, outdir: Path) -> Path:
    """Convert `src` with `soffice --convert-to fmt`; returns the written file's path."""
    soffice = find_soffice()
    if soffice is None:
        raise StewardError(
            "cannot convert: LibreOffice (soffice) is not installed",
            ["On Debian/Ubuntu: sudo apt-get install libreoffice-impress libreoffice-calc"],
        )
    profile = Path(tempfile.gettempdir()) / f"lo_{os.getpid()}"
    cmd = [
        soffice,
        "--headless",
        "--norestore",
        f"-env:UserInstallation=file://{profile}",
        "--convert-to",
        fmt,
        "--outdir",
        str(outdir),
        str(src),
    ]
    try:
        with _LOCK:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
    except subprocess.TimeoutExpired as exc:
        raise StewardError(
            f"LibreOffice did not finish converting {src.name} in {TIMEOUT_S} s"
        ) from exc
    out = outdir / (src.stem + "." + fmt.split(":")[0])
    if proc.returncode != 0 or not out.exists():
        raise StewardError(
            f"LibreOffice could not convert {src.name} to {fmt}",
            [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()][-5:],
        )
    return out


def to_pdf(data: bytes, suffix: str = ".pptx") -> bytes:
    """PDF bytes of an Office document given as bytes."""
    with tempfile.TemporaryDirectory(prefix="steward_pdf_") as tmp:
        src = Path(tmp) / f"board_pack{suffix}"
        src.write_bytes(data)
        outdir = Path(tmp) / "out"
        outdir.mkdir()
        return convert_file(src, "pdf", outdir).read_bytes()
