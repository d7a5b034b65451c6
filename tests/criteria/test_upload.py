"""Creating drafts by upload: valid YAML/JSON, precise errors by path (422, nothing written), size limit."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, func, select

from app.criteria.models import CriteriaSetRecord
from app.db import get_read_engine
from app.scoring import content_hash, load_document
from tests.criteria.helpers import as_yaml, created_id, detail, lib_doc, upload


def _count(year: int) -> int:
    """Stored sets of a year (a short read-only session: never holds a write lock)."""
    with Session(get_read_engine()) as s:
        stmt = select(func.count()).select_from(CriteriaSetRecord).where(CriteriaSetRecord.year == year)
        return s.exec(stmt).one()


def test_upload_yaml_text_creates_a_county_draft(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    doc = lib_doc("example-shape-a", 2040)
    set_id = created_id(upload(lc, as_yaml(doc)))
    d = detail(lc, set_id)
    assert d["status"] == "draft"
    assert d["year"] == 2040 and d["sector"] == "organ"
    assert d["region_code"] == "990102"
    assert d["revision"] == 1 and d["editable"] is True
    assert d["content_hash"] is None
    assert content_hash(load_document(d["document"])) == content_hash(load_document(doc))
    page = lc.get(f"/criteria/{set_id}?done=created")
    assert "草稿已创建" in page.text


def test_upload_json_file_creates_the_next_revision(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    doc = lib_doc("rural", 2040)
    first = created_id(upload(lc, file=("rural.json", json.dumps(doc, ensure_ascii=False).encode("utf-8"))))
    second = created_id(upload(lc, file=("rural.yaml", ("\ufeff" + as_yaml(doc)).encode("utf-8"))))
    assert detail(lc, first)["revision"] == 1
    assert detail(lc, second)["revision"] == 2


def test_upload_json_answers_json(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    r = upload(lc, json.dumps(lib_doc("school", 2041)), headers={"Accept": "application/json"})
    assert r.status_code == 201
    assert r.json()["sector"] == "school" and r.json()["status"] == "draft"


def _broken(mutate):  # type: ignore[no-untyped-def]
    doc = lib_doc("example-shape-a", 2042)
    mutate(doc)
    return as_yaml(doc)


def _set(path: list, value):  # type: ignore[no-untyped-def]
    def mutate(doc):  # type: ignore[no-untyped-def]
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


BROKEN = [
    (_broken(_set(["categories", 2, "items", 0, "max"], 0)), "categories[2].items[0].max", "分值必须大于 0"),
    (_broken(_set(["categoriez"], [])), "categoriez", "不允许的字段"),
    (_broken(_set(["categories", 1, "items", 0, "code"], "LB1")), "categories[1].items[0].code", "重复"),
    (_broken(_set(["bands", 1, "min"], "95")), "bands[1].min", "分数线须随星级降低而严格递减"),
    (_broken(_set(["vetoes", 1, "cap_stars"], None)), "vetoes[1].cap_stars", "须写明最高星级"),
    (
        _broken(_set(["categories", 0, "items", 0, "deductions", 0, "kind"], "weekly")),
        "categories[0].items[0].deductions[0].kind",
        "取值无效",
    ),
    (
        _broken(_set(["quotas", "rules", 0, "max_share"], "1.5")),
        "quotas.rules[0].max_share",
        "最高比例不能大于 1",
    ),
    ("title: [unclosed\nyear: 2042", "", "YAML 语法错误"),
    ("title: 甲\ntitle: 乙\nyear: 2042\nsector: rural\n", "", "重复"),
    ('{"title": "甲", "year": ', "", "JSON 格式错误"),
    ("- 1\n- 2\n", "", "文档必须是键值对象"),
    ("", "", "请上传文件或粘贴文档内容"),
]


@pytest.mark.parametrize(("text", "path", "message"), BROKEN)
def test_broken_documents_are_refused_by_path_and_nothing_is_written(login, text, path, message) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    before = _count(2042)
    r = upload(lc, text)
    assert r.status_code == 422, r.text[:500]
    assert message in r.text
    if path:
        assert f"<code>{path}</code>：" in r.text
    assert "Traceback" not in r.text
    assert _count(2042) == before
    # The pasted text is kept for correcting it.
    if text:
        assert "upload-text" in r.text
    # JSON clients get the same errors as problem+json.
    rj = upload(lc, text, headers={"Accept": "application/json"})
    assert rj.status_code == 422
    body = rj.json()
    assert body["status"] == 422
    assert any(e["field"] == (path or e["field"]) and message in e["message"] for e in body["errors"])


def test_htmx_upload_error_is_the_card_fragment(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    r = upload(lc, _broken(_set(["bands", 1, "min"], "95")), headers={"HX-Request": "true"})
    assert r.status_code == 422
    assert "<html" not in r.text and "bands[1].min" in r.text


def test_oversize_upload_is_refused(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    big = as_yaml(lib_doc("rural", 2043)) + "#" + "x" * (1024 * 1024) + "\n"
    before = _count(2043)
    r = upload(lc, file=("big.yaml", big.encode("utf-8")))
    assert r.status_code == 413
    assert "1 MB" in r.text
    r = upload(lc, big)
    assert r.status_code in (413, 422)
    assert _count(2043) == before


def test_file_must_be_utf8(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    r = upload(lc, file=("gbk.yaml", "title: 标题\n".encode("gbk")))
    assert r.status_code == 422
    assert "UTF-8" in r.text


def test_admin_chooses_an_issuing_region_in_scope(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("admin")
    set_id = created_id(upload(lc, as_yaml(lib_doc("soe", 2044)), data={"region": "990103"}))
    assert detail(lc, set_id)["region_code"] == "990103"
    set_id = created_id(upload(lc, as_yaml(lib_doc("soe", 2044))))
    assert detail(lc, set_id)["region_code"] == "9901"
    # A township does not issue criteria sets; a region outside the scope is refused.
    r = upload(lc, as_yaml(lib_doc("soe", 2044)), data={"region": "990102001"})
    assert r.status_code == 422 and "只有省、市、县（区）可以发布评分标准" in r.text


def test_county_cannot_issue_for_another_region(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    r = upload(lc, as_yaml(lib_doc("soe", 2044)), data={"region": "990103"})
    assert r.status_code == 422
    assert "不在您的管辖范围内" in r.text


@pytest.mark.parametrize("username", ["inspector_qs1", "city_viewer"])
def test_roles_without_manage_criteria_cannot_create(login, username) -> None:  # type: ignore[no-untyped-def]
    lc = login(username)
    assert upload(lc, as_yaml(lib_doc("rural", 2045))).status_code == 403
    assert lc.get("/criteria/new").status_code == 403
    r = lc.post(
        "/criteria/from-library", data={"library": "rural", "library_year": "2045"}, follow_redirects=False
    )
    assert r.status_code == 403


def test_missing_csrf_token_is_refused(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    before = _count(2046)
    r = lc.post(
        "/criteria/upload", csrf=False, data={"text": as_yaml(lib_doc("rural", 2046))}, follow_redirects=False
    )
    assert r.status_code == 403
    assert _count(2046) == before
