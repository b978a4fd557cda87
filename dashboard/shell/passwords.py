"""Password hashes for the shared-password sign-in: make, parse, verify.

Stored forms: "scrypt$n$r$p$salt$hash" or "pbkdf2_sha256$iterations$salt$hash" (base64).
New hashes use OWASP's current scrypt minimum (N=2^17, r=8, p=1: 128 MiB and a few tenths
of a second per check); older hashes with smaller parameters keep verifying. Each check
holds one of a few process-wide slots, so parallel sign-in attempts cannot add up to
gigabytes of scrypt memory (the slots bound memory; `throttle` bounds the rate).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading

OWASP_N = 2**17
OWASP_R = 8
OWASP_P = 1
# A stored hash asking for more memory than this is refused, not computed: whoever can edit
# the configured hash must not be able to exhaust the server (OWASP's minimum needs 128 MiB).
MAX_SCRYPT_BYTES = 512 * 1024 * 1024
SLOTS_ENV = "CHURNLENS_SCRYPT_SLOTS"
DEFAULT_SLOTS = 2


def _slot_count() -> int:
    try:
        return max(1, int(os.environ.get(SLOTS_ENV, DEFAULT_SLOTS)))
    except ValueError:
        return DEFAULT_SLOTS


SLOTS = threading.BoundedSemaphore(_slot_count())


def scrypt_bytes(n: int, r: int, p: int) -> int:
    """Memory one scrypt call needs (128·N·r for the ROMix table plus 128·r·p for the blocks)."""
    return 128 * n * r + 128 * r * p


def hash_password(password: str, *, n: int = OWASP_N, r: int = OWASP_R, p: int = OWASP_P) -> str:
    salt = secrets.token_bytes(16)
    with SLOTS:
        digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_maxmem(n, r, p), dklen=32)
    return "$".join(["scrypt", str(n), str(r), str(p), _b64(salt), _b64(digest)])


def _maxmem(n: int, r: int, p: int) -> int:
    # OpenSSL wants headroom above the table itself; 16 MiB covers its bookkeeping.
    return scrypt_bytes(n, r, p) + 16 * 1024 * 1024


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def parse(stored: str) -> tuple | None:
    """The parts of a stored hash, or None when it is not one we make or accept."""
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            if min(n, r, p) < 1 or scrypt_bytes(n, r, p) > MAX_SCRYPT_BYTES:
                return None
            salt, digest = (base64.b64decode(x, validate=True) for x in parts[4:6])
            return ("scrypt", n, r, p, salt, digest)
        if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            salt, digest = (base64.b64decode(x, validate=True) for x in parts[2:4])
            return ("pbkdf2_sha256", int(parts[1]), salt, digest)
    except ValueError:
        return None
    return None


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of `password` against a stored hash; False for a malformed hash."""
    parsed = parse(stored)
    if parsed is None:
        return False
    with SLOTS:
        if parsed[0] == "scrypt":
            _, n, r, p, salt, expected = parsed
            try:
                actual = hashlib.scrypt(
                    password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_maxmem(n, r, p), dklen=len(expected)
                )
            except ValueError:
                return False
        else:
            _, iterations, salt, expected = parsed
            actual = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, dklen=len(expected))
    return hmac.compare_digest(actual, expected)
