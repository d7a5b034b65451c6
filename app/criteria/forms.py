"""Request helpers of the criteria pages: the posted form (large editor forms and 1 MB documents), the
actor, form fields, and the answer to a write (JSON: the set; a page: a redirect)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.audit import service as audit
from app.auth.deps import Principal
from app.auth.roles import Perm
from app.auth.scope import Scope
from app.criteria import service
from app.criteria.schemas import MAX_UPLOAD_BYTES
from app.errors import DomainError, ValidationFailed
from app.web.htmx import redirect, render, wants_json


class TooLarge(DomainError):
    status_code = 413
    title = "上传内容过大"


async def _form(request: Request) -> AsyncIterator[FormData]:
    """The posted form, allowing the editor's many fields and a 1 MB document (files closed afterwards)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > 4 * MAX_UPLOAD_BYTES:  # URL-encoding may triple the text
        raise TooLarge("上传的文档过大（不能超过 1 MB）")
    form = await request.form(max_fields=20000, max_files=2, max_part_size=4 * MAX_UPLOAD_BYTES)
    try:
        yield form
    finally:
        await form.close()


Posted = Annotated[FormData, Depends(_form)]


def actor_of(request: Request, principal: Principal) -> audit.Actor:
    return audit.Actor(
        id=principal.user.id,
        label=principal.user.display_name,
        ip=request.client.host if request.client else None,
    )


def write_scope(principal: Principal) -> Scope | None:
    """The scope in which the principal may write criteria sets (None: read-only role)."""
    return principal.scope if principal.can(Perm.MANAGE_CRITERIA) else None


def text_field(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def int_field(form: FormData, key: str) -> int | None:
    text = text_field(form, key)
    return int(text) if text.isdigit() and len(text) < 10 else None


def required_int(form: FormData, key: str, message: str) -> int:
    value = int_field(form, key)
    if value is None:
        raise ValidationFailed(message, field_errors={key: message})
    return value


def sheet_json(
    request: Request, principal: Principal, row: service.Row, *, status_code: int = 200
) -> Response:
    """The set as stored now, with its document (the JSON answer to every write)."""
    data = service.to_public(row, scope=write_scope(principal), detail=True)
    return render(request, "criteria/sheet.html", data=data, status_code=status_code)


def committed(request: Request, db: Session, principal: Principal, row: service.Row, url: str) -> Response:
    """Commits a write on a set: JSON, the set; a page, the redirect."""
    db.commit()
    return sheet_json(request, principal, row) if wants_json(request) else redirect(request, url)
