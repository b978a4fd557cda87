"""Native thread pools held at one thread around a call."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

_THREADPOOLS: Any = None


def one_thread(user_api: str | None = None) -> AbstractContextManager[Any]:
    """Context manager: native thread pools (OpenMP, BLAS, or all when None) at one thread.

    The loaded libraries are found once per process: `threadpool_limits()` scans them on
    every call, which cost ~28 ms each, more than a what-if rescore itself."""
    global _THREADPOOLS
    from threadpoolctl import ThreadpoolController

    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=1, user_api=user_api)
