"""Publish (frozen, hashed), archive, copy into a new year, start from the library, export/re-import, diff."""

from __future__ import annotations

import json

import yaml

from app.scoring import content_hash, load_document, load_library
from tests.criteria.helpers import as_yaml, create, created_id, detail, forms, lib_doc, post_form, upload


def _publish(lc, set_id: int):  # type: ignore[no-untyped-def]
    version = detail(lc, set_id)["version"]
    return lc.post(f"/criteria/{set_id}/publish", data={"version": str(version)}, follow_redirects=False)


def test_publish_stores_the_hash_and_freezes_the_set(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    set_id = create(lc, lib_doc("example-shape-a", 2060))
    edit_page = lc.get(f"/criteria/{set_id}/edit").text
    stale_pairs = forms(edit_page)[f"/criteria/{set_id}/edit/bands"]
    r = _publish(lc, set_id)
    assert r.status_code == 303 and r.headers["location"].endswith("done=published")
    d = detail(lc, set_id)
    assert d["status"] == "published" and d["published_at"]
    assert d["content_hash"] == content_hash(load_document(d["document"]))
    assert d["editable"] is False
    # Every write to a published set is a 409.
    r = post_form(lc, f"/criteria/{set_id}/edit/bands", stale_pairs)
    assert r.status_code == 409 and "已发布的评分标准不能修改" in r.text
    fresh = [(k, str(d["version"]) if k == "version" else v) for k, v in stale_pairs]
    r = post_form(lc, f"/criteria/{set_id}/edit/bands", fresh)
    assert r.status_code == 409 and "已发布的评分标准不能修改" in r.text
    assert lc.get(f"/criteria/{set_id}/edit").status_code == 409
    assert _publish(lc, set_id).status_code == 409
    after = detail(lc, set_id)
    assert after["document"] == d["document"] and after["content_hash"] == d["content_hash"]
    page = lc.get(f"/criteria/{set_id}").text
    assert d["content_hash"][:12] in page and "发布" in page


def test_publish_with_a_stale_version_is_409(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    set_id = create(lc, lib_doc("example-shape-c", 2060))
    r = lc.post(f"/criteria/{set_id}/publish", data={"version": "0"}, follow_redirects=False)
    assert r.status_code == 409
    assert detail(lc, set_id)["status"] == "draft"


def test_archive_keeps_the_set_readable(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    set_id = create(lc, lib_doc("hospital", 2061))
    assert lc.post(f"/criteria/{set_id}/archive", data={"version": "1"}).status_code == 409  # a draft
    assert _publish(lc, set_id).status_code == 303
    d = detail(lc, set_id)
    r = lc.post(f"/criteria/{set_id}/archive", data={"version": str(d["version"])}, follow_redirects=False)
    assert r.status_code == 303
    a = detail(lc, set_id)
    assert a["status"] == "archived" and a["content_hash"] == d["content_hash"]
    assert lc.get(f"/criteria/{set_id}").status_code == 200
    assert lc.get(f"/criteria/{set_id}/document.yaml").status_code == 200
    r = lc.post(f"/criteria/{set_id}/archive", data={"version": str(a["version"])}, follow_redirects=False)
    assert r.status_code == 409


def test_copy_last_year_into_a_new_year(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    last = create(lc, lib_doc("example-shape-a", 2062, title="青山县2062年度机关党支部星级评定细则"))
    assert _publish(lc, last).status_code == 303
    form = lc.get(f"/criteria/new?copy={last}")
    assert 'value="2063"' in form.text
    r = lc.post("/criteria/copy", data={"source": str(last), "copy_year": "2063"}, follow_redirects=False)
    new = created_id(r)
    d, src = detail(lc, new), detail(lc, last)
    assert d["status"] == "draft" and d["year"] == 2063 and d["copied_from_id"] == last
    assert d["title"] == "青山县2063年度机关党支部星级评定细则"
    assert d["document"]["year"] == 2063
    assert {k: v for k, v in d["document"].items() if k not in ("year", "title")} == {
        k: v for k, v in src["document"].items() if k not in ("year", "title")
    }


def test_county_copies_the_city_set_into_its_own_draft(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    city_set = next(
        i for i in lc.json("/criteria?year=2026&sector=rural").json()["items"] if i["region_code"] == "9901"
    )
    r = lc.post(
        "/criteria/copy", data={"source": str(city_set["id"]), "copy_year": "2064"}, follow_redirects=False
    )
    d = detail(lc, created_id(r))
    assert d["region_code"] == "990102" and d["year"] == 2064 and d["editable"]


def test_copy_refuses_a_bad_year(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    src = create(lc, lib_doc("organ", 2064))
    r = lc.post("/criteria/copy", data={"source": str(src), "copy_year": "1999"}, follow_redirects=False)
    assert r.status_code == 422 and "年度须在 2000–2100 之间" in r.text


def test_start_from_the_library(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    r = lc.post(
        "/criteria/from-library",
        data={"library": "nonpublic", "library_year": "2065"},
        follow_redirects=False,
    )
    d = detail(lc, created_id(r))
    lib = load_library("nonpublic")
    assert d["year"] == 2065 and d["sector"] == "nonpublic"
    assert d["title"] == lib.title.replace("2026", "2065")
    r = lc.post(
        "/criteria/from-library", data={"library": "nope", "library_year": "2065"}, follow_redirects=False
    )
    assert r.status_code == 422


def test_export_then_reimport_gives_the_same_content_hash(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    for k, name in enumerate(
        ["example-shape-a", "example-shape-c", "example-thematic", "example-ladder", "rural"]
    ):
        set_id = create(lc, lib_doc(name, 2066 + k))
        assert _publish(lc, set_id).status_code == 303
        digest = detail(lc, set_id)["content_hash"]
        ry = lc.get(f"/criteria/{set_id}/document.yaml")
        assert ry.status_code == 200 and "attachment" in ry.headers["content-disposition"]
        assert ry.text.startswith("# ")
        rj = lc.get(f"/criteria/{set_id}/document.json")
        assert json.loads(rj.text) == detail(lc, set_id)["document"]
        for text, fname in ((ry.text, "x.yaml"), (rj.text, "x.json")):
            again = created_id(upload(lc, file=(fname, text.encode("utf-8"))))
            assert content_hash(load_document(detail(lc, again)["document"])) == digest
            assert _publish(lc, again).status_code == 303
            assert detail(lc, again)["content_hash"] == digest
        # Numbers are written as numbers, not quoted strings.
        loaded = yaml.safe_load(ry.text)
        if loaded.get("bands"):
            assert isinstance(loaded["bands"][0]["min"], int | float)


def test_diff_reports_an_added_item_and_a_changed_max(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    doc = lib_doc("example-shape-a", 2071)
    a = create(lc, doc)
    doc["categories"][0]["items"][0]["max"] = "16"
    doc["categories"][4]["items"].append({"code": "BZ2", "name": "党建经费使用", "max": "5"})
    doc["bands"][0]["min"] = "92"
    doc["vetoes"] = doc["vetoes"][:1]
    doc["quotas"]["rules"][0]["max_share"] = "0.15"
    doc["categories"][1]["items"][0]["deductions"][1]["points"] = "10"
    b = create(lc, doc)
    r = lc.json(f"/criteria/diff?a={a}&b={b}")
    assert r.status_code == 200
    changes = r.json()["changes"]
    by = {(c["entity"], c["code"], c["kind"]): c for c in changes}
    assert ("item", "BZ2", "added") in by
    assert by[("item", "LB1", "changed")]["fields"] == [{"field": "max", "old": "15", "new": "16"}]
    assert ("band", "5", "changed") in by and ("veto", "FJ2", "removed") in by
    assert ("quota_rule", "5", "changed") in by and ("deduction", "GG1b", "changed") in by
    assert r.json()["counts"] == {"added": 1, "removed": 1, "changed": 4}
    page = lc.get(f"/criteria/diff?a={a}&b={b}").text
    assert "党建经费使用" in page and "新增" in page and "<del>15</del>" in page and "<ins>16</ins>" in page
    same = lc.json(f"/criteria/diff?a={a}&b={a}").json()
    assert same["changes"] == []
    assert lc.get("/criteria/diff").status_code == 200


def test_yaml_upload_of_library_file_as_is(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    text = as_yaml(lib_doc("community", 2072))
    assert detail(lc, created_id(upload(lc, text)))["sector"] == "community"
