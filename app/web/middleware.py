"""Security headers, a request-body size cap, and request logging with timing."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("app.request")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), geolocation=(), microphone=()",
}
# No request needs more: the largest upload is a 50 MB branch register (multipart framing on top).
MAX_BODY_BYTES = 64 * 1024 * 1024
TOO_LARGE = "请求内容过大（不能超过 64 MB）"


def apply_security_headers(headers: MutableHeaders, path: str) -> None:
    """Adds the security headers a response does not set itself (also used for 500 pages, which
    Starlette renders outside every middleware)."""
    for name, value in SECURITY_HEADERS.items():
        if name not in headers:
            headers[name] = value
    if "cache-control" not in headers and (
        path.startswith("/api/") or "text/html" in headers.get("content-type", "")
    ):
        headers["Cache-Control"] = "private" if path.startswith("/api/") else "no-store"


class _BodyTooLarge(Exception):
    pass


class SecurityHeaders:
    """Pure ASGI (streams untouched): security headers on every HTTP response, and a cap on the request
    body (413 by Content-Length before anything is read, or as soon as a chunked body passes the cap)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            # No request needs a NUL byte in its URL, and PostgreSQL refuses one in a query parameter
            # (a 500 from any search box): refused here, once, for every route.
            await _refuse(scope, send, path, 400, "请求无效", "请求地址中含有非法字符（NUL）")
            return
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _too_large(scope, send, path)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _BodyTooLarge()
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                apply_security_headers(MutableHeaders(scope=message), path)
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLarge:
            if started:
                raise
            await _too_large(scope, send, path)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1").strip())
    return None


async def _too_large(scope: Scope, send: Send, path: str) -> None:
    await _refuse(scope, send, path, 413, "上传内容过大", TOO_LARGE)


async def _refuse(scope: Scope, send: Send, path: str, status: int, title: str, detail: str) -> None:
    """A problem+json refusal sent before the application sees the request."""
    body: dict[str, Any] = {"type": f"/problems/{status}", "title": title, "status": status, "detail": detail}
    response = Response(
        json.dumps(body, ensure_ascii=False).encode(),
        status_code=status,
        media_type="application/problem+json",
        headers={"Connection": "close"},
    )
    apply_security_headers(response.headers, path)

    async def _no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, _no_body, send)


class RequestLog:
    """Pure ASGI (no BaseHTTPMiddleware task and stream wrapping on every request): an X-Request-ID on every
    HTTP response (the client's, cut to 64 characters, or a new one) and one log line with the timing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = (_header(scope, b"x-request-id") or "")[:64] or os.urandom(8).hex()
        start = time.perf_counter()
        status = 500  # what the client gets when the application fails before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            ms = (time.perf_counter() - start) * 1000
            log.info("%s %s %s %.1fms rid=%s", scope.get("method"), scope.get("path"), status, ms, rid)
