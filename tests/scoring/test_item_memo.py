"""The engine's item memo (engine._scored_leaf): the same results as scoring afresh, whatever was scored
before under the same name; exact about decimals; bounded; used only for a named set."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from app.criteria.service import ParsedCache
from app.scoring import Entries, ItemEntry, engine, library_names, load_library, score
from app.scoring.document import Item
from app.scoring.entries import DeductionHit, Discretionary


def _random_entries(cs, rng: random.Random) -> Entries:  # type: ignore[no-untyped-def]
    items: dict[str, ItemEntry] = {}
    for leaf in cs.items():
        if rng.random() < 0.3:
            continue  # not scored yet
        item = leaf.item
        if isinstance(item, Item) and item.mode == "points":
            # "3", "3.0" and "3.00" are equal decimals written differently: each must score as it is written
            pts = Decimal(rng.randint(0, int(item.max) * 2)) / 2
            items[item.code] = ItemEntry(points=pts.quantize(Decimal(10) ** -rng.randint(0, 2)))
            continue
        presets = [*item.deductions, *getattr(item, "awards", ())]
        hits = tuple(
            DeductionHit(p.code, Decimal(rng.choice(["1", "2", "2.0", "3"])))
            for p in presets
            if rng.random() < 0.3
        )
        disc = ()
        if item.discretionary and rng.random() < 0.3:
            disc = (
                Discretionary(Decimal(rng.choice(["0.5", "1", "1.0"])), rng.choice(["材料不全", "记录缺失"])),
            )
        items[item.code] = ItemEntry(deductions=hits, discretionary=disc)
    return Entries(items=items)


@pytest.fixture(autouse=True)
def _empty_memo() -> None:
    engine._ITEM_MEMO.clear()


@pytest.mark.parametrize("name", library_names())
def test_remembered_results_are_the_fresh_ones(name: str) -> None:
    rng = random.Random(name)
    cs = load_library(name)
    for _ in range(40):
        entries = _random_entries(cs, rng)
        expected = score(cs, entries)  # no name: nothing remembered, nothing looked up
        got = score(cs, entries, memo=f"sha-{name}")
        assert repr(got) == repr(expected)  # repr: Decimal("3.0") and Decimal("3") differ there
        assert got.to_json() == expected.to_json()
    assert len(engine._ITEM_MEMO) > 0


def test_equal_decimals_written_differently_are_remembered_apart() -> None:
    cs = load_library("rural")
    code = next(leaf.item.code for leaf in cs.items() if getattr(leaf.item, "mode", "") == "points")
    one = score(cs, Entries(items={code: ItemEntry(points=Decimal("2.0"))}), memo="x")
    two = score(cs, Entries(items={code: ItemEntry(points=Decimal("2"))}), memo="x")
    assert str(one.items[code].score) == "2.0" and str(two.items[code].score) == "2"


def test_unnamed_sets_are_not_remembered() -> None:
    cs = load_library("rural")
    score(cs, _random_entries(cs, random.Random(1)))
    assert len(engine._ITEM_MEMO) == 0


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "ITEM_MEMO_MAX", 5)
    cs = load_library("rural")
    rng = random.Random(7)
    for _ in range(20):
        entries = _random_entries(cs, rng)
        assert repr(score(cs, entries, memo="m")) == repr(score(cs, entries))
        assert len(engine._ITEM_MEMO) <= 5


def test_only_the_cached_parse_itself_has_a_name() -> None:
    cache = ParsedCache(maxsize=2)
    a, b, c = load_library("rural"), load_library("rural"), load_library("community")
    cache.put("h-a", a)
    assert cache.name_of(a) == "h-a"
    assert cache.name_of(b) is None  # an equal set, but not the cached object
    cache.put("h-a", b)  # replaced under the same digest
    assert cache.name_of(a) is None and cache.name_of(b) == "h-a"
    cache.put("h-c", c)
    cache.put("h-d", load_library("organ"))  # evicts h-a
    assert cache.name_of(b) is None and cache.name_of(c) == "h-c"
    cache.clear()
    assert cache.name_of(c) is None
