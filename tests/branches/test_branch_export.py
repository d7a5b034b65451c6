"""Export of the register as XLSX and CSV: headers, counts, scope, filters, file names, round-trip."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from tests.branches.test_branch_import import JSON, upload

BASE_HEADERS = ["支部编码", "支部名称", "领域", "所在区划代码", "书记姓名"]
TAIL = ["党员人数", "成立日期", "所在区划名称", "乡镇/街道", "状态"]


def xlsx_rows(content: bytes) -> tuple[list[str], list[list[object]], object]:
    wb = load_workbook(io.BytesIO(content))
    ws = wb.worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return [str(h) for h in rows[0]], rows[1:], ws


def csv_rows(content: bytes) -> tuple[list[str], list[list[str]]]:
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return rows[0], rows[1:]


def total(client, query: str = "") -> int:  # type: ignore[no-untyped-def]
    return int(client.get(f"/branches?per_page=1&{query}", headers=JSON).json()["total"])


def test_xlsx_export_of_a_county(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    r = a.get("/branches/export.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and 'filename="branches-' in disposition
    assert "支部台账_青山县_" in unquote(disposition.split("filename*=UTF-8''")[1])
    headers, rows, ws = xlsx_rows(r.content)
    assert headers == [*BASE_HEADERS, "书记电话", *TAIL]
    assert ws.freeze_panes == "A2"  # type: ignore[attr-defined]
    assert ws.auto_filter.ref == f"A1:K{len(rows) + 1}"  # type: ignore[attr-defined]
    assert len(rows) == total(a)
    assert all(str(row[3]).startswith("990102") for row in rows)


def test_csv_export_with_filters(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    r = a.get("/branches/export.csv?sector=school&region=990102001")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    headers, rows = csv_rows(r.content)
    assert headers == [*BASE_HEADERS, "书记电话", *TAIL]
    assert len(rows) == total(a, "sector=school&region=990102001") > 0
    assert all(row[2] == "学校" and row[3].startswith("990102001") for row in rows)
    assert a.get("/branches/export.csv?region=990103001").status_code == 404


@pytest.mark.parametrize(("username", "prefix"), [("city_viewer", "9901"), ("inspector_qs1", "990102001")])
def test_export_scope_and_no_phones_for_readers(as_user, username: str, prefix: str) -> None:  # type: ignore[no-untyped-def]
    a = as_user(username)
    headers, rows = csv_rows(a.get("/branches/export.csv").content)
    assert headers == [*BASE_HEADERS, *TAIL]
    assert len(rows) == total(a)
    assert all(row[3].startswith(prefix) for row in rows)


def test_export_reimports_unchanged(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    for ext in ("xlsx", "csv"):
        exported = a.get(f"/branches/export.{ext}?region=990102002").content
        r = upload(a, f"台账.{ext}", exported, json=True)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["created"] == 0 and body["updated"] == 0
        assert body["unchanged"] == total(a, "region=990102002") > 0
