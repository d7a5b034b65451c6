"""Administration pages: users and API tokens (administrators, inside their scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.auth import admin_service, service
from app.auth.deps import Principal, require
from app.auth.roles import Perm
from app.db import SessionDep
from app.errors import NotFound, ValidationFailed
from app.regions import service as regions_service
from app.web.htmx import redirect, render

router = APIRouter(prefix="/admin", tags=["系统管理"])
Admin = Annotated[Principal, require(Perm.MANAGE_USERS)]


def _users_page(
    request: Request,
    db: SessionDep,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    message: str | None = None,
) -> Response:
    users = admin_service.list_users(db, scope=principal.scope)
    data = [
        {
            "id": u.id,
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "region_code": r.code,
            "region_name": r.name,
            "is_active": u.is_active,
            "locked": bool(u.locked_until),
        }
        for u, r in users
    ]
    return render(
        request,
        "admin/users.html",
        {"errors": errors or {}, "form": form or {}, "message": message},
        data={"items": data},
        status_code=status_code,
    )


@router.get("/users", include_in_schema=False)
def users_page(request: Request, db: SessionDep, principal: Admin) -> Response:
    """Lists the users in scope with a form to add one."""
    return _users_page(request, db, principal)


@router.post("/users", include_in_schema=False)
def create_user(
    request: Request,
    db: SessionDep,
    principal: Admin,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    region_code: Annotated[str, Form(max_length=12)] = "",
    branch_code: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Creates a user inside the administrator's scope."""
    form = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "region_code": region_code,
        "branch_code": branch_code,
    }
    try:
        regions_service.get_by_code(db, code=region_code, scope=principal.scope)
    except NotFound:
        return _users_page(
            request,
            db,
            principal,
            errors={"region_code": "区划代码不存在或不在您的管辖范围内"},
            form=form,
            status_code=422,
        )
    try:
        service.create_user(
            db,
            username=username.strip(),
            display_name=display_name.strip(),
            role=role,
            region_code=region_code,
            password=password,
            branch_code=branch_code or None,
            actor=principal.actor,
        )
    except ValidationFailed as exc:
        db.rollback()
        errors = {
            ("region_code" if k == "region" else "branch_code" if k == "branch" else k): v
            for k, v in exc.field_errors.items()
        }
        return _users_page(request, db, principal, errors=errors, form=form, status_code=422)
    db.commit()
    return redirect(request, "/admin/users")


@router.post("/users/{user_id}/{action}", include_in_schema=False)
def user_action(
    request: Request,
    db: SessionDep,
    principal: Admin,
    user_id: int,
    action: str,
    reason: Annotated[str, Form(max_length=500)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Disables, enables, unlocks a user or resets their password."""
    user = admin_service.get_user(db, user_id=user_id, scope=principal.scope)
    if action == "deactivate":
        admin_service.set_active(
            db, user=user, active=False, actor=principal.actor, reason=reason or "管理员停用"
        )
    elif action == "activate":
        admin_service.set_active(
            db, user=user, active=True, actor=principal.actor, reason=reason or "管理员启用"
        )
    elif action == "unlock":
        admin_service.unlock(db, user=user, actor=principal.actor)
    elif action == "password":
        admin_service.reset_password(db, user=user, password=password, actor=principal.actor)
    else:
        raise NotFound("未知操作")
    db.commit()
    return redirect(request, "/admin/users")


def _token_rows(db: SessionDep, principal: Principal) -> list[dict[str, object]]:
    return [
        {
            "id": t.id,
            "name": t.name,
            "prefix": t.prefix,
            "region_code": r.code,
            "region_name": r.name,
            "created_at": t.created_at,
            "last_used_at": t.last_used_at,
            "revoked": t.revoked_at is not None,
        }
        for t, r in admin_service.list_tokens(db, scope=principal.scope)
    ]


@router.get("/tokens", include_in_schema=False)
def tokens_page(request: Request, db: SessionDep, principal: Admin) -> Response:
    """Lists API tokens in scope (hashes only; a secret is shown once at creation)."""
    return render(
        request,
        "admin/tokens.html",
        {"secret": None, "errors": {}},
        data={"items": _token_rows(db, principal)},
    )


@router.post("/tokens", include_in_schema=False)
def create_token(
    request: Request,
    db: SessionDep,
    principal: Admin,
    name: Annotated[str, Form(max_length=64)] = "",
    region_code: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Creates a token and shows its secret once."""
    errors: dict[str, str] = {}
    try:
        regions_service.get_by_code(db, code=region_code, scope=principal.scope)
        secret, _row = service.create_token(db, name=name, region_code=region_code, actor=principal.actor)
    except NotFound:
        errors = {"region_code": "区划代码不存在或不在您的管辖范围内"}
    except ValidationFailed as exc:
        errors = {("region_code" if k == "region" else k): v for k, v in exc.field_errors.items()}
    if errors:
        db.rollback()
        return render(
            request,
            "admin/tokens.html",
            {"secret": None, "errors": errors, "form": {"name": name, "region_code": region_code}},
            data={"items": _token_rows(db, principal)},
            status_code=422,
        )
    db.commit()
    # The secret is rendered into the page once and never stored; it is not part of the JSON twin.
    return render(
        request,
        "admin/tokens.html",
        {"secret": secret, "errors": {}},
        data={"items": _token_rows(db, principal)},
    )


@router.post("/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_token(request: Request, db: SessionDep, principal: Admin, token_id: int) -> Response:
    """Revokes a token in scope."""
    if not any(t.id == token_id for t, _r in admin_service.list_tokens(db, scope=principal.scope)):
        raise NotFound("令牌不存在或不在您的管辖范围内")
    service.revoke_token(db, token_id=token_id, actor=principal.actor)
    db.commit()
    return redirect(request, "/admin/tokens")
