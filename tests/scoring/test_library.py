"""Every library document loads, scores and has the promised shape."""

from decimal import Decimal

import pytest

from app.scoring import Entries, ItemEntry, library_names, library_path, load_library, load_yaml, score
from app.scoring.document import SECTOR_CODES, Item

SECTORS = list(SECTOR_CODES)


def test_library_names() -> None:
    names = library_names()
    assert names[:8] == SECTORS
    assert {"example-shape-a", "example-shape-c", "example-thematic", "example-ladder"} <= set(names)
    assert library_path().is_dir()
    with pytest.raises(KeyError):
        load_library("army")


def _full_marks(cs) -> Entries:  # type: ignore[no-untyped-def]
    items = {}
    for leaf in cs.items():
        if leaf.section == "category" and isinstance(leaf.item, Item):
            items[leaf.item.code] = (
                ItemEntry(points=leaf.item.max) if leaf.item.mode == "points" else ItemEntry()
            )
    return Entries(items=items)


@pytest.mark.parametrize("name", library_names())
def test_library_document_scores(name: str) -> None:
    cs = load_library(name)
    empty = score(cs, Entries())
    assert not empty.complete
    full = score(cs, _full_marks(cs))
    assert full.complete or full.missing == ["appraisal"]
    assert Decimal(0) <= empty.total <= full.total <= full.max_total


@pytest.mark.parametrize("sector", SECTORS)
def test_sector_defaults(sector: str) -> None:
    cs = load_library(sector)
    assert cs.sector == sector and cs.year == 2026
    category_items = [leaf for leaf in cs.items() if leaf.section == "category"]
    assert 25 <= len(list(cs.items())) <= 35
    assert sum(leaf.item.max for leaf in category_items if isinstance(leaf.item, Item)) == 100
    assert cs.bonus is not None and cs.bonus.cap == 10
    assert [b.min for b in cs.bands] == [90, 80, 70, 60, 0]
    assert cs.guarded(5) and cs.quotas is not None and cs.quotas.rules[0].max_share == Decimal("0.1")
    assert {v.effect for v in cs.vetoes} == {"disqualify", "cap"}
    full = score(cs, _full_marks(cs))
    assert (full.total, full.band_stars, full.stars) == (Decimal(100), 5, 4)  # no innovation project
    texts = (library_path() / f"{sector}.yaml").read_text(encoding="utf-8")
    assert load_yaml(texts) == cs


def test_sector_specific_items() -> None:
    def names(sector: str) -> str:
        return " ".join(leaf.item.name for leaf in load_library(sector).items())

    assert "村级集体经济" in names("rural") and "四议一审两公开" in names("rural")
    assert "三联手" in names("community")
    assert "9 项基本职责" in names("organ") and "营商环境" in names("organ")
    assert "生产经营一线" in names("soe")
    assert "双带头人" in names("school") and "师德师风" in names("school")
    assert "应建尽建" in names("nonpublic") and "应建尽建" in names("social_org")
    assert "章程" in names("hospital") and "医德医风" in names("hospital")
