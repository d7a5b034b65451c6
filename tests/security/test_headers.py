"""Security headers on pages, fragments, JSON, errors (including 500s and 413s) and static files; no inline
script, handler or style in any page a role can open (the CSP would block them); and, in a real Chromium,
the main pages of every role load without console errors or CSP violations."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.security.conftest import World
from tests.security.helpers import anon_client, app_routes, user_client
from tests.security.test_access_matrix import USERS, build

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def check_headers(response: Any, where: str) -> list[str]:
    path = response.request.url.path
    h = response.headers
    problems = []
    csp = h.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    if not csp:
        problems.append("no Content-Security-Policy")
    else:
        script = directives.get("script-src", directives.get("default-src", ""))
        if "'self'" not in script or "unsafe-inline" in script or "unsafe-eval" in script:
            problems.append(f"script-src allows more than 'self': {script}")
        if "unsafe-inline" in directives.get("style-src", ""):
            problems.append("style-src allows inline styles")
        if directives.get("frame-ancestors") != "frame-ancestors 'none'":
            problems.append("no frame-ancestors 'none'")
        if directives.get("object-src") != "object-src 'none'":
            problems.append("object-src is not 'none'")
    if h.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if h.get("x-frame-options") != "DENY":
        problems.append("no X-Frame-Options: DENY")
    if h.get("referrer-policy") not in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"):
        problems.append(f"Referrer-Policy {h.get('referrer-policy')!r}")
    # Pages are no-store (shared computers, the back button after logout); /api/ is `private` + ETags.
    html = "text/html" in h.get("content-type", "")
    if html and not path.startswith("/api/") and "no-store" not in h.get("cache-control", ""):
        problems.append("an HTML page without Cache-Control: no-store (shared computers, back button)")
    return [f"{where}: {p}" for p in problems]


def check_markup(response: Any, where: str) -> list[str]:
    if "text/html" not in response.headers.get("content-type", ""):
        return []
    text = response.text
    problems = []
    for rx, what in (
        (INLINE_SCRIPT, "inline <script>"),
        (INLINE_HANDLER, "inline event handler"),
        (INLINE_STYLE, "inline style attribute"),
        (JS_URL, "javascript: URL"),
    ):
        m = rx.search(text)
        if m:
            problems.append(f"{where}: {what}: {text[max(0, m.start() - 40) : m.end() + 60]!r}")
    return problems


def test_every_page_and_fragment_has_the_headers_and_no_inline_code(app, world: World) -> None:  # type: ignore[no-untyped-def]
    """Every GET route a county user and the admin can open, as a page and as an htmx fragment."""
    problems: list[str] = []
    routes = [r for r in app_routes(app) if r.method == "GET" and not r.is_api]
    for user in ("county_qs", "admin"):
        client, _ = user_client(app, user)
        with client:
            for route in routes:
                if user == "admin" and not route.path.startswith("/admin"):
                    continue  # the admin's extra pages only: the rest is the same templates
                url = build(route, USERS[user][1], world, user)
                if url is None:
                    continue
                for headers, kind in (({}, "page"), ({"HX-Request": "true"}, "fragment")):
                    r = client.get(url, headers=headers)
                    where = f"{kind} {url} ({r.status_code})"
                    problems += check_headers(r, where)
                    problems += check_markup(r, where)
    assert not problems, "\n".join(problems)


def test_headers_on_errors_json_static_and_api(app) -> None:  # type: ignore[no-untyped-def]
    problems: list[str] = []
    client, _csrf = user_client(app, "county_qs")
    with client:
        cases = {
            "404 page": client.get("/branches/NO-SUCH-BRANCH"),
            "404 json": client.get("/branches/NO-SUCH-BRANCH", headers={"Accept": "application/json"}),
            "404 route": client.get("/no/such/route"),
            "403 page": client.get("/admin/users"),
            "422 page": client.get("/rankings?page=-1"),
            "405": client.delete("/branches"),
            "403 csrf": client.post("/branches", data={"name": "x"}),
            "json": client.get("/branches", headers={"Accept": "application/json"}),
        }
    with anon_client(app) as anon:
        cases |= {
            "login page": anon.get("/login"),
            "login redirect": anon.get("/branches"),
            "401 json": anon.get("/branches", headers={"Accept": "application/json"}),
            "401 api": anon.get("/api/v1/branches"),
            "404 api": anon.get("/api/v1/no-such"),
            "healthz": anon.get("/healthz"),
            "413": anon.post("/login", content=b"x" * 10, headers={"Content-Length": str(200 * 1024 * 1024)}),
        }
        for path in ("/static/app.css", "/static/app.js", "/static/no-such-file.js"):
            cases[f"static {path}"] = anon.get(path)
        vendor = re.search(r'src="(/static/vendor/[^"?]+)', anon.get("/login").text)
        if vendor:
            cases["static vendor"] = anon.get(vendor.group(1))
    assert cases["413"].status_code == 413, cases["413"].status_code
    assert cases["static /static/app.css"].status_code == 200
    for name, r in cases.items():
        assert r.status_code < 500, (name, r.status_code)
        problems += check_headers(r, name)
    assert not problems, "\n".join(problems)


def test_a_500_has_the_headers_and_reveals_nothing(database: str) -> None:
    """Starlette renders a 500 outside every middleware; the handler adds the headers itself."""
    from app.main import create_app

    boom_app = create_app()

    @boom_app.get("/__boom")
    def boom() -> None:
        raise RuntimeError("secret-internal-detail SELECT * FROM user_account")

    with anon_client(boom_app) as c:
        for headers in ({}, {"Accept": "application/json"}, {"HX-Request": "true"}):
            r = c.get("/__boom", headers=headers)
            assert r.status_code == 500
            assert not check_headers(r, "500"), check_headers(r, "500")
            assert "secret-internal-detail" not in r.text and "Traceback" not in r.text
            assert "服务器内部错误" in r.text


def test_oversized_bodies_are_refused_before_they_are_read(app) -> None:  # type: ignore[no-untyped-def]
    """A body over the cap: 413 by its Content-Length, or as soon as a chunked body passes it."""
    from app.web.middleware import MAX_BODY_BYTES

    client, csrf = user_client(app, "county_qs")
    with client:
        r = client.post(
            "/branches/import",
            headers={"X-CSRF-Token": csrf, "Content-Length": str(MAX_BODY_BYTES + 1)},
            content=b"",
        )
        assert r.status_code == 413 and "过大" in r.json()["detail"]

        def chunks():  # type: ignore[no-untyped-def]
            block = b"0" * (1024 * 1024)
            for _ in range(MAX_BODY_BYTES // len(block) + 2):
                yield block

        r = client.post(
            "/criteria/upload",
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded"},
            content=chunks(),
        )
        assert r.status_code == 413


def test_anonymous_uploads_are_refused(app) -> None:  # type: ignore[no-untyped-def]
    """Without a session there is no token to match: 403, nothing stored. (FastAPI parses a route's
    declared form before any dependency runs, so a malformed body may be a 400 first; the body cap above
    bounds what an anonymous client can make the server read.)"""
    from tests.security.helpers import db_checksum

    before = db_checksum()
    with anon_client(app) as c:
        for path in ("/branches/import", "/regions/import", "/criteria/upload", "/login", "/branches"):
            r = c.post(path, files={"file": ("branches.xlsx", b"PK\x03\x04" + b"0" * 4096)})
            assert r.status_code == 403, (path, r.status_code)
            r = c.post(
                path,
                content=b"--not-a-real-boundary\r\ngarbage" * 1000,
                headers={"Content-Type": "multipart/form-data; boundary=XYZ"},
            )
            assert r.status_code in (400, 403), (path, r.status_code)
    assert db_checksum() == before


# -- in a real browser -----------------------------------------------------------------------------------

# The main pages of each role (those it may open: the matrix proves the others refuse it).
MAIN_PAGES = {
    "admin": ["/", "/admin/users", "/admin/tokens", "/regions", "/branches", "/criteria", "/rankings"],
    "county_qs": [
        "/",
        "/branches",
        "/criteria",
        "/rankings",
        "/rankings/heatmap",
        "/rankings/charts",
        "/review",
        "/review/publicity",
        "/dynamic/weak",
        "/reports/annual",
    ],
    "inspector_qs1": ["/", "/inspect", "/branches", "/rankings"],
    "branch_qs1": ["/", "/inspect"],
    "city_viewer": ["/", "/branches", "/rankings", "/review", "/reports/annual"],
}


@pytest.mark.browser
@pytest.mark.parametrize("user", list(MAIN_PAGES))
def test_main_pages_in_chromium(new_page, world: World, user: str) -> None:  # type: ignore[no-untyped-def]
    """Console errors, page errors and CSP violations are collected by the harness and fail the test
    at teardown (tests/browser/conftest.py: console + pageerror + a securitypolicyviolation listener)."""
    page = new_page(user)
    pages = list(MAIN_PAGES[user])
    if user == "inspector_qs1":
        pages.append(f"/assessments/{world['qs'].assessment_id}/score")
    if user == "branch_qs1":
        pages.append(f"/assessments/{world.demo_assessment_id}/score")
    for path in pages:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp || []") == [], path
