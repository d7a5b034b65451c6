"""Review queue: scope, roles, filters, funnel counts, pages, fragment and JSON twin."""

from __future__ import annotations


def test_county_queue_defaults_to_submitted_in_scope(login) -> None:  # type: ignore[no-untyped-def]
    c = login("county_bh")
    r = c.json("/review?year=2026")
    assert r.status_code == 200
    data = r.json()
    assert data["filters"]["status"] == "submitted"
    assert data["total"] == data["counts"]["submitted"] > 0
    assert all(i["status"] == "submitted" for i in data["items"])
    assert all(i["branch_code"].startswith("990103") for i in data["items"])
    assert set(data["counts"]) >= {
        "draft",
        "scoring",
        "submitted",
        "returned",
        "reviewed",
        "publicized",
        "final",
    }
    # 白河县 demo: submitted / returned / scoring / reviewed only
    assert data["counts"]["final"] == 0 and data["counts"]["returned"] > 0
    row = data["items"][0]
    for key in (
        "township_name",
        "inspector",
        "submitted_at",
        "total",
        "stars",
        "self_total",
        "gap",
        "vetoed",
    ):
        assert key in row


def test_all_statuses_and_filters(login) -> None:  # type: ignore[no-untyped-def]
    c = login("county_bh")
    everything = c.json("/review?year=2026&status=all&per_page=200").json()
    assert (
        everything["total"]
        == everything["counts"]["all"]
        == sum(
            everything["counts"][s]
            for s in ("draft", "scoring", "submitted", "returned", "reviewed", "publicized", "final")
        )
    )
    town = c.json("/review?year=2026&status=all&region=990103001&per_page=200").json()
    assert 0 < town["total"] < everything["total"]
    assert all(i["township_code"] == "990103001" for i in town["items"])
    schools = c.json("/review?year=2026&status=all&sector=school").json()
    assert schools["total"] > 0 and all(i["sector"] == "school" for i in schools["items"])
    name = everything["items"][0]["branch_name"]
    found = c.json("/review", params={"year": 2026, "status": "all", "q": name}).json()
    assert any(i["branch_name"] == name for i in found["items"])
    assert c.json("/review?status=martian").status_code == 422


def test_pages(login) -> None:  # type: ignore[no-untyped-def]
    c = login("county_bh")
    first = c.json("/review?year=2026&status=all&per_page=5").json()
    second = c.json("/review?year=2026&status=all&per_page=5&page=2").json()
    assert len(first["items"]) == 5 == len(second["items"])
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


def test_fragment_and_page(login) -> None:  # type: ignore[no-untyped-def]
    c = login("county_bh")
    frag = c.get("/review?year=2026&status=submitted", headers={"HX-Request": "true"})
    assert frag.status_code == 200
    assert "<html" not in frag.text and "review-table" in frag.text and "funnel" in frag.text
    assert "HX-Request" in frag.headers["vary"] and "Accept" in frag.headers["vary"]
    assert 'rel="alternate"; type="application/json"' in frag.headers["link"]
    page = c.get("/review?year=2026")
    assert "<html" in page.text and 'hx-push-url="true"' in page.text
    assert 'name="pick"' in page.text and "批量审核通过所选" in page.text
    assert "审核工作台" in page.text  # nav link for county staff
    data = c.json("/review?year=2026").json()
    assert set(data) == {"items", "total", "page", "per_page", "counts", "filters"}  # no page-only context
    assert "csrf" not in str(data).lower()
    checked = c.get("/review?year=2026&check=all")
    assert "checked" in checked.text


def test_scope_and_roles(login) -> None:  # type: ignore[no-untyped-def]
    qs = login("county_qs")
    assert qs.get("/review?region=990103001").status_code == 404
    data = qs.json("/review?year=2026&status=all&per_page=200").json()
    assert data["total"] > 0 and all(i["branch_code"].startswith("990102") for i in data["items"])
    assert login("inspector_qs1").get("/review").status_code == 403
    viewer = login("city_viewer")
    page = viewer.get("/review?year=2026")
    assert page.status_code == 200
    assert 'name="pick"' not in page.text and "批量审核通过所选" not in page.text
    assert login("admin").json("/review?year=2026&region=990105&status=publicized").json()["total"] > 0
