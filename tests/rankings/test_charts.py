"""Charts: pure SVG builders parse as XML, carry the CJK font and the labels, escape text; chart routes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.rankings import charts

NS = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text")]


def test_stacked_bars() -> None:
    svg = charts.stacked_bars(
        "星级分布",
        ["安林街道", "兴溪镇 <&>"],
        charts.star_series(),
        charts.star_rows([{5: 2, 4: 3, 0: 1}, {3: 4}]),
        note="暂定星级",
    )
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    assert "Noto Sans CJK SC" in root.attrib["font-family"]
    texts = _texts(svg)
    assert "星级分布" in texts and "安林街道" in texts and "兴溪镇 <&>" in texts
    assert {"五星", "四星", "未定星"} <= set(texts)
    assert "6" in texts and "4" in texts  # totals at the end of each bar
    assert "<script" not in svg and "style=" not in svg


def test_bar_and_line_charts() -> None:
    svg = charts.bar_chart(
        "平均分",
        ["甲镇", "乙镇", "丙镇"],
        [88.5, None, 91.0],
        unit="分",
        reference=89.75,
        reference_label="全县平均",
    )
    texts = _texts(svg)
    assert "甲镇" in texts and "无数据" in texts and "88.5分" in texts
    assert any("全县平均" in t for t in texts)
    svg = charts.line_chart(
        "历年平均分", ["2024年", "2025年", "2026年"], [("平均分", [80.0, None, 84.25])], unit="分"
    )
    root = ET.fromstring(svg)
    assert ("2025年" in _texts(svg) and "84.2分" in _texts(svg)) or "84.3分" in _texts(svg)
    assert root.find(f"{NS}title") is not None
    assert charts.line_chart("单点", ["2026年"], [("x", [1.0])]).startswith("<svg")


def test_chart_routes(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    r = a.get("/rankings/charts/township.svg?year=2035&region=990102")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    texts = _texts(r.text)
    assert "测试镇" in texts and any("星级分布" in t for t in texts)
    trend = a.get("/rankings/charts/trend.svg?region=990102&year=2025")
    assert {"2024年", "2025年"} <= set(_texts(trend.text))
    sector = a.get("/rankings/charts/sector.svg?region=990102&year=2025")
    assert {"农村", "机关"} <= set(_texts(sector.text))
    page = a.get("/rankings/charts?year=2025")
    assert page.status_code == 200 and page.text.count("<svg") == 5
    frag = a.get("/rankings/charts?year=2025", headers={"HX-Request": "true"})
    assert "<html" not in frag.text and frag.text.count("<svg") == 5
