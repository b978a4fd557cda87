"""Hostile links and bundle switching in real Chromium, with every request recorded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from bundle import layout
from tests.e2e.conftest import champion_scores, free_port, serve_dashboard, settle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_bundles(bundle_root: Path, tmp_path_factory) -> Iterator[str]:
    """A server whose artifacts hold telco and a bundle that fails its checksums."""
    root = tmp_path_factory.mktemp("hostile") / "artifacts"
    root.mkdir()
    (root / "telco").symlink_to((bundle_root / "telco").resolve())
    shutil.copytree(bundle_root / "telco", root / "broken")
    with (root / "broken" / layout.CUSTOMERS).open("ab") as handle:
        handle.write(b"tampered")
    with serve_dashboard(root, root.parent / "server.log") as url:
        yield url


@pytest.fixture
def recorded(browser):
    """A page plus every URL it requested (documents, scripts, fonts, images, websockets)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda ws: requests.append(ws.url))
    try:
        yield page, requests
    finally:
        context.close()


def _outside(requests: list[str], base: str) -> list[str]:
    origin = urlsplit(base)
    return [
        url
        for url in requests
        if not url.startswith(("data:", "blob:", "about:"))
        and (urlsplit(url).hostname, urlsplit(url).port) != (origin.hostname, origin.port)
    ]


def _targets(page) -> list[str]:
    """Absolute URLs of every link and image on the page (resolved by the browser)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
        ".concat([...document.querySelectorAll('img[src]')].map(i => i.src))"
    )


HOSTILE_LINKS = [
    ("bundle", "[Session expired: log in](https://ev.il)"),
    ("bundle", "![x](http://10.9.9.9/p.png)"),
    ("customer", "![](http://1.2.3.4)"),
    ("customer", "[Login](//ev.il)"),
    ("customer", "<img src=http://1.2.3.4/x.png> www.ev.il https://ev.il"),
]


@pytest.mark.parametrize(("param", "payload"), HOSTILE_LINKS)
def test_hostile_links_render_as_text_and_fetch_nothing_outside(two_bundles, recorded, param, payload, screenshots):
    page, requests = recorded
    params = {"bundle": "telco", param: payload}
    page.goto(f"{two_bundles}/?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items()))
    settle(page)
    box = page.locator("[data-testid='stAlertContainer']").first
    box.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # give any image or link a chance to load
    assert payload.split("](")[0].lstrip("!")[:15] in box.inner_text().replace("\u2060", "")  # shown as typed
    assert _outside(_targets(page), two_bundles) == []  # no link or image pointing away
    assert _outside(requests, two_bundles) == []
    assert page.locator("[data-testid='stException']").count() == 0
    if param == "bundle" and "Session" in payload:
        page.screenshot(path=str(screenshots / "hostile-bundle-link.png"), full_page=True)


def test_typed_hostile_id_renders_as_text(two_bundles, recorded):
    page, requests = recorded
    page.goto(f"{two_bundles}/?bundle=telco")
    settle(page)
    box = page.get_by_role("textbox", name="Customer ID")
    box.fill("[Login](//ev.il) ![](http://1.2.3.4)")
    box.press("Enter")
    page.locator("[data-testid='stAlertContainer']").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert _outside(_targets(page), two_bundles) == []
    assert _outside(requests, two_bundles) == []


def test_a_customer_page_with_charts_requests_nothing_outside(two_bundles, recorded, bundle_root):
    page, requests = recorded
    ids, probabilities = champion_scores(bundle_root)
    page.goto(f"{two_bundles}/?bundle=telco&customer={ids[3]}")
    settle(page)
    page.get_by_text(f"{probabilities[3]:.1%}", exact=True).first.wait_for(timeout=30_000)
    page.locator("[data-testid='stVegaLiteChart'], .vega-embed").first.locator("canvas, svg").first.wait_for(
        timeout=30_000
    )
    page.goto(f"{two_bundles}/models?bundle=telco")
    settle(page)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert len(requests) > 5  # the recorder saw the app's own traffic
    assert _outside(requests, two_bundles) == []
    favicon = page.locator("link[rel='shortcut icon']").get_attribute("href") or ""
    assert favicon.startswith("data:") or urlsplit(favicon).hostname in (None, "127.0.0.1"), favicon


def _pick_bundle(page, name: str) -> None:
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name=name, exact=True).click()
    settle(page)


def test_switching_to_a_broken_bundle_and_back_keeps_the_customer_box(two_bundles, recorded, bundle_root, screenshots):
    page, _ = recorded
    ids, probabilities = champion_scores(bundle_root)
    customer = str(ids[7])
    page.goto(f"{two_bundles}/?bundle=telco&customer={customer}")
    settle(page)
    page.get_by_text(f"{probabilities[7]:.1%}", exact=True).first.wait_for(timeout=30_000)
    for _ in range(2):
        _pick_bundle(page, "broken")
        page.get_by_text("is corrupt").wait_for(timeout=30_000)
        _pick_bundle(page, "telco")
        page.get_by_text(f"{probabilities[7]:.1%}", exact=True).first.wait_for(timeout=30_000)
        assert page.get_by_role("textbox", name="Customer ID").input_value() == customer
        page.wait_for_url(f"**customer={customer}**", timeout=10_000)
        assert "bundle=telco" in page.url
    page.screenshot(path=str(screenshots / "back-from-broken-bundle.png"), full_page=True)


@pytest.fixture(scope="module")
def behind_proxy(bundle_root: Path, tmp_path_factory) -> Iterator[str]:
    """A server that trusts the X-Remote-User header (as if a signing-in proxy stood in front)."""
    log = tmp_path_factory.mktemp("proxy") / "server.log"
    with serve_dashboard(bundle_root, log, {"CHURNLENS_TRUSTED_USER_HEADER": "X-Remote-User"}) as url:
        yield url


def test_trusted_header_mode_over_loopback(behind_proxy, browser):
    from tests.e2e.proxy import serving

    signed_in = browser.new_context()
    anonymous = browser.new_context()
    try:
        with serving(behind_proxy, free_port(), {"X-Remote-User": "alice@example.com"}) as proxied:
            page = signed_in.new_page()
            page.goto(f"{proxied}/?bundle=telco")
            settle(page)
            page.get_by_text("Signed in as alice").wait_for(timeout=30_000)
            assert page.get_by_role("textbox", name="Customer ID").is_visible()
        page = anonymous.new_page()  # straight to the server, around the proxy
        page.goto(f"{behind_proxy}/?bundle=telco")
        settle(page)
        page.get_by_text("sign-in address").wait_for(timeout=30_000)
        assert page.get_by_role("textbox", name="Customer ID").count() == 0
    finally:
        signed_in.close()
        anonymous.close()
