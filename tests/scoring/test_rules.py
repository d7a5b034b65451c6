"""One worked example per rule kind (arithmetic in the comments)."""

from decimal import Decimal

from app.scoring import Designation, Entries, ItemEntry, Votes, score
from tests.scoring.helpers import BANDS, D, cs, entries, hits, pts, sum_check

BONUS = {
    "cap": 10,
    "items": [
        {"code": "J1", "name": "创新项目", "max": 6, "step": 1},
        {
            "code": "J2",
            "name": "获得表彰",
            "max": 8,
            "mode": "additive",
            "awards": [
                {"code": "J2a", "text": "省级表彰", "kind": "per_occurrence", "points": 3, "unit": "项"},
                {
                    "code": "J2b",
                    "text": "市级表彰",
                    "kind": "per_occurrence",
                    "points": 2,
                    "unit": "项",
                    "cap": 4,
                },
            ],
        },
    ],
}
PENALTIES = {
    "cap": 5,
    "items": [
        {
            "code": "K1",
            "name": "通报批评",
            "cap": 4,
            "deductions": [{"code": "K1a", "text": "被通报批评", "kind": "per_occurrence", "points": 2}],
        },
        {"code": "K2", "name": "其他", "discretionary": True},
    ],
}


def test_per_occurrence_with_cap() -> None:
    # A2: 40 - min(5 x 1, cap 3) = 37; A1 = 50 -> total 87
    r = score(cs(), entries({"A1": pts(50), "A2": hits(("A2o", 5))}))
    assert r.items["A2"].deductions[0].points == D(3)
    assert r.items["A2"].score == D(37)
    assert r.total == D(87)


def test_per_unit_fractional_and_rounding() -> None:
    # A2: 40 - 0.5 x 2.5 (季度) = 38.75; A1 = 60 -> 98.75 -> rounded (1 place, half up) 98.8
    r = score(cs(), entries({"A1": pts(60), "A2": hits(("A2u", "2.5"))}))
    assert r.items["A2"].score == D("38.75")
    assert r.total == D("98.8")
    assert sum_check(r) == r.total


def test_fixed_deduction_and_count_rules() -> None:
    r = score(cs(), entries({"A1": pts(60), "A2": hits(("A2f", 1), ("A2o", "1.5"))}))
    # the 1.5 occurrences hit is invalid and ignored: 40 - 5 = 35
    assert r.items["A2"].score == D(35)
    assert any("正整数" in p for p in r.problems)


def test_discretionary_needs_reason_and_respects_max() -> None:
    e = hits(disc=((2, "台账缺页"), (1, ""), (5, "记录造假")))
    r = score(cs(), entries({"A1": pts(60), "A2": e}))
    # 2 (reason ok) + ignored (no reason) + 5 cut to the remaining 1 of the max 3 -> 3
    assert [d.points for d in r.items["A2"].deductions] == [D(2), D(1)]
    assert r.items["A2"].score == D(37)
    assert any("理由" in p for p in r.problems)
    assert any("超过上限" in p for p in r.problems)


def test_deductions_stop_at_zero_without_excess() -> None:
    # 5 + 3 + 0.5 x 80 = 48 > 40: item scores 0, nothing beyond (allow_excess_deduction is false)
    r = score(cs(), entries({"A1": pts(60), "A2": hits(("A2f", 1), ("A2o", 9), ("A2u", 80))}))
    assert (r.items["A2"].score, r.items["A2"].excess) == (D(0), D(0))
    assert r.total == D(60)


def test_bonus_item_and_set_caps() -> None:
    e = entries({"A1": pts(50), "A2": hits(), "J1": pts(5), "J2": hits(("J2a", 2), ("J2b", 3))})
    r = score(cs(bonus=BONUS), e)
    # J2: 3 x 2 = 6 plus min(2 x 3, cap 4) = 4 -> 10, item max 8 -> 8
    assert r.items["J2"].score == D(8)
    # bonus: 5 + 8 = 13, set cap 10; total = 90 + 10 = 100 of max 110
    assert r.bonus == D(10)
    assert (r.total, r.max_total) == (D(100), D(110))
    assert sum_check(r) == r.total


def test_penalty_item_and_section_caps() -> None:
    e = entries(
        {"A1": pts(50), "A2": hits(), "K1": hits(("K1a", 3)), "K2": hits(disc=(("2.5", "信访问题处置不力"),))}
    )
    r = score(cs(penalties=PENALTIES), e)
    # K1: 2 x 3 = 6, item cap 4; K2: 2.5; together 6.5, section cap 5
    assert r.items["K1"].score == D(-4)
    assert r.penalty == D(5)
    assert r.total == D(85)  # 50 + 40 - 5
    assert r.components["penalty"] == D(-5)
    assert r.complete  # penalties are optional


def test_bands_other_thresholds() -> None:
    bands = [
        {"stars": 5, "min": 95},
        {"stars": 4, "min": 85},
        {"stars": 3, "min": 75},
        {"stars": 2, "min": 65},
    ]
    c = cs(bands=bands)
    cases: list[tuple[int | str, int]] = [(55, 5), ("54.5", 4), (45, 4), (35, 3), (25, 2), ("24.5", 0)]
    for a1, expected in cases:
        r = score(c, entries({"A1": pts(a1), "A2": hits()}))
        assert r.band_stars == expected, (a1, r.total)


def test_unrated_floor() -> None:
    c = cs(unrated_below=60)
    r = score(c, entries({"A1": pts("19.5"), "A2": hits()}))  # 59.5 < 60
    assert (r.band_stars, r.stars) == (0, 0)
    assert score(c, entries({"A1": pts(20), "A2": hits()})).stars == 2


