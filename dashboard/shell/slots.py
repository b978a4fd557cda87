"""At most a few page runs compute at once, however many sessions are open.

Every session runs its script in a thread of its own. On a 1M-customer bundle one Customer or
Validation run decodes row groups and builds arrays of tens of MB; ten sessions doing that at
once held ten such working sets, and the allocator kept the peak (server RSS 724 MB with one
session, 983 MB with ten). The work is CPU-bound on few cores, so more runs at once than cores
finish no sooner; waiting for a slot bounds the memory instead (docs/performance.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SLOTS_ENV = "CHURNLENS_PAGE_SLOTS"


def slot_count() -> int:
    """CHURNLENS_PAGE_SLOTS when set to a whole number ≥ 1, else the machine's cores (at least 2)."""
    configured = os.environ.get(SLOTS_ENV, "").strip()
    if configured.isdigit() and int(configured) >= 1:
        return int(configured)
    return max(2, os.cpu_count() or 2)


_SLOTS = threading.BoundedSemaphore(slot_count())


@contextmanager
def page_slot() -> Iterator[None]:
    """Hold one of the process's page slots while a page runs (released on st.stop and reruns too)."""
    with _SLOTS:
        yield
