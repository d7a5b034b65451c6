"""Hypothesis properties of the engine.

"Explanation values add up to the total" means: the values of the steps of kind ``component``
(weighted contributions: basic or basic_net, penalty, bonus, appraisal) plus those of kind
``adjust`` (clamp to [0, max] and rounding) equal the value of the ``total`` step, exactly.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.scoring import (
    CriteriaSet,
    DeductionHit,
    Designation,
    Discretionary,
    DocumentError,
    Entries,
    EntriesError,
    ItemEntry,
    QuotaCandidate,
    Result,
    Votes,
    apply_quotas,
    dump_document,
    library_names,
    load_document,
    load_library,
    score,
)
from app.scoring.document import Item
from tests.scoring.helpers import doc, sum_check

LIBRARY = {name: load_library(name) for name in library_names()}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

halves = st.integers(min_value=-4, max_value=240).map(lambda n: Decimal(n) / 2)
counts = st.one_of(
    st.integers(min_value=-1, max_value=8).map(Decimal), st.sampled_from([Decimal("1.5"), Decimal("0.25")])
)


@st.composite
def item_entry(draw: st.DrawFn, cs: CriteriaSet, code: str) -> ItemEntry:
    item = cs.item(code).item
    if isinstance(item, Item) and item.mode == "points":
        top = int(item.max * 2)
        points = draw(
            st.one_of(st.none(), st.integers(min_value=-2, max_value=top + 2).map(lambda n: Decimal(n) / 2))
        )
        return ItemEntry(points=points)
    presets = [*item.deductions, *(item.awards if isinstance(item, Item) else ())]
    codes = [p.code for p in presets] + ["BOGUS"]
    hits = draw(st.lists(st.builds(DeductionHit, st.sampled_from(codes), counts), max_size=4))
    discs = draw(
        st.lists(st.builds(Discretionary, halves, st.sampled_from(["", "理由", "记录不全"])), max_size=2)
    )
    return ItemEntry(deductions=tuple(hits), discretionary=tuple(discs))


@st.composite
def entries_for(draw: st.DrawFn, cs: CriteriaSet, with_designation: bool = True) -> Entries:
    items = {}
    for leaf in cs.items():
        if draw(st.integers(0, 9)) > 0:
            items[leaf.item.code] = draw(item_entry(cs, leaf.item.code))
    vetoes = {v.code: "理由" for v in cs.vetoes if draw(st.integers(0, 9)) == 0}
    prereq = frozenset(p.code for p in cs.prerequisites if draw(st.booleans()))
    appraisal = draw(
        st.one_of(
            st.none(),
            st.builds(Votes, st.integers(0, 60), st.integers(0, 60), st.integers(0, 60)),
            halves,
        )
    )
    designation = None
    if with_designation and draw(st.integers(0, 9)) == 0:
        designation = Designation(draw(st.integers(0, 6)), draw(st.sampled_from(["", "表彰"])), "文件")
    return Entries(items, vetoes, prereq, appraisal, designation)


@st.composite
def doc_and_entries(draw: st.DrawFn, with_designation: bool = True) -> tuple[CriteriaSet, Entries]:
    cs = LIBRARY[draw(st.sampled_from(sorted(LIBRARY)))]
    return cs, draw(entries_for(cs, with_designation))


@SETTINGS
@given(doc_and_entries())
def test_totals_within_bounds_and_explanation_adds_up(pair: tuple[CriteriaSet, Entries]) -> None:
    cs, e = pair
    r = score(cs, e)
    assert Decimal(0) <= r.total <= r.max_total
    assert 0 <= r.stars <= 5 and 0 <= r.band_stars <= 5
    assert r.total == r.total.quantize(Decimal(1).scaleb(-cs.precision))
    assert sum_check(r) == r.total
    assert [s.value for s in r.explanation if s.kind == "total"] == [r.total]
    for cat in r.categories.values():
        raw = sum((i.score for i in r.items.values() if i.category == cat.code), Decimal(0))
        assert cat.raw == raw and cat.score == min(raw, cat.max if cat.capped else raw)
    assert Result.from_json(r.to_json()) == r
    assert Entries.from_json(e.to_json()) == e
    if not r.designated:
        assert r.stars <= r.band_stars


@SETTINGS
@given(doc_and_entries(with_designation=False), st.data())
def test_more_points_never_lower_the_band(pair: tuple[CriteriaSet, Entries], data: st.DataObject) -> None:
    cs, e = pair
    points_items = [
        leaf.item for leaf in cs.items() if isinstance(leaf.item, Item) and leaf.item.mode == "points"
    ]
    item = data.draw(st.sampled_from(points_items))
    low = data.draw(st.integers(0, int(item.max * 2))) / Decimal(2)
    high = data.draw(st.integers(int(low * 2), int(item.max * 2))) / Decimal(2)
    items = dict(e.items)
    r_low = score(
        cs, Entries({**items, item.code: ItemEntry(points=low)}, e.vetoes, e.prerequisites, e.appraisal)
    )
    r_high = score(
        cs, Entries({**items, item.code: ItemEntry(points=high)}, e.vetoes, e.prerequisites, e.appraisal)
    )
    assert r_high.total >= r_low.total
    assert r_high.band_stars >= r_low.band_stars
    assert r_high.stars >= r_low.stars


@SETTINGS
@given(doc_and_entries(), st.data())
def test_a_veto_always_caps(pair: tuple[CriteriaSet, Entries], data: st.DataObject) -> None:
    cs, e = pair
    if not cs.vetoes:
        return
    veto = data.draw(st.sampled_from(cs.vetoes))
    r = score(cs, Entries(e.items, {veto.code: "查实"}, e.prerequisites, e.appraisal, e.designation))
    cap = 0 if veto.effect == "disqualify" else veto.cap_stars
    assert r.vetoed and r.stars <= (cap or 0)


QUOTA_DOC = doc()
QUOTA_DOC["categories"][0]["items"] = [{"code": "A1", "name": "得分", "max": 100}]
shares = st.integers(0, 100).map(lambda n: Decimal(n) / 100)


@st.composite
def quota_case(draw: st.DrawFn) -> tuple[CriteriaSet, list[QuotaCandidate]]:
    rules: list[dict[str, Any]] = []
    for stars in draw(st.sets(st.sampled_from([3, 4, 5]), min_size=1)):
        rules.append({"stars": stars, "max_share": str(draw(shares))})
    if draw(st.booleans()):
        rules.append({"stars": draw(st.sampled_from([1, 2])), "min_share": str(draw(shares))})
    data = copy.deepcopy(QUOTA_DOC)
    data["quotas"] = {"scope": "county", "rules": rules}
    if draw(st.booleans()):
        data["prerequisites"] = [
            {"code": "P", "name": "创新", "stars": draw(st.sampled_from([[5], [4], [4, 5]]))}
        ]
    cs = load_document(data)
    totals = draw(st.lists(st.integers(0, 200), min_size=1, max_size=40))
    cands = []
    for k, t in enumerate(totals):
        e = Entries(
            {"A1": ItemEntry(points=Decimal(t) / 2)},
            prerequisites=frozenset(draw(st.sampled_from([(), ("P",)]))),
        )
        cands.append(QuotaCandidate(f"b{k:03}", score(cs, e)))
    return cs, cands


@SETTINGS
@given(quota_case(), st.randoms(use_true_random=False))
def test_quotas_never_exceeded_and_deterministic(
    case: tuple[CriteriaSet, list[QuotaCandidate]], rnd: Any
) -> None:
    cs, cands = case
    out = apply_quotas(cs, cands)
    n = len(cands)
    assert cs.quotas is not None
    for rule in cs.quotas.rules:
        if rule.max_share is not None:
            allowed = int((rule.max_share * n).to_integral_value(rounding="ROUND_FLOOR"))
            assert sum(1 for d in out.values() if d.stars == rule.stars) <= allowed
        else:
            assert rule.min_share is not None
            needed = int((rule.min_share * n).to_integral_value(rounding="ROUND_CEILING"))
            assert sum(1 for d in out.values() if d.stars <= rule.stars) >= needed
    for c in cands:
        assert out[c.key].stars <= c.result.stars
        assert out[c.key].stars in (0, *c.result.eligible_stars)
    shuffled = list(cands)
    rnd.shuffle(shuffled)
    assert apply_quotas(cs, shuffled) == out


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=True), st.text(max_size=4)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


CANONICAL = {name: dump_document(cs) for name, cs in LIBRARY.items()}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CANONICAL)), st.data())
def test_mutated_documents_never_crash(name: str, data: st.DataObject) -> None:
    document = copy.deepcopy(CANONICAL[name])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(document) if p]
        path = data.draw(st.sampled_from(paths))
        parent: Any = document
        for part in path[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values)
    try:
        cs = load_document(document)
    except DocumentError as exc:
        assert exc.errors and all(isinstance(p, str) and isinstance(m, str) and m for p, m in exc.errors)
        return
    score(cs, Entries())


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["items", "vetoes", "prerequisites", "appraisal", "designation"]), json_values
    )
)
def test_entries_from_json_never_crash(obj: dict[str, Any]) -> None:
    try:
        e = Entries.from_json(obj)
    except EntriesError as exc:
        assert exc.errors
        return
    score(LIBRARY["rural"], e)
