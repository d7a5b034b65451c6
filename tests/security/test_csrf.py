"""CSRF: every state-changing route outside /api/ (discovered from the app) refuses a request without the
session's token — no token, a forged one, another session's, an empty one, one in the query string or in a
JSON body — with 403, and the database is unchanged (checksum of every table before and after)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.security.conftest import World
from tests.security.helpers import (
    app_routes,
    changed_tables,
    table_checksums,
    user_client,
)

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Who sends the forged requests: the administrator holds every permission; the inspector and the branch
# secretary are the roles behind the scorecard and self-assessment routes.
SENDERS = ("admin", "inspector_qs1", "branch_qs1")


def write_routes(app: Any) -> list[Any]:
    return [r for r in app_routes(app) if r.method in WRITE_METHODS and not r.path.startswith("/api/")]


def fill(path: str, world: World, user: str) -> str:
    place = world["qs"]
    values = {
        "code": place.branch_code if user != "branch_qs1" else world.demo_branch_code,
        "assessment_id": str(place.assessment_id if user != "branch_qs1" else world.demo_assessment_id),
        "item_code": place.item_code,
        "evidence_id": str(place.evidence_id),
        "criteria_set_id": str(place.criteria_set_id),
        "listing_id": str(place.listing_id),
        "job_id": str(place.job_id),
        "publicity_id": str(world.publicity_shiqiao),
        "section": "meta",
        "action": "disable",
    }
    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", lambda m: values.get(m.group(1), "1"), path)


# A plausible body for each route: what the real form would send (minus the token).
FORM = {
    "reason": "CSRF 测试",
    "version": "1",
    "year": "2026",
    "branch": "990102001001-01",
    "branch_code": "990102001001-01",
    "name": "CSRF 测试支部",
    "username": "csrf_probe",
    "password": "Csrf#Probe2026",
    "role": "viewer",
    "region_code": "990102",
}


@pytest.fixture(scope="module")
def senders(app, world: World) -> dict[str, tuple[Any, str]]:  # type: ignore[no-untyped-def]
    out = {u: user_client(app, u) for u in SENDERS}
    yield out
    for c, _ in out.values():
        c.close()


def test_every_write_route_is_discovered(app) -> None:  # type: ignore[no-untyped-def]
    routes = {str(r) for r in write_routes(app)}
    # A few that must be there whatever else changes (the guard is global, the list is not hand-kept).
    for needed in ("POST /logout", "PUT /assessments/{assessment_id}/items/{item_code}", "POST /branches"):
        assert needed in routes, needed
    assert len(routes) >= 40


def test_writes_without_the_token_are_refused_and_change_nothing(app, world: World, senders) -> None:  # type: ignore[no-untyped-def]
    other_token = senders["inspector_qs1"][1]
    before = table_checksums()
    findings: list[str] = []
    for route in write_routes(app):
        for user in SENDERS:
            client, own_token = senders[user]
            url = fill(route.path, world, user)
            attempts: list[tuple[str, dict[str, Any]]] = [
                ("no token (form)", {"data": FORM}),
                ("no token (json)", {"json": {"version": 1, "entry": {}, "csrf_token": own_token}}),
                ("forged header", {"data": FORM, "headers": {"X-CSRF-Token": "forged"}}),
                ("empty header", {"data": FORM, "headers": {"X-CSRF-Token": ""}}),
                ("forged field", {"data": {**FORM, "csrf_token": "x" * 32}}),
                ("token in query", {"data": FORM, "params": {"csrf_token": own_token}}),
                (
                    "multipart, no token",
                    {"data": FORM, "files": {"file": ("a.xlsx", b"PK\x03\x04", "application/octet-stream")}},
                ),
            ]
            if user != "inspector_qs1":
                attempts.append(
                    ("another session's token", {"data": FORM, "headers": {"X-CSRF-Token": other_token}})
                )
            for label, kw in attempts:
                r = client.request(route.method, url, **kw)
                if r.status_code != 403:
                    findings.append(f"{route} as {user} [{label}]: {r.status_code} {r.text[:120]!r}")
                elif "CSRF" not in r.text:
                    findings.append(f"{route} as {user} [{label}]: 403 but not the CSRF refusal")
    after = table_checksums()
    assert not findings, "\n".join(findings)
    assert before == after, f"tables changed: {changed_tables(before, after)}"


def test_login_form_needs_its_token(app) -> None:  # type: ignore[no-untyped-def]
    """Login CSRF: a cross-site form cannot log a victim into the attacker's account."""
    from tests.security.helpers import anon_client

    with anon_client(app) as c:
        r = c.post("/login", data={"username": "city_viewer", "password": "Xingji@2026"})
        assert r.status_code == 403
        c.get("/login")  # a pre-session token cookie now exists, but the form field is forged
        r = c.post(
            "/login", data={"username": "city_viewer", "password": "Xingji@2026", "csrf_token": "forged"}
        )
        assert r.status_code == 403
        assert "xj_session" not in c.cookies


def test_the_api_takes_no_cookies_and_has_no_writes(app, world: World) -> None:  # type: ignore[no-untyped-def]
    """/api/ is exempt from CSRF because it is read-only and authenticates by bearer token alone."""
    api_writes = [r for r in app_routes(app) if r.path.startswith("/api/") and r.method in WRITE_METHODS]
    assert not api_writes, f"a write under /api/ skips the CSRF guard: {api_writes}"
