"""Errors that look right in both worlds: problem+json for machines, a Chinese page or toast for people."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import DomainError
from app.web.htmx import VARY, is_fragment_request, redirect, wants_json
from app.web.middleware import apply_security_headers
from app.web.templating import base_context, templates

log = logging.getLogger("app.errors")

TITLES = {
    400: "请求无效",
    401: "需要登录",
    403: "无权访问",
    404: "页面或记录不存在",
    405: "不支持的请求方法",
    409: "数据已被他人修改",
    413: "上传内容过大",
    415: "不支持的内容类型",
    422: "输入有误",
    423: "已锁定",
    429: "请求过于频繁",
    500: "服务器内部错误",
}


class LoginRequired(Exception):
    """Raised by the auth dependency when no valid session is present."""


def _is_machine(request: Request) -> bool:
    return request.url.path.startswith("/api/") or wants_json(request)


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem+json response."""
    body: dict[str, Any] = {
        "type": f"/problems/{status}",
        "title": title or TITLES.get(status, "错误"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _page(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    ctx = {**base_context(request), "status": status, "title": TITLES.get(status, "错误"), "detail": detail}
    hdrs = {"Vary": VARY, **(headers or {})}
    if is_fragment_request(request):
        # htmx: show a toast where the page keeps its toast region; the target is left alone.
        hdrs.update({"HX-Retarget": "#toasts", "HX-Reswap": "beforeend"})
        return templates.TemplateResponse(
            request, "errors/page.html", ctx, block_name="toast", status_code=status, headers=hdrs
        )
    return templates.TemplateResponse(request, "errors/page.html", ctx, status_code=status, headers=hdrs)


def respond_error(request: Request, status: int, detail: str, **kw: Any) -> Response:
    if _is_machine(request):
        return problem(status, detail, **kw)
    return _page(request, status, detail, headers=kw.get("headers"))


def install(app: FastAPI) -> None:
    """Registers the handlers on an app."""

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_machine(request):
            return problem(401, "请先登录", headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return redirect(request, f"/login?next={quote(target)}")

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        errors = [{"field": k, "message": v} for k, v in exc.field_errors.items()] or None
        if _is_machine(request):
            return problem(exc.status_code, exc.detail, title=exc.title, errors=errors, extra=exc.extra)
        detail = exc.detail
        if exc.field_errors:
            detail += "：" + "；".join(exc.field_errors.values())
        return _page(request, exc.status_code, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        return respond_error(
            request,
            exc.status_code,
            detail or TITLES.get(exc.status_code, "错误"),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": ".".join(
                    str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path", "form")
                ),
                "location": str(err.get("loc", ("",))[0]),
                "message": _zh_validation(err),
            }
            for err in exc.errors()
        ]
        if _is_machine(request):
            return problem(422, "请求参数有误", errors=errors)
        text = "；".join(f"{e['field']}：{e['message']}" for e in errors)
        return _page(request, 422, f"请求参数有误（{text}）")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        response = respond_error(request, 500, "服务器内部错误，请稍后重试；如持续出现请联系管理员")
        # Starlette answers a 500 outside every middleware: the security headers are added here.
        apply_security_headers(response.headers, request.url.path)
        return response


_ZH = {
    "missing": "必填",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "float_parsing": "须为数字",
    "decimal_parsing": "须为数字",
    "bool_parsing": "须为是/否",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "须大于 {gt}",
    "less_than": "须小于 {lt}",
    "string_too_long": "长度不能超过 {max_length}",
    "string_too_short": "长度不能少于 {min_length}",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式应为 RFC 3339",
    "datetime_from_date_parsing": "时间格式应为 RFC 3339",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "string_pattern_mismatch": "格式不正确",
    "json_invalid": "JSON 格式错误",
    "model_attributes_type": "格式不正确",
    "dict_type": "须为对象",
    "list_type": "须为数组",
    "extra_forbidden": "不允许的字段",
}


def _zh_validation(err: Any) -> str:
    template = _ZH.get(err.get("type", ""))
    if template is None:
        return "取值无效"
    try:
        return template.format(**(err.get("ctx") or {}))
    except (KeyError, IndexError):
        return template
