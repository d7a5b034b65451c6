"""Comparisons, year pairs, heat map, branch history, quota pressure and what-if against hand-made data."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlparse

from tests.rankings.conftest import PREV, YEAR


def _child(data: dict, name: str) -> dict:
    return next(c for c in data["children"] if c["name"] == name)


def test_compare_children(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json(f"/rankings/compare?year={YEAR}&region=990102").json()
    t = _child(data, "测试镇")
    assert t["assessments"] == 7 and t["completed"] == 6
    assert abs(t["completion"] - 6 / 7) < 0.001
    assert Decimal(str(t["avg_total"])) == Decimal("82.33")
    assert t["distribution"] == {"0": 0, "1": 0, "2": 1, "3": 1, "4": 3, "5": 1}
    assert abs(t["share_3plus"] - 5 / 6) < 0.001
    assert t["stars_basis"] == "mixed"
    assert (t["upgrades"], t["downgrades"], t["same"], t["new"]) == (1, 2, 2, 1)
    # 2034: T01 85, T02 95, T03 85, T05 75, T06 75 → 83
    assert Decimal(str(t["prev_avg_total"])) == Decimal("83")
    assert Decimal(str(t["delta_avg_total"])) == Decimal("-0.67")
    assert data["overall"]["assessments"] >= 7
    page = a.get(f"/rankings/compare?year={YEAR}&region=990102")
    assert page.status_code == 200 and "测试镇" in page.text and "<svg" in page.text


def test_compare_every_township_of_a_city(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("city_viewer")
    by_county = a.json(f"/rankings/compare?year={YEAR}&region=990102").json()
    data = a.json(f"/rankings/compare?year={YEAR}&region=9901&by=township").json()
    assert data["by"] == "township" and data["region"]["code"] == "9901"
    # the hand-made township, named with its county, with the figures of the county's own comparison
    t = _child(data, "测试镇（青山县）")
    assert {k: v for k, v in t.items() if k != "name"} == {
        k: v for k, v in _child(by_county, "测试镇").items() if k != "name"
    }
    keys = [c["key"] for c in data["children"]]
    assert len(keys) == len(set(keys))
    # every township of the city's counties, plus their own units (县直单位) and the city's (市直单位)
    assert all(c["level"] == "township" for c in data["children"] if not c["key"].startswith("direct:"))
    demo = a.json("/rankings/compare?year=2026&region=9901&by=township").json()  # the demo's counties
    assert len({c["key"][:6] for c in demo["children"] if not c["key"].startswith("direct:")}) > 1
    direct = [c["name"] for c in demo["children"] if c["key"].startswith("direct:")]
    assert len(direct) > 1 and len(direct) == len(set(direct))  # each county's own units, named with it
    assert any(n.startswith("县直单位（") for n in direct)
    # a township has no townships below it: its children, as without by=township
    one = a.json(f"/rankings/compare?year={YEAR}&region={town.town_code}&by=township").json()
    assert one["by"] == "child"
    total = sum(c["assessments"] for c in data["children"])
    assert (
        total
        == data["overall"]["assessments"]
        == a.json(f"/rankings/compare?year={YEAR}&region=9901").json()["overall"]["assessments"]
    )
    page = a.get(f"/rankings/compare?year={YEAR}&region=9901&by=township")
    assert page.status_code == 200 and "乡镇（街道）对比" in page.text
    assert '<option value="township" selected>' in page.text
    assert (
        f'href="/rankings?region={town.town_code}&year={YEAR}&sector=all">测试镇（青山县）</a>' in page.text
    )
    csv = a.get(f"/rankings/compare/export.csv?year={YEAR}&region=9901&by=township")
    assert csv.status_code == 200 and "测试镇（青山县）" in csv.content.decode("utf-8-sig")
    # in a county, the townships are its children: the same rows, under the same names
    county = a.json(f"/rankings/compare?year={YEAR}&region=990102&by=township").json()
    assert {c["key"]: c["assessments"] for c in county["children"] if not c["key"].startswith("direct")} == {
        c["key"]: c["assessments"] for c in by_county["children"] if c["key"] != "direct"
    }
    assert _child(county, "测试镇")["upgrades"] == t["upgrades"]
    assert a.json(f"/rankings/compare?year={YEAR}&region=9901&by=village").status_code == 422


def test_compare_years_and_transitions(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json(f"/rankings/years?region=990102901&a={PREV}&b={YEAR}").json()
    assert (data["a"], data["b"]) == (PREV, YEAR)
    assert (data["up"], data["down"], data["same"]) == (1, 2, 2)
    m = data["transitions"]
    assert (
        m["4"]["5"] == 1 and m["5"]["4"] == 1 and m["4"]["4"] == 1 and m["3"]["3"] == 1 and m["3"]["2"] == 1
    )
    overall = data["overall"]
    assert overall["a"]["assessments"] == 5 and overall["b"]["assessments"] == 7
    page = a.get(f"/rankings/years?region=990102901&a={PREV}&b={YEAR}")
    assert page.status_code == 200 and 'id="transitions"' in page.text


def test_heatmap_and_its_cells(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json(f"/rankings/heatmap?year={YEAR}&region=990102&by=township&sector=rural").json()
    assert "基础工作" in data["categories"]
    row = next(r for r in data["rows"] if r["name"] == "测试镇")
    assert row["assessments"] == 6
    cell = next(c for c in row["cells"] if c["category"] == "基础工作")
    assert abs(cell["share"] - 494 / 600) < 0.0001
    link = cell["link"]
    q = parse_qs(urlparse(link).query)
    assert q["region"] == ["990102901"] and q["sector"] == ["rural"] and q["category"] == ["基础工作"]
    detail = a.json(link).json()
    assert len(detail["branches"]) == 6
    assert detail["branches"][0]["branch_code"].endswith("T06")  # lowest share first
    a1 = next(i for i in detail["items"] if i["item_code"] == "A1")
    assert Decimal(str(a1["avg_lost"])) == Decimal("17.67") and a1["losing"] == 6
    a2 = next(i for i in detail["items"] if i["item_code"] == "A2")
    assert Decimal(str(a2["avg_lost"])) == 0 and a2["losing"] == 0
    assert any("A1" in t for t in detail["branches"][0]["lost_items"])
    assert a.get(link).status_code == 200
    by_sector = a.json(f"/rankings/heatmap?year={YEAR}&region=990102901&by=sector").json()
    assert [r["key"] for r in by_sector["rows"]] == ["rural"]
    assert a.json(f"/rankings/heatmap?year={YEAR}&by=township&sector=all").status_code == 422


def test_branch_history_causes(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json("/rankings/branches/990102901-T02").json()
    years = {y["year"]: y for y in data["years"]}
    assert years[PREV]["change"] == "new"
    now = years[YEAR]
    assert now["change"] == "down" and now["stars"] == 5 and now["final_stars"] == 4
    assert any(c.startswith("比例控制") for c in now["causes"])
    assert any("总分 95 → 92" in c for c in now["causes"])
    assert data["latest_year"] == YEAR and any(s["kind"] == "total" for s in data["latest_explanation"])
    t06 = a.json("/rankings/branches/990102901001-T06").json()
    assert {y["year"]: y["change"] for y in t06["years"]} == {PREV: "new", YEAR: "down"}
    assert any("档次由三星变为二星" in c for c in t06["years"][-1]["causes"])
    page = a.get("/rankings/branches/990102901-T02")
    assert page.status_code == 200 and "比例控制" in page.text and "<svg" in page.text


def test_quota_pressure(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json(f"/rankings/quotas?year={YEAR}&region=990102901").json()
    groups = [g for g in data["groups"] if g["criteria_set_id"] == town.set_id]
    assert len(groups) == 1
    g = groups[0]
    assert g["scope_code"] == "990102901" and g["scope_level"] == "township" and g["pool"] == 6
    five = next(line for line in g["lines"] if line["kind"] == "max")
    assert (five["stars"], five["limit_count"], five["current"], five["over_by"]) == (5, 1, 3, 2)
    moves = {
        m["branch_code"][-3:]: (m["place"], m["inside"], m["stars_after"], m["moved_here"])
        for m in five["borderline"]
    }
    assert moves == {"T01": (1, True, 5, False), "T02": (2, False, 4, True), "T03": (3, False, 4, True)}
    low = next(line for line in g["lines"] if line["kind"] == "min")
    assert (low["stars"], low["limit_count"], low["current"], low["over_by"]) == (2, 2, 1, 1)
    moved = [m for m in low["borderline"] if m["moved_here"]]
    assert [m["branch_code"][-3:] for m in moved] == ["T05"]
    assert g["moves"] == 3
    page = a.get(f"/rankings/quotas?year={YEAR}&region=990102901")
    assert page.status_code == 200 and "超出 2 个" in page.text


def test_whatif_five_star_share(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json(f"/rankings/whatif?year={YEAR}&region=990102901&five_max=0.5").json()
    assert data["assessments"] == 6 and data["five_max"] == 0.5
    got = {c["branch_code"][-3:]: (c["stars_before"], c["stars_after"]) for c in data["changes"]}
    assert got == {"T02": (4, 5), "T03": (4, 5), "T05": (3, 2)}
    assert (data["up"], data["down"]) == (2, 1)
    assert data["before"]["5"] == 1 and data["after"]["5"] == 3
    assert sum(data["before"].values()) == sum(data["after"].values()) == 6
    same = a.json(f"/rankings/whatif?year={YEAR}&region=990102901&five_max=15%25").json()
    assert same["five_max"] == 0.15


def test_whatif_another_criteria_set(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json(f"/rankings/whatif?year={YEAR}&region=990102901&set={town.draft_id}").json()
    assert data["criteria_set"]["id"] == town.draft_id and data["criteria_set"]["status"] == "draft"
    got = {c["branch_code"][-3:]: (c["stars_before"], c["stars_after"]) for c in data["changes"]}
    assert got == {"T04": (4, 3), "T05": (3, 2), "T06": (2, 1)}
    assert any("档次" in r for r in data["changes"][0]["reasons"])
    page = a.get(f"/rankings/whatif?year={YEAR}&region=990102901&set={town.draft_id}")
    assert page.status_code == 200 and "<svg" in page.text and "征求意见稿" in page.text


def test_whatif_nothing_changed_reproduces_the_final_stars(login) -> None:  # type: ignore[no-untyped-def]
    """Re-scoring the demo's finalized year under its own sets and quotas gives back the stored stars."""
    a = login("county_qs")
    data = a.json("/rankings/whatif?year=2025&sector=all&run=1").json()
    assert data["assessments"] > 100
    assert data["changes"] == [] and data["before"] == data["after"]


