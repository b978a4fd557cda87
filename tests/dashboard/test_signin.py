"""Sign-in hardening of issue 21, offline: who a client is behind a proxy, the delays per client
and for everyone, answers one at a time, bounded scrypt work at OWASP's parameters, repeated
identity headers, the signed cookie, and where a sign-in may send the browser next."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time

import pytest
from streamlit.runtime.context import StreamlitHeaders

from dashboard.shell import auth, passwords, session_cookie, throttle
from dashboard.shell.http_gate import safe_next


@pytest.fixture(autouse=True)
def clean_counters():
    throttle.forget_everything()
    yield
    throttle.forget_everything()


@pytest.mark.parametrize(
    ("header", "values", "peer", "expected"),
    [
        ("X-Forwarded-For", ["203.0.113.7"], "127.0.0.1", "203.0.113.7"),
        # What the client sent comes first and can be forged; the proxy appends what it saw.
        ("X-Forwarded-For", ["1.1.1.1, 203.0.113.7"], "127.0.0.1", "203.0.113.7"),
        ("X-Forwarded-For", ["9.9.9.9", "203.0.113.7"], None, "203.0.113.7"),
        ("X-Real-IP", ["2001:db8::1"], None, "2001:db8::1"),
        ("X-Real-IP", [], None, "no X-Real-IP"),
        ("X-Real-IP", ["unknown"], None, "bad X-Real-IP"),
        ("", ["203.0.113.7"], "198.51.100.2", "198.51.100.2"),
        ("", [], None, "unknown"),
    ],
)
def test_client_address_comes_from_the_trusted_proxy_header(header, values, peer, expected):
    assert throttle.client_address(header, values, peer) == expected


def test_request_client_reads_the_configured_header(monkeypatch):
    headers = StreamlitHeaders([("X-Forwarded-For", "10.0.0.1, 203.0.113.9")])
    monkeypatch.setenv(throttle.CLIENT_IP_HEADER_ENV, "x-forwarded-for")
    assert auth.request_client(headers.get_all, None) == "203.0.113.9"
    monkeypatch.delenv(throttle.CLIENT_IP_HEADER_ENV)
    assert auth.request_client(headers.get_all, None) == "unknown"


def test_the_global_delay_grows_across_addresses_and_a_success_does_not_reset_it():
    delays = [throttle.failure_delay(f"203.0.113.{i}", now=100.0 + i) for i in range(14)]
    assert delays[: throttle.GLOBAL_FREE] == [0.5] * throttle.GLOBAL_FREE  # each address fails once
    assert delays[throttle.GLOBAL_FREE :] == [0.5, 1.0, 2.0, 4.0]
    throttle.forget_failures("203.0.113.13")  # a correct password from one address
    assert throttle.failure_delay("198.51.100.1", now=120.0) == 8.0


def test_failures_are_answered_one_at_a_time():
    """Six parallel wrong passwords: each waits its turn, none sleeps beside another."""
    active, most, lock = [0], [0], threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.02)  # long enough for the other threads to pile up at the lock
        with lock:
            active[0] -= 1

    waited: list[float] = []
    threads = [
        threading.Thread(target=lambda: waited.append(throttle.answer_failure("shared", sleep))) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1
    assert sorted(waited) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_scrypt_checks_hold_a_bounded_number_of_slots(monkeypatch):
    running, most, lock = [0], [0], threading.Lock()
    real = hashlib.scrypt

    def counted(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.02)
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    stored = passwords.hash_password("pw", n=2**10)
    monkeypatch.setattr(passwords.hashlib, "scrypt", counted)
    threads = [threading.Thread(target=passwords.verify_password, args=("guess", stored)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == passwords.DEFAULT_SLOTS


def test_new_hashes_use_owasps_scrypt_parameters_and_old_ones_still_verify():
    fresh = passwords.hash_password("correct horse")
    assert fresh.startswith("scrypt$131072$8$1$")  # OWASP: N=2^17, r=8, p=1
    assert passwords.verify_password("correct horse", fresh)
    old = passwords.hash_password("correct horse", n=2**15)  # what churnlens made before
    assert passwords.verify_password("correct horse", old) and not passwords.verify_password("x", old)


def test_a_hash_asking_for_too_much_memory_is_refused_unrun():
    huge = "scrypt$1048576$64$1$" + "AAAA$AAAA"
    assert passwords.parse(huge) is None and not passwords.verify_password("x", huge)
    assert "not a hash" in auth.auth_config({auth.PASSWORD_HASH_ENV: huge}, {}).problem


def test_a_repeated_identity_header_is_refused():
    once = StreamlitHeaders([("X-Forwarded-User", "alice")])
    twice = StreamlitHeaders([("X-Forwarded-User", "alice"), ("x-forwarded-user", "mallory")])
    assert auth.header_user(once, "X-Forwarded-User") == "alice"
    assert auth.header_user(twice, "X-Forwarded-User") is None
    assert auth.header_user({"X-Forwarded-User": "a", "x-forwarded-user": "b"}, "X-Forwarded-User") is None


HASH = "scrypt$1024$8$1$AAAA$AAAA"


def test_session_tokens_are_signed_expire_and_die_with_the_password():
    secret = b"s" * 32
    token = session_cookie.make_token("password", secret, HASH, lifetime=3600, now=1000.0)
    assert session_cookie.token_user(token, secret, HASH, now=2000.0) == "password"
    assert session_cookie.token_user(token, secret, HASH, now=1000.0 + 3601) is None  # expired
    assert session_cookie.token_user(token, b"t" * 32, HASH, now=2000.0) is None  # another server's secret
    assert session_cookie.token_user(token, secret, HASH + "x", now=2000.0) is None  # the password changed
    body, signature = token.split(".")
    forged = session_cookie._b64(session_cookie._unb64(body).replace(b"password", b"admin"))
    assert session_cookie.token_user(f"{forged}.{signature}", secret, HASH, now=2000.0) is None
    for junk in ("", ".", "a.b.c", "%%%.%%%", token + "x"):
        assert session_cookie.token_user(junk, secret, HASH, now=2000.0) is None


def test_the_lifetime_is_configurable():
    assert session_cookie.lifetime_s({}) == 8 * 3600
    assert session_cookie.lifetime_s({session_cookie.HOURS_ENV: "0.5"}) == 1800
    assert session_cookie.lifetime_s({session_cookie.HOURS_ENV: "-3"}) == 0
    assert session_cookie.lifetime_s({session_cookie.HOURS_ENV: "soon"}) == 8 * 3600


def test_the_server_secret_is_generated_once_outside_the_repository(tmp_path):
    env = {session_cookie.SECRET_FILE_ENV: str(tmp_path / "conf" / "secret")}
    first = session_cookie.server_secret(env)
    assert len(first) >= session_cookie.MIN_SECRET_BYTES and session_cookie.server_secret(env) == first
    assert stat.S_IMODE(os.stat(tmp_path / "conf" / "secret").st_mode) == 0o600
    given = {**env, session_cookie.SECRET_ENV: "k" * 40}
    assert session_cookie.server_secret(given) == b"k" * 40


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/model_card?bundle=telco", "/model_card?bundle=telco"),
        ("https://ev.il/", "/"),
        ("//ev.il/x", "/"),
        ("/\\ev.il", "/"),
        ("javascript:alert(1)", "/"),
        ("model_card", "/"),
    ],
)
def test_after_sign_in_the_browser_goes_only_to_a_page_of_this_app(target, expected):
    assert safe_next(target, "/") == expected


def test_next_pages_stay_under_the_base_path():
    assert safe_next("/churnlens/model_card", "/churnlens/") == "/churnlens/model_card"
    assert safe_next("/other/app", "/churnlens/") == "/churnlens/"
