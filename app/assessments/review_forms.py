"""Request helpers of the county review pages: who may read or act, form/JSON input, the year, the
confirmation messages and which refusals are shown next to the form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from app import clock
from app.assessments.service import Actor
from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.errors import Conflict, DomainError, Forbidden, ValidationFailed
from app.web import forms

DONE = {
    "approved": "已审核通过。",
    "bulk": "已批量审核通过。",
    "returned": "已退回评审员。",
    "reopened": "已重新打开，评审员可以修改分数。",
    "designated": "直接定级已保存。",
    "opened": "公示已发布。",
    "objection": "异议已登记。",
    "resolved": "异议已处理。",
    "finalized": "星级已认定。",
}


def _reader(principal: CurrentPrincipal) -> Principal:
    """County staff and admins; read-only viewers (city/province) may read too."""
    if not (principal.can(Perm.REVIEW) or principal.user.role == "viewer"):
        raise Forbidden("审核工作台仅供县委组织部使用")
    return principal


def _reviewer(principal: CurrentPrincipal) -> Principal:
    if not principal.can(Perm.REVIEW):
        raise Forbidden("只有县委组织部可以进行审核操作")
    return principal


Reader = Annotated[Principal, Depends(_reader)]
Reviewer = Annotated[Principal, Depends(_reviewer)]


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.user.id, principal.user.display_name, principal.user.role, principal.scope)


async def _form(request: Request) -> dict[str, Any]:
    """A JSON object or the form fields (repeated fields as lists; no CSRF token)."""
    body = await forms.json_object(request)
    if body is not None:
        return body
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if key == "pick" else (values[-1] if values else "")
    return out


Form = Annotated[dict[str, Any], Depends(_form)]


def text(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # JSON clients send numbers as numbers
    return value.strip() if isinstance(value, str) else ""


def integer(values: dict[str, Any], key: str, *, label: str) -> int:
    try:
        return int(str(values.get(key, "")).strip())
    except ValueError:
        raise ValidationFailed(f"{label}无效", field_errors={key: f"{label}须为整数"}) from None


def done_message(request: Request) -> str | None:
    """The confirmation after a redirect (?done=)."""
    return DONE.get(request.query_params.get("done") or "")


def year_param(request: Request) -> int:
    """The ?year= of the page, or this year."""
    raw = request.query_params.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    if raw:
        raise ValidationFailed("年度无效", field_errors={"year": "年度须在 2000–2100 之间"})
    return clock.this_year()


def on_form(exc: DomainError) -> bool:
    """Refusals shown next to the form: field errors and conflicts (others: the error page)."""
    return bool(exc.field_errors) or isinstance(exc, Conflict)
