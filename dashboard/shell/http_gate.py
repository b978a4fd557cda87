"""The password sign-in at the HTTP layer: a plain HTML form, an HttpOnly signed cookie,
and every other request of a browser without that cookie refused.

Used by `dashboard/serve.py` (Streamlit's ASGI `st.App` entry point); a script run by
`streamlit run dashboard/app.py` alone cannot set a cookie (Streamlit has no API for it,
and a cookie written by JavaScript could not be HttpOnly), so there the in-page form of
`auth.gate()` asks again after a reload. Only the password mode is handled here: the
header mode's proxy and OIDC's own cookie already guard every request.

Without a valid cookie: the app's pages redirect to the form (remembering the page asked
for, so a /model_card link lands on the model card), `/media/…` downloads, uploads and
the websocket are refused (403), Streamlit's own static files and health check are served.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from dashboard.shell import auth, session_cookie, throttle
from dashboard.shell.passwords import verify_password

log = logging.getLogger("churnlens.auth")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]
SIGNIN = "_churnlens/signin"
SIGNOUT = "_churnlens/signout"
PUBLIC_PREFIXES = ("static/", "_stcore/health", "_stcore/host-config", "favicon")
MAX_FORM_BYTES = 4096
# The form page loads nothing, runs no script, cannot be framed and is not cached.
FORM_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def _base() -> str:
    from streamlit import config

    path = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{path}/" if path else "/"


def safe_next(target: str, base: str) -> str:
    """Where to go after signing in: a path of this app only, never another site (pure)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(base) or "\\" in target or "//" in parts.path:
        return base
    return target


def _form(base: str, target: str, message: str = "") -> str:
    note = f'<p role="alert">{html.escape(message)}</p>' if message else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>churnlens: sign in</title></head>'
        f'<body><h1>churnlens</h1>{note}<form method="post" action="{html.escape(base + SIGNIN)}">'
        f'<input type="hidden" name="next" value="{html.escape(target)}">'
        '<label>Password <input type="password" name="password" autofocus required></label> '
        '<button type="submit">Log in</button></form></body></html>'
    )


class PasswordGate:
    """ASGI middleware; a pass-through unless the password mode is configured."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        config = auth.auth_config(os.environ, auth.secrets_mapping())
        if scope["type"] not in ("http", "websocket") or config.mode != "password" or config.problem:
            await self.app(scope, receive, send)
            return
        base = _base()
        path = str(scope.get("path", ""))
        inner = path[len(base) :] if path.startswith(base) else path.lstrip("/")
        request = Request(scope, receive) if scope["type"] == "http" else None
        if request is not None and inner == SIGNIN:
            await (await _signin(request, config.password_hash, base))(scope, receive, send)
            return
        if request is not None and inner == SIGNOUT:
            response = RedirectResponse(base + SIGNIN, status_code=303)
            response.delete_cookie(session_cookie.COOKIE_NAME, path=base)
            await response(scope, receive, send)
            return
        if inner.startswith(PUBLIC_PREFIXES) or _signed_in(scope, config.password_hash):
            await self.app(scope, receive, send)
            return
        await _refuse(scope, receive, send, base, path)


def _signed_in(scope: Scope, password_hash: str) -> bool:
    cookies: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                cookies.setdefault(key, val)
    token = cookies.get(session_cookie.COOKIE_NAME, "")
    secret = session_cookie.server_secret(os.environ)
    return bool(token) and session_cookie.token_user(token, secret, password_hash) is not None


async def _refuse(scope: Scope, receive: Callable, send: Callable, base: str, path: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    query = scope.get("query_string", b"").decode("latin-1")
    asked = path + (f"?{query}" if query else "")
    wants_page = scope.get("method") == "GET" and not path.startswith(base + "_stcore") and "/media/" not in path
    response: Response = (
        RedirectResponse(f"{base}{SIGNIN}?next={quote(asked, safe='')}", status_code=303)
        if wants_page
        else PlainTextResponse("Sign in first.", status_code=403)
    )
    await response(scope, receive, send)


async def _signin(request: Request, password_hash: str, base: str) -> Response:
    if request.method == "GET":
        target = safe_next(request.query_params.get("next", base), base)
        return HTMLResponse(_form(base, target), headers=FORM_HEADERS)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return PlainTextResponse("Too large.", status_code=413)
    fields = parse_qs(body.decode("utf-8", "replace"))
    password = fields.get("password", [""])[0]
    target = safe_next(fields.get("next", [base])[0], base)
    client = auth.request_client(request.headers.getlist, request.client.host if request.client else None)
    accepted: bool = await run_in_threadpool(verify_password, password, password_hash) if password else False
    if accepted:
        throttle.forget_failures(client)
        log.info("password sign-in from %s", client)
        env = os.environ
        token = session_cookie.make_token(
            "password", session_cookie.server_secret(env), password_hash, session_cookie.lifetime_s(env)
        )
        response = RedirectResponse(target, status_code=303)
        secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"
        max_age = int(session_cookie.lifetime_s(env))
        response.set_cookie(
            session_cookie.COOKIE_NAME,
            token,
            max_age=max_age,
            path=base,
            httponly=True,
            secure=secure,
            samesite="strict",
        )
        return response
    delay = await run_in_threadpool(throttle.answer_failure, client)
    log.warning("failed password sign-in from %s; answered after %.1f s", client, delay)
    return HTMLResponse(_form(base, target, "That password is not right."), status_code=401, headers=FORM_HEADERS)
