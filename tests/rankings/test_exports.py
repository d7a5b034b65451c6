"""Exports: XLSX (frozen header, auto-filter, number formats) and CSV (UTF-8 with BOM), same rows as JSON,
Chinese file names as RFC 5987 filename*."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

from openpyxl import load_workbook

from tests.rankings.conftest import PREV, YEAR

QUERY = f"year={YEAR}&region=990102901"


def _filename(resp) -> str:  # type: ignore[no-untyped-def]
    cd = resp.headers["content-disposition"]
    assert cd.startswith("attachment;") and 'filename="' in cd
    return unquote(cd.split("filename*=UTF-8''")[1])


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_ranking_exports_match_the_json(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json(f"/rankings?{QUERY}&per_page=1000").json()
    x = a.get(f"/rankings/export.xlsx?{QUERY}&page=1&per_page=2")
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert _filename(x) == f"测试镇{YEAR}年度农村星级排名.xlsx"
    wb = load_workbook(io.BytesIO(x.content))
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:P{data['total'] + 1}"
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "名次" and len(rows) - 1 == data["total"] == len(data["rows"]) == 6
    assert [r[2] for r in rows[1:]] == [r["branch_code"] for r in data["rows"]]
    assert [r[0] for r in rows[1:]] == [1, 2, 2, 4, 5, 6]
    assert ws["I2"].value == 95 and ws["I2"].number_format == "0.0"
    assert rows[1][13] == "升星"
    c = a.get(f"/rankings/export.csv?{QUERY}")
    assert _filename(c) == f"测试镇{YEAR}年度农村星级排名.csv"
    lines = _csv_rows(c.content)
    assert len(lines) - 1 == data["total"]
    assert [r[2] for r in lines[1:]] == [r["branch_code"] for r in data["rows"]]


def test_ranking_export_keeps_the_filters(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json(f"/rankings?{QUERY}&stars=4&sort=-rank").json()
    lines = _csv_rows(a.get(f"/rankings/export.csv?{QUERY}&stars=4&sort=-rank").content)
    assert [r[2] for r in lines[1:]] == [r["branch_code"] for r in data["rows"]] and len(lines) == 4


def test_demo_county_export_row_count(login) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json("/rankings?year=2025&sector=all&per_page=10").json()
    wb = load_workbook(io.BytesIO(a.get("/rankings/export.xlsx?year=2025&sector=all").content))
    assert wb.worksheets[0].max_row - 1 == data["total"] > 100
    lines = _csv_rows(a.get("/rankings/export.csv?year=2025&sector=all").content)
    assert len(lines) - 1 == data["total"]


def test_comparison_exports(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    data = a.json(f"/rankings/compare?year={YEAR}&region=990102").json()
    x = a.get(f"/rankings/compare/export.xlsx?year={YEAR}&region=990102")
    assert _filename(x) == f"青山县{YEAR}年度星级评定对比.xlsx"
    ws = load_workbook(io.BytesIO(x.content)).worksheets[0]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) - 1 == len(data["children"]) + 1  # children + total row
    town_row = next(r for r in rows if r[1] == "测试镇")
    assert town_row[2] == 7 and abs(town_row[3] - 6 / 7) < 1e-3
    cells = next(row for row in ws.iter_rows() if row[1].value == "测试镇")
    assert cells[3].number_format == "0.0%" and cells[4].number_format == "0.00"
    lines = _csv_rows(a.get(f"/rankings/compare/export.csv?year={YEAR}&region=990102").content)
    assert len(lines) - 1 == len(data["children"]) + 1
    assert next(r for r in lines if r[1] == "测试镇")[3] == "85.7%"


def test_years_heatmap_and_whatif_exports(login, town) -> None:  # type: ignore[no-untyped-def]
    a = login("county_qs")
    x = a.get(f"/rankings/years/export.xlsx?region=990102901&a={PREV}&b={YEAR}")
    wb = load_workbook(io.BytesIO(x.content))
    assert [ws.title for ws in wb.worksheets] == [f"{PREV}与{YEAR}年度对比", "星级变动矩阵"]
    assert _filename(x) == f"测试镇{PREV}与{YEAR}年度星级评定对比.xlsx"
    h = a.get(f"/rankings/heatmap/export.csv?year={YEAR}&region=990102&sector=rural")
    lines = _csv_rows(h.content)
    assert lines[0] == ["乡镇/街道", "评定数", "基础工作"]
    assert ["测试镇", "6", "82.3%"] in lines
    w = a.get(f"/rankings/whatif/export.csv?year={YEAR}&region=990102901&five_max=0.5")
    assert len(_csv_rows(w.content)) - 1 == 3
