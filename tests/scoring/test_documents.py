"""Document loading: round trips, hashing and a corpus of broken documents with their error paths."""

from collections.abc import Callable
from typing import Any

import pytest

from app.scoring import DocumentError, content_hash, dump_document, load_document, load_yaml
from tests.scoring.helpers import doc

Mut = Callable[[dict[str, Any]], None]


def _item(d: dict[str, Any], i: int = 0) -> dict[str, Any]:
    return d["categories"][0]["items"][i]  # type: ignore[no-any-return]


def _set(path: str, value: Any) -> Mut:
    def mutate(d: dict[str, Any]) -> None:
        target: Any = d
        parts = path.replace("]", "").replace("[", ".").split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        if value is _DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return mutate


_DELETE = object()

CORPUS: list[tuple[str, Mut, str, str]] = [
    ("zero max", _set("categories[0].items[0].max", 0), "categories[0].items[0].max", "分值必须大于 0"),
    ("negative max", _set("categories[0].items[1].max", -5), "categories[0].items[1].max", "分值必须大于 0"),
    ("max as text", _set("categories[0].items[0].max", "十"), "categories[0].items[0].max", "分值必须是数字"),
    ("max as bool", _set("categories[0].items[0].max", True), "categories[0].items[0].max", "分值必须是数字"),
    ("missing title", _set("title", _DELETE), "title", "缺少必填项"),
    ("missing items", _set("categories[0].items", _DELETE), "categories[0].items", "缺少必填项"),
    ("empty items", _set("categories[0].items", []), "categories[0].items", "至少需要 1 项"),
    ("items not a list", _set("categories[0].items", "A1"), "categories[0].items", "必须是列表"),
    ("unknown key", _set("categories[0].items[0].maxx", 5), "categories[0].items[0].maxx", "不允许的字段"),
    ("unknown sector", _set("sector", "army"), "sector", "领域取值无效"),
    ("year as float", _set("year", 2026.5), "year", "年度必须是整数"),
    ("year out of range", _set("year", 1999), "year", "年度不能小于 2000"),
    ("precision 3", _set("precision", 3), "precision", "不能大于 2"),
    ("bad code", _set("categories[0].items[0].code", "A 1"), "categories[0].items[0].code", "格式不正确"),
    ("duplicate code", _set("categories[0].items[1].code", "A1"), "categories[0].items[1].code", "重复"),
    ("code reused by a category", _set("categories[0].code", "A2"), "categories[0].items[1].code", "重复"),
    ("reserved code", _set("categories[0].code", "bonus"), "categories[0].code", "保留字"),
    ("negative cap", _set("categories[0].cap", -1), "categories[0].cap", "封顶分值不能小于 0"),
    ("unknown mode", _set("categories[0].items[0].mode", "guess"), "categories[0].items[0].mode", "取值无效"),
    (
        "additive in category",
        _set("categories[0].items[0].mode", "additive"),
        "categories[0].items[0].mode",
        "计分方式",
    ),
    (
        "deductive without rules",
        lambda d: _item(d, 1).update(deductions=[], discretionary=False),
        "categories[0].items[1].deductions",
        "至少有一条扣分规则",
    ),
    (
        "deductions on points item",
        lambda d: _item(d).update(deductions=_item(d, 1)["deductions"][:1]),
        "categories[0].items[0].deductions",
        "只有扣分制",
    ),
    (
        "per_unit without unit",
        _set("categories[0].items[1].deductions[2].unit", _DELETE),
        "categories[0].items[1].deductions[2].unit",
        "单位",
    ),
    (
        "preset cap below points",
        _set("categories[0].items[1].deductions[1].cap", 0.5),
        "categories[0].items[1].deductions[1].cap",
        "不能小于单次分值",
    ),
    (
        "unknown preset kind",
        _set("categories[0].items[1].deductions[0].kind", "weekly"),
        "categories[0].items[1].deductions[0].kind",
        "取值无效",
    ),
    ("step above max", _set("categories[0].items[0].step", 100), "categories[0].items[0].step", "步长"),
    ("bands out of order", _set("bands[1].min", 95), "bands[1].min", "严格递减"),
    ("bands stars repeated", _set("bands[1].stars", 5), "bands[1].stars", "从高到低"),
    ("band stars 6", _set("bands[0].stars", 6), "bands[0].stars", "不能大于 5"),
    ("band above max", _set("bands[0].min", 150), "bands[0].min", "超过了满分"),
    ("no bands", _set("bands", []), "bands", "至少需要一个星级档次"),
    ("no categories", _set("categories", []), "categories", "至少需要一个一级指标"),
    (
        "quota share above 1",
        _set("quotas", {"rules": [{"stars": 5, "max_share": 1.5}]}),
        "quotas.rules[0].max_share",
        "不能大于 1",
    ),
    (
        "quota share negative",
        _set("quotas", {"rules": [{"stars": 5, "max_share": -0.1}]}),
        "quotas.rules[0].max_share",
        "不能小于 0",
    ),
    (
        "quota both shares",
        _set("quotas", {"rules": [{"stars": 5, "max_share": 0.1, "min_share": 0.1}]}),
        "quotas.rules[0]",
        "只能设置",
    ),
    (
        "quota unknown scope",
        _set("quotas", {"scope": "nation", "rules": [{"stars": 5, "max_share": 0.1}]}),
        "quotas.scope",
        "取值无效",
    ),
    (
        "quota max on lowest band",
        _set("quotas", {"rules": [{"stars": 1, "max_share": 0.5}]}),
        "quotas.rules[0].stars",
        "最低档次",
    ),
    (
        "quota stars not a band",
        lambda d: d.update(bands=d["bands"][:3], quotas={"rules": [{"stars": 2, "min_share": 0.1}]}),
        "quotas.rules[0].stars",
        "不是本标准的星级档次",
    ),
    (
        "quota tie-break unknown",
        _set("quotas", {"rules": [{"stars": 5, "max_share": 0.1}], "tie_break": ["age"]}),
        "quotas.tie_break[0]",
        "取值无效",
    ),
    (
        "veto cap without stars",
        _set("vetoes", [{"code": "V1", "name": "安全事故", "effect": "cap"}]),
        "vetoes[0].cap_stars",
        "须写明最高星级",
    ),
    (
        "veto unknown effect",
        _set("vetoes", [{"code": "V1", "name": "安全事故", "effect": "ban"}]),
        "vetoes[0].effect",
        "取值无效",
    ),
    (
        "prerequisite unknown level",
        lambda d: d.update(bands=d["bands"][1:], prerequisites=[{"code": "P", "name": "创新", "stars": [5]}]),
        "prerequisites[0].stars[0]",
        "不是本标准的星级档次",
    ),
    (
        "component without appraisal",
        _set("components", [{"source": "basic", "weight": 0.7}, {"source": "appraisal", "weight": 0.3}]),
        "components[1].source",
        "没有设置 appraisal",
    ),
    (
        "components without basic",
        lambda d: d.update(appraisal={"max": 100}, components=[{"source": "appraisal", "weight": 1}]),
        "components",
        "须包含基础分",
    ),
    (
        "appraisal not weighted",
        lambda d: d.update(appraisal={"max": 100}, components=[{"source": "basic", "weight": 1}]),
        "components",
        "须包含 appraisal",
    ),
    (
        "vote weight above 1",
        _set("appraisal", {"weights": {"satisfied": 2}}),
        "appraisal.weights.satisfied",
        "不能大于 1",
    ),
    (
        "sheets in standard",
        _set("sheets", [{"code": "S", "name": "x", "pass_mark": 1, "categories": []}]),
        "sheets[0].categories",
        "至少需要 1 项",
    ),
    ("thematic without sheets", _set("aggregation", "thematic"), "sheets", "至少需要一个分表"),
    (
        "discretionary max without discretionary",
        lambda d: _item(d, 1).update(discretionary=False),
        "categories[0].items[1].discretionary_max",
        "未允许酌情扣分",
    ),
    (
        "bonus cap negative",
        _set("bonus", {"cap": -1, "items": [{"code": "J", "name": "加分", "max": 5}]}),
        "bonus.cap",
        "不能小于 0",
    ),
    (
        "penalty without rules",
        _set("penalties", {"items": [{"code": "K", "name": "减分"}]}),
        "penalties.items[0].deductions",
        "至少有一条扣分规则",
    ),
    ("category is a string", _set("categories", ["A"]), "categories[0]", "必须是键值对象"),
]


