"""Login, sessions (server-side, rotated on login, idle and absolute timeouts), users, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.models import ApiToken, User, UserSession
from app.auth.passwords import DUMMY_HASH, hash_password, password_problems, verify_password
from app.auth.scope import Scope
from app.config import Settings
from app.db_types import utcnow
from app.errors import NotFound, ValidationFailed
from app.labels import ROLES
from app.regions.models import Region

GENERIC_LOGIN_ERROR = "用户名或密码错误"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None = None
    session_token: str | None = None


def authenticate(
    session: Session, *, username: str, password: str, settings: Settings, ip: str | None = None
) -> LoginResult:
    """Checks a password, counting failures and locking the account after too many."""
    now = utcnow()
    name = username.strip()
    if not name or len(name) > 64 or any(ord(c) < 32 or ord(c) == 127 for c in name):
        # No such username can exist (and PostgreSQL refuses a NUL in a query parameter).
        verify_password(password, DUMMY_HASH)
        return LoginResult(None, GENERIC_LOGIN_ERROR)
    # FOR UPDATE (PostgreSQL): concurrent attempts on one account queue here, so no failure is lost to a
    # read-modify-write race and the lock really comes after LOGIN_MAX_FAILURES guesses. (SQLite's write
    # transaction, BEGIN IMMEDIATE, serializes them already; SQLAlchemy omits the clause there.)
    user = session.exec(select(User).where(User.username == name).with_for_update()).first()
    if user is None:
        verify_password(password, DUMMY_HASH)
        return LoginResult(None, GENERIC_LOGIN_ERROR)
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginResult(None, f"登录失败次数过多，账号已临时锁定，请 {minutes} 分钟后再试")
    if not verify_password(password, user.password_hash) or not user.is_active:
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
            user.failed_logins = 0
            audit.record(
                session,
                actor=audit.Actor(None, username[:64], ip),
                action="user.locked",
                entity_type="user",
                entity_id=user.id,
                reason="连续登录失败",
            )
        session.add(user)
        session.flush()
        return LoginResult(None, GENERIC_LOGIN_ERROR)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    session.flush()
    return LoginResult(user)


def start_session(
    session: Session, *, user: User, ip: str | None = None, user_agent: str | None = None
) -> tuple[str, UserSession]:
    """Creates a fresh session (a new id on every login); returns the cookie token."""
    token = secrets.token_urlsafe(32)
    row = UserSession(
        id=_sha256(token),
        user_id=user.id or 0,
        csrf_token=secrets.token_urlsafe(24),
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
    )
    session.add(row)
    session.flush()
    return token, row


# Built once: every request of a logged-in user runs it, and building the statement (and its cache key)
# per request costs more than running it.
_SESSION_USER_REGION = (
    core_select(
        col(UserSession.id),
        col(UserSession.csrf_token),
        col(UserSession.created_at),
        col(UserSession.last_seen_at),
        col(UserSession.revoked_at),
        col(User.id),
        col(User.username),
        col(User.display_name),
        col(User.role),
        col(User.region_id),
        col(User.branch_id),
        col(User.is_active),
        col(Region.path),
        col(Region.name),
    )
    .join(User, col(User.id) == col(UserSession.user_id))
    .join(Region, col(Region.id) == col(User.region_id))
    .where(col(UserSession.id) == bindparam("session_id"))
)
_TOUCH = (
    update(UserSession.__table__)  # type: ignore[attr-defined]
    .where(UserSession.__table__.c.id == bindparam("session_id"))  # type: ignore[attr-defined]
    .values(last_seen_at=bindparam("now"))
)


@dataclass(frozen=True)
class UserView:
    """The signed-in user as requests and pages need it: plain values, not an ORM row (an ORM object
    expires on rollback and then cannot render an error page; and every request pays for building one)."""

    id: int
    username: str
    display_name: str
    role: str
    region_id: int
    branch_id: int | None


@dataclass(frozen=True)
class LiveSession:
    """A live login (the session row's fields a request uses)."""

    id: str  # the SHA-256 of the cookie token
    csrf_token: str
    last_seen_at: datetime


def load_session(
    conn: Connection, *, token: str, settings: Settings, now: datetime | None = None
) -> tuple[LiveSession, UserView, Scope] | None:
    """The live session, its user and the user's scope, or None when unknown, revoked, idle or too old.

    One Core statement (the session, its user and the user's region joined) read into plain values:
    every request of a logged-in user starts here, and loading the two rows as ORM objects cost more than
    the rest of an item save's reads together."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    found = conn.execute(_SESSION_USER_REGION, {"session_id": _sha256(token)}).first()
    if found is None:
        return None
    (sid, csrf, created_at, last_seen_at, revoked_at, uid, username, name, role, region_id, branch_id,
     active, path, region_name) = found  # fmt: skip
    if revoked_at is not None or not active:
        return None
    if now - last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        return None
    if now - created_at > timedelta(hours=settings.session_absolute_hours):
        return None
    assert uid is not None
    user = UserView(uid, username, name, role, region_id, branch_id)
    return LiveSession(sid, csrf, last_seen_at), user, user_scope(user, path, region_name)


TOUCH_EVERY = timedelta(seconds=60)


def session_needs_touch(row: LiveSession, now: datetime | None = None) -> bool:
    """Whether the idle timer is due for a refresh (it is refreshed at most once a minute)."""
    return (now or utcnow()) - row.last_seen_at > TOUCH_EVERY


def touch_session(session: Session, row: LiveSession, now: datetime | None = None) -> None:
    """Refreshes the idle timer (at most once a minute, to keep reads cheap)."""
    now = now or utcnow()
    if session_needs_touch(row, now):
        session.connection().execute(_TOUCH, {"session_id": row.id, "now": now})


def end_session(session: Session, *, token: str) -> None:
    """Revokes the session behind a cookie token (logout)."""
    row = session.get(UserSession, _sha256(token)) if token else None
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()


def scope_for_region(session: Session, region_id: int, branch_id: int | None = None) -> Scope:
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound("区域不存在")
    return Scope(region_id=region_id, region_path=region.path, region_name=region.name, branch_id=branch_id)


def user_scope(user: User | UserView, region_path: str, region_name: str) -> Scope:
    """The region subtree a user may see (a branch user: additionally their one branch), given the path
    and name of the user's region."""
    branch_id = user.branch_id if user.role == "branch" else None
    return Scope(
        region_id=user.region_id, region_path=region_path, region_name=region_name, branch_id=branch_id
    )


def scope_for_user(session: Session, user: User) -> Scope:
    """The region subtree a user may see, reading the user's region."""
    region = scope_for_region(session, user.region_id)
    return user_scope(user, region.region_path, region.region_name)


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    region_code: str,
    password: str,
    branch_code: str | None = None,
    actor: audit.Actor = audit.SYSTEM,
) -> User:
    """Creates a user after checking role, region, branch and the password rules."""
    from app.branches.models import Branch

    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = "未知角色"
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        errors["username"] = "用户名须为 1–64 位字母、数字、下划线或点"
    elif session.exec(select(User).where(User.username == username)).first():
        errors["username"] = "用户名已存在"
    region = session.exec(select(Region).where(Region.code == region_code)).first()
    if region is None:
        errors["region"] = "区域代码不存在"
    problems = password_problems(password, username=username)
    if problems:
        errors["password"] = "；".join(problems)
    branch_id = None
    if role == "branch":
        branch = session.exec(select(Branch).where(Branch.code == (branch_code or ""))).first()
        if branch is None:
            errors["branch"] = "支部书记账号须指定存在的支部编码"
        else:
            branch_id = branch.id
    if errors:
        raise ValidationFailed("用户信息有误", field_errors=errors)
    assert region is not None
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        region_id=region.id or 0,
        branch_id=branch_id,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        new={"username": username, "role": role, "region": region_code},
    )
    return user


