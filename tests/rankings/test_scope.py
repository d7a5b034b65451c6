"""Scope: a county never sees another county's branches — through the region parameter, search, JSON,
fragments, exports, charts, heat-map cells, branch pages or criteria sets; branch users get 403."""

from __future__ import annotations

import pytest

from tests.rankings.conftest import YEAR

OTHER_COUNTY_URLS = [
    "/rankings?region=990103",
    "/rankings?region=990103001",
    "/rankings/export.xlsx?region=990103",
    "/rankings/export.csv?region=990103",
    "/rankings/compare?region=990103",
    "/rankings/compare/export.csv?region=990103",
    "/rankings/compare?region=990103&by=township",
    "/rankings/compare?region=9901&by=township",
    "/rankings/years?region=990103",
    "/rankings/years/export.xlsx?region=990103",
    "/rankings/heatmap?region=990103",
    "/rankings/heatmap/export.csv?region=990103",
    "/rankings/heatmap/cell?region=990103001&sector=rural&category=%E7%BB%84%E7%BB%87%E7%94%9F%E6%B4%BB&year=2025",
    "/rankings/quotas?region=990103",
    "/rankings/whatif?region=990103&run=1",
    "/rankings/whatif/export.csv?region=990103",
    "/rankings/charts?region=990103",
    "/rankings/charts/township.svg?region=990103",
    "/rankings/branches/990103001001-01",
    "/rankings?region=9901",
]


@pytest.mark.parametrize("url", OTHER_COUNTY_URLS)
def test_county_cannot_reach_another_county(login, url: str) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    assert a.get(url).status_code == 404
    r = a.json(url)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_search_and_defaults_stay_inside(login, town) -> None:  # type: ignore[no-untyped-def]
    bh = login("county_bh")
    data = bh.json(f"/rankings?year={YEAR}&sector=all&q=990102").json()
    assert data["total"] == 0 and data["ranked"] == 0
    data = bh.json("/rankings?year=2025&sector=all&q=990102&per_page=1000").json()
    assert data["total"] == 0
    data = bh.json("/rankings?year=2025&sector=all&per_page=1000").json()
    assert data["total"] > 0 and all(r["region_path"].startswith("/99/9901/990103/") for r in data["rows"])
    csv = bh.get("/rankings/export.csv?year=2025&sector=all&q=990102")
    assert csv.status_code == 200 and csv.content.decode("utf-8-sig").count("\r\n") == 1  # header only
    assert bh.get("/rankings/branches/990102901-T01").status_code == 404
    assert bh.get(f"/rankings/whatif?year={YEAR}&set={town.draft_id}").status_code == 404
    comp = bh.json(f"/rankings/compare?year={YEAR}").json()
    assert all(c["name"] != "测试镇" for c in comp["children"]) and comp["overall"]["assessments"] == 0


def test_inspector_sees_only_their_township(login) -> None:  # type: ignore[no-untyped-def]
    a = login("inspector_qs1")
    data = a.json("/rankings?year=2025&sector=all&per_page=1000").json()
    assert data["region"]["code"] == "990102001"
    assert data["total"] > 0 and all(r["township_code"] == "990102001" for r in data["rows"])
    assert a.get("/rankings?region=990102").status_code == 404
    assert a.get("/rankings?region=990102002").status_code == 404


def test_city_viewer_sees_the_counties(login) -> None:  # type: ignore[no-untyped-def]
    a = login("city_viewer")
    data = a.json("/rankings/compare?year=2025").json()
    keys = [c["key"] for c in data["children"]]
    assert {"990102", "990103", "990104", "990105", "990106"} <= set(keys) and keys == sorted(keys)
    assert next(c for c in data["children"] if c["key"] == "990106")["assessments"] > 100
    assert a.json("/rankings?region=990103&year=2025").status_code == 200


def test_branch_users_get_403_and_only_their_own_history(login) -> None:  # type: ignore[no-untyped-def]
    b = login("branch_qs1")
    for url in ("/rankings", "/rankings/compare", "/rankings/export.csv", "/rankings/charts/township.svg"):
        assert b.get(url).status_code == 403, url
    assert b.json("/rankings").status_code == 403
    home = b.get("/")
    assert 'href="/rankings"' not in home.text
    own = b.json("/rankings/whoami-not-a-branch")
    assert own.status_code == 404
    from sqlmodel import select

    from app.auth.models import User
    from app.branches.models import Branch
    from app.db import session_scope

    with session_scope() as s:
        user = s.exec(select(User).where(User.username == "branch_qs1")).one()
        mine = s.get(Branch, user.branch_id)
        assert mine is not None
        code = mine.code
    assert b.json(f"/rankings/branches/{code}").status_code == 200
    assert b.json("/rankings/branches/990102001002-01").status_code == 404
