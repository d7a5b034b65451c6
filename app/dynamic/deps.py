"""Request helpers of the dynamic-management pages: who may read or act, form/JSON input, the year."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import clock
from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.dynamic import labels
from app.dynamic.common import default_year
from app.errors import Conflict, DomainError, Forbidden, ValidationFailed
from app.web import forms
from app.web.htmx import render

READ_ROLES = frozenset({"admin", "county", "inspector", "viewer"})


def _reader(principal: CurrentPrincipal) -> Principal:
    """County staff, inspectors (their township) and read-only viewers; not branch secretaries."""
    if principal.user.role not in READ_ROLES:
        raise Forbidden("动态管理仅供组织部门、评审员和上级查看")
    return principal


def _manager(principal: CurrentPrincipal) -> Principal:
    if not principal.can(Perm.REVIEW):
        raise Forbidden("只有县委组织部可以进行此操作")
    return principal


def _visitor(principal: CurrentPrincipal) -> Principal:
    if not (principal.can(Perm.REVIEW) or principal.can(Perm.SCORE)):
        raise Forbidden("只有评审员和县委组织部可以登记走访")
    return principal


Reader = Annotated[Principal, Depends(_reader)]
Manager = Annotated[Principal, Depends(_manager)]
Visitor = Annotated[Principal, Depends(_visitor)]


async def _values(request: Request) -> dict[str, Any]:
    """A JSON object or the form fields (without the CSRF token)."""
    body = await forms.json_object(request)
    if body is not None:
        return body
    form = await request.form()
    return {k: v for k, v in form.items() if k != "csrf_token" and isinstance(v, str)}


Values = Annotated[dict[str, Any], Depends(_values)]


def year_param(request: Request, db: Session, principal: Principal, *, final_only: bool = False) -> int:
    """The ?year= of the page, or the latest year with (final) assessments in the scope."""
    raw = request.query_params.get("year", "").strip()
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    if raw:
        raise ValidationFailed("年度无效", field_errors={"year": "年度须在 2000–2100 之间"})
    return default_year(db, scope=principal.scope, final_only=final_only)


def typed_year(values: dict[str, Any]) -> int | None:
    """The year typed into a refused form, if valid (the page is then shown for that year)."""
    year = str(values.get("year") or "")
    return int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else None


def act(
    request: Request,
    db: Session,
    *,
    run: Callable[[], Any],
    public: Callable[[Any], Any],
    success_url: Callable[[Any], str],
    on_error: Callable[[DomainError], Response],
    status_code: int = 200,
) -> Response:
    """Runs one write: commit and redirect (JSON: the public record), or roll back and answer the
    refusal next to the form (422/409 on pages; problem+json for machines)."""
    return forms.act(
        request,
        db,
        run=run,
        shown=lambda exc: bool(exc.field_errors) or isinstance(exc, Conflict | ValidationFailed),
        on_error=on_error,
        answer=lambda result: render(
            request, "dynamic/_nav.html", data=public(result), status_code=status_code
        ),
        success_url=success_url,
    )


def page(request: Request, template: str, ctx: dict[str, Any], **kw: Any) -> Response:
    """`render` with the domain's labels (`L`) in the template context."""
    return render(request, template, {"L": labels, **ctx}, **kw)


def today() -> str:
    return clock.today().isoformat()
