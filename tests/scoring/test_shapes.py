"""Worked examples of the three shapes of RULES.md, computed by hand."""

from decimal import Decimal

from app.scoring import Entries, Votes, load_library, score
from tests.scoring.helpers import D, hits, pts, sum_check


def test_shape_a_eight_indicators_110_points() -> None:
    cs = load_library("example-shape-a")
    e = Entries(
        items={
            "LB1": hits(("LB1a", 1)),  # 15 - 5 (未按期换届) = 10
            "GG1": hits(),  # checked, nothing to deduct: 10
            "ZD1": hits(("ZD1b", 1)),  # 10 - 5 (无党员教育设备) = 5
            "ZZ1": hits(("ZZ1a", 2)),  # 10 - 2 x 1 = 8
            "BZ1": pts("9.5"),
            "YJ1": pts(14),
            "YJ2": pts("13.5"),
            "QZ1": pts(14),
            "JF1": pts(4),  # bonus
            "JF2": hits(("JF2b", 1), ("JF2c", 2)),  # 3 + 2 x 2 = 7
        },
        prerequisites=frozenset({"CX"}),
    )
    r = score(cs, e)
    # basic = 10 + 10 + 5 + 8 + 9.5 + 14 + 13.5 + 14 = 84
    assert r.basic == D(84)
    # bonus = 4 + 7 = 11, capped at 10
    assert r.bonus == D(10)
    assert r.items["JF2"].score == D(7)
    # total = 84 + 10 = 94 of 110 -> five stars (>= 90 and innovation project)
    assert r.total == D(94)
    assert r.max_total == D(110)
    assert (r.band_stars, r.stars) == (5, 5)
    assert r.complete and r.missing == []
    assert sum_check(r) == r.total
    # without the innovation project: five-star band, but four stars
    r2 = score(cs, Entries(items=e.items))
    assert (r2.band_stars, r2.stars) == (5, 4)
    assert any(s.kind == "prerequisite" for s in r2.explanation)


def test_shape_b_excess_deduction_comes_off_the_total() -> None:
    cs = load_library("example-shape-a")
    e = Entries(
        items={
            "LB1": hits(),
            "GG1": hits(("GG1b", 1)),  # 发展党员不规范 -15 in a 10-point category
            "ZD1": hits(),
            "ZZ1": hits(disc=(("1.5", "谈心谈话记录不全"),)),  # 10 - 1.5 = 8.5
            "BZ1": pts(10),
            "YJ1": pts(15),
            "YJ2": pts(15),
            "QZ1": pts(15),
        }
    )
    r = score(cs, e)
    gg = r.items["GG1"]
    assert (gg.score, gg.lost, gg.excess) == (D(0), D(10), D(5))
    assert r.categories["GG"].score == 0 and r.categories["GG"].excess == 5
    # categories: 15 + 0 + 10 + 8.5 + 10 + 15 + 15 + 15 = 88.5; basic = 88.5 - 5 = 83.5
    assert r.basic == D("83.5")
    assert r.total == D("83.5")
    assert r.stars == 4
    assert r.deducted == D("16.5")  # 15 + 1.5
    assert sum_check(r) == r.total
    assert "超出本项分值的 5 分从总分中扣除" in next(s.text for s in r.explanation if s.code == "GG1")


def test_shape_c_weighted_with_votes() -> None:
    cs = load_library("example-shape-c")
    items = {
        "JC1-1": pts(9),
        "JC1-2": pts("8.5"),
        "JC2-1": hits(("JC2-1a", 3)),  # 15 - 3 = 12
        "JC2-2": hits(("JC2-2a", 2)),  # 10 - 2 = 8
        "JC2-3": pts(9),
        "JC3-1": pts(9),
        "JC3-2": pts(8),
        "JC4-1": pts("13.5"),
        "JC4-2": pts(9),
        "KF1": hits(("KF1a", 1)),  # penalty 2
        "KF2": hits(disc=((1, "宣传栏内容长期未更新"),)),  # penalty 1
    }
    r = score(cs, Entries(items=items, appraisal=Votes(41, 5, 3)))
    # basic = 9 + 8.5 + 12 + 8 + 9 + 9 + 8 + 13.5 + 9 = 86; penalties = 3; basic_net = 83
    assert r.basic == D(86) and r.penalty == D(3)
    # appraisal = 100 x (41 x 1 + 5 x 0.6 + 3 x 0) / 49 = 4400 / 49 = 89.7959... -> 89.8
    assert r.appraisal == D("89.8")
    # total = 83 x 0.7 + 89.8 x 0.3 = 58.1 + 26.94 = 85.04 -> 85.0
    assert r.components == {"basic_net": D("58.1"), "appraisal": D("26.94")}
    assert r.total == D("85.0")
    assert r.stars == 4
    assert sum_check(r) == r.total  # 58.1 + 26.94 - 0.04 (rounding) = 85.0
    assert [s.code for s in r.explanation if s.kind == "adjust"] == ["rounding"]


def test_shape_c_missing_appraisal_is_incomplete() -> None:
    cs = load_library("example-shape-c")
    r = score(cs, Entries())
    assert "appraisal" in r.missing and not r.complete
    assert r.appraisal is None
    # deductive items without entries count full: 15 + 10 = 25 -> 25 x 0.7 = 17.5
    assert r.total == Decimal("17.5")
