"""Bearer-token authentication of /api/v1: the token's region is the scope of every query."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from app.api.ratelimit import TokenBucketLimiter
from app.api.settings import ApiSettings
from app.auth import service as auth_service
from app.auth.models import ApiToken
from app.auth.scope import Scope
from app.db import SessionDep, get_engine
from app.db_types import utcnow
from app.errors import Forbidden

log = logging.getLogger("app.api")

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="API 令牌：`Authorization: Bearer <令牌>`（用 `python -m app token create` 生成）",
)


class Unauthorized(Exception):
    """No usable bearer token (401 with WWW-Authenticate: Bearer)."""

    def __init__(self, detail: str, *, invalid: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.invalid = invalid


class RateLimited(Exception):
    """Too many requests for this token (429 with Retry-After)."""

    def __init__(self, retry_after: str) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ApiClient:
    token_id: int
    name: str
    scope: Scope


def _touch(grant: auth_service.TokenGrant, every: timedelta) -> None:
    """Records last_used_at at most once per interval, in its own short write transaction."""
    now = utcnow()
    if grant.last_used_at is not None and now - grant.last_used_at < every:
        return
    stmt = (
        update(ApiToken)
        .where(
            col(ApiToken.id) == grant.token_id,
            or_(col(ApiToken.last_used_at).is_(None), col(ApiToken.last_used_at) < now - every),
        )
        .values(last_used_at=now)
    )
    try:
        with Session(get_engine()) as session:
            session.execute(stmt)
            session.commit()
    except SQLAlchemyError:  # a busy database must not turn a read into an error
        log.warning("could not record last_used_at of token %s", grant.token_id)


def api_client(
    request: Request,
    db: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiClient:
    """The caller behind the bearer token; 401 without a live token, 429 over its rate."""
    if credentials is None:
        raise Unauthorized("缺少 API 令牌：请在 Authorization 头中提供 Bearer 令牌", invalid=False)
    grant = auth_service.token_grant(db, credentials.credentials)
    if grant is None:
        raise Unauthorized("API 令牌无效或已吊销", invalid=True)
    settings: ApiSettings = request.app.state.api_settings
    limiter: TokenBucketLimiter = request.app.state.limiter
    wait = limiter.take(grant.token_id)
    if wait is not None:
        raise RateLimited(limiter.retry_after(wait))
    if "read" not in re.split(r"[\s,]+", grant.scopes):
        raise Forbidden("该令牌没有读取权限")
    _touch(grant, timedelta(seconds=settings.last_used_every_seconds))
    return ApiClient(token_id=grant.token_id, name=grant.name, scope=grant.scope)


ClientDep = Annotated[ApiClient, Depends(api_client)]
