"""Sign-in and the error page in a real server and Chromium (issue 21).

- `dashboard/serve.py` (the shared-URL entry point): without the signed cookie every page
  redirects to the sign-in form and /media downloads are refused; a wrong password waits and
  says so; the right one sets an HttpOnly cookie and lands on the page asked for, and a
  reload stays signed in.
- `dashboard/app.py` alone: the in-page form lands on the page asked for too.
- A crash shows no outside links (config.toml's showErrorLinks); without that setting it would.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.server import dashboard_server
from dashboard.shell.passwords import hash_password
from tests.bundle.tiny import write_tiny_bundle
from tests.e2e.conftest import settle

pytestmark = pytest.mark.slow

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("signin") / "artifacts"
    write_tiny_bundle(root)
    return root


def _env(tmp: Path) -> dict[str, str | None]:
    return {
        "CHURNLENS_PASSWORD_HASH": hash_password(PASSWORD, n=2**10),
        "CHURNLENS_SESSION_SECRET_FILE": str(tmp / "secret"),
        "CHURNLENS_TRUSTED_USER_HEADER": None,
        "CHURNLENS_CLIENT_IP_HEADER": None,
    }


@pytest.fixture(scope="module")
def served(tiny_root: Path) -> Iterator[str]:
    with dashboard_server(tiny_root, tiny_root.parent / "serve.log", _env(tiny_root.parent), "dashboard/serve.py") as (
        url,
        _,
    ):
        yield url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _fetch(url: str, data: dict | None = None, cookie: str = "") -> tuple[int, dict, str]:
    opener = urllib.request.build_opener(_NoRedirect)
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_without_the_cookie_nothing_but_the_form_answers(served):
    status, headers, _ = _fetch(f"{served}/model_card?bundle=tiny")
    assert status == 303
    assert headers["location"] == "/_churnlens/signin?next=%2Fmodel_card%3Fbundle%3Dtiny"
    assert _fetch(f"{served}/media/0123456789abcdef.csv")[0] == 403
    status, headers, page = _fetch(f"{served}/_churnlens/signin?next=https://ev.il/")
    assert status == 200 and 'name="next" value="/"' in page and "<script" not in page
    assert "frame-ancestors 'none'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"
    status, _, page = _fetch(f"{served}/_churnlens/signin", {"password": "wrong", "next": "/model_card"})
    assert status == 401 and "not right" in page
    status, headers, _ = _fetch(f"{served}/_churnlens/signin", {"password": PASSWORD, "next": "/model_card"})
    assert status == 303 and headers["location"] == "/model_card"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie
    pair = cookie.split(";")[0]
    assert _fetch(f"{served}/media/0123456789abcdef.csv", cookie=pair)[0] == 404  # Streamlit's own answer
    assert _fetch(f"{served}/model_card?bundle=tiny", cookie=pair)[0] == 200


def test_signing_in_lands_on_the_page_asked_for_and_a_reload_stays_signed_in(served, page, screenshots):
    page.goto(f"{served}/model_card?bundle=tiny")
    page.wait_for_selector("input[name=password]", timeout=30_000)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    settle(page)
    page.get_by_role("heading", name="Model card").wait_for(timeout=60_000)
    assert urllib.parse.urlsplit(page.url).path == "/model_card"
    page.reload()
    settle(page)
    page.get_by_role("heading", name="Model card").wait_for(timeout=60_000)
    assert page.locator("input[type=password]").count() == 0
    page.screenshot(path=str(screenshots / "signin-reload.png"))


@pytest.fixture(scope="module")
def plain(tiny_root: Path) -> Iterator[str]:
    with dashboard_server(tiny_root, tiny_root.parent / "plain.log", _env(tiny_root.parent)) as (url, _):
        yield url


def test_the_in_page_form_also_lands_on_the_page_asked_for(plain, page):
    page.goto(f"{plain}/model_card?bundle=tiny")
    settle(page)
    page.locator("input[type=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    settle(page)
    page.get_by_role("heading", name="Model card").wait_for(timeout=60_000)
    assert urllib.parse.urlsplit(page.url).path == "/model_card"


CRASH = 'import streamlit as st\nst.title("crash")\nraise RuntimeError("boom")\n'


@pytest.mark.parametrize("links", [False, True], ids=["our config", "Streamlit's default"])
def test_a_crash_shows_no_outside_links(tiny_root, page, links):
    script = tiny_root.parent / "crash_app.py"
    script.write_text(CRASH)
    # The repository's .streamlit/config.toml applies (the server runs in the repository);
    # the second case puts Streamlit's default back through its environment variable.
    env: dict[str, str | None] = {"STREAMLIT_CLIENT_SHOW_ERROR_LINKS": "auto" if links else None}
    with dashboard_server(tiny_root, tiny_root.parent / "crash.log", env, str(script)) as (url, _):
        page.goto(url)
        settle(page)
        page.locator("[data-testid='stException']").wait_for(timeout=30_000)
        outside = page.evaluate(
            "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
            ".filter(h => !h.startsWith(location.origin))"
        )
        assert bool(outside) is links, outside
        assert (page.get_by_text("Ask Google").count() > 0) is links
        assert "boom" not in page.inner_text("body")  # showErrorDetails = "none"
