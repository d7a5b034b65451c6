"""User and token administration inside an administrator's scope."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.models import ApiToken, User, UserSession
from app.auth.passwords import hash_password, password_problems
from app.auth.scope import Scope
from app.db_types import utcnow
from app.errors import NotFound, ValidationFailed
from app.regions.models import Region


def list_users(session: Session, *, scope: Scope) -> list[tuple[User, Region]]:
    """Lists the users whose region lies inside the scope, by username."""
    stmt = (
        select(User, Region)
        .join(Region, col(Region.id) == User.region_id)
        .where(scope.filter(col(Region.path)))
        .order_by(col(User.username))
    )
    return list(session.exec(stmt))


def get_user(session: Session, *, user_id: int, scope: Scope) -> User:
    user = session.get(User, user_id)
    region = session.get(Region, user.region_id) if user else None
    if user is None or region is None or not scope.contains_path(region.path):
        raise NotFound("用户不存在或不在您的管辖范围内")
    return user


def set_active(session: Session, *, user: User, active: bool, actor: audit.Actor, reason: str) -> None:
    """Enables or disables a user; disabling ends all their sessions."""
    if not reason.strip():
        raise ValidationFailed("请填写原因", field_errors={"reason": "请填写原因"})
    if user.id == actor.id and not active:
        raise ValidationFailed("不能停用自己的账号")
    user.is_active = active
    user.updated_at = utcnow()
    session.add(user)
    if not active:
        revoke_sessions(session, user_id=user.id or 0)
    audit.record(
        session,
        actor=actor,
        action="user.activate" if active else "user.deactivate",
        entity_type="user",
        entity_id=user.id,
        old={"active": not active},
        new={"active": active},
        reason=reason.strip(),
    )


def unlock(session: Session, *, user: User, actor: audit.Actor) -> None:
    user.locked_until = None
    user.failed_logins = 0
    session.add(user)
    audit.record(session, actor=actor, action="user.unlock", entity_type="user", entity_id=user.id)


def reset_password(session: Session, *, user: User, password: str, actor: audit.Actor) -> None:
    """Sets a new password (checked against the rules) and ends the user's sessions."""
    problems = password_problems(password, username=user.username)
    if problems:
        raise ValidationFailed("密码不符合要求", field_errors={"password": "；".join(problems)})
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.locked_until = None
    user.failed_logins = 0
    session.add(user)
    revoke_sessions(session, user_id=user.id or 0)
    audit.record(session, actor=actor, action="user.password_reset", entity_type="user", entity_id=user.id)


def revoke_sessions(session: Session, *, user_id: int) -> None:
    now = utcnow()
    for row in session.exec(
        select(UserSession).where(UserSession.user_id == user_id, col(UserSession.revoked_at).is_(None))
    ):
        row.revoked_at = now
        session.add(row)
    session.flush()


def list_tokens(session: Session, *, scope: Scope) -> list[tuple[ApiToken, Region]]:
    """Lists the API tokens whose region lies inside the scope."""
    stmt = (
        select(ApiToken, Region)
        .join(Region, col(Region.id) == ApiToken.region_id)
        .where(scope.filter(col(Region.path)))
        .order_by(col(ApiToken.id))
    )
    return list(session.exec(stmt))
