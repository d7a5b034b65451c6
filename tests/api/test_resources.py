"""Contract tests of every /api/v1 resource, filter and error shape (data of year 2090)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from app import clock
from app.assessments.models import Assessment
from app.db import session_scope
from app.db_types import utcnow
from tests.api import factories as f

YEAR = 2090
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
PROBLEM_KEYS = {"type", "title", "status", "detail"}


@pytest.fixture(scope="module")
def data(database: str) -> dict[str, Any]:
    """Criteria sets of every visibility and assessments in two counties."""
    with session_scope() as s:
        archived = f.criteria_set(s, year=YEAR, sector="rural", status="archived", revision=1)
        rural = f.criteria_set(s, year=YEAR, sector="rural", status="published", revision=2)
        draft = f.criteria_set(s, year=YEAR, sector="rural", status="draft", revision=3)
        community = f.criteria_set(s, year=YEAR, sector="community", status="published")
        bh_only = f.criteria_set(s, year=YEAR, sector="rural", region_code="990103", status="published")
        qs = f.branches_in(s, "990102", sector="rural", n=3)
        bh = f.branches_in(s, "990103", sector="rural", n=2)
        qs_comm = f.branches_in(s, "990102", sector="community", n=1)
        a_final = f.assessment(
            s, branch=qs[0], cs=rural, status="final", total="92.00", stars=5, final_stars=4
        )
        a_reviewed = f.assessment(s, branch=qs[1], cs=rural, status="reviewed", total="81.25", stars=4)
        a_scoring = f.assessment(
            s, branch=qs[2], cs=rural, status="scoring", total=None, stars=None, entries=0
        )
        a_comm = f.assessment(s, branch=qs_comm[0], cs=community, status="submitted", total="77.5", stars=3)
        b_final = f.assessment(s, branch=bh[0], cs=bh_only, status="final", total="95.00", stars=5)
        b_draft = f.assessment(s, branch=bh[1], cs=bh_only, status="draft", total=None, stars=None, entries=0)
        return {
            "cs": {"archived": archived.id, "rural": rural.id, "draft": draft.id, "community": community.id},
            "cs_bh": bh_only.id,
            "qs": [a_final.id, a_reviewed.id, a_scoring.id, a_comm.id],
            "bh": [b_final.id, b_draft.id],
            "qs_branch": qs[0].code,
            "bh_branch": bh[0].code,
        }


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status
    return body  # type: ignore[no-any-return]


def error_fields(r: Any) -> set[str]:
    return {e["field"] for e in assert_problem(r, 422)["errors"]}


def assert_page(body: dict[str, Any]) -> None:
    assert list(body) == ["items", "next_cursor", "total"]
    assert isinstance(body["items"], list) and isinstance(body["total"], int)


# ---- regions and branches ---------------------------------------------------------------------


def test_regions_of_the_token_subtree(api, app, tokens) -> None:  # type: ignore[no-untyped-def]
    from tests.api.conftest import bearer

    body = api.get("/api/v1/regions", params={"region": "990102", "level": "township"}).json()
    assert_page(body)
    assert body["items"] and all(
        r["level"] == "township" and r["parent_code"] == "990102" for r in body["items"]
    )
    codes = [r["code"] for r in body["items"]]
    assert codes == sorted(codes)
    # A county token sees its own county and below, never the city above it.
    r = api.get("/api/v1/regions", headers=bearer(tokens["qs"]), params={"limit": 1000})
    assert {x["code"][:6] for x in r.json()["items"]} == {"990102"}
    assert r.json()["items"][0] == {
        "code": "990102",
        "name": "青山县",
        "level": "county",
        "parent_code": "9901",
    }


def test_branches_list_filters_and_item(api, data) -> None:  # type: ignore[no-untyped-def]
    body = api.get("/api/v1/branches", params={"region": "990102", "sector": "rural", "limit": 5}).json()
    assert_page(body)
    assert len(body["items"]) == 5 and body["next_cursor"]
    for b in body["items"]:
        assert b["sector"] == "rural" and b["region_code"].startswith("990102")
        assert b["township_code"] and b["township_code"].startswith("990102")
        assert RFC3339_Z.match(b["updated_at"])
        assert "secretary_phone" not in b
    keys = [(b["updated_at"], b["code"]) for b in body["items"]]
    assert keys == sorted(keys, key=lambda k: k[0])
    one = api.get(f"/api/v1/branches/{data['qs_branch']}")
    assert one.status_code == 200 and one.json()["code"] == data["qs_branch"]
    assert one.json()["region_name"] and one.json()["township_name"]
    assert api.get("/api/v1/branches", params={"status": "dissolved", "region": "990102"}).status_code == 200
    assert_problem(api.get("/api/v1/branches/NO-SUCH-1"), 404)
    assert "code" in error_fields(api.get("/api/v1/branches/bad%20code"))


# ---- criteria sets ----------------------------------------------------------------------------


def test_criteria_sets_visibility_and_document(api, data, tokens) -> None:  # type: ignore[no-untyped-def]
    from tests.api.conftest import bearer

    body = api.get("/api/v1/criteria-sets", params={"year": YEAR}).json()
    assert_page(body)
    ids = {c["id"] for c in body["items"]}
    cs = data["cs"]
    assert ids == {cs["archived"], cs["rural"], cs["community"], data["cs_bh"]}  # never drafts
    assert all("document" not in c for c in body["items"])
    assert {c["status"] for c in body["items"]} == {"published", "archived"}
    only = api.get("/api/v1/criteria-sets", params={"year": YEAR, "sector": "community"}).json()["items"]
    assert [c["id"] for c in only] == [cs["community"]]
    arch = api.get("/api/v1/criteria-sets", params={"year": YEAR, "status": "archived"}).json()["items"]
    assert [c["id"] for c in arch] == [cs["archived"]]
    detail = api.get(f"/api/v1/criteria-sets/{cs['rural']}").json()
    assert (
        detail["document"] == {**f.DOCUMENT, "year": YEAR, "sector": "rural"}
        and detail["region_code"] == "9901"
        and len(detail["content_hash"]) == 64
    )
    # The 青山县 token sees sets issued above it, not those of another county; a draft is not found.
    qs = bearer(tokens["qs"])
    mine = {
        c["id"] for c in api.get("/api/v1/criteria-sets", params={"year": YEAR}, headers=qs).json()["items"]
    }
    assert data["cs_bh"] not in mine and cs["rural"] in mine
    assert_problem(api.get(f"/api/v1/criteria-sets/{data['cs_bh']}", headers=qs), 404)
    assert_problem(api.get(f"/api/v1/criteria-sets/{cs['draft']}"), 404)
    assert "criteria_set_id" in error_fields(api.get("/api/v1/criteria-sets/0"))


# ---- assessments and results ------------------------------------------------------------------


def test_assessments_list_filters(api, data) -> None:  # type: ignore[no-untyped-def]
    body = api.get("/api/v1/assessments", params={"year": YEAR}).json()
    assert_page(body)
    assert {a["id"] for a in body["items"]} == set(data["qs"] + data["bh"]) and body["total"] == 6
    assert body["next_cursor"] is None
    q = api.get("/api/v1/assessments", params={"year": YEAR, "region": "990102", "sector": "rural"}).json()
    assert {a["id"] for a in q["items"]} == set(data["qs"][:3])
    st = api.get("/api/v1/assessments", params={"year": YEAR, "status": "final"}).json()
    assert {a["id"] for a in st["items"]} == {data["qs"][0], data["bh"][0]}
    first = next(a for a in body["items"] if a["id"] == data["qs"][0])
    assert first["total"] == "92.00" and first["self_total"] == "92.00"
    assert first["stars"] == 5 and first["final_stars"] == 4 and first["status"] == "final"
    assert first["branch_code"] == data["qs_branch"] and first["township_code"]
    assert "entries" not in first and "explanation" not in first
    comm = next(a for a in body["items"] if a["id"] == data["qs"][3])
    assert comm["total"] == "77.50"
    assert next(a for a in body["items"] if a["id"] == data["qs"][2])["total"] is None
    for a in body["items"]:
        assert RFC3339_Z.match(a["updated_at"]) and RFC3339_Z.match(a["created_at"])


def test_assessment_item_with_entries_and_explanation(api, data) -> None:  # type: ignore[no-untyped-def]
    r = api.get(f"/api/v1/assessments/{data['qs'][0]}")
    assert r.status_code == 200
    a = r.json()
    assert [e["item_code"] for e in a["entries"]] == ["A1", "A2"]
    assert a["entries"][0]["score"] == "8.50" and a["entries"][0]["source"] == "inspector"
    assert a["entries"][0]["entry"] == {"points": "8.5"}
    assert a["explanation"][0] == {
        "kind": "item",
        "code": "A1",
        "text": "A1 三会一课：得 8 分（满分 10 分）",
        "value": "8",
    }
    assert a["extras"] == {"vetoes": []} and a["criteria_set_id"] == data["cs"]["rural"]
    assert_problem(api.get("/api/v1/assessments/2147483647"), 404)
    assert "assessment_id" in error_fields(api.get("/api/v1/assessments/2147483648"))
    assert "assessment_id" in error_fields(api.get("/api/v1/assessments/abc"))


def test_updated_since(api, data) -> None:  # type: ignore[no-untyped-def]
    later = (utcnow() + timedelta(hours=1)).isoformat()
    assert api.get("/api/v1/assessments", params={"year": YEAR, "updated_since": later}).json()["items"] == []
    with session_scope() as s:
        row = s.get(Assessment, data["qs"][1])
        assert row is not None
        stamp = row.updated_at
    # Inclusive (>=), and any offset names the same instant.
    shanghai = stamp.astimezone(clock.LOCAL_TZ).isoformat()
    for since in (stamp.isoformat(), shanghai, stamp.isoformat().replace("+00:00", "Z")):
        got = api.get("/api/v1/assessments", params={"year": YEAR, "updated_since": since}).json()["items"]
        assert data["qs"][1] in {a["id"] for a in got}
        assert all(datetime.fromisoformat(a["updated_at"]) >= stamp for a in got)
    just_after = (stamp + timedelta(microseconds=1)).isoformat()
    got = api.get("/api/v1/assessments", params={"year": YEAR, "updated_since": just_after}).json()["items"]
    assert data["qs"][1] not in {a["id"] for a in got}
    for bad in ("2026-01-01T00:00:00", "2026-01-01", "yesterday", "1700000000", "2026-13-01T00:00:00Z"):
        r = api.get("/api/v1/assessments", params={"updated_since": bad})
        assert error_fields(r) == {"updated_since"}, bad


def test_results_only_final(api, data) -> None:  # type: ignore[no-untyped-def]
    body = api.get("/api/v1/results", params={"year": YEAR}).json()
    assert_page(body)
    got = {r["assessment_id"]: r for r in body["items"]}
    assert set(got) == {data["qs"][0], data["bh"][0]}
    qs = got[data["qs"][0]]
    assert qs["final_stars"] == 4 and qs["stars"] == 5 and qs["total"] == "92.00" and qs["year"] == YEAR
    assert qs["branch_code"] == data["qs_branch"] and qs["finalized_at"]
    assert "status" in error_fields(api.get("/api/v1/results", params={"status": "final"}))


# ---- ETags --------------------------------------------------------------------------------------


def test_etag_round_trip(api, data) -> None:  # type: ignore[no-untyped-def]
    for url in (
        f"/api/v1/assessments/{data['qs'][1]}",
        f"/api/v1/assessments?year={YEAR}",
        f"/api/v1/criteria-sets/{data['cs']['rural']}",
        f"/api/v1/branches/{data['qs_branch']}",
        "/api/v1/regions?region=990102",
        f"/api/v1/results?year={YEAR}",
        f"/api/v1/rankings?year={YEAR}",
    ):
        first = api.get(url)
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{64}"', etag), url
        again = api.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag, url
        assert api.get(url, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
        assert api.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200
    url = f"/api/v1/assessments/{data['qs'][1]}"
    etag = api.get(url).headers["etag"]
    with session_scope() as s:
        row = s.get(Assessment, data["qs"][1])
        assert row is not None
        row.version += 1
        row.updated_at = utcnow()
        s.add(row)
    changed = api.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


# ---- errors --------------------------------------------------------------------------------------


def test_limits(api) -> None:  # type: ignore[no-untyped-def]
    for url in ("/api/v1/assessments", "/api/v1/branches", "/api/v1/regions", "/api/v1/rankings?year=2090"):
        sep = "&" if "?" in url else "?"
        for bad in ("1001", "0", "-1", "ten"):
            r = api.get(f"{url}{sep}limit={bad}")
            assert "limit" in error_fields(r), (url, bad)
        assert len(api.get(f"{url}{sep}limit=1000").json()["items"]) <= 1000
    body = api.get("/api/v1/branches").json()
    assert len(body["items"]) == 100 and body["total"] > 100  # the default page size
    msg = next(e for e in api.get("/api/v1/branches?limit=1001").json()["errors"] if e["field"] == "limit")
    assert msg["message"] == "不能大于 1000" and msg["location"] == "query"


def test_unknown_values_are_listed_together(api) -> None:  # type: ignore[no-untyped-def]
    r = api.get(
        "/api/v1/assessments",
        params={"sector": "farm", "status": "done", "year": "1999", "region": "x1", "colour": "red"},
    )
    body = assert_problem(r, 422)
    assert {e["field"] for e in body["errors"]} == {"sector", "status", "year", "region", "colour"}
    assert all(e["message"] and not e["message"].isascii() for e in body["errors"])
    sector = next(e for e in body["errors"] if e["field"] == "sector")
    assert "rural、community" in sector["message"] and " or " not in sector["message"]
    assert error_fields(api.get("/api/v1/rankings")) == {"year"}


def test_bad_cursor(api) -> None:  # type: ignore[no-untyped-def]
    for bad in ("!!!", "abc", "eyJ4IjoxfQ", "WyJzIiwibm9wZSIsMV0", "x" * 600):
        assert error_fields(api.get("/api/v1/assessments", params={"cursor": bad})) == {"cursor"}, bad
    regions_cursor = api.get("/api/v1/regions", params={"limit": 1}).json()["next_cursor"]
    assert error_fields(api.get("/api/v1/assessments", params={"cursor": regions_cursor})) == {"cursor"}
    assert error_fields(api.get("/api/v1/rankings", params={"year": 2090, "cursor": regions_cursor})) == {
        "cursor"
    }


def test_unknown_paths_and_methods_are_problems(api, anon) -> None:  # type: ignore[no-untyped-def]
    assert_problem(api.get("/api/v1/nothing-here"), 404)
    r = api.post("/api/v1/assessments", json={})
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET"
    assert_problem(api.delete("/api/v1/branches/990102-J01"), 405)
    assert_problem(anon.get("/api/v2/regions"), 404)


def test_no_cookies_ever(api, anon, data) -> None:  # type: ignore[no-untyped-def]
    for r in (
        api.get("/api/v1/assessments"),
        api.get(f"/api/v1/assessments/{data['qs'][0]}"),
        anon.get("/api/v1/assessments"),
        api.get("/api/v1/assessments?limit=0"),
        api.get("/api/v1/openapi.json"),
    ):
        assert "set-cookie" not in r.headers


def test_openapi_document(anon) -> None:  # type: ignore[no-untyped-def]
    doc = anon.get("/api/v1/openapi.json").json()
    assert doc["servers"] == [{"url": "/api/v1"}]
    expected = {
        "/regions",
        "/branches",
        "/branches/{code}",
        "/criteria-sets",
        "/criteria-sets/{criteria_set_id}",
        "/assessments",
        "/assessments/{assessment_id}",
        "/assessments.ndjson",
        "/results",
        "/rankings",
    }
    assert set(doc["paths"]) == expected
    for path, item in doc["paths"].items():
        op = item["get"]
        assert op["security"] == [{"bearerAuth": []}]
        for status in ("401", "403", "422", "429"):
            assert "application/problem+json" in op["responses"][status]["content"], (path, status)
        if "{" in path:
            assert "404" in op["responses"]
    money = doc["components"]["schemas"]["AssessmentOut"]["properties"]["total"]["anyOf"][0]
    assert money["type"] == "string" and money["pattern"] == r"^-?\d+\.\d{2}$"
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_docs_page_is_offline_and_csp_clean(anon) -> None:  # type: ignore[no-untyped-def]
    import hashlib
    from pathlib import Path

    r = anon.get("/api/docs")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    html = r.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert anon.get(asset).status_code == 200, asset
    vendor = Path(__file__).resolve().parents[2] / "static/vendor/swagger-ui"
    for line in (vendor / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest
    assert (vendor / "LICENSE").exists()


def test_every_row_is_in_the_database(api, data) -> None:  # type: ignore[no-untyped-def]
    """The list shows exactly the stored rows (no caching between requests)."""
    with session_scope() as s:
        stored = set(s.exec(select(Assessment.id).where(Assessment.year == YEAR)))
    got = {a["id"] for a in api.get("/api/v1/assessments", params={"year": YEAR}).json()["items"]}
    assert got == stored


def test_unexpected_errors_are_problems_too(api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.api import service

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(service, "list_regions", boom)
    r = api.get("/api/v1/regions")
    body = assert_problem(r, 500)
    assert "simulated" not in r.text and not body["detail"].isascii()
