"""How long a failed sign-in waits before its answer, and who counts as one client.

Two counters, both remembered for 15 minutes: one per client address and one for the
whole server. A client's delay doubles per failure (0.5 s … 8 s); the global one starts
after `GLOBAL_FREE` failures from anywhere, so many addresses (or a proxy that hides
them) cannot multiply the guessing rate. Answers to failures are given one at a time
under a process-wide lock: parallel sessions queue behind each other's delay instead of
each sleeping on its own (six parallel guesses used to come back within one delay).
A correct password forgets only its own client's failures, never the global count.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable

MAX_DELAY_S = 8.0
FAILURE_MEMORY_S = 15 * 60
GLOBAL_KEY = "*"  # not an address, so no client can collide with it
GLOBAL_FREE = 10
CLIENT_IP_HEADER_ENV = "CHURNLENS_CLIENT_IP_HEADER"

_failures: dict[str, tuple[int, float]] = {}
_failures_lock = threading.Lock()
# Held while a failed attempt waits out its delay: the next failure's answer waits its turn.
_answer_lock = threading.Lock()


def _count(key: str, now: float) -> int:
    count, last = _failures.get(key, (0, now))
    count = 1 if now - last > FAILURE_MEMORY_S else count + 1
    _failures[key] = (count, now)
    return count


def failure_delay(client: str, now: float | None = None) -> float:
    """Record a failed attempt from `client`; the wait before answering, in seconds."""
    now = time.monotonic() if now is None else now
    with _failures_lock:
        own = _count(client, now)
        everyone = _count(GLOBAL_KEY, now)
    own_delay = 0.5 * 2 ** (own - 1)
    global_delay = 0.5 * 2 ** (everyone - GLOBAL_FREE - 1) if everyone > GLOBAL_FREE else 0.0
    return min(max(own_delay, global_delay), MAX_DELAY_S)


def forget_failures(client: str) -> None:
    with _failures_lock:
        _failures.pop(client, None)


def forget_everything() -> None:
    """Tests start from a clean slate (the counters are process-wide on purpose)."""
    with _failures_lock:
        _failures.clear()


def answer_failure(client: str, sleep: Callable[[float], None] = time.sleep) -> float:
    """Wait out `client`'s delay while holding the answer lock; the delay waited, in seconds."""
    with _answer_lock:
        delay = failure_delay(client)
        sleep(delay)
    return delay


def client_address(header: str, values: list[str], peer: str | None) -> str:
    """Who is signing in, as the throttle's key.

    With `header` configured (the proxy's X-Forwarded-For or X-Real-IP), the address is the
    *last* entry of that header: a proxy appends the address it saw, and anything before it
    came from the client and can be forged. Without the header behind a configured proxy the
    request bypassed it or the proxy is misconfigured: all such requests share one key.
    Without a configured header, Streamlit's own peer address (None on loopback)."""
    if not header:
        return peer or "unknown"
    entries = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if not entries:
        return f"no {header}"
    try:
        return str(ipaddress.ip_address(entries[-1]))
    except ValueError:
        return f"bad {header}"
