"""A minimal loopback reverse proxy that adds one header, as a signing-in proxy (nginx, oauth2-proxy) would.

HTTP requests are forwarded with urllib; the Streamlit websocket with `websockets`.
Test-only: it exists so the trusted-header mode can be checked against a real server
(browsers don't add custom headers to websocket handshakes, proxies do).
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding"}


def build_app(upstream: str, extra: dict[str, str]) -> Starlette:
    ws_upstream = upstream.replace("http://", "ws://", 1)

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP} | extra
        body = await request.body()
        url = upstream + request.url.path + (f"?{request.url.query}" if request.url.query else "")

        def fetch() -> tuple[int, list[tuple[str, str]], bytes]:
            req = urllib.request.Request(url, data=body or None, headers=headers, method=request.method)
            try:
                with urllib.request.urlopen(req, timeout=30) as answer:
                    return answer.status, answer.getheaders(), answer.read()
            except urllib.error.HTTPError as error:
                return error.code, list(error.headers.items()), error.read()

        status, answer_headers, content = await run_in_threadpool(fetch)
        response = Response(content, status_code=status)
        for key, value in answer_headers:
            if key.lower() not in _HOP:
                response.headers.append(key, value)
        return response

    async def stream(client: WebSocket) -> None:
        offered = client.scope.get("subprotocols") or []
        headers = {k: v for k, v in client.headers.items() if k.lower() in ("cookie", "origin")} | extra
        async with websockets.connect(
            ws_upstream + client.url.path, subprotocols=offered or None, additional_headers=headers, max_size=None
        ) as server:
            await client.accept(subprotocol=server.subprotocol)

            async def to_server() -> None:
                try:
                    while True:
                        message = await client.receive()
                        if message["type"] == "websocket.disconnect":
                            return
                        await server.send(message.get("bytes") or message.get("text") or b"")
                except WebSocketDisconnect:
                    return

            async def to_client() -> None:
                async for message in server:
                    if isinstance(message, bytes):
                        await client.send_bytes(message)
                    else:
                        await client.send_text(message)

            done, pending = await asyncio.wait(
                [asyncio.create_task(to_server()), asyncio.create_task(to_client())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in pending:
                task.cancel()

    return Starlette(routes=[
        WebSocketRoute("/_stcore/stream", stream),
        Route("/{path:path}", forward, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
    ])  # fmt: skip


@contextmanager
def serving(upstream: str, port: int, extra: dict[str, str]) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(build_app(upstream, extra), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
