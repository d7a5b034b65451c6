"""The scoring sheet (评分表) shows every section of each shape example, uploaded like a user would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.scoring import load_library
from app.scoring.library import library_path
from tests.criteria.helpers import created_id, upload

EXAMPLES = sorted(p.name for p in library_path().glob("example-*.yaml"))


def _text_for_year(name: str, year: int) -> str:
    text = (library_path() / name).read_text(encoding="utf-8")
    return re.sub(r"(?m)^year: \d{4}$", f"year: {year}", text, count=1)


@pytest.mark.parametrize("name", EXAMPLES)
def test_sheet_shows_every_section(login, name) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    year = 2080 + EXAMPLES.index(name)
    set_id = created_id(upload(lc, file=(name, _text_for_year(name, year).encode("utf-8"))))
    cs = load_library(Path(name).stem)
    html = lc.get(f"/criteria/{set_id}").text
    assert cs.title in html
    for leaf in cs.items():
        assert f">{leaf.item.code}<" in html, leaf.item.code
        assert leaf.item.name in html
        for preset in (*leaf.item.deductions, *getattr(leaf.item, "awards", ())):
            assert preset.text in html
        if leaf.item.guidance:
            assert leaf.item.guidance in html
    expect = {
        "sec-overview": True,
        "sec-categories": cs.aggregation == "standard",
        "sec-sheets": cs.aggregation != "standard",
        "sec-bonus": cs.bonus is not None,
        "sec-penalties": cs.penalties is not None,
        "sec-appraisal": cs.appraisal is not None,
        "sec-total": True,
        "sec-bands": True,
        'id="unrated"': cs.unrated_below is not None,
        "sec-prerequisites": bool(cs.prerequisites),
        "sec-vetoes": bool(cs.vetoes),
        "sec-quotas": cs.quotas is not None,
        'id="tie-break"': cs.quotas is not None,
        'id="aggregation-rule"': cs.aggregation != "standard",
    }
    for marker, present in expect.items():
        assert (marker in html) == present, marker
    for sheet in cs.sheets:
        assert sheet.name in html and f'id="sheet-{sheet.code}"' in html
    for veto in cs.vetoes:
        assert veto.name in html
    for pre in cs.prerequisites:
        assert pre.name in html
    for band in cs.bands:
        assert f'<td class="num">{band.min.normalize():f}</td>' in html or str(band.min) in html
    if cs.components:
        assert 'id="components"' in html and "%" in html
    if cs.quotas:
        for rule in cs.quotas.rules:
            assert ("不超过" if rule.max_share is not None else "不少于") in html
    # Print CSS: A4 with repeated table headers; the export links are there.
    assert "/document.yaml" in html and "/document.json" in html
    css = lc.get("/static/app.css").text
    assert "size: A4" in css and "table-header-group" in css


def test_sheet_json_twin(login) -> None:  # type: ignore[no-untyped-def]
    lc = login("county_qs")
    items = lc.json("/criteria?year=2025&sector=organ").json()["items"]
    d = lc.json(f"/criteria/{items[0]['id']}").json()
    assert d["document"]["sector"] == "organ" and d["content_hash"]