def test_whatif_saves_nothing(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    before = a.json(f"/rankings?year={YEAR}&region=990102901").json()["rows"]
    a.json(f"/rankings/whatif?year={YEAR}&region=990102901&five_max=1")
    after = a.json(f"/rankings?year={YEAR}&region=990102901").json()["rows"]
    assert before == after


FRAGMENT_URLS = [
    f"/rankings?year={YEAR}&region=990102901",
    f"/rankings/compare?year={YEAR}&region=990102",
    f"/rankings/years?region=990102901&a={PREV}&b={YEAR}",
    f"/rankings/heatmap?year={YEAR}&region=990102&sector=rural",
    f"/rankings/quotas?year={YEAR}&region=990102901",
    f"/rankings/whatif?year={YEAR}&region=990102901&five_max=0.5",
    "/rankings/charts?year=2025",
]


def test_every_view_answers_a_fragment_and_a_page(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    for url in FRAGMENT_URLS:
        frag = a.get(url, headers={"HX-Request": "true"})
        assert frag.status_code == 200, url
        assert "<html" not in frag.text and "rk-tabs" not in frag.text, url
        page = a.get(url)
        assert page.status_code == 200 and "<html" in page.text and 'class="rk-tabs"' in page.text, url
        assert 'href="/rankings"' in page.text  # the nav link
