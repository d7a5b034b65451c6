"""Domain errors raised by services; the web layer turns them into pages or problem+json."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal with a Chinese message. `field_errors` maps a field name to its message."""

    status_code = 400
    title = "请求无效"

    def __init__(
        self,
        detail: str,
        *,
        field_errors: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field_errors = field_errors or {}
        self.extra = extra or {}


class ValidationFailed(DomainError):
    status_code = 422
    title = "输入有误"


class NotFound(DomainError):
    status_code = 404
    title = "未找到"


class Forbidden(DomainError):
    status_code = 403
    title = "无权操作"


class Conflict(DomainError):
    """A stale write: someone else changed the record since the client read it."""

    status_code = 409
    title = "数据已被他人修改"


class Locked(DomainError):
    status_code = 423
    title = "已锁定"
