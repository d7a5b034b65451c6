"""Sessions and login: rotation, logout, idle and absolute timeouts, lockout (also under concurrent
guessing), password rules, argon2id hashes, cookie flags (Secure when SECURE_COOKIES=true).

Accounts that get locked or timed out here are created by these tests (the demo users are shared).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import select

from app.auth import service as auth_service
from app.auth.deps import PRE_CSRF_COOKIE, SESSION_COOKIE
from app.auth.models import User, UserSession
from app.auth.passwords import password_problems
from app.config import get_settings
from app.db import session_scope
from app.db_types import utcnow
from tests.security.helpers import anon_client, user_client

PASSWORD = "Qingshan#2026x"
_seq = itertools.count(1)
_RUN = os.getpid() % 10000


def make_user(role: str = "viewer", region: str = "990102") -> str:
    """A fresh account of our own (locking or expiring it disturbs nobody)."""
    username = f"sec_{role}_{_RUN}_{next(_seq)}"
    with session_scope() as s:
        auth_service.create_user(
            s, username=username, display_name="安全测试", role=role, region_code=region, password=PASSWORD
        )
    return username


def _form_token(client: Any) -> str:
    m = re.search(r'name="csrf_token" value="([^"]*)"', client.get("/login").text)
    assert m
    return m.group(1)


def attempt(client: Any, username: str, password: str) -> Any:
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": _form_token(client)}
    )


def _session_row(token: str) -> UserSession | None:
    with session_scope() as s:
        return s.get(UserSession, hashlib.sha256(token.encode()).hexdigest())


def _age_session(token: str, **fields: Any) -> None:
    with session_scope() as s:
        s.execute(
            update(UserSession)
            .where(UserSession.id == hashlib.sha256(token.encode()).hexdigest())  # type: ignore[arg-type]
            .values(**fields)
        )


# -- the session id ---------------------------------------------------------------------------------------


def test_login_rotates_the_session_id_and_ignores_a_planted_one(app) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    with anon_client(app) as c:
        c.cookies.set(SESSION_COOKIE, "attacker-chosen-session-id", domain="testserver.local")  # fixation
        r = attempt(c, user, PASSWORD)
        assert r.status_code == 303
        first = c.cookies.get(SESSION_COOKIE)
        assert first and first != "attacker-chosen-session-id"
        assert len(first) >= 40  # 32 random bytes, url-safe
        # Stored as a hash only: the cookie value is not a key in the table.
        with session_scope() as s:
            assert s.get(UserSession, first) is None
        row = _session_row(first)
        assert row is not None and row.revoked_at is None
        # Logging in again (same browser) issues a new id and revokes the previous one.
        r = attempt(c, user, PASSWORD)
        second = c.cookies.get(SESSION_COOKIE)
        assert second and second != first
        old = _session_row(first)
        assert old is not None and old.revoked_at is not None
        new = _session_row(second)
        assert new is not None and new.csrf_token != row.csrf_token  # a new CSRF token too
    with anon_client(app, cookies={SESSION_COOKIE: first}) as stale:
        assert stale.get("/branches").status_code == 303


def test_logout_invalidates_on_the_server(app) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    client, csrf = user_client(app, user, PASSWORD)
    with client:
        token = client.cookies.get(SESSION_COOKIE)
        assert client.get("/branches").status_code == 200
        assert client.post("/logout").status_code == 403  # no CSRF token: refused, still logged in
        assert client.get("/branches").status_code == 200
        r = client.post("/logout", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert 'xj_session=""' in r.headers.get("set-cookie", "") or "Max-Age=0" in r.headers.get(
            "set-cookie", ""
        )
    row = _session_row(token or "")
    assert row is not None and row.revoked_at is not None
    with anon_client(app, cookies={SESSION_COOKIE: token or ""}) as replay:
        r = replay.get("/branches")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert replay.get("/branches", headers={"Accept": "application/json"}).status_code == 401


def test_idle_timeout(app) -> None:  # type: ignore[no-untyped-def]
    idle = get_settings().session_idle_minutes
    client, _ = user_client(app, make_user(), PASSWORD)
    with client:
        token = client.cookies.get(SESSION_COOKIE) or ""
        _age_session(token, last_seen_at=utcnow() - timedelta(minutes=idle - 2))
        assert client.get("/branches").status_code == 200  # within the idle window: refreshed
        row = _session_row(token)
        assert row is not None and utcnow() - row.last_seen_at < timedelta(minutes=1)
        _age_session(token, last_seen_at=utcnow() - timedelta(minutes=idle + 1))
        r = client.get("/branches")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_absolute_timeout(app) -> None:  # type: ignore[no-untyped-def]
    hours = get_settings().session_absolute_hours
    client, _ = user_client(app, make_user(), PASSWORD)
    with client:
        token = client.cookies.get(SESSION_COOKIE) or ""
        _age_session(token, created_at=utcnow() - timedelta(hours=hours) + timedelta(minutes=5))
        assert client.get("/branches").status_code == 200
        # Active all along (last seen now), but older than the absolute limit: over.
        _age_session(token, created_at=utcnow() - timedelta(hours=hours, minutes=1), last_seen_at=utcnow())
        assert client.get("/branches").status_code == 303


def test_disabled_user_loses_live_sessions(app) -> None:  # type: ignore[no-untyped-def]
    username = make_user()
    client, _ = user_client(app, username, PASSWORD)
    with client:
        with session_scope() as s:
            user = s.exec(select(User).where(User.username == username)).one()
            user.is_active = False
            s.add(user)
        assert client.get("/branches").status_code == 303
    with anon_client(app) as c:
        r = attempt(c, username, PASSWORD)
        assert r.status_code == 401 and "用户名或密码错误" in r.text  # says nothing about the account


def test_oversized_or_garbage_cookies_are_anonymous(app) -> None:  # type: ignore[no-untyped-def]
    for value in ("x" * 5000, "'; DROP TABLE user_session; --", "\u0000abc", "%00", "a" * 129):
        with anon_client(app) as c:
            c.cookies.set(SESSION_COOKIE, value.replace("\u0000", ""))
            r = c.get("/branches")
            assert r.status_code == 303, (value[:20], r.status_code)


# -- lockout -----------------------------------------------------------------------------------------------


def test_lock_after_repeated_failures_then_unlock_after_the_lock(app) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings()
    username = make_user()
    with anon_client(app) as c:
        for _ in range(settings.login_max_failures):
            r = attempt(c, username, "Wrong#Password1")
            assert r.status_code == 401 and "用户名或密码错误" in r.text
        r = attempt(c, username, PASSWORD)  # the right password, during the lock
        assert r.status_code == 401 and "锁定" in r.text
        assert SESSION_COOKIE not in c.cookies
    with session_scope() as s:
        user = s.exec(select(User).where(User.username == username)).one()
        assert user.locked_until is not None
        assert user.locked_until - utcnow() > timedelta(minutes=settings.login_lock_minutes - 1)
        from app.audit.models import AuditEvent

        locks = s.exec(
            select(AuditEvent).where(AuditEvent.action == "user.locked", AuditEvent.entity_id == str(user.id))
        ).all()
        assert len(locks) == 1
        user.locked_until = utcnow() - timedelta(seconds=1)  # the lock has run out
        s.add(user)
    with anon_client(app) as c:
        assert attempt(c, username, PASSWORD).status_code == 303


def test_unknown_and_known_users_fail_alike(app) -> None:  # type: ignore[no-untyped-def]
    username = make_user()
    with anon_client(app) as c:
        a = attempt(c, username, "Wrong#Password1")
        b = attempt(c, f"nobody_{_RUN}", "Wrong#Password1")
    assert a.status_code == b.status_code == 401
    msg = re.compile(r'id="login-error">([^<]*)<')
    assert msg.findall(a.text) == msg.findall(b.text) == ["用户名或密码错误"]


def test_concurrent_guessing_still_locks(app) -> None:  # type: ignore[no-untyped-def]
    """Parallel wrong passwords must not slip past the counter (a lost update would allow unlimited
    guesses): at most LOGIN_MAX_FAILURES attempts are checked before the lock."""
    settings = get_settings()
    username = make_user()
    tries = settings.login_max_failures * 4
    answers: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def guess(n: int) -> None:
        with anon_client(app) as c:
            token = _form_token(c)
            barrier.wait(timeout=30)
            for i in range(n):
                r = c.post(
                    "/login", data={"username": username, "password": f"Wrong#{i}x", "csrf_token": token}
                )
                with lock:
                    answers.append("locked" if "锁定" in r.text else str(r.status_code))

    threads = [threading.Thread(target=guess, args=(tries // 8 + 1,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    checked = answers.count("401")
    assert "locked" in answers, answers
    assert checked <= settings.login_max_failures, f"{checked} guesses were checked: {answers}"
    with session_scope() as s:
        user = s.exec(select(User).where(User.username == username)).one()
        assert user.locked_until is not None and user.locked_until > utcnow()


# -- passwords ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short1A!", False),  # < 10
        ("alllowercaseletters", False),  # one class
        ("lowercase123456", False),  # two classes
        ("Lowercase123456", True),
        ("lower-case-123456", True),
        ("UPPER-CASE-ONLY!", False),  # upper + symbol: two classes
        ("Aa1!" * 33, False),  # > 128
        ("Qingshan#2026x", True),
        ("中文密码中文密码Ab1", True),  # CJK counts as a symbol class; length in characters
    ],
)
def test_password_rules(password: str, ok: bool) -> None:
    assert (not password_problems(password)) is ok, password_problems(password)


def test_password_may_not_contain_the_username() -> None:
    assert password_problems("Xsec_admin_9#9", username="sec_admin")
    assert password_problems("XSEC_ADMIN_9#9a", username="sec_admin")  # case-insensitively


def test_weak_password_is_refused_when_creating_a_user(app) -> None:  # type: ignore[no-untyped-def]
    from app.errors import ValidationFailed

    with session_scope() as s, pytest.raises(ValidationFailed) as exc:
        auth_service.create_user(
            s,
            username=f"sec_weak_{_RUN}",
            display_name="x",
            role="viewer",
            region_code="990102",
            password="123",
        )
    assert "password" in exc.value.field_errors


def test_hashes_are_argon2id(database: str) -> None:
    username = make_user()
    with session_scope() as s:
        for user in s.exec(select(User)).all():
            assert user.password_hash.startswith("$argon2id$"), user.username
            assert PASSWORD not in user.password_hash
        mine = s.exec(select(User).where(User.username == username)).one()
        params = dict(p.split("=") for p in mine.password_hash.split("$")[3].split(","))
        assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2  # OWASP minimums for argon2id


def test_api_tokens_are_stored_hashed(database: str) -> None:
    from app.auth.models import ApiToken

    with session_scope() as s:
        secret, row = auth_service.create_token(s, name=f"security-hash-{_RUN}", region_code="990102")
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.prefix, row.token_hash)
        assert len(secret) >= 40
        assert s.exec(select(ApiToken).where(ApiToken.token_hash == secret)).first() is None


# -- cookie flags ---------------------------------------------------------------------------------------------


def _set_cookies(response: Any) -> dict[str, str]:
    out = {}
    for header in response.headers.get_list("set-cookie"):
        out[header.split("=", 1)[0]] = header
    return out


def _assert_flags(header: str, *, secure: bool) -> None:
    low = header.lower()
    assert "httponly" in low, header
    assert "samesite=lax" in low, header
    assert ("; secure" in low) is secure, header


def test_cookie_flags(app) -> None:  # type: ignore[no-untyped-def]
    with anon_client(app) as c:
        page = c.get("/login")
        _assert_flags(_set_cookies(page)[PRE_CSRF_COOKIE], secure=False)
        r = c.post(
            "/login",
            data={"username": "city_viewer", "password": "Xingji@2026", "csrf_token": _form_token(c)},
        )
        _assert_flags(_set_cookies(r)[SESSION_COOKIE], secure=False)


@pytest.fixture()
def secure_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An app built with SECURE_COOKIES=true (get_settings is cached: cleared here and restored)."""
    from app.main import create_app

    monkeypatch.setenv("SECURE_COOKIES", "true")
    get_settings.cache_clear()
    try:
        assert get_settings().secure_cookies
        yield create_app()
    finally:
        monkeypatch.delenv("SECURE_COOKIES")
        get_settings.cache_clear()
        assert not get_settings().secure_cookies


def test_cookies_are_secure_when_configured(secure_app) -> None:  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    with TestClient(secure_app, base_url="https://testserver", follow_redirects=False) as c:
        page = c.get("/login")
        _assert_flags(_set_cookies(page)[PRE_CSRF_COOKIE], secure=True)
        r = c.post(
            "/login",
            data={"username": "city_viewer", "password": "Xingji@2026", "csrf_token": _form_token(c)},
        )
        assert r.status_code == 303, r.text[:200]
        _assert_flags(_set_cookies(r)[SESSION_COOKIE], secure=True)
