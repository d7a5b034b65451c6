"""Thematic stars and gated ladders."""

from app.scoring import Entries, ItemEntry, load_document, load_library, score
from tests.scoring.helpers import D, hits, pts, sum_check


def _thematic_points(values: list[tuple[int | str, int | str]]) -> dict[str, ItemEntry]:
    items: dict[str, ItemEntry] = {}
    for n, (a, b) in enumerate(values, start=1):
        if n == 2:  # T2-1 is deductive: 10 - count
            items["T2-1"] = hits(("T2-1a", 10 - int(a))) if int(a) < 10 else hits()
        else:
            items[f"T{n}-1"] = pts(a)
        items[f"T{n}-2"] = pts(b)
    return items


def test_thematic_count() -> None:
    cs = load_library("example-thematic")
    # themes: 18 pass, 16 pass (10 - 2 + 8), 15.5 fail, 20 pass, 12 fail -> 3 themes passed
    items = _thematic_points([(9, 9), (8, 8), (8, "7.5"), (10, 10), (6, 6)])
    r = score(cs, Entries(items=items))
    assert [s.passed for s in r.sheets.values()] == [True, True, False, True, False]
    assert r.sheets["T2"].score == D(16)
    assert (r.band_stars, r.stars) == (3, 3)
    # total = 18 + 16 + 15.5 + 20 + 12 = 81.5
    assert r.total == D("81.5")
    assert sum_check(r) == r.total
    vetoed = score(cs, Entries(items=items, vetoes={"FJ2": "发生群体性上访"}))
    assert vetoed.stars == 0


def test_thematic_all_pass_with_floor() -> None:
    data = load_library("example-thematic").model_dump(mode="json")
    data["thematic_rule"] = {"kind": "all_pass", "stars": 5, "floor": 90, "otherwise": "count"}
    cs = load_document(data)
    all_pass_low = _thematic_points([(8, 8), (8, 8), (8, 8), (8, 8), (8, 8)])  # 5 x 16 = 80 < 90
    r = score(cs, Entries(items=all_pass_low))
    # all five pass but the total 80 is below 90: count rule, at most 5 - 1 = 4
    assert (r.total, r.band_stars) == (D(80), 4)
    r = score(cs, Entries(items=_thematic_points([(10, 9)] * 5)))  # 5 x 19 = 95
    assert (r.total, r.band_stars) == (D(95), 5)
    data["thematic_rule"]["otherwise"] = "unrated"
    assert score(load_document(data), Entries(items=all_pass_low)).stars == 0


def test_ladder_consecutive_tiers() -> None:
    cs = load_library("example-ladder")
    items = {f"L{n}-{k}": pts(9) for n in range(1, 6) for k in (1, 2)}  # every tier 18: pass
    items["L3-1"] = pts(8)  # tier 3: 17 < 18 fails -> tiers 4 and 5 do not count
    r = score(cs, Entries(items=items))
    assert [s.passed for s in r.sheets.values()] == [True, True, False, True, True]
    assert (r.band_stars, r.stars) == (2, 2)
    assert r.total == D(89)  # 5 x 18 - 1
    items["L3-1"] = pts(9)
    r = score(cs, Entries(items=items))
    # all five tiers pass but five stars need the prerequisite PQ
    assert (r.band_stars, r.stars) == (5, 4)
    r = score(cs, Entries(items=items, prerequisites=frozenset({"PQ"})))
    assert r.stars == 5
    r = score(cs, Entries(items=items, prerequisites=frozenset({"PQ"}), vetoes={"FJ2": "火灾"}))
    assert r.stars == 3
