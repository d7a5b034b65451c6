"""Bearer tokens, revocation, last_used_at, the per-token rate limit and region scope (two counties)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.api.ratelimit import TokenBucketLimiter
from app.api.router import api_app
from app.auth import service as auth_service
from app.auth.models import ApiToken
from app.db import session_scope
from app.db_types import utcnow
from tests.api import factories as f
from tests.api.conftest import bearer
from tests.api.test_resources import assert_problem

YEAR = 2089


@pytest.fixture(scope="module")
def two_counties(database: str) -> dict[str, Any]:
    """One assessment in 青山县 (990102) and one in 白河县 (990103)."""
    with session_scope() as s:
        cs = f.criteria_set(s, year=YEAR, sector="rural")
        qs = f.branches_in(s, "990102", sector="rural", n=1)[0]
        bh = f.branches_in(s, "990103", sector="rural", n=1)[0]
        a_qs = f.assessment(s, branch=qs, cs=cs, status="final", total="90.00", stars=5)
        a_bh = f.assessment(s, branch=bh, cs=cs, status="final", total="88.00", stars=4)
        return {"qs": a_qs.id, "bh": a_bh.id, "qs_branch": qs.code, "bh_branch": bh.code, "cs": cs.id}


def new_token(region: str = "990102") -> tuple[str, int]:
    with session_scope() as s:
        secret, row = auth_service.create_token(s, name="api-test-temp", region_code=region)
        return secret, row.id or 0


def test_missing_and_malformed_tokens(anon) -> None:  # type: ignore[no-untyped-def]
    for headers in ({}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer"}):
        r = anon.get("/api/v1/assessments", headers=headers)
        body = assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert body["detail"] and not body["detail"].isascii()


def test_bad_token(anon) -> None:  # type: ignore[no-untyped-def]
    for secret in ("xj_not-a-real-token", "x" * 500):
        r = anon.get("/api/v1/regions", headers=bearer(secret))
        assert_problem(r, 401)
        assert r.headers["www-authenticate"] == 'Bearer realm="xingji-api", error="invalid_token"'


def test_revoked_token_stops_at_once(anon) -> None:  # type: ignore[no-untyped-def]
    secret, token_id = new_token()
    assert anon.get("/api/v1/regions", headers=bearer(secret)).status_code == 200
    with session_scope() as s:
        auth_service.revoke_token(s, token_id=token_id)
    r = anon.get("/api/v1/regions", headers=bearer(secret))
    assert_problem(r, 401)
    assert "set-cookie" not in r.headers


def test_last_used_at_is_written_at_most_once_a_minute(anon) -> None:  # type: ignore[no-untyped-def]
    secret, token_id = new_token()

    def last_used() -> Any:
        with session_scope() as s:
            row = s.get(ApiToken, token_id)
            assert row is not None
            return row.last_used_at

    assert last_used() is None
    anon.get("/api/v1/regions", headers=bearer(secret))
    first = last_used()
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    anon.get("/api/v1/regions", headers=bearer(secret))
    assert last_used() == first
    with session_scope() as s:
        row = s.get(ApiToken, token_id)
        assert row is not None
        row.last_used_at = utcnow() - timedelta(minutes=2)
        s.add(row)
    anon.get("/api/v1/regions", headers=bearer(secret))
    assert last_used() > first


def test_rate_limit_per_token(app, tokens) -> None:  # type: ignore[no-untyped-def]
    limiter: TokenBucketLimiter = api_app.state.limiter
    limiter.configure(rate=0.5, burst=3)
    with TestClient(app) as c:
        codes = [c.get("/api/v1/regions?limit=1", headers=bearer(tokens["qs"])).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/api/v1/regions?limit=1", headers=bearer(tokens["qs"]))
        assert_problem(r, 429)
        assert int(r.headers["retry-after"]) >= 1
        # Another token has its own bucket.
        assert c.get("/api/v1/regions?limit=1", headers=bearer(tokens["bh"])).status_code == 200


def test_token_bucket_refills() -> None:
    now = [0.0]
    bucket = TokenBucketLimiter(rate=20, burst=100, clock=lambda: now[0])
    assert all(bucket.take("t") is None for _ in range(100))
    wait = bucket.take("t")
    assert wait is not None and 0 < wait <= 0.05
    assert TokenBucketLimiter.retry_after(wait) == "1"
    now[0] += 0.5  # ten more requests' worth
    assert all(bucket.take("t") is None for _ in range(10))
    assert bucket.take("t") is not None


def test_two_counties_see_only_their_own(anon, tokens, two_counties) -> None:  # type: ignore[no-untyped-def]
    qs, bh = bearer(tokens["qs"]), bearer(tokens["bh"])
    mine = {a["id"] for a in anon.get(f"/api/v1/assessments?year={YEAR}", headers=qs).json()["items"]}
    theirs = {a["id"] for a in anon.get(f"/api/v1/assessments?year={YEAR}", headers=bh).json()["items"]}
    assert mine == {two_counties["qs"]} and theirs == {two_counties["bh"]}
    city = {
        a["id"]
        for a in anon.get(f"/api/v1/assessments?year={YEAR}", headers=bearer(tokens["city"])).json()["items"]
    }
    assert city == {two_counties["qs"], two_counties["bh"]}
    for url in ("results", "rankings"):
        items = anon.get(f"/api/v1/{url}?year={YEAR}", headers=qs).json()["items"]
        assert {i["assessment_id"] for i in items} == {two_counties["qs"]}
    branches = anon.get("/api/v1/branches?limit=1000", headers=qs).json()
    assert branches["total"] > 0 and all(b["region_code"].startswith("990102") for b in branches["items"])


def test_single_items_outside_the_scope_are_not_found(anon, tokens, two_counties) -> None:  # type: ignore[no-untyped-def]
    qs = bearer(tokens["qs"])
    missing = anon.get("/api/v1/assessments/2147483000", headers=qs)
    other = anon.get(f"/api/v1/assessments/{two_counties['bh']}", headers=qs)
    # The same answer as for a record that does not exist: existence does not leak.
    assert assert_problem(other, 404) == assert_problem(missing, 404)
    assert_problem(anon.get(f"/api/v1/branches/{two_counties['bh_branch']}", headers=qs), 404)
    assert anon.get(f"/api/v1/branches/{two_counties['qs_branch']}", headers=qs).status_code == 200
    assert anon.get(f"/api/v1/assessments/{two_counties['qs']}", headers=qs).status_code == 200


def test_region_filter_outside_the_scope_is_forbidden(anon, tokens) -> None:  # type: ignore[no-untyped-def]
    qs = bearer(tokens["qs"])
    lists = ("assessments?", "branches?", "results?", "regions?", "criteria-sets?", "assessments.ndjson?")
    for base in (*(f"/api/v1/{x}" for x in lists), f"/api/v1/rankings?year={YEAR}&"):
        for region in ("990103", "9901", "99", "990199"):  # another county, above, the root, unknown
            r = anon.get(f"{base}region={region}", headers=qs)
            body = assert_problem(r, 403)
            assert body["errors"][0]["field"] == "region"
        assert anon.get(f"{base}region=990102", headers=qs).status_code == 200


def test_every_route_refuses_a_request_without_a_token(anon) -> None:  # type: ignore[no-untyped-def]
    # Every route of the contract sits behind the bearer token (a route added without ClientDep fails here).
    fill = {"{code}": "990102001001-01", "{assessment_id}": "1", "{criteria_set_id}": "1"}
    paths = []
    for path, item in api_app.openapi()["paths"].items():
        if "get" in item:
            for key, value in fill.items():
                path = path.replace(key, value)
            paths.append(path)
    assert len(paths) >= 10
    for path in paths:
        assert "{" not in path, path
        assert_problem(anon.get(f"/api/v1{path}"), 401)
