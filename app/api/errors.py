"""problem+json for everything under /api/v1: auth, rate limit, domain refusals, 404/405, validation, 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.auth import RateLimited, Unauthorized
from app.errors import DomainError
from app.web.errors import TITLES, problem

log = logging.getLogger("app.api")

HTTP_DETAILS = {
    404: "资源不存在：请检查路径（接口说明见 /api/docs）",
    405: "不支持的请求方法：本接口只读，仅支持 GET",
}

_MESSAGES = {
    "missing": "必填",
    "extra_forbidden": "未知参数",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "int_from_float": "须为整数",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "string_too_long": "长度不能超过 {max_length}",
    "string_too_short": "长度不能少于 {min_length}",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "取值不在允许范围内（可选：{expected}）",
    "enum": "取值不在允许范围内（可选：{expected}）",
    "datetime_parsing": "时间格式应为 RFC 3339",
    "datetime_type": "时间格式应为 RFC 3339",
    "timezone_aware": "时间须带时区偏移（如 Z 或 +08:00）",
}


def _message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", ""))
    if msg and not msg.isascii():
        return msg  # our own validators already speak Chinese
    template = _MESSAGES.get(str(err.get("type", "")))
    if template is None:
        return "取值无效"
    ctx = dict(err.get("ctx") or {})
    if "expected" in ctx:  # "'a', 'b' or 'c'" → "a、b、c"
        ctx["expected"] = "、".join(
            v.strip(" '") for v in str(ctx["expected"]).replace(" or ", ", ").split(",")
        )
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """One entry per bad parameter, named as the client sent it, with a Chinese message."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        location = loc[0] if loc else ""
        field = ".".join(loc[1:]) if len(loc) > 1 else location
        out.append({"field": field, "location": location, "message": _message(err)})
    return out


def install(app: FastAPI) -> None:
    """Registers the problem+json handlers on the API sub-application."""

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> Response:
        challenge = 'Bearer realm="xingji-api"' + (', error="invalid_token"' if exc.invalid else "")
        return problem(401, exc.detail, title="需要 API 令牌", headers={"WWW-Authenticate": challenge})

    @app.exception_handler(RateLimited)
    async def _rate_limited(request: Request, exc: RateLimited) -> Response:
        return problem(
            429, f"请求过于频繁，请 {exc.retry_after} 秒后重试", headers={"Retry-After": exc.retry_after}
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        errors = [{"field": k, "location": "query", "message": v} for k, v in exc.field_errors.items()]
        return problem(exc.status_code, exc.detail, title=exc.title, errors=errors or None, extra=exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = HTTP_DETAILS.get(exc.status_code, TITLES.get(exc.status_code, "错误"))
        return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return problem(422, "请求参数有误", errors=validation_errors(exc))

    app.add_middleware(ProblemOnError)


class ProblemOnError:
    """Turns an unexpected exception into a 500 problem+json (logged) instead of a bare error page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def _send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, _send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # a stream failed half-way: nothing left to do but end the connection
                raise
            response = problem(500, "服务器内部错误，请稍后重试；如持续出现请联系管理员")
            await response(scope, receive, send)
