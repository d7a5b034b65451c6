"""Quota control: max shares with cascade, min share, tie-break, designation."""

import random

from app.scoring import Designation, QuotaCandidate, Result, apply_quotas, load_document, score
from tests.scoring.helpers import D, doc, entries, hits, pts


def _cs(rules: list[dict], **kw: object):  # type: ignore[no-untyped-def]
    data = doc(quotas={"scope": "county", "rules": rules}, **kw)
    data["categories"][0]["items"][0]["max"] = 100
    data["categories"][0]["items"].pop(1)
    return load_document(data)


def _result(cs, total: str, **kw: object) -> Result:  # type: ignore[no-untyped-def]
    return score(cs, entries({"A1": pts(total)}, **kw))


def test_max_share_cascade_and_min_share() -> None:
    cs = _cs(
        [
            {"stars": 5, "max_share": 0.1},
            {"stars": 4, "max_share": 0.2},
            {"stars": 1, "min_share": 0.1},
        ]
    )
    totals = {"b01": "98", "b02": "96", "b03": "95", "b04": "91", "b05": "85",
              "b06": "84", "b07": "83", "b08": "75", "b09": "65", "b10": "61"}  # fmt: skip
    cands = [QuotaCandidate(k, _result(cs, t)) for k, t in totals.items()]
    out = apply_quotas(cs, cands)
    # n = 10. five stars: floor(0.1 x 10) = 1 -> b01 keeps five; b02, b03, b04 drop to four.
    # four stars now b02 b03 b04 b05 b06 b07 (6); floor(0.2 x 10) = 2 -> b02, b03 keep four,
    # b04 b05 b06 b07 drop to three.
    # one star: ceil(0.1 x 10) = 1 needed, none has it -> the last-ranked b10 (2 stars) gets one.
    got = {k: d.stars for k, d in out.items()}
    assert got == {"b01": 5, "b02": 4, "b03": 4, "b04": 3, "b05": 3, "b06": 3, "b07": 3,
                   "b08": 3, "b09": 2, "b10": 1}  # fmt: skip
    assert out["b04"].before == 5 and out["b04"].changed
    assert not out["b08"].changed
    assert any("超出名额" in line for line in out["b04"].explanation)


def test_floor_of_small_populations() -> None:
    cs = _cs([{"stars": 5, "max_share": 0.1}])
    cands = [QuotaCandidate(f"b{i}", _result(cs, "95")) for i in range(9)]
    out = apply_quotas(cs, cands)
    # floor(0.1 x 9) = 0: nobody keeps five stars
    assert all(d.stars == 4 for d in out.values())


def test_tie_break_order() -> None:
    appraisal = {"method": "direct", "max": 10}
    cs = _cs([{"stars": 5, "max_share": 0.25}], appraisal=appraisal,
             bands=[{"stars": 5, "min": 99}, {"stars": 4, "min": 80}, {"stars": 1, "min": 0}])  # fmt: skip
    # all total 105 (95 + 10 or 96 + 9 ...). n = 4 -> one five-star place.
    a = _result(cs, "95", appraisal=D(10))
    b = _result(cs, "96", appraisal=D(9))  # same total, lower appraisal
    out = apply_quotas(cs, [QuotaCandidate("z", a), QuotaCandidate("a", b),
                            QuotaCandidate("m", a), QuotaCandidate("c", b)])  # fmt: skip
    # a-results win on appraisal; between the two a-results the key decides: "m" < "z"
    assert {k: d.stars for k, d in out.items()} == {"m": 5, "z": 4, "a": 4, "c": 4}


def test_fewer_deductions_break_ties() -> None:
    data = doc(quotas={"scope": "township", "rules": [{"stars": 5, "max_share": 0.5}],
                       "tie_break": ["total", "deductions"]})  # fmt: skip
    cs = load_document(data)
    # both 95: x = 60 + 35 (one 5-point deduction), y = 55 + 40 (no deduction)
    x = score(cs, entries({"A1": pts(60), "A2": hits(("A2f", 1))}))
    y = score(cs, entries({"A1": pts(55), "A2": hits()}))
    out = apply_quotas(cs, [QuotaCandidate("a", x), QuotaCandidate("b", y)])
    assert (out["a"].stars, out["b"].stars) == (4, 5)


def test_designated_count_but_do_not_move() -> None:
    cs = _cs([{"stars": 5, "max_share": 0.2}], allow_designation=True)
    designated = _result(cs, "50", designation=Designation(5, "全国先进", "县组通〔2026〕1号"))
    cands = [QuotaCandidate("d", designated)] + [QuotaCandidate(f"b{i}", _result(cs, "95")) for i in range(4)]
    out = apply_quotas(cs, cands)
    # floor(0.2 x 5) = 1 place, taken by the designated branch: every scored five-star drops
    assert out["d"].stars == 5 and not out["d"].changed
    assert [out[f"b{i}"].stars for i in range(4)] == [4, 4, 4, 4]
    assert any("直接定级" in line for line in out["d"].explanation)


def test_demotion_respects_prerequisites() -> None:
    pre = [{"code": "P4", "name": "有特色品牌", "stars": [4, 5]}]
    cs = _cs([{"stars": 5, "max_share": 0.5}], prerequisites=pre)
    met = frozenset({"P4"})
    a = _result(cs, "98", prerequisites=met)
    b = _result(cs, "97", prerequisites=met)
    out = apply_quotas(cs, [QuotaCandidate("a", a), QuotaCandidate("b", b)])
    assert (out["a"].stars, out["b"].stars) == (5, 4)
    # a prerequisite met for five only is unusual; demotion skips levels whose prerequisites fail
    pre2 = [{"code": "P4", "name": "有特色品牌", "stars": [4]}]
    cs2 = _cs([{"stars": 5, "max_share": 0.5}], prerequisites=pre2)
    a2, b2 = _result(cs2, "98"), _result(cs2, "97")
    out = apply_quotas(cs2, [QuotaCandidate("a", a2), QuotaCandidate("b", b2)])
    assert (out["a"].stars, out["b"].stars) == (5, 3)


def test_deterministic_under_reordering() -> None:
    cs = _cs([{"stars": 5, "max_share": 0.1}, {"stars": 4, "max_share": 0.3}, {"stars": 2, "min_share": 0.2}])
    rng = random.Random(7)
    cands = [QuotaCandidate(f"b{i:02}", _result(cs, str(rng.choice(range(50, 101))))) for i in range(30)]
    first = apply_quotas(cs, cands)
    for _ in range(5):
        rng.shuffle(cands)
        assert apply_quotas(cs, cands) == first


def test_no_quotas_changes_nothing() -> None:
    cs = load_document(doc())
    r = score(cs, entries({"A1": pts(60), "A2": hits()}))
    out = apply_quotas(cs, [QuotaCandidate("a", r)])
    assert out["a"].stars == 5 and not out["a"].changed
