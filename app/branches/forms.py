"""Reading a write request (HTML form or JSON body) into a schema, with Chinese field errors."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from app.audit import service as audit
from app.auth.deps import Principal
from app.branches.schemas import zh_errors
from app.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


async def _submitted(request: Request) -> dict[str, Any]:
    """The submitted values: a JSON object, or the text fields of a form (without the CSRF token)."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise ValidationFailed("JSON 格式错误") from None
        if not isinstance(body, dict):
            raise ValidationFailed("请求体须为 JSON 对象")
        return body
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


Submitted = Annotated[dict[str, Any], Depends(_submitted)]


def parse(model: type[M], values: dict[str, Any]) -> M:
    """Validates the values (ValidationFailed with a Chinese message per field otherwise)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ValidationFailed("输入有误，请按提示修改", field_errors=zh_errors(exc)) from None


def actor_of(request: Request, principal: Principal) -> audit.Actor:
    """The audit actor of a request: the user, with their IP address."""
    return audit.Actor(
        id=principal.user.id,
        label=principal.user.display_name,
        ip=request.client.host if request.client else None,
    )
