"""Rankings: ties and percentiles, previous-year changes, filters, pagination, JSON twin and fragments."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlmodel import Session, select

from app.auth.scope import Scope
from app.rankings import service
from app.regions.models import Region
from tests.rankings.conftest import YEAR

TOWN_URL = f"/rankings?year={YEAR}&region=990102901"


def _scope(db: Session, code: str = "990102") -> Scope:
    region = db.exec(select(Region).where(Region.code == code)).one()
    return Scope(region_id=region.id or 0, region_path=region.path, region_name=region.name)


def test_ties_share_a_rank_and_skip_the_next(db: Session, town) -> None:  # type: ignore[no-untyped-def]
    rows, matched, ranked, cursor = service.rank(db, scope=_scope(db), year=YEAR, sector="rural")
    assert [(r.branch_code[-3:], r.rank) for r in rows] == [
        ("T01", 1),
        ("T02", 2),
        ("T03", 2),
        ("T04", 4),
        ("T05", 5),
        ("T06", 6),
    ]
    assert matched == ranked == 6  # T07 is still being scored
    assert cursor is None
    assert [r.percentile for r in rows] == [100.0, 60.0, 60.0, 40.0, 20.0, 0.0]
    assert [r.total for r in rows] == [Decimal(x) for x in (95, 92, 92, 85, 70, 60)]


def test_changes_against_last_years_final_stars(db: Session, town) -> None:  # type: ignore[no-untyped-def]
    rows, *_ = service.rank(db, scope=_scope(db), year=YEAR, sector="rural")
    got = {r.branch_code[-3:]: (r.stars_shown, r.prev_final_stars, r.change, r.stars_basis) for r in rows}
    assert got == {
        "T01": (5, 4, "up", "final"),
        "T02": (4, 5, "down", "final"),
        "T03": (4, 4, "same", "final"),
        "T04": (4, None, "new", "provisional"),
        "T05": (3, 3, "same", "provisional"),
        "T06": (2, 3, "down", "provisional"),
    }


def test_filters_keep_the_ranks_and_keyset_matches_offset(db: Session, town) -> None:  # type: ignore[no-untyped-def]
    scope = _scope(db)
    rows, matched, ranked, _ = service.rank(db, scope=scope, year=YEAR, sector="rural", stars=4)
    assert [(r.branch_code[-3:], r.rank) for r in rows] == [("T02", 2), ("T03", 2), ("T04", 4)]
    assert (matched, ranked) == (3, 6)
    rows, matched, *_ = service.rank(db, scope=scope, year=YEAR, sector="rural", q="T05")
    assert [(r.branch_code[-3:], r.rank, r.percentile) for r in rows] == [("T05", 5, 20.0)]
    first, _m, _r, cursor = service.rank(db, scope=scope, year=YEAR, sector="rural", limit=2)
    assert cursor is not None and [r.branch_code[-3:] for r in first] == ["T01", "T02"]
    second, *_rest = service.rank(db, scope=scope, year=YEAR, sector="rural", limit=2, after=cursor)
    by_offset, *_o = service.rank(db, scope=scope, year=YEAR, sector="rural", limit=2, offset=2)
    assert [r.branch_code for r in second] == [r.branch_code for r in by_offset]
    assert service.Cursor.decode(cursor.encode()) == cursor
    worst, *_w = service.rank(db, scope=scope, year=YEAR, sector="rural", sort="change", limit=2)
    assert {r.branch_code[-3:] for r in worst} == {"T02", "T06"}


def test_every_status_when_asked(db: Session, town) -> None:  # type: ignore[no-untyped-def]
    rows, *_ = service.rank(db, scope=_scope(db), year=YEAR, sector="rural", statuses=None)
    assert rows[-1].branch_code.endswith("T07") and rows[-1].rank == 7


def test_json_twin_equals_the_page_rows(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json(TOWN_URL).json()
    assert data["sector"] == "rural" and data["ranked"] == 6 and data["not_ranked"] == 1
    page = a.get(TOWN_URL)
    assert page.status_code == 200 and "<html" in page.text
    table = page.text.split('id="ranking-table"')[1].split("</table>")[0]
    codes = re.findall(r'href="/rankings/branches/([^"]+)"', table)
    assert codes == [r["branch_code"] for r in data["rows"]]
    ranks = re.findall(r'<td class="num rank">(\d+)</td>', table)
    assert [int(x) for x in ranks] == [r["rank"] for r in data["rows"]]
    assert "Accept" in page.headers["vary"]


def test_htmx_fragment_and_bookmarkable_filters(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    frag = a.get(TOWN_URL + "&stars=4&sort=-rank", headers={"HX-Request": "true"})
    assert frag.status_code == 200
    assert "<html" not in frag.text and 'id="ranking-table"' in frag.text
    assert 'hx-push-url="true"' in frag.text
    codes = re.findall(r'href="/rankings/branches/([^"]+)"', frag.text)
    assert [c[-3:] for c in codes] == ["T04", "T03", "T02"]
    full = a.get(TOWN_URL + "&stars=4&sort=-rank")
    assert 'id="ranking-filters"' in full.text and 'hx-get="/rankings"' in full.text


def test_default_sector_and_cross_sector_ranking(login) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    rural = a.json("/rankings?year=2025&per_page=1000").json()
    assert rural["sector"] == "rural"
    assert all(r["sector"] == "rural" for r in rural["rows"])
    everything = a.json("/rankings?year=2025&sector=all&per_page=1000").json()
    assert everything["sector"] == "all" and everything["total"] > rural["total"]
    assert {r["sector"] for r in everything["rows"]} > {"rural"}
    ranks = [r["rank"] for r in everything["rows"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    assert all(r["region_path"].startswith("/99/9901/990102/") for r in everything["rows"])


def test_bad_parameters_are_422(login) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    assert a.json("/rankings?sector=martian").status_code == 422
    assert a.json("/rankings?sort=nonsense").status_code == 422
    assert a.json("/rankings?stars=9").status_code == 422
    assert a.json("/rankings?region=abc").status_code == 422


def test_search_is_escaped(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    r = a.get(TOWN_URL + "&q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    r = a.json(TOWN_URL + "&q=%25")
    assert r.json()["total"] == 0  # LIKE wildcards are escaped
