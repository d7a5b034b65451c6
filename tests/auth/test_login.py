"""Login, sessions, lockout and CSRF."""

from __future__ import annotations

import re

from sqlmodel import select

from app.auth.models import User
from app.db import session_scope
from tests.conftest import DEMO_PASSWORD


def _form_token(client) -> str:  # type: ignore[no-untyped-def]
    m = re.search(r'name="csrf_token" value="([^"]*)"', client.get("/login").text)
    assert m
    return m.group(1)


def test_pages_require_login(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/branches", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
    r = client.get("/branches", headers={"Accept": "application/json"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


def test_login_rotates_session_and_logout_invalidates(login) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    first = a.client.cookies.get("xj_session")
    b = login("county_qs")
    assert first and b.client.cookies.get("xj_session") != first
    assert a.get("/branches").status_code == 200
    r = a.post("/logout", follow_redirects=False)
    assert r.status_code == 303
    # The old cookie value no longer works on the server, even if a client kept it.
    a.client.cookies.set("xj_session", first)
    assert a.get("/branches", follow_redirects=False).status_code == 303
    assert b.get("/branches").status_code == 200


def test_wrong_password_is_generic_and_locks_after_repeats(client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        r = client.post(
            "/login",
            data={"username": "inspector_bh1", "password": "wrong", "csrf_token": _form_token(client)},
        )
        assert r.status_code == 401
        assert "用户名或密码错误" in r.text
    r = client.post(
        "/login",
        data={"username": "inspector_bh1", "password": DEMO_PASSWORD, "csrf_token": _form_token(client)},
    )
    assert r.status_code == 401
    assert "锁定" in r.text
    with session_scope() as s:
        user = s.exec(select(User).where(User.username == "inspector_bh1")).one()
        assert user.locked_until is not None
        user.locked_until = None
        s.add(user)


def test_unknown_user_gets_the_same_message(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/login", data={"username": "nobody", "password": "x", "csrf_token": _form_token(client)})
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_state_changes_need_csrf(login, client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/login", data={"username": "county_qs", "password": DEMO_PASSWORD})
    assert r.status_code == 403
    a = login("county_qs")
    assert a.post("/logout", csrf=False).status_code == 403
    assert a.post("/logout", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert a.get("/branches").status_code == 200  # still logged in


def test_open_redirect_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/login",
        data={
            "username": "county_bh",
            "password": DEMO_PASSWORD,
            "next": "//evil.example",
            "csrf_token": _form_token(client),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/login")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    cookie = r.headers.get("set-cookie", "")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
