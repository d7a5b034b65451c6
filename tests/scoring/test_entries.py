"""Entry validation and the JSON form of entries and results."""

import json
from decimal import Decimal

import pytest

from app.scoring import (
    DeductionHit,
    Designation,
    Discretionary,
    Entries,
    EntriesError,
    ItemEntry,
    Result,
    Votes,
    load_document,
    score,
    validate_entry,
)
from tests.scoring.helpers import D, cs, doc, hits, pts


@pytest.mark.parametrize(
    ("code", "entry", "expected"),
    [
        ("A1", pts(30), None),
        ("A1", pts("30.5"), None),
        ("A1", pts(61), "超出范围"),
        ("A1", pts(-1), "超出范围"),
        ("A1", pts("30.3"), "整数倍"),
        ("A1", hits(("A2f", 1)), "不能录入扣分"),
        ("A2", hits(("A2f", 1), ("A2o", 2), ("A2u", "1.5")), None),
        ("A2", pts(3), "不能直接填写得分"),
        ("A2", hits(("NOPE", 1)), "没有编码为“NOPE”"),
        ("A2", hits(("A2o", "1.5")), "正整数"),
        ("A2", hits(("A2o", 0)), "须大于 0"),
        ("A2", hits(("A2f", 2)), "只能计 1 次"),
        ("A2", hits(("A2u", -1)), "须大于 0"),
        ("A2", hits(("A2f", 1), ("A2f", 1)), "重复"),
        ("A2", hits(disc=((1, " "),)), "理由"),
        ("A2", hits(disc=((0, "理由"),)), "须大于 0"),
        ("A2", hits(disc=((2, "a"), (2, "b"))), "超过上限"),
        ("ZZ", pts(1), "没有编码为“ZZ”的指标"),
    ],
)
def test_validate_entry(code: str, entry: ItemEntry, expected: str | None) -> None:
    problems = validate_entry(cs(), code, entry)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


def test_discretionary_not_allowed() -> None:
    data = doc()
    data["categories"][0]["items"][1]["discretionary"] = False
    data["categories"][0]["items"][1].pop("discretionary_max")
    problems = validate_entry(load_document(data), "A2", hits(disc=((1, "x"),)))
    assert problems == ["该项不允许酌情扣分"]


def test_entries_json_round_trip() -> None:
    e = Entries(
        items={
            "A1": ItemEntry(points=D("30.5")),
            "A2": ItemEntry(
                deductions=(DeductionHit("A2o", D(2)),), discretionary=(Discretionary(D(1), "理由"),)
            ),
        },
        vetoes={"V1": "事故"},
        prerequisites=frozenset({"P2", "P1"}),
        appraisal=Votes(10, 2, 1),
        designation=Designation(5, "表彰", "文件"),
    )
    obj = e.to_json()
    assert obj["items"]["A1"] == {"points": "30.5"}
    assert obj["items"]["A2"]["deductions"] == [{"code": "A2o", "count": "2"}]
    assert obj["prerequisites"] == ["P1", "P2"]
    assert Entries.from_json(json.loads(json.dumps(obj))) == e
    direct = Entries(appraisal=D("88.5"))
    assert Entries.from_json(direct.to_json()) == direct
    assert Entries.from_json({}) == Entries()
    assert ItemEntry.from_json({"points": 4.5}) == ItemEntry(points=Decimal("4.5"))


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        ([], ""),
        ({"items": []}, "items"),
        ({"items": {"A1": {"points": "abc"}}}, "items.A1.points"),
        ({"items": {"A1": {"points": True}}}, "items.A1.points"),
        ({"items": {"A1": {"pts": 1}}}, "items.A1.pts"),
        ({"items": {"A2": {"deductions": [{"count": 1}]}}}, "items.A2.deductions[0]"),
        (
            {"items": {"A2": {"discretionary": [{"points": "x", "reason": "r"}]}}},
            "items.A2.discretionary[0].points",
        ),
        ({"vetoes": {"V1": 5}}, "vetoes"),
        ({"prerequisites": "P1"}, "prerequisites"),
        ({"appraisal": {"satisfied": -1}}, "appraisal.satisfied"),
        ({"appraisal": "lots"}, "appraisal"),
        ({"designation": {"stars": "5"}}, "designation.stars"),
        ({"extra": 1}, "extra"),
    ],
)
def test_entries_from_bad_json(obj: object, path: str) -> None:
    with pytest.raises(EntriesError) as info:
        Entries.from_json(obj)
    assert any(p == path for p, _ in info.value.errors), info.value.errors


def test_result_json_round_trip() -> None:
    r = score(cs(), Entries(items={"A1": pts("30.5"), "A2": hits(("A2o", 2), disc=((1, "理由"),))}))
    obj = json.loads(json.dumps(r.to_json()))
    assert obj["total"] == "67.5"  # 30.5 + (40 - 2 - 1)
    assert obj["explanation"][0]["kind"] == "item"
    assert Result.from_json(obj) == r