def test_prerequisites_drop_to_highest_met_band() -> None:
    pre = [
        {"code": "P5", "name": "有创新项目", "stars": [5]},
        {"code": "P4", "name": "有特色品牌", "stars": [4, 5]},
    ]
    c = cs(prerequisites=pre)
    full = {"A1": pts(60), "A2": hits()}
    assert score(c, entries(full, prerequisites=frozenset({"P4", "P5"}))).stars == 5
    assert score(c, entries(full, prerequisites=frozenset({"P4"}))).stars == 4
    r = score(c, entries(full))
    assert (r.band_stars, r.stars) == (5, 3)
    assert r.eligible_stars == (3, 2, 1)
    # a band below the guarded ones is untouched
    assert score(c, entries({"A1": pts(35), "A2": hits()})).stars == 3


VETOES = [
    {"code": "V1", "name": "书记严重违纪违法", "effect": "disqualify"},
    {"code": "V2", "name": "重大安全事故", "effect": "cap", "cap_stars": 2},
]


def test_veto_disqualify() -> None:
    r = score(cs(vetoes=VETOES), entries({"A1": pts(60), "A2": hits()}, vetoes={"V1": "书记被开除党籍"}))
    assert (r.band_stars, r.stars, r.vetoed, r.veto_cap) == (5, 0, True, 0)
    assert r.total == D(100)  # the score stays; only the stars go


def test_veto_cap() -> None:
    c = cs(vetoes=VETOES)
    r = score(c, entries({"A1": pts(60), "A2": hits()}, vetoes={"V2": "仓库火灾"}))
    assert (r.band_stars, r.stars, r.veto_cap) == (5, 2, 2)
    # a branch already below the cap keeps its stars but is still marked vetoed
    r = score(c, entries({"A1": pts(5), "A2": hits()}, vetoes={"V2": "仓库火灾"}))
    assert (r.stars, r.vetoed) == (1, True)
    # both: the lowest cap wins
    r = score(c, entries({"A1": pts(60), "A2": hits()}, vetoes={"V1": "x", "V2": "y"}))
    assert r.stars == 0


def test_designation() -> None:
    d = Designation(5, "获评全国先进基层党组织", "县组通〔2026〕3号")
    low = {"A1": pts(10), "A2": hits()}  # 50 -> one star
    r = score(cs(allow_designation=True), entries(low, designation=d))
    assert (r.band_stars, r.stars, r.designated) == (1, 5, True)
    assert any(s.kind == "designation" and "县组通" in s.text for s in r.explanation)
    # not allowed: ignored and reported
    r = score(cs(), entries(low, designation=d))
    assert (r.stars, r.designated) == (1, False) and r.problems
    # missing document: ignored
    r = score(cs(allow_designation=True), entries(low, designation=Designation(5, "理由", "")))
    assert not r.designated
    # a veto beats a designation
    r = score(
        cs(allow_designation=True, vetoes=VETOES), entries(low, designation=d, vetoes={"V2": "安全事故"})
    )
    assert (r.stars, r.designated) == (2, True)


def test_missing_entries() -> None:
    r = score(cs(), Entries())
    # A1 (points) counts 0, A2 (deductive) counts its full 40; neither is scored
    assert r.total == D(40)
    assert r.missing == ["A1", "A2"] and not r.complete
    assert not r.items["A2"].scored
    r = score(cs(), entries({"A1": ItemEntry(), "A2": ItemEntry()}))
    assert r.missing == ["A1"]  # an empty deductive entry means "checked, no deduction"


def test_invalid_entries_do_not_crash() -> None:
    e = entries(
        {
            "A1": ItemEntry(points=D(75), deductions=hits(("A2f", 1)).deductions),
            "A2": ItemEntry(points=D(3)),
            "ZZ": pts(1),
        },
        vetoes={"NOPE": "?"},
        prerequisites=frozenset({"NOPE2"}),
        appraisal=D(50),
    )
    r = score(cs(), e)
    assert r.items["A1"].score == D(60)  # clamped
    assert r.items["A2"].score == D(40)  # points on a deductive item ignored
    assert len(r.problems) >= 6
    assert not r.vetoed


def test_direct_appraisal_plain_sum() -> None:
    appraisal = {"name": "群众评议", "method": "direct", "max": 20}
    c = cs(appraisal=appraisal, bands=[{"stars": 5, "min": 108}, *BANDS[1:]])
    r = score(c, entries({"A1": pts(60), "A2": hits()}, appraisal=D("18.5")))
    assert r.total == D("118.5") and r.max_total == D(120)
    r = score(c, entries({"A1": pts(60), "A2": hits()}, appraisal=Votes(1, 1, 1)))
    assert r.appraisal is None and r.problems


def test_weighted_basic_with_unweighted_penalty_and_bonus() -> None:
    comps = [{"source": "basic", "weight": 0.8}, {"source": "appraisal", "weight": 0.2}]
    appraisal = {"method": "votes", "max": 100, "weights": {"satisfied": 1, "basic": 0.8, "unsatisfied": 0}}
    c = cs(components=comps, appraisal=appraisal, bonus=BONUS, penalties=PENALTIES)
    e = entries({"A1": pts(50), "A2": hits(), "J1": pts(2), "K1": hits(("K1a", 1))}, appraisal=Votes(8, 2, 0))
    r = score(c, e)
    # basic 90 x 0.8 = 72; appraisal 100 x (8 + 1.6) / 10 = 96 x 0.2 = 19.2; penalty -2; bonus +2 -> 91.2
    assert r.components == {"basic": D(72), "penalty": D(-2), "bonus": D(2), "appraisal": Decimal("19.2")}
    assert r.total == D("91.2")
    assert sum_check(r) == r.total
