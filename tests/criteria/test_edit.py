"""Editing a draft in the browser: section forms merged into the document, validated whole, versioned."""

from __future__ import annotations

import pytest

from app.scoring import content_hash, load_document
from tests.criteria.helpers import create, detail, forms, lib_doc, post_form, set_field


def _section(lc, set_id: int, section: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    page = lc.get(f"/criteria/{set_id}/edit")
    assert page.status_code == 200, page.text[:500]
    return forms(page.text)[f"/criteria/{set_id}/edit/{section}"]


def _save(lc, set_id: int, section: str, pairs, **kw):  # type: ignore[no-untyped-def]
    return post_form(lc, f"/criteria/{set_id}/edit/{section}", pairs, **kw)


def _new_index(pairs, prefix: str) -> str:  # type: ignore[no-untyped-def]
    """The field prefix of the blank row for adding to a list (e.g. 'bands[5].')."""
    for name, value in pairs:
        if name.startswith(prefix) and name.endswith("._new") and value == "1":
            rest = name[len(prefix) :]
            if "[" not in rest:
                return name[: -len("_new")]
    raise AssertionError(f"no new row under {prefix}")


@pytest.fixture()
def draft(login):  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    years = iter(range(2050, 2060))

    def make(name: str = "example-shape-a") -> int:
        return create(lc, lib_doc(name, next(years)))

    return lc, make


@pytest.mark.parametrize(
    "name", ["example-shape-a", "example-shape-c", "example-thematic", "example-ladder", "rural"]
)
def test_saving_every_section_unchanged_keeps_the_document(draft, name) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make(name)
    before = detail(lc, set_id)
    page = lc.get(f"/criteria/{set_id}/edit").text
    for action, pairs in forms(page).items():
        if "/edit/" not in action:
            continue
        r = post_form(lc, action, pairs)
        assert r.status_code == 303, (action, r.text[:3000])
    after = detail(lc, set_id)
    assert after["document"] == before["document"]
    assert after["version"] == before["version"]  # nothing changed: no new version


def test_edit_points_deduction_and_band(draft) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make()
    version = detail(lc, set_id)["version"]
    pairs = _section(lc, set_id, "indicators")
    pairs = set_field(pairs, "categories[0].items[0].max", "16")
    pairs = set_field(pairs, "categories[0].items[0].deductions[0].points", "4")
    new = _new_index(pairs, "categories[0].items[0].deductions[")
    pairs = set_field(pairs, new + "code", "LB1d")
    pairs = set_field(pairs, new + "text", "未建立党员活动台账")
    pairs = set_field(pairs, new + "kind", "per_occurrence")
    pairs = set_field(pairs, new + "points", "0.5")
    pairs = set_field(pairs, new + "cap", "2")
    r = _save(lc, set_id, "indicators", pairs)
    assert r.status_code == 303, r.text[:3000]
    doc = detail(lc, set_id)["document"]
    item = doc["categories"][0]["items"][0]
    assert item["max"] == "16"
    assert item["deductions"][0]["points"] == "4"
    assert item["deductions"][-1] == {
        "code": "LB1d",
        "text": "未建立党员活动台账",
        "kind": "per_occurrence",
        "points": "0.5",
        "unit": None,
        "cap": "2",
    }
    pairs = set_field(_section(lc, set_id, "bands"), "bands[0].min", "92")
    assert _save(lc, set_id, "bands", pairs).status_code == 303
    d = detail(lc, set_id)
    assert d["document"]["bands"][0] == {"stars": 5, "min": "92"}
    assert d["version"] == version + 2
    load_document(d["document"])  # still a valid document
    # Every save is audited with a readable summary.
    page = lc.get(f"/criteria/{set_id}").text
    assert "修改 星级档次 5 星：最低分 90 → 92" in page


def test_add_remove_and_reorder_items_and_categories(draft) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make()
    pairs = _section(lc, set_id, "indicators")
    # Move 工作业绩 (7th… here index 5) to the top, delete 群众评价, add an item to 保障机制 and a new category.
    pairs = set_field(pairs, "categories[5]._pos", "0.5")
    pairs = set_field(pairs, "categories[6]._delete", "on")
    new_item = _new_index(pairs, "categories[4].items[")
    pairs = set_field(pairs, new_item + "code", "BZ2")
    pairs = set_field(pairs, new_item + "name", "党建经费使用")
    pairs = set_field(pairs, new_item + "max", "5")
    new_cat = _new_index(pairs, "categories[")
    pairs = set_field(pairs, new_cat + "code", "XC")
    pairs = set_field(pairs, new_cat + "name", "宣传思想")
    pairs = set_field(pairs, new_cat + "items[0].code", "XC1")
    pairs = set_field(pairs, new_cat + "items[0].name", "意识形态工作")
    pairs = set_field(pairs, new_cat + "items[0].max", "10")
    pairs = set_field(pairs, "categories[3].items[0]._pos", "9")  # a single item: order unchanged
    r = _save(lc, set_id, "indicators", pairs)
    assert r.status_code == 303, r.text[:3000]
    cats = detail(lc, set_id)["document"]["categories"]
    assert [c["code"] for c in cats] == ["YJ", "LB", "GG", "ZD", "ZZ", "BZ", "XC"]
    assert [i["code"] for i in cats[5]["items"]] == ["BZ1", "BZ2"]
    assert cats[6]["items"][0]["max"] == "10"


@pytest.mark.parametrize(
    ("section", "field", "value", "message"),
    [
        ("indicators", "categories[0].items[0].max", "-1", "分值必须大于 0"),
        ("indicators", "categories[1].items[0].deductions[0].points", "abc", "分值必须是数字"),
        ("bands", "bands[1].min", "95", "分数线须随星级降低而严格递减"),
        ("bands", "bands[2].stars", "5", "星级档次须按星级从高到低排列且不能重复"),
        ("vetoes", "vetoes[1].cap_stars", "", "须写明最高星级"),
        ("quotas", "quotas.rules[0].max_share", "2", "不能大于 1"),
        ("meta", "title", "", "缺少必填项"),
        ("bonus", "bonus.cap", "-3", "不能小于 0"),
    ],
)
def test_invalid_edit_is_422_at_the_field_and_nothing_changes(draft, section, field, value, message) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make()
    before = detail(lc, set_id)
    pairs = set_field(_section(lc, set_id, section), field, value)
    r = _save(lc, set_id, section, pairs)
    assert r.status_code == 422, r.text[:2000]
    assert f'data-for="{field}"' in r.text, r.text[:5000]
    assert message in r.text
    assert "Traceback" not in r.text
    # What was typed is kept.
    assert f'name="{field}"' in r.text
    after = detail(lc, set_id)
    assert after["document"] == before["document"] and after["version"] == before["version"]


def test_errors_land_on_the_typed_row_after_reordering(draft) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make()
    pairs = _section(lc, set_id, "indicators")
    pairs = set_field(pairs, "categories[5]._pos", "0")
    pairs = set_field(pairs, "categories[5].items[1].max", "0")
    r = _save(lc, set_id, "indicators", pairs, headers={"HX-Request": "true"})
    assert r.status_code == 422
    # The engine reports categories[0].items[1].max; the form shows it where it was typed.
    assert 'data-for="categories[5].items[1].max"' in r.text
    assert "<code>categories[0].items[1].max</code>" in r.text
    assert 'value="0"' in r.text
    assert "<html" not in r.text


def test_stale_version_is_409_and_nothing_is_overwritten(draft) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make()
    stale = _section(lc, set_id, "bands")
    assert _save(lc, set_id, "bands", set_field(stale, "bands[0].min", "91")).status_code == 303
    r = _save(lc, set_id, "bands", set_field(stale, "bands[0].min", "93"))
    assert r.status_code == 409
    assert "已被他人修改" in r.text
    assert 'value="93"' in r.text  # the typed value is still there
    assert detail(lc, set_id)["document"]["bands"][0]["min"] == "91"
    # Another section with the stale version is refused too.
    meta = _section(lc, set_id, "meta")
    meta = set_field(meta, "version", str(int(dict(meta)["version"]) - 1))
    assert _save(lc, set_id, "meta", set_field(meta, "title", "改过的标题")).status_code == 409


def test_htmx_save_returns_the_section_and_refreshes_the_other_versions(draft) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make()
    pairs = set_field(_section(lc, set_id, "vetoes"), "vetoes[0].name", "书记严重违纪违法或被追究刑事责任")
    r = _save(lc, set_id, "vetoes", pairs, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert 'id="sec-vetoes"' in r.text and "已保存" in r.text
    assert 'id="version-bands"' in r.text and 'hx-swap-oob="true"' in r.text
    assert detail(lc, set_id)["document"]["vetoes"][0]["name"] == "书记严重违纪违法或被追究刑事责任"


def test_optional_sections_can_be_switched_off_and_on(draft) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make("example-shape-c")
    pairs = [(k, v) for k, v in _section(lc, set_id, "quotas") if k != "quotas._enabled"]
    assert _save(lc, set_id, "quotas", pairs).status_code == 303
    assert detail(lc, set_id)["document"]["quotas"] is None
    pairs = _section(lc, set_id, "quotas")
    pairs = set_field(pairs, "quotas._enabled", "on")
    new = _new_index(pairs, "quotas.rules[")
    pairs = set_field(pairs, new + "stars", "5")
    pairs = set_field(pairs, new + "max_share", "0.15")
    assert _save(lc, set_id, "quotas", pairs).status_code == 303
    quotas = detail(lc, set_id)["document"]["quotas"]
    assert quotas["rules"] == [{"stars": 5, "max_share": "0.15", "min_share": None}]
    # The appraisal is referenced by the components: switching it off alone is refused.
    pairs = [(k, v) for k, v in _section(lc, set_id, "appraisal") if k != "appraisal._enabled"]
    r = _save(lc, set_id, "appraisal", pairs)
    assert r.status_code == 422 and "引用了评议项" in r.text


def test_prerequisite_stars_and_tie_break(draft) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make()
    pairs = _section(lc, set_id, "prerequisites")
    pairs.append(("prerequisites[0].stars", "4"))
    assert _save(lc, set_id, "prerequisites", pairs).status_code == 303
    assert detail(lc, set_id)["document"]["prerequisites"][0]["stars"] == [5, 4]
    pairs = [(k, v) for k, v in _section(lc, set_id, "quotas") if k != "quotas.tie_break"]
    pairs += [("quotas.tie_break", "appraisal"), ("quotas.tie_break", "total"), ("quotas.tie_break", "")]
    assert _save(lc, set_id, "quotas", pairs).status_code == 303
    assert detail(lc, set_id)["document"]["quotas"]["tie_break"] == ["appraisal", "total"]


def test_raw_yaml_editor(draft) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make()
    pairs = _section(lc, set_id, "raw")
    text = dict(pairs)["yaml"]
    assert "LB1" in text
    r = _save(lc, set_id, "raw", set_field(pairs, "yaml", text.replace("领导班子", "班子建设")))
    assert r.status_code == 303
    d = detail(lc, set_id)
    assert d["document"]["categories"][0]["name"] == "班子建设"
    r = _save(lc, set_id, "raw", set_field(_section(lc, set_id, "raw"), "yaml", text + "\nbogus: 1\n"))
    assert r.status_code == 422
    assert "<code>bogus</code>" in r.text and "bogus: 1" in r.text
    assert detail(lc, set_id)["version"] == d["version"]


def test_raw_editor_may_move_a_draft_to_another_year(draft) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make()
    pairs = _section(lc, set_id, "raw")
    text = dict(pairs)["yaml"]
    year = detail(lc, set_id)["year"]
    r = _save(lc, set_id, "raw", set_field(pairs, "yaml", text.replace(f"year: {year}", "year: 2099")))
    assert r.status_code == 303
    d = detail(lc, set_id)
    assert d["year"] == 2099 and d["revision"] >= 1


def test_content_hash_of_edited_draft_matches_engine(draft) -> None:  # type: ignore[no-untyped-def]
    lc, make = draft
    set_id = make()
    pairs = set_field(_section(lc, set_id, "meta"), "document_number", "青组通〔2050〕1号")
    assert _save(lc, set_id, "meta", pairs).status_code == 303
    d = detail(lc, set_id)
    assert d["document_number"] == "青组通〔2050〕1号"
    assert content_hash(load_document(d["document"]))
