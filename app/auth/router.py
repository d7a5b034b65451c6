"""Login and logout pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.audit import service as audit
from app.auth import service
from app.auth.deps import PRE_CSRF_COOKIE, SESSION_COOKIE, CurrentPrincipal, new_pre_csrf
from app.config import get_settings
from app.db import SessionDep
from app.web.htmx import redirect, render

router = APIRouter(tags=["登录"])


def _safe_next(value: str | None) -> str:
    # Only local paths: never an open redirect.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _login_page(
    request: Request, *, next_url: str, username: str = "", error: str | None = None, status_code: int = 200
) -> Response:
    # Someone already signed in (switching accounts) posts back their session's token: csrf_guard checks
    # the session's token whenever a session cookie is live, so the form must carry that one.
    principal = getattr(request.state, "principal", None)
    token = (
        principal.session.csrf_token
        if principal is not None
        else request.cookies.get(PRE_CSRF_COOKIE) or new_pre_csrf()
    )
    request.state.csrf_token = token
    response = render(
        request,
        "auth/login.html",
        {"next": next_url, "username": username, "error": error},
        status_code=status_code,
    )
    settings = get_settings()
    response.set_cookie(
        PRE_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies, max_age=3600
    )
    return response


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str | None = None) -> Response:
    """Shows the login form (to someone signed in too: csrf_guard, which runs first, has looked them up)."""
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    db: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Checks the password and starts a new session (a fresh id every time)."""
    settings = get_settings()
    ip = request.client.host if request.client else None
    if not username or not password:
        return _login_page(
            request, next_url=_safe_next(next), username=username, error="请输入用户名和密码", status_code=422
        )
    result = service.authenticate(db, username=username, password=password, settings=settings, ip=ip)
    if result.user is None:
        db.commit()  # keep the failure count
        return _login_page(
            request, next_url=_safe_next(next), username=username, error=result.error, status_code=401
        )
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        service.end_session(db, token=old)
    token, _row = service.start_session(
        db, user=result.user, ip=ip, user_agent=request.headers.get("user-agent")
    )
    audit.record(
        db,
        actor=audit.Actor(result.user.id, result.user.display_name, ip),
        action="user.login",
        entity_type="user",
        entity_id=result.user.id,
    )
    db.commit()
    response = redirect(request, _safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_absolute_hours * 3600,
    )
    response.delete_cookie(PRE_CSRF_COOKIE)
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, db: SessionDep, principal: CurrentPrincipal) -> Response:
    """Ends the session on the server and clears the cookie."""
    service.end_session(db, token=request.cookies.get(SESSION_COOKIE, ""))
    db.commit()
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE)
    return response