def create_token(
    session: Session, *, name: str, region_code: str, scopes: str = "read", actor: audit.Actor = audit.SYSTEM
) -> tuple[str, ApiToken]:
    """Creates an API token; returns the secret (shown once) and the stored row (hash only)."""
    errors: dict[str, str] = {}
    if not name.strip() or len(name) > 64:
        errors["name"] = "名称须为 1–64 个字符"
    region = session.exec(select(Region).where(Region.code == region_code)).first()
    if region is None:
        errors["region"] = "区域代码不存在"
    if errors:
        raise ValidationFailed("令牌信息有误", field_errors=errors)
    assert region is not None
    secret = "xj_" + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name.strip(),
        token_hash=_sha256(secret),
        prefix=secret[:10],
        scopes=scopes,
        region_id=region.id or 0,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.create",
        entity_type="api_token",
        entity_id=row.id,
        new={"name": row.name, "region": region_code, "scopes": scopes},
    )
    return secret, row


@dataclass(frozen=True)
class TokenGrant:
    """What a live bearer token allows: who it is, its permissions and the region subtree it sees."""

    token_id: int
    name: str
    scopes: str
    last_used_at: datetime | None
    scope: Scope


_GRANT = (
    core_select(
        col(ApiToken.id),
        col(ApiToken.name),
        col(ApiToken.scopes),
        col(ApiToken.last_used_at),
        col(Region.id),
        col(Region.path),
        col(Region.name),
    )
    .join(Region, col(Region.id) == col(ApiToken.region_id))
    .where(col(ApiToken.token_hash) == bindparam("token_hash"), col(ApiToken.revoked_at).is_(None))
)


def token_grant(session: Session, secret: str) -> TokenGrant | None:
    """The live token for a bearer secret and its region, in one statement (every API request pays for
    it), or None."""
    if not secret or len(secret) > 200:
        return None
    row = session.connection().execute(_GRANT, {"token_hash": _sha256(secret)}).first()
    if row is None:
        return None
    token_id, name, scopes, last_used_at, region_id, path, region_name = row
    return TokenGrant(token_id or 0, name, scopes, last_used_at, Scope(region_id or 0, path, region_name))


def list_tokens(session: Session) -> list[ApiToken]:
    """Lists every API token (hashes only)."""
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def revoke_token(session: Session, *, token_id: int, actor: audit.Actor = audit.SYSTEM) -> ApiToken:
    """Revokes a token; it stops working at once."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("令牌不存在")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(session, actor=actor, action="token.revoke", entity_type="api_token", entity_id=row.id)
        session.flush()
    return row
