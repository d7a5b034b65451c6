"""Request dependencies: the current principal, role checks, CSRF."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.audit.service import Actor
from app.auth import service
from app.auth.roles import Perm, has_perm
from app.auth.scope import Scope
from app.auth.service import LiveSession, UserView
from app.config import get_settings
from app.db import BUSY_TIMEOUT_S, ReadSessionDep, SessionDep, get_engine, loop_reader
from app.errors import Forbidden
from app.web.errors import LoginRequired

SESSION_COOKIE = "xj_session"
PRE_CSRF_COOKIE = "xj_precsrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_REFUSED = "安全校验失败（CSRF），请刷新页面后重试"


@dataclass(frozen=True)
class Principal:
    user: UserView
    scope: Scope
    session: LiveSession

    @property
    def actor(self) -> Actor:
        return Actor(id=self.user.id, label=self.user.display_name)

    def can(self, perm: Perm) -> bool:
        return has_perm(self.user.role, perm)

    def require(self, perm: Perm) -> None:
        if not self.can(perm):
            raise Forbidden("当前角色无权进行此操作")


async def optional_principal(request: Request, db: SessionDep, read: ReadSessionDep) -> Principal | None:
    """The logged-in principal, if any; also published on request.state for templates."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = request.cookies.get(SESSION_COOKIE, "")
    found = await _lookup(read, token) if token else None
    if found is None:
        return None
    row, user, scope = found
    if service.session_needs_touch(row):
        await anyio.to_thread.run_sync(_touch, db, row)  # a write: never on the loop
    principal = Principal(user=user, scope=scope, session=row)
    request.state.principal = principal
    request.state.user = user
    request.state.scope = principal.scope
    request.state.csrf_token = row.csrf_token
    return principal


async def _lookup(read: Session, token: str) -> tuple[LiveSession, UserView, Scope] | None:
    """The session, its user and scope. On SQLite on the event loop itself, on a connection of its own
    that never waits (app.db.loop_reader): one indexed statement, cheaper than the trip to the thread pool
    and back that it used to take for every request. When that connection is busy (rare in WAL mode)
    and on PostgreSQL, in the thread pool, in `read` (see app.db.get_read_session): a write request's own
    session on SQLite would hold the writer lock for the whole request."""
    reader = loop_reader(read.get_bind())  # type: ignore[arg-type]
    if reader is not None:
        try:
            with reader.connect() as conn:
                return service.load_session(conn, token=token, settings=get_settings())
        except OperationalError:
            pass  # busy: the thread pool's way
    return await anyio.to_thread.run_sync(_lookup_in, read, token)


def _lookup_in(read: Session, token: str) -> tuple[LiveSession, UserView, Scope] | None:
    loaded = service.load_session(read.connection(), token=token, settings=get_settings())
    if read.get_bind() is not get_engine():
        read.commit()  # a read-engine session: ends its snapshot now, not at the end of the request
    return loaded


# How long the idle timer's refresh waits for SQLite's writer lock before it gives up (best effort: the
# next request tries again), instead of the busy timeout: a page load must not wait behind a stream of saves.
TOUCH_WAIT_MS = 100


def _touch(db: Session, row: LiveSession) -> None:
    sqlite = db.get_bind().dialect.name == "sqlite"
    try:
        conn = db.connection()
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={TOUCH_WAIT_MS}")
        try:
            service.touch_session(db, row)
        finally:
            if sqlite:  # the pooled connection's own timeout back before it returns to the pool
                conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        db.commit()
    except OperationalError:  # a busy database must not turn a read into an error
        db.rollback()


async def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    # async: no I/O here, so no trip to the thread pool (each sync dependency costs one)
    if principal is None:
        raise LoginRequired()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(perm: Perm):  # type: ignore[no-untyped-def]
    """A dependency that demands a permission of the current role."""

    async def dep(principal: CurrentPrincipal) -> Principal:
        principal.require(perm)
        return principal

    return Depends(dep)


async def csrf_guard(
    request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> None:
    """Every state change carries the session's CSRF token (X-CSRF-Token header or csrf_token field).

    The machine API (/api/) uses bearer tokens and no cookies, so it is exempt. A request that cannot
    carry a valid token (no session, no login-form cookie) is refused before its body is read.

    The principal's lookup runs on the loop only on a connection that never waits (app.db.loop_reader);
    its other database work (the idle timer's write, PostgreSQL) runs in the thread pool: a write
    request's first statement is SQLite's BEGIN IMMEDIATE, which waits (busy_timeout) while another
    request holds the write lock — on the loop, that wait froze every request, including the one
    holding the lock, for the whole timeout.
    """
    if request.method in SAFE_METHODS or request.url.path.startswith("/api/"):
        return
    expected = principal.session.csrf_token if principal else request.cookies.get(PRE_CSRF_COOKIE)
    if not expected:
        raise Forbidden(CSRF_REFUSED)
    sent = request.headers.get("x-csrf-token")
    form = None
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        if form is not None:
            await form.close()  # uploaded files of a refused request: closed now, not at GC
        raise Forbidden(CSRF_REFUSED)


def new_pre_csrf() -> str:
    return secrets.token_urlsafe(24)
