"""Who may see the dashboard. Off unless configured; three ways to turn it on.

1. **Trusted reverse-proxy header**: `CHURNLENS_TRUSTED_USER_HEADER=X-Forwarded-User`
   makes the app accept the user name a proxy puts in that header, and refuse
   requests without it. Only enable it when Streamlit listens on loopback behind
   that proxy and the proxy overwrites the header on every request.
2. **OIDC** through Streamlit's `st.login` when `.streamlit/secrets.toml` has an
   `[auth]` section (see `.streamlit/secrets.example.toml`).
3. **Shared password** for teams without an identity provider: a hash in
   `CHURNLENS_PASSWORD_HASH` (or `password_hash` under `[churnlens]` in secrets),
   made with `python -m dashboard.shell.auth hash` (scrypt at OWASP's N=2^17, r=8, p=1).
   Compared in constant time, a few checks at a time (`passwords`); failures are
   answered one at a time after a delay per client address and for the whole server
   (`throttle`; the address comes from CHURNLENS_CLIENT_IP_HEADER behind a proxy); the
   password never goes into a log, a URL or a query parameter. Served through
   `dashboard/serve.py`, the sign-in is an HTML form that sets a signed, expiring,
   HttpOnly cookie (`http_gate`), which this gate accepts too.

The first that is configured wins, in that order. `gate()` runs in app.py
right after `st.set_page_config`, so nothing else renders for a viewer who is
not let in.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from dashboard.shell import session_cookie, throttle
from dashboard.shell.passwords import hash_password, parse, verify_password

log = logging.getLogger("churnlens.auth")

PASSWORD_HASH_ENV = "CHURNLENS_PASSWORD_HASH"
TRUSTED_HEADER_ENV = "CHURNLENS_TRUSTED_USER_HEADER"
USER_KEY = "churnlens_user"
MAX_USER_LENGTH = 200
__all__ = ["hash_password", "verify_password"]  # made and checked in passwords.py; the CLI below prints them


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
            "" if parse(stored) else f"{PASSWORD_HASH_ENV} is not a hash made by `python -m dashboard.shell.auth hash`"
        )
        return AuthConfig("password", password_hash=stored, problem=problem)
    return AuthConfig("none")


def header_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of header `name` (names ignore case). Streamlit's headers object keeps
    repeated headers (`get_all`); a plain mapping can repeat a name only in another case."""
    get_all = getattr(headers, "get_all", None)
    if callable(get_all):
        return [str(v) for v in get_all(name)]
    return [str(v) for k, v in headers.items() if k.lower() == name.lower()]


def header_user(headers: Mapping[str, str], name: str) -> str | None:
    """The user a trusted proxy names in header `name`, or None (pure).

    A header sent twice is refused: the proxy sets it once, so a second copy came from the
    client, and which copy wins would depend on the server (Streamlit's mapping took the first)."""
    values = header_values(headers, name)
    if len(values) != 1:
        return None
    user = values[0].strip()
    if user and len(user) <= MAX_USER_LENGTH and user.isprintable():
        return user
    return None


def request_client(get_all: Callable[[str], list[str]], peer: str | None) -> str:
    """The throttle's key for this request: see `throttle.client_address`."""
    header = os.environ.get(throttle.CLIENT_IP_HEADER_ENV, "").strip()
    return throttle.client_address(header, get_all(header) if header else [], peer)


# --- the gate (Streamlit) -----------------------------------------------------------------------------


def secrets_mapping() -> Mapping:
    import streamlit as st

    try:
        return {key: st.secrets[key] for key in st.secrets}
    except Exception:  # noqa: BLE001 - no secrets.toml is the normal case
        return {}


def _stop(pages: Sequence[Any]) -> NoReturn:
    """End this run without the dashboard, keeping the page the URL asked for: the pages are
    registered (hidden) so that signing in reruns that page, not the default one."""
    import streamlit as st

    if pages:
        st.navigation(list(pages), position="hidden")
    st.stop()
    raise AssertionError("st.stop() returned")  # pragma: no cover - st.stop raises


def gate(pages: Sequence[Any] = ()) -> None:
    """Stop the script here unless the viewer may see the dashboard (`pages`: the app's st.Page list)."""
    import streamlit as st

    from dashboard.shell.plain import inert

    config = auth_config(os.environ, secrets_mapping())
    if config.mode == "none":
        return
    if config.problem:
        log.error("authentication misconfigured: %s", config.problem)
        st.error("Sign-in is misconfigured on this server; ask its administrator.")
        _stop(pages)
    if config.mode == "header":
        user = header_user(st.context.headers, config.header)
        if user is None:
            log.warning("request without the trusted user header %s from %s", config.header, st.context.ip_address)
            st.error("Open this dashboard through your organisation's sign-in address.")
            _stop(pages)
        st.session_state[USER_KEY] = user
        st.sidebar.caption(f"Signed in as {inert(user, 80)}")
        return
    if config.mode == "oidc":
        # Absent (not just False) until the OIDC flow has run; missing means not signed in.
        if not getattr(st.user, "is_logged_in", False):
            st.title("churnlens")
            st.button("Log in", on_click=st.login, type="primary")
            _stop(pages)
        st.session_state[USER_KEY] = str(st.user.get("email") or st.user.get("name") or "")
        st.sidebar.caption(f"Signed in as {inert(st.session_state[USER_KEY], 80)}")
        st.sidebar.button("Log out", on_click=st.logout)
        return
    _password_gate(config.password_hash, pages)


def _cookie_user(stored: str) -> str | None:
    """The user of a valid sign-in cookie (set by `dashboard/serve.py`), or None."""
    import streamlit as st

    token = st.context.cookies.get(session_cookie.COOKIE_NAME)
    if not token:
        return None
    return session_cookie.token_user(token, session_cookie.server_secret(os.environ), stored)


def signout_url() -> str:
    from streamlit import config

    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/_churnlens/signout" if base else "/_churnlens/signout"


def _password_gate(stored: str, pages: Sequence[Any]) -> None:
    import streamlit as st

    # Checked on every run, so the cookie's expiry ends this session too (its value is the one the
    # browser sent when it connected).
    if _cookie_user(stored):
        st.session_state[USER_KEY] = "password"
        # An HttpOnly cookie can only be cleared by the server: the sign-out address does it.
        st.sidebar.link_button("Log out", signout_url())
        return
    if st.session_state.get(USER_KEY):
        if st.sidebar.button("Log out"):
            del st.session_state[USER_KEY]
            st.rerun()
        return
    st.title("churnlens")
    with st.form("churnlens_login", clear_on_submit=True):
        password = st.text_input("Password", type="password", key="churnlens_password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted and password:
        client = request_client(st.context.headers.get_all, st.context.ip_address)
        if verify_password(password, stored):
            throttle.forget_failures(client)
            log.info("password sign-in from %s", client)
            st.session_state[USER_KEY] = "password"
            st.rerun()
        delay = throttle.answer_failure(client)
        log.warning("failed password sign-in from %s; answered after %.1f s", client, delay)
        st.error("That password is not right.")
    _stop(pages)


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
