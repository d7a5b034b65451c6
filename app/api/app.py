"""The /api/v1 sub-application: its own OpenAPI, its own problem+json handlers, no cookies."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.api import errors, routes
from app.api.ratelimit import TokenBucketLimiter
from app.api.schemas import Problem
from app.api.settings import API_SETTINGS, ApiSettings

DESCRIPTION = """\
星级党支部评定系统面向省级系统的只读数据接口（v1，稳定契约：只增不改）。

* 认证：`Authorization: Bearer <令牌>`；令牌所属区划即可见范围。
* 列表：`{"items": [...], "next_cursor": "…" | null, "total": n}`，`limit` 默认 100、最大 1000；
  同步类列表按 `(updated_at, id)` 排序，可用 `updated_since`（RFC 3339，须带时区）增量拉取。
* 小数一律为两位小数的字符串（如 `"87.50"`）；时间为带时区的 RFC 3339。
* 每个 JSON 响应带强 `ETag`；携带 `If-None-Match` 命中时返回 304。
* 错误：`application/problem+json`（`type`、`title`、`status`、`detail`，参数错误另有 `errors`）。

详见 docs/api.md。
"""

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
PROBLEMS: dict[str, dict[str, Any]] = {
    "401": {
        "description": "缺少、无效或已吊销的 API 令牌",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    },
    "403": {"description": "region 参数超出令牌的管辖范围，或令牌无读取权限"},
    "422": {"description": "参数有误（errors 列出每个出错的参数）"},
    "429": {
        "description": "请求过于频繁（按令牌限流）",
        "headers": {"Retry-After": {"schema": {"type": "string"}, "description": "秒数"}},
    },
    "500": {"description": "服务器内部错误"},
}
ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": "响应体的强哈希"}}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "上次响应的 ETag；未变化时返回 304（无响应体）",
}


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {"Problem": schema, **defs}


def build_openapi(api: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with problem+json errors, ETag/304 and bearer auth on every operation."""
    if api.openapi_schema:
        return api.openapi_schema
    doc = get_openapi(
        title=api.title,
        version=api.version,
        description=api.description,
        routes=api.routes,
        servers=api.servers or None,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(_problem_schemas())
    for path, item in doc.get("paths", {}).items():
        for op in item.values():
            responses = op.setdefault("responses", {})
            for status, spec in PROBLEMS.items():
                responses[status] = {**spec, "content": PROBLEM_CONTENT}
            if "{" in path:
                responses["404"] = {
                    "description": "记录不存在或不在令牌的管辖范围内",
                    "content": PROBLEM_CONTENT,
                }
            ok = responses.get("200", {})
            if "application/x-ndjson" in ok.get("content", {}):
                ok["content"] = {
                    "application/x-ndjson": {
                        "schema": {"$ref": "#/components/schemas/AssessmentDetail"},
                        "x-description": "每行一个 AssessmentDetail JSON 对象",
                    }
                }
                continue
            ok["headers"] = ETAG_HEADER
            responses["304"] = {
                "description": "未修改（If-None-Match 命中），无响应体",
                "headers": ETAG_HEADER,
            }
            op.setdefault("parameters", []).append(IF_NONE_MATCH)
    api.openapi_schema = doc
    return doc


def create_api_app(settings: ApiSettings = API_SETTINGS) -> FastAPI:
    """Builds the /api/v1 application (mounted by app.api.router)."""
    api = FastAPI(
        title="星级党支部评定 · 省级数据接口",
        version="1.0.0",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        servers=[{"url": "/api/v1"}],
        root_path_in_servers=False,
    )
    api.state.api_settings = settings
    api.state.limiter = TokenBucketLimiter(rate=settings.rate_per_second, burst=settings.rate_burst)
    errors.install(api)
    api.include_router(routes.router)
    api.openapi = lambda: build_openapi(api)  # type: ignore[method-assign]
    return api
