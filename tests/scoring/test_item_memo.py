"""The engine's per-item memo (engine._scored_leaf): the same results as scoring afresh, whatever was
scored before on the same criteria set; bounded; invisible to the set's equality."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

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
            # "3", "3.0" and "3.00" are one key: equal decimals must give one result
            pts = Decimal(rng.randint(0, int(item.max) * 2)) / 2
            items[item.code] = ItemEntry(points=pts.quantize(Decimal(10) ** -rng.randint(0, 2)))
            continue
        presets = [*item.deductions, *getattr(item, "awards", ())]
        hits = tuple(DeductionHit(p.code, Decimal(rng.randint(1, 3))) for p in presets if rng.random() < 0.3)
        disc = ()
        if item.discretionary and rng.random() < 0.3:
            disc = (
                Discretionary(Decimal(rng.choice(["0.5", "1", "1.5"])), rng.choice(["材料不全", "记录缺失"])),
            )
        items[item.code] = ItemEntry(deductions=hits, discretionary=disc)
    return Entries(items=items)


@pytest.mark.parametrize("name", library_names())
def test_memoised_results_equal_fresh_ones(name: str) -> None:
    rng = random.Random(name)
    warm = load_library(name)  # one set scores everything, its memo growing
    for _ in range(40):
        entries = _random_entries(warm, rng)
        fresh = load_library(name)  # a set of its own: nothing remembered
        assert fresh is not warm and len(fresh.item_memo()) == 0
        expected = score(fresh, entries)
        got = score(warm, entries)
        assert got == expected
        assert got.to_json() == expected.to_json()
    assert len(warm.item_memo()) > 0
    assert warm == load_library(name)  # what a set has remembered is not part of its value


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "ITEM_MEMO_MAX", 5)
    cs = load_library("rural")
    rng = random.Random(7)
    for _ in range(20):
        entries = _random_entries(cs, rng)
        assert score(cs, entries) == score(load_library("rural"), entries)
        assert len(cs.item_memo()) <= 5
