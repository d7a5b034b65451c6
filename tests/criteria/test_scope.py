"""Who sees and who writes: own region and below (all statuses), regions above (published only, read-only)."""

from __future__ import annotations

import pytest

from tests.criteria.helpers import create, detail, forms, lib_doc, post_form


def _city_set(lc, year: int = 2026, sector: str = "rural") -> dict:  # type: ignore[no-untyped-def,type-arg]
    items = lc.json(f"/criteria?year={year}&sector={sector}").json()["items"]
    return next(i for i in items if i["region_code"] == "9901")


def test_list_shows_own_and_ancestor_sets_with_their_facts(login) -> None:  # type: ignore[no-untyped-def]
    qs = login("county_qs")
    mine = create(qs, lib_doc("rural", 2075))
    items = qs.json("/criteria?year=2075").json()["items"]
    assert [i["id"] for i in items] == [mine]
    city = _city_set(qs)
    assert city["status"] == "published" and city["content_hash"] and city["editable"] is False
    page = qs.get("/criteria?year=2026&sector=rural")
    assert city["content_hash"][:12] in page.text and "星城市" in page.text
    frag = qs.get("/criteria?year=2075", headers={"HX-Request": "true"})
    assert "<html" not in frag.text and 'id="criteria-table"' in frag.text


def test_other_county_drafts_and_sets_are_invisible(login) -> None:  # type: ignore[no-untyped-def]
    bh = login("county_bh")
    qs = login("county_qs")
    theirs = create(bh, lib_doc("rural", 2076))
    assert qs.get(f"/criteria/{theirs}").status_code == 404
    assert qs.get(f"/criteria/{theirs}/document.yaml").status_code == 404
    assert qs.json("/criteria?year=2076").json()["items"] == []
    r = qs.post(f"/criteria/{theirs}/publish", data={"version": "1"}, follow_redirects=False)
    assert r.status_code == 404
    r = post_form(qs, f"/criteria/{theirs}/edit/meta", [("version", "1"), ("title", "x")])
    assert r.status_code == 404
    # The city (admin, viewer) sees the county's draft below it.
    assert login("admin").get(f"/criteria/{theirs}").status_code == 200
    assert login("city_viewer").get(f"/criteria/{theirs}").status_code == 200
    # A county does not see the city's drafts.
    city_draft = create(login("admin"), lib_doc("rural", 2076))
    assert qs.get(f"/criteria/{city_draft}").status_code == 404


def test_county_cannot_edit_the_city_set(login) -> None:  # type: ignore[no-untyped-def]
    qs = login("county_qs")
    admin = login("admin")
    city_draft = create(admin, lib_doc("soe", 2077))
    pairs = forms(admin.get(f"/criteria/{city_draft}/edit").text)[f"/criteria/{city_draft}/edit/meta"]
    assert admin.post(f"/criteria/{city_draft}/publish", data={"version": "1"}).status_code == 200
    city = detail(admin, city_draft)
    assert qs.get(f"/criteria/{city_draft}").status_code == 200  # published: readable
    r = post_form(
        qs,
        f"/criteria/{city_draft}/edit/meta",
        [(k, str(city["version"]) if k == "version" else v) for k, v in pairs],
    )
    assert r.status_code == 403
    assert qs.get(f"/criteria/{city_draft}/edit").status_code == 403
    r = qs.post(
        f"/criteria/{city_draft}/archive", data={"version": str(city["version"])}, follow_redirects=False
    )
    assert r.status_code == 403
    assert detail(admin, city_draft)["status"] == "published"
    page = qs.get(f"/criteria/{city_draft}").text
    assert "archive-btn" not in page and "copy-link" in page


@pytest.mark.parametrize("username", ["inspector_qs1", "city_viewer"])
def test_read_only_roles_cannot_write(login, username) -> None:  # type: ignore[no-untyped-def]
    qs = login("county_qs")
    draft = create(qs, lib_doc("school", 2078))
    lc = login(username)
    if username == "inspector_qs1":  # a county draft is not visible from a township
        assert lc.get(f"/criteria/{draft}").status_code == 404
        target = _city_set(lc)["id"]
    else:
        target = draft
        page = lc.get(f"/criteria/{draft}").text
        assert "edit-link" not in page and "publish-btn" not in page
    assert lc.get(f"/criteria/{target}/edit").status_code == 403
    assert (
        post_form(lc, f"/criteria/{target}/edit/meta", [("version", "1"), ("title", "x")]).status_code == 403
    )
    assert lc.post(f"/criteria/{target}/publish", data={"version": "1"}).status_code == 403
    assert lc.post("/criteria/copy", data={"source": str(target), "copy_year": "2079"}).status_code == 403
    assert detail(qs, draft)["status"] == "draft"


def test_csrf_is_required_for_every_write(login) -> None:  # type: ignore[no-untyped-def]
    qs = login("county_qs")
    draft = create(qs, lib_doc("school", 2079))
    assert qs.post(f"/criteria/{draft}/publish", csrf=False, data={"version": "1"}).status_code == 403
    r = qs.post(f"/criteria/{draft}/edit/meta", csrf=False, data={"version": "1", "title": "x"})
    assert r.status_code == 403
    assert detail(qs, draft)["status"] == "draft" and detail(qs, draft)["version"] == 1


def test_anonymous_is_sent_to_login(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/criteria", follow_redirects=False)
    assert r.status_code in (302, 303, 307) and "/login" in r.headers["location"]


def test_viewer_sees_drafts_below_but_not_as_editable(login) -> None:  # type: ignore[no-untyped-def]
    draft = create(login("county_qs"), lib_doc("school", 2087))
    viewer = login("city_viewer")
    items = viewer.json("/criteria?year=2087").json()["items"]
    assert [(i["id"], i["editable"]) for i in items] == [(draft, False)]
    assert detail(login("admin"), draft)["editable"] is True
