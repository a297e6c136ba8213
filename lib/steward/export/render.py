"""Plotly figures -> PNG bytes through kaleido, one headless Chromium for the whole batch.

Kaleido drives a Chromium browser. We point it at Debian's /usr/bin/chromium (or
$STEWARD_CHROMIUM) and open it once per board pack: every chart is rendered in the
same session, because starting a browser costs seconds and a pack has many charts.
MathJax is disabled so nothing is fetched from the network.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from steward.errors import StewardError

ENV_VAR = "STEWARD_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@dataclass(frozen=True)
class Image:
    """One figure to render, in CSS pixels (the PNG is `scale` times larger)."""

    fig: go.Figure
    width: int = 1200
    height: int = 560
    scale: float = 2.0


def find_chromium() -> str:
    """The Chromium binary kaleido should drive; StewardError when none is installed."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        raise StewardError(f"${ENV_VAR} points at {explicit!r}, which is not an executable")
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise StewardError(
        "cannot render charts: no Chromium browser found",
        [
            "The board pack draws its charts with kaleido, which needs Chromium.",
            "On Debian/Ubuntu: sudo apt-get install chromium",
            f"Or set ${ENV_VAR} to the browser's path.",
        ],
    )


async def _render_all(images: Sequence[Image], browser: str) -> list[bytes]:
    import kaleido

    out: list[bytes] = []
    async with kaleido.Kaleido(n=1, mathjax=False, path=browser) as k:
        for im in images:
            opts = {"format": "png", "width": im.width, "height": im.height, "scale": im.scale}
            out.append(bytes(await k.calc_fig(im.fig, opts=opts)))
    return out


def _run(coro: Any) -> Any:
    """asyncio.run, also from a thread that already runs an event loop (e.g. a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def render_pngs(images: Sequence[Image]) -> list[bytes]:
    """Render every figure in one browser session; PNG bytes in the same order."""
    if not images:
        return []
    browser = find_chromium()
    try:
        return list(_run(_render_all(images, browser)))
    except StewardError:
        raise
    except Exception as exc:
        raise StewardError(
            f"chart rendering failed: {type(exc).__name__}: {exc}",
            [f"browser: {browser}", "Check that Chromium starts headless on this machine."],
        ) from exc
