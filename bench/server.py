"""Start and stop a real `streamlit run dashboard/app.py` on a free loopback port.

Shared by the benchmarks that drive the dashboard and by the browser tests, so
both exercise the app the way `make serve` runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 60


class ServerError(RuntimeError):
    """The dashboard exited or did not answer its health check in time; the message has the log's tail."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else "(no log kept)"


def _wait_until_serving(url: str, proc: subprocess.Popen, log: Path | None) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"streamlit exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise ServerError(f"streamlit did not serve within {STARTUP_TIMEOUT_S} s:\n{_tail(log)}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def dashboard_server(
    artifacts: Path,
    log: Path | None = None,
    env: dict[str, str | None] | None = None,
    script: str = "dashboard/app.py",
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve `artifacts`; yields (url, process). `env` adds variables (None removes one);
    the server's output goes to `log` (discarded when None). Stopped on exit."""
    port = free_port()
    # MALLOC_ARENA_MAX as `make serve` and the deploy guide set it (see the Makefile).
    environment = {"MALLOC_ARENA_MAX": "2", **os.environ, "CHURNLENS_ARTIFACTS": str(Path(artifacts).resolve())}
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    command = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
    ]  # fmt: skip
    out = log.open("w") if log is not None else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(command, cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT)
    finally:
        if not isinstance(out, int):
            out.close()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, proc, log)
        yield url, proc
    finally:
        stop(proc)
