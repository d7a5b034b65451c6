"""User and token administration: roles, scope, validation, tokens shown once."""

from __future__ import annotations

import re

from sqlmodel import select

from app.auth.models import ApiToken, User
from app.db import session_scope


def test_only_admins_reach_admin_pages(login) -> None:  # type: ignore[no-untyped-def]
    for username in ("county_qs", "inspector_qs1", "city_viewer"):
        assert login(username).get("/admin/users").status_code == 403
    assert login("admin").get("/admin/users").status_code == 200


def test_create_user_validates_each_field(login) -> None:  # type: ignore[no-untyped-def]
    a = login("admin")
    with session_scope() as s:
        before = len(s.exec(select(User)).all())
    r = a.post(
        "/admin/users",
        data={"username": "bad name!", "role": "inspector", "region_code": "12345", "password": "short"},
    )
    assert r.status_code == 422
    assert "区划代码不存在或不在您的管辖范围内" in r.text
    r = a.post(
        "/admin/users",
        data={
            "username": "bad name!",
            "role": "inspector",
            "region_code": "990102003",
            "password": "Good-Passw0rd",
        },
    )
    assert r.status_code == 422 and "用户名须为" in r.text
    r = a.post(
        "/admin/users",
        data={"username": "outside_x", "role": "inspector", "region_code": "99", "password": "Good-Passw0rd"},
    )
    assert r.status_code == 422 and "不在您的管辖范围内" in r.text
    r = a.post(
        "/admin/users",
        data={
            "username": "new_inspector_x",
            "role": "inspector",
            "region_code": "990102003",
            "password": "short",
        },
    )
    assert r.status_code == 422 and "密码至少" in r.text
    with session_scope() as s:
        assert len(s.exec(select(User)).all()) == before
    r = a.post(
        "/admin/users",
        data={
            "username": "new_inspector_x",
            "display_name": "评审员丁",
            "role": "inspector",
            "region_code": "990102003",
            "password": "Good-Passw0rd",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "new_inspector_x" in a.get("/admin/users").text


def test_deactivate_ends_sessions(login) -> None:  # type: ignore[no-untyped-def]
    a = login("admin")
    victim = login("inspector_qs2")
    assert victim.get("/branches").status_code == 200
    with session_scope() as s:
        uid = s.exec(select(User).where(User.username == "inspector_qs2")).one().id
    assert a.post(f"/admin/users/{uid}/deactivate", data={"reason": "测试"}).status_code in (200, 303)
    assert victim.get("/branches", follow_redirects=False).status_code == 303
    assert a.post(f"/admin/users/{uid}/activate", data={"reason": "测试"}).status_code in (200, 303)


def test_token_secret_shown_once_and_stored_hashed(login) -> None:  # type: ignore[no-untyped-def]
    a = login("admin")
    r = a.post("/admin/tokens", data={"name": "省平台测试", "region_code": "9901"})
    assert r.status_code == 200
    m = re.search(r'<code class="secret">([^<]+)</code>', r.text)
    assert m
    secret = m.group(1)
    assert secret not in a.get("/admin/tokens").text
    with session_scope() as s:
        rows = s.exec(select(ApiToken).where(ApiToken.name == "省平台测试")).all()
        assert rows and all(secret not in (t.token_hash, t.prefix) for t in rows)
    r = a.post("/admin/tokens", data={"name": "", "region_code": "000"})
    assert r.status_code == 422
