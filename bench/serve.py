"""`streamlit run` of the app on a free port, for the browser tests and `make bench-browser`.

One implementation of starting the server and waiting for its health check, so the tests
and the benchmark measure the same thing the same way.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(
    db: Path,
    timeout_s: float = 60.0,
    *,
    app: Path = APP,
    port: int | None = None,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    host: str = "127.0.0.1",
) -> Iterator[str]:
    """`streamlit run <app>` (default: this checkout's) on a free port or `port`, serving
    `db`; yields the base URL once the health check answers.

    `app` may be another checkout's entrypoint (the benchmark's before/after runs); `env`
    adds environment variables (e.g. STEWARD_ACCESS) and `args` Streamlit options (e.g.
    `--secrets.files`, for the sign-in test's own secrets file).
    """
    port = port or free_port()
    # The checkout's warm launcher when it has one (dashboard/launch.py: imports and the
    # store memo done before the server answers, as `make run` starts it), else plain
    # `streamlit run` (an older checkout's entrypoint, for before/after figures).
    launch = app.parent / "launch.py"
    start = ["-m", "dashboard.launch"] if launch.exists() else ["-m", "streamlit", "run", str(app)]
    cmd = [
        sys.executable,
        *start,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        *args,
    ]
    full_env = {**os.environ, "STEWARD_DB": str(db), **(env or {})}
    # The server's output goes to a file, not a pipe nobody reads (a full pipe would stall
    # the server in a long benchmark); it is shown when the server fails to start.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd, cwd=app.parents[1], env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://{host}:{port}"
        try:
            _wait_healthy(url, proc, log, timeout_s)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_healthy(url: str, proc: subprocess.Popen, log: IO[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            log.seek(0)
            out = log.read().decode(errors="replace")
            raise RuntimeError(f"streamlit did not start:\n{out[-3000:]}")
        time.sleep(0.3)
