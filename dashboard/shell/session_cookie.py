"""A signed, expiring sign-in cookie, so a reload does not ask for the password again.

Value: base64url("user|expires|fingerprint") + "." + base64url(HMAC-SHA256). The key is a
server secret from CHURNLENS_SESSION_SECRET or, failing that, a random one generated once
into a file outside the repository (CHURNLENS_SESSION_SECRET_FILE, default
~/.config/churnlens/session-secret, mode 0600). The fingerprint is a hash of the configured
password hash, so changing the password signs everybody out. Pure functions; the HTTP side
lives in `dashboard.serve`, which is the only place that can set an HttpOnly cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

COOKIE_NAME = "churnlens_session"
SECRET_ENV = "CHURNLENS_SESSION_SECRET"
SECRET_FILE_ENV = "CHURNLENS_SESSION_SECRET_FILE"
HOURS_ENV = "CHURNLENS_SESSION_HOURS"
DEFAULT_HOURS = 8.0
MIN_SECRET_BYTES = 32


def lifetime_s(env: Mapping[str, str]) -> float:
    """How long a sign-in lasts (CHURNLENS_SESSION_HOURS, default 8 h; 0 turns the cookie off)."""
    try:
        hours = float(env.get(HOURS_ENV, DEFAULT_HOURS))
    except ValueError:
        hours = DEFAULT_HOURS
    return max(0.0, min(hours, 24 * 30)) * 3600


def server_secret(env: Mapping[str, str]) -> bytes:
    """The signing key: from the environment, else from (or newly into) the secret file."""
    given = env.get(SECRET_ENV, "")
    if len(given.encode()) >= MIN_SECRET_BYTES:
        return given.encode()
    path = Path(env.get(SECRET_FILE_ENV) or Path.home() / ".config" / "churnlens" / "session-secret")
    try:
        stored = path.read_bytes().strip()
        if len(stored) >= MIN_SECRET_BYTES:
            return stored
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fresh = secrets.token_urlsafe(48).encode()
    # O_EXCL: two processes starting at once must not overwrite each other's secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(fresh)
    return fresh


def fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(user: str, secret: bytes, password_hash: str, lifetime: float, now: float | None = None) -> str:
    now = time.time() if now is None else now
    body = f"{user}|{int(now + lifetime)}|{fingerprint(password_hash)}".encode()
    return f"{_b64(body)}.{_b64(hmac.new(secret, body, hashlib.sha256).digest())}"


def token_user(token: str, secret: bytes, password_hash: str, now: float | None = None) -> str | None:
    """The user a valid, unexpired token names; None for anything else (never raises)."""
    now = time.time() if now is None else now
    try:
        body_text, signature = token.split(".")
        body = _unb64(body_text)
        if not hmac.compare_digest(_unb64(signature), hmac.new(secret, body, hashlib.sha256).digest()):
            return None
        user, expires, print_ = body.decode().split("|")
        if int(expires) < now or not hmac.compare_digest(print_, fingerprint(password_hash)):
            return None
    except (ValueError, UnicodeDecodeError):
        return None
    return user or None
