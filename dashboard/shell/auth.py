"""Who may see the dashboard. Off unless configured; three ways to turn it on.

1. **Trusted reverse-proxy header**: `CHURNLENS_TRUSTED_USER_HEADER=X-Forwarded-User`
   makes the app accept the user name a proxy puts in that header, and refuse
   requests without it. Only enable it when Streamlit listens on loopback behind
   that proxy and the proxy overwrites the header on every request.
2. **OIDC** through Streamlit's `st.login` when `.streamlit/secrets.toml` has an
   `[auth]` section (see `.streamlit/secrets.example.toml`).
3. **Shared password** for teams without an identity provider: a hash in
   `CHURNLENS_PASSWORD_HASH` (or `password_hash` under `[churnlens]` in secrets),
   made with `python -m dashboard.shell.auth hash`. Compared in constant time; every
   failure from one client doubles a delay (up to 8 s); the password never goes
   into a log, a URL or a query parameter.

The first that is configured wins, in that order. `gate()` runs in app.py
right after `st.set_page_config`, so nothing else renders for a viewer who is
not let in.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger("churnlens.auth")

PASSWORD_HASH_ENV = "CHURNLENS_PASSWORD_HASH"
TRUSTED_HEADER_ENV = "CHURNLENS_TRUSTED_USER_HEADER"
USER_KEY = "churnlens_user"
MAX_DELAY_S = 8.0
MAX_USER_LENGTH = 200


@dataclass(frozen=True)
class AuthConfig:
    mode: str  # "none" | "header" | "oidc" | "password"
    header: str = ""
    password_hash: str = ""
    problem: str = ""  # a misconfiguration: the app refuses everyone rather than guess


def auth_config(env: Mapping[str, str], secrets_: Mapping) -> AuthConfig:
    """Which mode applies, from the environment and the app's secrets (pure)."""
    header = env.get(TRUSTED_HEADER_ENV, "").strip()
    if header:
        return AuthConfig("header", header=header)
    if isinstance(secrets_.get("auth"), Mapping):
        return AuthConfig("oidc")
    section = secrets_.get("churnlens")
    stored = env.get(PASSWORD_HASH_ENV, "").strip() or (
        str(section.get("password_hash", "")).strip() if isinstance(section, Mapping) else ""
    )
    if stored:
        problem = (
            "" if _parse(stored) else f"{PASSWORD_HASH_ENV} is not a hash made by `python -m dashboard.shell.auth hash`"
        )
        return AuthConfig("password", password_hash=stored, problem=problem)
    return AuthConfig("none")


def header_user(headers: Mapping[str, str], name: str) -> str | None:
    """The user a trusted proxy names in header `name`, or None (pure; header names ignore case)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            user = str(value).strip()
            if user and len(user) <= MAX_USER_LENGTH and user.isprintable():
                return user
    return None


# --- password hashes: "scrypt$n$r$p$salt$hash" or "pbkdf2_sha256$iterations$salt$hash" (base64) ----------


def hash_password(password: str, *, n: int = 2**15, r: int = 8, p: int = 1) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
    return "$".join(["scrypt", str(n), str(r), str(p), _b64(salt), _b64(digest)])


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _parse(stored: str) -> tuple | None:
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = (int(x) for x in parts[1:4])
            return (
                "scrypt",
                n,
                r,
                p,
                base64.b64decode(parts[4], validate=True),
                base64.b64decode(parts[5], validate=True),
            )
        if parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            return (
                "pbkdf2_sha256",
                int(parts[1]),
                base64.b64decode(parts[2], validate=True),
                base64.b64decode(parts[3], validate=True),
            )
    except ValueError:
        return None
    return None


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of `password` against a stored hash; False for a malformed hash."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    if parsed[0] == "scrypt":
        _, n, r, p, salt, expected = parsed
        try:
            actual = hashlib.scrypt(
                password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=len(expected)
            )
        except ValueError:
            return False
    else:
        _, iterations, salt, expected = parsed
        actual = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, dklen=len(expected))
    return hmac.compare_digest(actual, expected)


# --- failure delay ------------------------------------------------------------------------------------

_failures: dict[str, tuple[int, float]] = {}
_failures_lock = threading.Lock()
FAILURE_MEMORY_S = 15 * 60


def failure_delay(client: str, now: float | None = None) -> float:
    """Record a failed attempt from `client`; return how long to wait before answering (0.5 s, 1 s, 2 s … 8 s)."""
    now = time.monotonic() if now is None else now
    with _failures_lock:
        count, last = _failures.get(client, (0, now))
        count = 1 if now - last > FAILURE_MEMORY_S else count + 1
        _failures[client] = (count, now)
    return min(0.5 * 2 ** (count - 1), MAX_DELAY_S)


def forget_failures(client: str) -> None:
    with _failures_lock:
        _failures.pop(client, None)


# --- the gate (Streamlit) -----------------------------------------------------------------------------


def _secrets() -> Mapping:
    import streamlit as st

    try:
        return {key: st.secrets[key] for key in st.secrets}
    except Exception:  # noqa: BLE001 - no secrets.toml is the normal case
        return {}


def gate() -> None:
    """Stop the script here unless the viewer may see the dashboard."""
    import streamlit as st

    from dashboard.shell.plain import inert

    config = auth_config(os.environ, _secrets())
    if config.mode == "none":
        return
    if config.problem:
        log.error("authentication misconfigured: %s", config.problem)
        st.error("Sign-in is misconfigured on this server; ask its administrator.")
        st.stop()
    if config.mode == "header":
        user = header_user(st.context.headers, config.header)
        if user is None:
            log.warning("request without the trusted user header %s from %s", config.header, st.context.ip_address)
            st.error("Open this dashboard through your organisation's sign-in address.")
            st.stop()
        st.session_state[USER_KEY] = user
        st.sidebar.caption(f"Signed in as {inert(user, 80)}")
        return
    if config.mode == "oidc":
        # Absent (not just False) until the OIDC flow has run; missing means not signed in.
        if not getattr(st.user, "is_logged_in", False):
            st.title("churnlens")
            st.button("Log in", on_click=st.login, type="primary")
            st.stop()
        st.session_state[USER_KEY] = str(st.user.get("email") or st.user.get("name") or "")
        st.sidebar.caption(f"Signed in as {inert(st.session_state[USER_KEY], 80)}")
        st.sidebar.button("Log out", on_click=st.logout)
        return
    _password_gate(config.password_hash)


def _password_gate(stored: str) -> None:
    import streamlit as st

    if st.session_state.get(USER_KEY):
        if st.sidebar.button("Log out"):
            del st.session_state[USER_KEY]
            st.rerun()
        return
    st.title("churnlens")
    with st.form("churnlens_login", clear_on_submit=True):
        password = st.text_input("Password", type="password", key="churnlens_password")
        submitted = st.form_submit_button("Log in", type="primary")
    client = st.context.ip_address or "unknown"
    if submitted and password:
        if verify_password(password, stored):
            forget_failures(client)
            log.info("password sign-in from %s", client)
            st.session_state[USER_KEY] = "password"
            st.rerun()
        delay = failure_delay(client)
        log.warning("failed password sign-in from %s; answering after %.1f s", client, delay)
        time.sleep(delay)
        st.error("That password is not right.")
    st.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m dashboard.shell.auth hash`: print a hash for CHURNLENS_PASSWORD_HASH.

    The password is read without echo."""
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["hash"]:
        print("usage: python -m dashboard.shell.auth hash", file=sys.stderr)
        return 2
    password = getpass.getpass("Password: ")
    if not password or password != getpass.getpass("Again: "):
        print("The two entries differ or are empty.", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
