"""Branch register: scope, filters, JSON twin, fragments."""

from __future__ import annotations


def test_inspector_sees_only_their_township(login) -> None:  # type: ignore[no-untyped-def]
    a = login("inspector_qs1")
    data = a.json("/branches?per_page=200").json()
    assert data["total"] > 10
    assert all(item["township_code"] == "990102001" for item in data["items"])


def test_county_cannot_reach_another_county(login) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    assert a.get("/branches?region=990103001").status_code == 404
    other = "990103001001-01"
    r = a.get(f"/branches/{other}")
    assert r.status_code == 404 and "不在您的管辖范围内" in r.text
    r = a.json(f"/branches/{other}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    data = a.json("/branches?per_page=200&q=990103").json()
    assert data["total"] == 0


def test_filters_and_fragment(login) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json("/branches?sector=school").json()
    assert data["total"] > 0 and all(i["sector"] == "school" for i in data["items"])
    frag = a.get("/branches?sector=school", headers={"HX-Request": "true"})
    assert frag.status_code == 200
    assert "<html" not in frag.text and "branch-table" in frag.text
    assert "HX-Request" in frag.headers["vary"]
    full = a.get("/branches?sector=school")
    assert "<html" in full.text


def test_bad_filter_values_are_422(login) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    r = a.json("/branches?sector=martian")
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["field"] == "sector"
    assert a.json("/branches?page=0").status_code == 422
    assert a.get("/branches?per_page=100000").status_code == 422


def test_search_is_escaped(login) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    r = a.get("/branches?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;" in r.text
