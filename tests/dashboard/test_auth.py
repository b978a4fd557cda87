"""Authentication modes, offline: the pure decisions, and each gate inside AppTest."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.shell import auth, data, throttle
from tests.dashboard.dashboard_helpers import APP

TIMEOUT = 60
# Cheap parameters keep the tests fast; the production default is n=2**15.
HASH = auth.hash_password("correct horse", n=2**10)


def test_hashes_verify_only_their_password():
    assert auth.verify_password("correct horse", HASH)
    assert not auth.verify_password("correct hors", HASH)
    assert not auth.verify_password("", HASH)
    assert HASH.startswith("scrypt$") and "correct" not in HASH
    assert auth.hash_password("x", n=2**10) != auth.hash_password("x", n=2**10)  # salted


def test_pbkdf2_hashes_are_accepted():
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, 1000)
    stored = f"pbkdf2_sha256$1000${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert auth.verify_password("s3cret", stored) and not auth.verify_password("s3cret!", stored)


@pytest.mark.parametrize(
    "stored", ["", "plaintext", "scrypt$1$2", "scrypt$x$8$1$AA==$AA==", "md5$abc$def", "scrypt$1024$8$1$***$AA=="]
)
def test_malformed_hashes_never_verify(stored):
    assert not auth.verify_password("anything", stored)


def test_mode_selection_is_explicit_and_ordered():
    assert auth.auth_config({}, {}).mode == "none"
    assert auth.auth_config({auth.PASSWORD_HASH_ENV: HASH}, {}).mode == "password"
    assert auth.auth_config({}, {"churnlens": {"password_hash": HASH}}).mode == "password"
    assert auth.auth_config({auth.PASSWORD_HASH_ENV: HASH}, {"auth": {"redirect_uri": "x"}}).mode == "oidc"
    header = auth.auth_config({auth.TRUSTED_HEADER_ENV: "X-Remote-User", auth.PASSWORD_HASH_ENV: HASH}, {})
    assert (header.mode, header.header) == ("header", "X-Remote-User")
    bad = auth.auth_config({auth.PASSWORD_HASH_ENV: "hunter2"}, {})
    assert bad.mode == "password" and "not a hash" in bad.problem


def test_header_user_is_taken_only_from_the_configured_header():
    assert auth.header_user({"x-remote-user": " alice "}, "X-Remote-User") == "alice"
    assert auth.header_user({"X-Other": "mallory"}, "X-Remote-User") is None
    assert auth.header_user({"X-Remote-User": ""}, "X-Remote-User") is None
    assert auth.header_user({"X-Remote-User": "a\nb"}, "X-Remote-User") is None
    assert auth.header_user({"X-Remote-User": "x" * 500}, "X-Remote-User") is None


def test_failure_delay_grows_and_is_capped_and_forgotten():
    client = "test-client-delay"
    delays = [throttle.failure_delay(client, now=100.0 + i) for i in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert throttle.failure_delay(client, now=100.0 + 7 + throttle.FAILURE_MEMORY_S + 1) == 0.5
    throttle.forget_failures(client)
    assert throttle.failure_delay(client, now=5000.0) == 0.5
    throttle.forget_failures(client)


@pytest.fixture
def artifacts(bundle_root, monkeypatch) -> Path:
    monkeypatch.setenv(data.ARTIFACTS_ENV, str(bundle_root))
    for name in (auth.PASSWORD_HASH_ENV, auth.TRUSTED_HEADER_ENV):
        monkeypatch.delenv(name, raising=False)
    return bundle_root


def _app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def test_without_configuration_nothing_asks_for_a_login(artifacts):
    at = _app().run()
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "churnlens_password"]
    assert at.text_input(key="customer")


def test_password_gate_keeps_everything_else_hidden_until_the_right_password(artifacts, monkeypatch, caplog):
    monkeypatch.setenv(auth.PASSWORD_HASH_ENV, HASH)
    at = _app()
    at.query_params["bundle"] = "telco"
    at.run()
    assert not at.exception
    assert [t.key for t in at.text_input] == ["churnlens_password"]
    assert not at.sidebar.selectbox and not at.metric  # no bundle, no customer box
    with caplog.at_level(logging.INFO, logger="churnlens.auth"):
        at.text_input(key="churnlens_password").input("wrong guess")
        at.button[0].click().run()
        assert "not right" in at.error[0].value
        assert [t.key for t in at.text_input] == ["churnlens_password"]
        at.text_input(key="churnlens_password").input("correct horse")
        at.button[0].click().run()
    assert not at.exception
    assert at.text_input(key="customer")  # the dashboard itself
    assert at.sidebar.selectbox[0].value == "telco"
    logged = caplog.text
    assert "failed password sign-in" in logged and "wrong guess" not in logged and "correct horse" not in logged
    assert all("horse" not in str(v) and "guess" not in str(v) for v in at.query_params.values())
    throttle.forget_failures("unknown")


def test_a_malformed_password_hash_refuses_everyone(artifacts, monkeypatch):
    monkeypatch.setenv(auth.PASSWORD_HASH_ENV, "hunter2")
    at = _app().run()
    assert "misconfigured" in at.error[0].value
    assert not at.text_input


def test_oidc_configuration_shows_only_a_login_button(artifacts):
    at = _app()
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "churnlens", "client_secret": "s", "server_metadata_url": "https://idp.invalid/.well-known/openid-configuration",
    }  # fmt: skip
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.text_input and not at.sidebar.selectbox


def test_header_mode_without_the_header_refuses(artifacts, monkeypatch):
    # AppTest sends no HTTP headers, which is exactly a request that bypassed the proxy.
    monkeypatch.setenv(auth.TRUSTED_HEADER_ENV, "X-Remote-User")
    at = _app().run()
    assert not at.exception
    assert "sign-in address" in at.error[0].value
    assert not at.text_input and not at.sidebar.selectbox
