"""The access matrix: every GET route the application answers (discovered from app.routes, through included
routers and the mounted /api/v1 sub-application) × every role × inside / outside the user's region.

What each cell must satisfy:

* never a 5xx;
* anonymous: a page answers 303 → /login (an htmx request: 204 + HX-Redirect to /login), JSON answers 401
  problem+json; the /api/v1 contract answers 401 without a bearer token, and a browser session cookie is
  NOT a bearer token;
* inside the user's region: 2xx/3xx, or 403 where the role lacks the permission (ROLE_DENIED, below), or 404
  where the object legitimately has nothing to show (IN_SCOPE_404);
* outside the user's region: exactly the answer of an object that does not exist (403 or 404), so existence
  does not leak; the same for ?region=<outside code> on every route with a region filter;
* no leak: the canary names of the rows of places a user may not see (tests/security/conftest.py) never
  appear in any of that user's responses — pages, fragments, JSON, CSV and XLSX exports, search (?q=canary),
  error messages.

A route added later by any domain is walked automatically. A path parameter this file does not know gets a
value that exists nowhere (so only the anonymous / 5xx / no-leak rules apply) and is listed by
test_every_path_parameter_has_a_filler, which fails until someone adds a filler here.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests.security.conftest import World
from tests.security.helpers import RouteInfo, anon_client, app_routes, user_client

# username → (role, the place inside its region, places outside). "own" = branch_qs1's own branch.
USERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "admin": ("admin", "qs", ()),
    "city_viewer": ("viewer", "bh", ()),
    "county_qs": ("county", "qs", ("bh",)),
    "county_bh": ("county", "bh", ("qs", "qs2")),
    "inspector_qs1": ("inspector", "qs", ("qs2", "bh")),
    "inspector_bh1": ("inspector", "bh", ("qs",)),
    "branch_qs1": ("branch", "own", ("qs", "bh")),
}
# The region each user's scope is rooted at (what it may see).
USER_PATHS = {
    "admin": "/99/9901/",
    "city_viewer": "/99/9901/",
    "county_qs": "/99/9901/990102/",
    "county_bh": "/99/9901/990103/",
    "inspector_qs1": "/99/9901/990102/990102001/",
    "inspector_bh1": "/99/9901/990103/990103001/",
    "branch_qs1": None,  # one branch only: no place of the world is visible
}

# Routes anyone may call without logging in.
PUBLIC = {
    "GET /healthz",
    "GET /favicon.ico",
    "GET /login",
    "GET /api/docs",  # the offline Swagger UI page (no data)
    "GET /api/v1/openapi.json",  # the published contract (no data)
    "GET /reports",  # a plain redirect to /reports/annual, which then asks for a login
}

# Permission denials that are the design (403 for the role, whatever the region). Checked exactly: a 2xx
# here is a privilege escalation; a 403 elsewhere inside the user's region is a finding unless listed.
ANALYST_ONLY = re.compile(r"^/rankings(?!/branches/)")  # branch secretaries: only their own history
_NOT_MANAGERS = frozenset({"viewer", "inspector", "branch"})
ROLE_DENIED: list[tuple[re.Pattern[str], frozenset[str]]] = [
    # Users and API tokens: the administrator only.
    (re.compile(r"^/admin/"), frozenset({"viewer", "county", "inspector", "branch"})),
    # Forms that change the register or the criteria (MANAGE_BRANCHES / MANAGE_CRITERIA: county, admin).
    (re.compile(r"^/(regions|branches)/import$"), _NOT_MANAGERS),
    (re.compile(r"^/branches/(new|\{code\}/edit)$"), _NOT_MANAGERS),
    (re.compile(r"^/criteria/(new|\{criteria_set_id\}/edit)$"), _NOT_MANAGERS),
    # The county's review workbench: viewers may look, but not at the finalize form.
    (re.compile(r"^/review"), frozenset({"inspector", "branch"})),
    (re.compile(r"^/review/finalize$"), frozenset({"viewer", "inspector", "branch"})),
    # Reports (annual report, jobs, public notice): county-level readers (admin, county, viewer).
    (re.compile(r"^/reports/"), frozenset({"inspector", "branch"})),
    # Analysis and dynamic management: not for branch secretaries (they see their own branch pages).
    (ANALYST_ONLY, frozenset({"branch"})),
    (re.compile(r"^/dynamic(/weak|/demo-sites|/withdrawals|/planner)?$"), frozenset({"branch"})),
]

# Inside the region yet 404, by design: the object legitimately has nothing to show.
IN_SCOPE_404 = [
    re.compile(r"/import-report/\{token\}"),  # a one-off report token that was never issued
    re.compile(r"^/reports/jobs/\{job_id\}/(report|download)"),  # the world's jobs failed: no files
    re.compile(
        r"^/rankings/heatmap/cell$"
    ),  # a cell without assessments (an inspector's 街道 has no rural ones)
]
# Inside the region, but the user has no such object to name (no publicity in 青山县 or 白河县 yet): the
# route asks for one (422) or finds none for the region (404).
IN_SCOPE_NO_INPUT = {"/reports/notice", "/reports/notice.pdf"}

# How parameters are filled: (place key | "own" | "none") → value. Path parameters, and the query
# parameters that name a scoped object (a publicity, a criteria set), are filled from the world.
NONEXISTENT_INT = "2000000000"
STATIC_VALUES = {"ext": "csv", "fmt": "xlsx", "kind": "township", "token": "nonexistent0token0value"}
# (route path pattern, query parameter) → the kind of object it names.
SCOPED_QUERY: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"^/reports/notice"), "publicity", "publicity_id"),
    (re.compile(r"^/criteria/diff$"), "a", "criteria_set_id"),
    (re.compile(r"^/criteria/diff$"), "b", "criteria_set_id"),
    (re.compile(r"^/rankings/whatif"), "set", "criteria_set_id"),
]
# Query parameters that select the region a page shows: ?region=<outside> must be refused like a missing one.
REGION_QUERY = ("region", "code")
# Routes that need more input than their path to answer at all (filled for every case).
REQUIRED_QUERY: dict[str, dict[str, str]] = {
    "/rankings/heatmap/cell": {"region": "{root}", "sector": "rural", "category": "班子建设"},
}
# Each user's own region code (what {root} means).
ROOTS = {
    "admin": "9901",
    "city_viewer": "9901",
    "county_qs": "990102",
    "county_bh": "990103",
    "inspector_qs1": "990102001",
    "inspector_bh1": "990103001",
    "branch_qs1": "990102001",
}
# ?region= on these routes only pre-fills a form (nothing is shown for it): any status, no canary.
REGION_PREFILL = {"/branches/new"}


def fill(param: str, where: str, world: World, user: str) -> str | None:
    """The value of a parameter for a case; None when the user has no such row in that place."""
    if param in STATIC_VALUES:
        return STATIC_VALUES[param]
    if where == "none":
        return {
            "code": "990103001001-NOPE",
            "item_code": "A1",
        }.get(param, NONEXISTENT_INT if param.endswith("_id") else "nonexistent")
    if param == "publicity_id":
        # The demo's only publicities are 石桥县's and 桃源县's: inside for the city, outside for the rest.
        sees = role_sees_shiqiao(user)
        return str(world.publicity_shiqiao) if sees == (where in ("own", USERS[user][1])) else None
    if where == "own":
        return {
            "code": world.demo_branch_code,
            "assessment_id": str(world.demo_assessment_id),
            "item_code": world.demo_item_code,
            "criteria_set_id": str(world.published_criteria_id),
        }.get(param)
    place = world[where]
    if param == "criteria_set_id":
        role = USERS[user][0]
        # A county's draft is for that county's staff (and the admin); everyone reads the published ones.
        own = role in ("county", "admin") and USERS[user][1] == where
        out = where in USERS[user][2] and place.criteria_title in forbidden_canaries(user, world)
        return str(place.criteria_set_id if (own or out) else world.published_criteria_id)
    value = {
        "code": place.branch_code,
        "assessment_id": place.assessment_id,
        "item_code": place.item_code,
        "evidence_id": place.evidence_id,
        "listing_id": place.listing_id,
        "job_id": place.job_id,
    }.get(param)
    return None if value is None else str(value)


def role_sees_shiqiao(user: str) -> bool:
    path = USER_PATHS[user]
    return path is not None and "/99/9901/990105/".startswith(path)


KNOWN_PARAMS = {
    *STATIC_VALUES,
    "code",
    "assessment_id",
    "item_code",
    "evidence_id",
    "criteria_set_id",
    "listing_id",
    "job_id",
    "publicity_id",
}
SCOPED_PARAMS = KNOWN_PARAMS - set(STATIC_VALUES)


def url_for(route: RouteInfo, values: dict[str, str], query: dict[str, str] | None = None) -> str:
    path = route.path
    for name, value in values.items():
        path = re.sub(r"\{" + re.escape(name) + r"(:[^}]*)?\}", value, path)
    return path + ("?" + urlencode(query) if query else "")


def build(
    route: RouteInfo, where: str, world: World, user: str, extra: dict[str, str] | None = None
) -> str | None:
    """The URL of one case, or None when the user has nothing of that kind in that place."""
    values = {}
    for p in route.params:
        v = fill(p, where, world, user) if p in KNOWN_PARAMS else fill(p, "none", world, user)
        if v is None:
            return None
        values[p] = v
    query = {k: v.replace("{root}", ROOTS[user]) for k, v in REQUIRED_QUERY.get(route.path, {}).items()}
    scoped_query = False
    for rx, name, kind in SCOPED_QUERY:
        if rx.search(route.path) and name in route.query_params:
            v = fill(kind, where, world, user)
            if v is not None:
                query[name] = v
                scoped_query = True
    if where in USERS[user][2] and not scoped_query and not any(p in SCOPED_PARAMS for p in route.params):
        return None  # nothing of the outside place in this URL
    query.update(extra or {})
    return url_for(route, values, query)


def scoped(route: RouteInfo) -> bool:
    return any(p in SCOPED_PARAMS for p in route.params) or any(
        rx.search(route.path) and name in route.query_params for rx, name, _ in SCOPED_QUERY
    )


def is_page_route(route: RouteInfo) -> bool:
    return route.method == "GET" and not route.is_api


# -- response inspection -----------------------------------------------------------------------------------


def text_of(response: Any) -> str:
    """Everything a person could read in a response: the body, an XLSX's XML, the headers."""
    ctype = response.headers.get("content-type", "")
    out = [str(response.headers)]
    body = response.content
    if body[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as z:
                out.extend(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
        except zipfile.BadZipFile:
            out.append(body.decode("utf-8", "replace"))
    elif "pdf" in ctype:
        out.append(pdf_text(body))
    else:
        out.append(body.decode("utf-8", "replace"))
    return "\n".join(out)


def pdf_text(body: bytes) -> str:
    import subprocess

    r = subprocess.run(
        ["pdftotext", "-q", "-", "-"], input=body, capture_output=True, timeout=60, check=False
    )
    return r.stdout.decode("utf-8", "replace")


def forbidden_canaries(user: str, world: World) -> list[str]:
    """The canaries of every place this user must not see."""
    root = USER_PATHS[user]
    out = []
    for place in world.places.values():
        township_path = f"{place.county_path}{place.township}/"
        if root is None or not township_path.startswith(root):
            out.append(place.branch_name)
        # A county's criteria drafts: its own staff, its inspectors (an ancestor's set) and the city.
        if root is None or not (place.county_path.startswith(root) or root.startswith(place.county_path)):
            out.append(place.criteria_title)
    return out


def denied_for(route: RouteInfo, role: str) -> bool:
    return any(rx.search(route.path) and role in roles for rx, roles in ROLE_DENIED)


def in_scope_404(route: RouteInfo) -> bool:
    return any(rx.search(route.path) for rx in IN_SCOPE_404)


@dataclass
class Findings:
    items: list[str]

    def add(self, route: RouteInfo | str, case: str, problem: str) -> None:
        self.items.append(f"{route} [{case}]: {problem}")

    def check(self) -> None:
        assert not self.items, f"{len(self.items)} access findings:\n" + "\n".join(self.items)


def _routes(app: Any) -> list[RouteInfo]:
    return [r for r in app_routes(app) if r.method == "GET"]


def _get(client: Any, url: str, **kw: Any) -> Any:
    return client.get(url, **kw)


# -- anonymous --------------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_everywhere(app, world: World) -> None:  # type: ignore[no-untyped-def]
    f = Findings([])
    with anon_client(app) as c:
        for route in _routes(app):
            url = build(route, "qs", world, "admin")
            assert url is not None
            if str(route) in PUBLIC:
                r = c.get(url)
                if r.status_code >= 500 or r.status_code in (401, 403):
                    f.add(route, "public", f"status {r.status_code}")
                continue
            if route.is_api:
                r = c.get(url)
                if r.status_code != 401 or "problem+json" not in r.headers.get("content-type", ""):
                    f.add(route, "anon api", f"{r.status_code} {r.headers.get('content-type')}")
                elif not r.headers.get("www-authenticate", "").lower().startswith("bearer"):
                    f.add(route, "anon api", "no WWW-Authenticate: Bearer")
                continue
            r = c.get(url)
            loc = r.headers.get("location", "")
            if r.status_code != 303 or not loc.startswith("/login"):
                f.add(route, "anon page", f"{r.status_code} location={loc!r}")
            r = c.get(url, headers={"HX-Request": "true"})
            if r.status_code != 204 or not r.headers.get("hx-redirect", "").startswith("/login"):
                f.add(route, "anon htmx", f"{r.status_code} hx-redirect={r.headers.get('hx-redirect')!r}")
            r = c.get(url, headers={"Accept": "application/json"})
            if r.status_code != 401 or "problem+json" not in r.headers.get("content-type", ""):
                f.add(route, "anon json", f"{r.status_code} {r.headers.get('content-type')}")
            for canary in (p.branch_name for p in world.places.values()):
                if canary in r.text:
                    f.add(route, "anon", f"leaks {canary}")
    f.check()


def test_login_redirect_keeps_only_local_targets(app) -> None:  # type: ignore[no-untyped-def]
    """?next= after login is a local path only (no open redirect)."""
    with anon_client(app) as c:
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
            page = c.get("/login", params={"next": target})
            assert page.status_code == 200
            assert "evil.example" not in page.text or f'value="{target}"' not in page.text
            token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
            assert token
            r = c.post(
                "/login",
                data={
                    "username": "city_viewer",
                    "password": "Xingji@2026",
                    "csrf_token": token.group(1),
                    "next": target,
                },
            )
            assert r.status_code == 303, r.text[:200]
            assert r.headers["location"] == "/", (target, r.headers["location"])
            c.cookies.clear()


# -- every role ----------------------------------------------------------------------------------------------


def _cases(route: RouteInfo, user: str, world: World) -> Iterator[tuple[str, str]]:
    """(case, url) of one route for one user: inside; outside; ?region=outside; ?q=outside canary."""
    role, inside, outside = USERS[user]
    url = build(route, inside, world, user)
    if url is not None:
        yield "in", url
    if scoped(route):
        for where in outside:
            out = build(route, where, world, user)
            if out is not None and out != url:
                yield f"out:{where}", out
    for name in REGION_QUERY:
        if name in route.query_params and name not in route.params:
            for where in outside:
                code = world[where].county if role != "inspector" else world[where].township
                extra = {name: code, **({"year": "2026"} if "year" in route.query_params else {})}
                region_url = build(route, inside, world, user, extra)
                if region_url is not None:
                    yield f"region:{where}", region_url
    if "q" in route.query_params:
        for where in outside:
            q_url = build(route, inside, world, user, {"q": world[where].branch_name})
            if q_url is not None:
                yield f"q:{where}", q_url


def _nonexistent(route: RouteInfo, world: World, user: str) -> str | None:
    return build(route, "none", world, user)


def _without_echo(body: str, url: str) -> str:
    """The body minus the search term it echoes back in the search box (not a leak)."""
    query = dict(parse_qsl(urlsplit(url).query))
    q = query.get("q")
    return body.replace(f'value="{q}"', "") if q else body


@pytest.mark.parametrize("user", list(USERS))
def test_role_matrix(app, world: World, user: str) -> None:  # type: ignore[no-untyped-def]
    role = USERS[user][0]
    canaries = forbidden_canaries(user, world)
    f = Findings([])
    client, _csrf = user_client(app, user)
    with client:
        for route in _routes(app):
            if str(route) in PUBLIC:
                continue
            if route.is_api:
                # A browser session is not a bearer token: the machine API never accepts cookies.
                r = client.get(build(route, "qs", world, "admin") or route.path)
                if r.status_code != 401:
                    f.add(route, "cookie on api", f"status {r.status_code}")
                continue
            missing: int | None = None
            for case, url in _cases(route, user, world):
                r = client.get(url)
                status = r.status_code
                if status >= 500:
                    f.add(route, f"{case} {url}", f"server error {status}")
                    continue
                if status == 401:
                    f.add(route, f"{case} {url}", "401 for a logged-in user")
                body = _without_echo(text_of(r), url) if canaries else ""
                for canary in canaries:
                    if canary in body:
                        f.add(route, f"{case} {url}", f"leaks {canary!r}")
                if case == "in":
                    if denied_for(route, role):
                        if status != 403:
                            f.add(route, case, f"{role} must be refused (403), got {status}")
                    elif status == 403:
                        f.add(
                            route, case, f"403 for {role} inside its region (add to ROLE_DENIED if intended)"
                        )
                    elif route.path in IN_SCOPE_NO_INPUT and status in (404, 422):
                        pass
                    elif status == 404 and not in_scope_404(route):
                        f.add(route, f"{case} {url}", f"404 inside the region: {r.text[:120]!r}")
                    elif status in (400, 422):
                        f.add(route, f"{case} {url}", f"{status} for a plain request: {r.text[:160]!r}")
                    if "text/html" not in r.headers.get("content-type", "") or not canaries:
                        # A download (CSV, XLSX, PDF, SVG) has no JSON twin; for the city-wide roles the
                        # county users' twins already cover the same code at a fraction of the cost.
                        continue
                    # The JSON twin of the same answer: same status class, same scope.
                    j = client.get(url, headers={"Accept": "application/json"})
                    if j.status_code >= 500 or (j.status_code // 100) != (status // 100):
                        f.add(route, "in json", f"{j.status_code} vs page {status}")
                    for canary in canaries:
                        if canary in j.text:
                            f.add(route, "in json", f"leaks {canary!r}")
                elif case.startswith("region:") and route.path in REGION_PREFILL:
                    pass
                elif case.startswith(("out:", "region:")):
                    if status not in (403, 404):
                        f.add(route, f"{case} {url}", f"outside the region answered {status}")
                    if case.startswith("out:"):
                        if missing is None:
                            none_url = _nonexistent(route, world, user)
                            missing = client.get(none_url).status_code if none_url else status
                        if status != missing:
                            f.add(route, case, f"existence leaks: {status} here, {missing} for a missing row")
                elif case.startswith("q:") and status not in (200, 303, 403):
                    f.add(route, f"{case} {url}", f"search answered {status}")
    f.check()


def test_every_path_parameter_has_a_filler(app) -> None:  # type: ignore[no-untyped-def]
    """A new route with a parameter this file cannot fill is still walked (with a value that exists
    nowhere), but its in-scope and out-of-scope cells are not: add a filler to `fill`."""
    unknown = sorted({f"{p} (in {r})" for r in app_routes(app) for p in r.params if p not in KNOWN_PARAMS})
    get_only = [u for u in unknown if " (in GET " in u]
    assert not get_only, f"add fillers for: {get_only}"


# -- the machine API: bearer tokens bound to a region ------------------------------------------------------

API_TOKENS = {"qs": "990102", "bh": "990103"}  # token name → its region (a county each)
API_REQUIRED = {"/api/v1/rankings": {"year": "2026"}}  # lists that need more than a token to answer


@pytest.fixture(scope="module")
def api_tokens(database: str) -> dict[str, str]:
    from app.auth import service as auth_service
    from app.db import session_scope

    out = {}
    with session_scope() as s:
        for key, code in API_TOKENS.items():
            out[key], _ = auth_service.create_token(s, name=f"security-{key}", region_code=code)
        out["noread"], _ = auth_service.create_token(s, name="security-noread", region_code="9901", scopes="")
        secret, row = auth_service.create_token(s, name="security-revoked", region_code="9901")
        auth_service.revoke_token(s, token_id=row.id or 0)
        out["revoked"] = secret
    return out


@pytest.fixture()
def unlimited_api() -> Iterator[None]:
    """The matrix makes many quick calls: lift the per-token rate limit for its duration."""
    from app.api.router import api_app

    limiter = api_app.state.limiter
    settings = api_app.state.api_settings
    limiter.configure(rate=1e6, burst=1_000_000)
    yield
    limiter.configure(rate=settings.rate_per_second, burst=settings.rate_burst)


def _api_url(route: RouteInfo, place: Any | None, world: World, query: dict[str, str] | None = None) -> str:
    values = {}
    for p in route.params:
        if place is None:
            values[p] = "990103001001-NOPE" if p == "code" else NONEXISTENT_INT
        else:
            values[p] = {
                "code": place.branch_code,
                "assessment_id": str(place.assessment_id),
                # The API publishes criteria sets; a county's draft is its own business (404 outside it).
                "criteria_set_id": str(place.criteria_set_id),
            }.get(p, NONEXISTENT_INT)
    return url_for(route, values, query)


def test_api_matrix(app, world: World, api_tokens: dict[str, str], unlimited_api: None) -> None:  # type: ignore[no-untyped-def]
    f = Findings([])
    routes = [r for r in app_routes(app) if r.is_api and r.method == "GET" and str(r) not in PUBLIC]
    assert routes, "the /api/v1 routes are discovered"
    for key, other in (("qs", "bh"), ("bh", "qs")):
        mine, theirs = world[key], world[other]
        with anon_client(app, headers={"Authorization": f"Bearer {api_tokens[key]}"}) as c:
            for route in routes:
                if route.params:
                    missing = c.get(_api_url(route, None, world))
                    out = c.get(_api_url(route, theirs, world))
                    if out.status_code != missing.status_code or out.status_code not in (403, 404):
                        f.add(
                            route,
                            f"{key} token, {other} row",
                            f"{out.status_code} vs missing {missing.status_code}",
                        )
                    if "problem+json" not in out.headers.get("content-type", ""):
                        f.add(route, f"{key} token, {other} row", "not problem+json")
                    for canary in theirs.canaries:
                        if canary in out.text:
                            f.add(route, f"{key} token, {other} row", f"leaks {canary!r}")
                    if "criteria_set_id" not in route.params:  # a county's draft is not published
                        r = c.get(_api_url(route, mine, world))
                        if r.status_code != 200:
                            f.add(route, f"{key} token, own row", f"status {r.status_code}")
                    continue
                query = {"limit": "1000"} if "limit" in route.query_params else {}
                query.update(API_REQUIRED.get(route.path, {}))
                r = c.get(url_for(route, {}, query))
                if r.status_code >= 500 or r.status_code != 200:
                    f.add(route, f"{key} token", f"status {r.status_code}: {r.text[:200]}")
                for canary in theirs.canaries:
                    if canary in r.text or theirs.branch_code in r.text:
                        f.add(route, f"{key} token", f"leaks {canary!r}")
                if "region" in route.query_params:
                    r = c.get(url_for(route, {}, {**query, "region": theirs.county}))
                    if r.status_code not in (403, 404):
                        f.add(route, f"{key} token ?region={theirs.county}", f"status {r.status_code}")
                    # The positive control: the token's own township lists the own canary (where the
                    # resource is branch-level), so the leak checks above can see a leak.
                    r = c.get(url_for(route, {}, {**query, "region": mine.township}))
                    if r.status_code != 200:
                        f.add(route, f"{key} token ?region={mine.township}", f"status {r.status_code}")
                    elif route.path.endswith(("/branches", ".ndjson")) and mine.branch_code not in r.text:
                        f.add(route, f"{key} token ?region={mine.township}", "own branch missing")
    for bad in ("noread", "revoked"):
        with anon_client(app, headers={"Authorization": f"Bearer {api_tokens[bad]}"}) as c:
            for route in routes:
                r = c.get(_api_url(route, world["qs"], world))
                expected = 403 if bad == "noread" else 401
                if r.status_code != expected:
                    f.add(route, f"{bad} token", f"status {r.status_code}, expected {expected}")
    f.check()


def test_canaries_are_visible_where_they_should_be(app, world: World) -> None:  # type: ignore[no-untyped-def]
    """The positive control of the leak checks: the canaries do show up for users who may see them, so
    their absence elsewhere means something."""
    for user, key in (("admin", "bh"), ("county_bh", "bh"), ("county_qs", "qs2"), ("inspector_qs1", "qs")):
        client, _ = user_client(app, user)
        with client:
            place = world[key]
            r = client.get(f"/branches/{place.branch_code}")
            assert r.status_code == 200 and place.branch_name in r.text, (user, key, r.status_code)
            r = client.get("/branches", params={"q": place.branch_code})
            assert place.branch_name in r.text, (user, key)
