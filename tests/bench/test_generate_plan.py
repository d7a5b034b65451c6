"""bench.generate's province plan (no database): the sizes the benchmarks rely on."""

from __future__ import annotations

from collections import Counter

from bench.generate import branch_plan, plan_regions


def _branches_per_county(scale: float) -> Counter[str]:
    county_of = {code: parent for code, _name, level, parent in plan_regions(scale) if level == "township"}
    return Counter(county_of[b["town"]] for b in branch_plan(scale))


def test_full_scale_has_one_county_of_about_3000_branches() -> None:
    plan = plan_regions(1.0)
    levels = Counter(level for _code, _name, level, _parent in plan)
    assert levels == {"province": 1, "city": 16, "county": 120, "township": 1500}
    per_county = _branches_per_county(1.0)
    assert sum(per_county.values()) == 100_000
    (largest, n), (_second, n2) = per_county.most_common(2)
    assert largest == "980101"
    assert 2_800 <= n <= 3_200  # the "county of ~3,000 branches"
    assert min(per_county.values()) >= 750 and n2 <= 900  # the others stay near the average


def test_codes_are_unique_and_every_county_has_townships() -> None:
    for scale in (1.0, 0.25, 0.03, 0.002):
        plan = plan_regions(scale)
        codes = [code for code, *_ in plan]
        assert len(codes) == len(set(codes))
        counties = {code for code, _n, level, _p in plan if level == "county"}
        with_towns = {parent for _c, _n, level, parent in plan if level == "township"}
        assert with_towns == counties