@pytest.mark.parametrize(("name", "mutate", "path", "message"), CORPUS, ids=[c[0] for c in CORPUS])
def test_broken_documents(name: str, mutate: Mut, path: str, message: str) -> None:
    data = doc()
    mutate(data)
    with pytest.raises(DocumentError) as info:
        load_document(data)
    errors = info.value.errors
    assert any(p == path and message in m for p, m in errors), errors


@pytest.mark.parametrize("data", [None, [], "text", 5, {}])
def test_not_a_document(data: Any) -> None:
    with pytest.raises(DocumentError) as info:
        load_document(data)
    assert info.value.errors


def test_yaml_errors_become_document_errors() -> None:
    with pytest.raises(DocumentError) as info:
        load_yaml("title: [unclosed\nyear: 2026")
    assert "YAML 语法错误" in info.value.errors[0][1]
    with pytest.raises(DocumentError) as info:
        load_yaml("title: a\ntitle: b\n")
    assert "重复" in info.value.errors[0][1]
    with pytest.raises(DocumentError):
        load_yaml("- just\n- a list\n")


def test_round_trip_and_hash() -> None:
    cs = load_document(doc())
    canonical = dump_document(cs)
    assert load_document(canonical) == cs
    assert dump_document(load_document(canonical)) == canonical
    # numbers written differently give the same canonical form and hash
    data = doc()
    data["categories"][0]["items"][0]["max"] = "60.0"
    assert content_hash(load_document(data)) == content_hash(cs)
    data["categories"][0]["items"][0]["max"] = 61
    assert content_hash(load_document(data)) != content_hash(cs)
    assert len(content_hash(cs)) == 64


def test_items_and_item_lookup() -> None:
    cs = load_document(
        doc(
            bonus={"items": [{"code": "J1", "name": "加分", "max": 5}]},
            penalties={"items": [{"code": "K1", "name": "减分", "discretionary": True}]},
        )
    )
    leaves = [
        (leaf.item.code, leaf.section, leaf.category.code if leaf.category else None) for leaf in cs.items()
    ]
    assert leaves == [
        ("A1", "category", "A"),
        ("A2", "category", "A"),
        ("J1", "bonus", None),
        ("K1", "penalty", None),
    ]
    assert cs.item("A2").item.name == "扣分项"
    with pytest.raises(KeyError):
        cs.item("ZZ")


def test_models_are_frozen() -> None:
    cs = load_document(doc())
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError
        cs.title = "x"  # type: ignore[misc]
