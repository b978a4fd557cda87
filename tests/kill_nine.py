"""Kill -9 a child process on a chosen line of one of our modules: the atomic-write tests of
publishing (tests/bundle/test_publish.py) and of the history (tests/history/test_append_safety.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_PRELUDE = """
import os, signal, sys
target, line = {target!r}, {line}
def local(frame, event, arg):
    if event == "line" and frame.f_lineno == line:
        os.kill(os.getpid(), signal.SIGKILL)
    return local
sys.settrace(lambda frame, event, arg: local if frame.f_code.co_filename == target else None)
"""


def run_killed_at(target: str, line: int, action: str) -> subprocess.CompletedProcess[str]:
    """Run `action` (Python source) in a child that SIGKILLs itself when `target` (a module's file)
    is about to run `line`."""
    code = _PRELUDE.format(target=target, line=line) + action
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
