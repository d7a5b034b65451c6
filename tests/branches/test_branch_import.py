"""Import of branches from CSV/XLSX: encodings, validation of every row, all-or-nothing, scope, bad files."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from datetime import datetime
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.auth.scope import Scope
from app.branches import imports, tabular
from app.branches.models import Branch
from app.db import get_engine
from tests.branches.conftest import (
    BH_VILLAGE,
    QS_VILLAGE,
    QS_VILLAGE_2,
    TEST_ACTOR,
    count_branches,
    read_branch,
    unique_code,
)

HEADERS = ["支部编码", "支部名称", "领域", "所在区划代码", "书记姓名", "书记电话", "党员人数", "成立日期"]
JSON = {"Accept": "application/json"}


def csv_bytes(rows: list[list[Any]], *, encoding: str = "utf-8", headers: list[str] = HEADERS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], *, headers: list[str] = HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def good_rows(n: int = 3, region: str = QS_VILLAGE) -> list[list[Any]]:
    rows = []
    for i in range(n):
        sector = ["农村", "community", "学校"][i % 3]
        rows.append(
            [
                unique_code("I", region),
                f"中共导入测试第{i + 1}支部委员会",
                sector,
                region,
                "王五",
                "13900000000",
                10 + i,
                "2001/7/1",
            ]
        )
    return rows


def upload(client: Any, name: str, data: bytes, *, url: str = "/branches/import", json: bool = False) -> Any:
    kind = "text/csv" if name.endswith(".csv") else tabular.XLSX_TYPE
    return client.post(url, files={"file": (name, data, kind)}, headers=JSON if json else None)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_good_csv_in_every_encoding_then_reimport_is_unchanged(as_user, encoding: str) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    rows = good_rows()
    data = csv_bytes(rows, encoding=encoding)
    r = upload(a, "支部.csv", data)
    assert r.status_code == 200, r.text
    assert 'id="created-count">3<' in r.text
    branch = read_branch(rows[0][0])
    assert branch is not None and branch.sector == "rural" and str(branch.founded_on) == "2001-07-01"
    assert read_branch(rows[1][0]).sector == "community"  # type: ignore[union-attr]
    assert read_branch(rows[2][0]).sector == "school"  # type: ignore[union-attr]
    r = upload(a, "支部.csv", data, json=True)
    assert r.status_code == 200 and r.json() == {"created": 0, "updated": 0, "unchanged": 3, "total": 3}
    with Session(get_engine()) as s:
        event = s.exec(
            select(AuditEvent).where(AuditEvent.action == "branch.import").order_by(col(AuditEvent.id).desc())
        ).first()
    assert event is not None and event.new["unchanged"] == 3 and event.actor_label == "青山县委组织部"


def test_good_xlsx_with_typed_cells(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    code = unique_code("X")
    rows = [
        [
            code,
            "中共导入测试机关支部委员会",
            "机关",
            int(QS_VILLAGE),
            "赵六",
            13700000000,
            25,
            datetime(1998, 3, 5),
        ]
    ]
    r = upload(a, "支部.xlsx", xlsx_bytes(rows), json=True)
    assert r.status_code == 200 and r.json()["created"] == 1
    branch = read_branch(code)
    assert branch is not None and branch.sector == "organ" and branch.secretary_phone == "13700000000"
    assert branch.member_count == 25 and str(branch.founded_on) == "1998-03-05"


def test_bad_rows_are_all_reported_and_nothing_is_imported(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    good = good_rows(2)
    dup = good[0][0]
    rows = [
        good[0],  # row 2: fine
        [unique_code(), "中共某支部", "火星", QS_VILLAGE, "", "", "3", ""],  # row 3: sector
        [unique_code(), "", "农村", QS_VILLAGE, "", "", "3", ""],  # row 4: name
        [dup, "中共重复支部", "农村", QS_VILLAGE, "", "", "3", ""],  # row 5: duplicate of row 2
        [unique_code(), "中共人数错支部", "农村", QS_VILLAGE, "", "", "abc", ""],  # row 6: member count
        [unique_code(), "中共外县支部", "农村", BH_VILLAGE, "", "", "3", ""],  # row 7: out of scope
        [unique_code(), "中共无区划支部", "农村", "990102999999", "", "", "3", ""],  # row 8: unknown region
        [unique_code(), "中共日期错支部", "农村", QS_VILLAGE, "", "", "3", "2001-02-30"],  # row 9: date
        good[1],  # row 10: fine
    ]
    before = count_branches()
    r = upload(a, "错误.csv", csv_bytes(rows))
    assert r.status_code == 422
    expected = [
        ("3", "领域", "领域须为"),
        ("4", "支部名称", "请填写支部名称"),
        ("5", "支部编码", "与第 2 行的支部编码重复"),
        ("6", "党员人数", "党员人数须为 0–100000 的整数"),
        ("7", "所在区划代码", "不在您的管辖范围内"),
        ("8", "所在区划代码", "不存在或不在您的管辖范围内"),
        ("9", "成立日期", "成立日期格式应为 YYYY-MM-DD"),
    ]
    table = r.text.split('id="error-table"')[1]
    cells = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>', table)
    assert len(cells) == len(expected)
    for (row, column, message), (e_row, e_col, e_msg) in zip(cells, expected, strict=True):
        assert (row, column) == (e_row, e_col) and e_msg in message
    assert count_branches() == before
    assert read_branch(good[0][0]) is None and read_branch(good[1][0]) is None
    # The report downloads as CSV.
    link = re.search(r'href="(/branches/import-report/[^"]+\.csv)"', r.text)
    assert link
    report = a.get(link.group(1))
    assert report.status_code == 200 and "filename*=UTF-8''" in report.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["行号", "列", "问题"] and len(lines) == len(expected) + 1
    # Someone else cannot read it.
    assert as_user("county_bh").get(link.group(1)).status_code == 404
    # JSON clients get problem+json with the same errors.
    r = upload(a, "错误.csv", csv_bytes(rows), json=True)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert [(str(e["row"]), e["column"]) for e in errors] == [(e[0], e[1]) for e in expected]
    assert count_branches() == before


def test_missing_required_column_is_reported(as_user) -> None:  # type: ignore[no-untyped-def]
    r = upload(
        as_user("county_qs"), "b.csv", csv_bytes([["A1", "x"]], headers=["支部编码", "支部名称"]), json=True
    )
    assert r.status_code == 422
    assert {(e["row"], e["column"]) for e in r.json()["errors"]} == {(1, "领域"), (1, "所在区划代码")}


def test_not_an_xlsx_is_refused_clearly(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    r = upload(a, "支部.xlsx", "支部编码,支部名称\n".encode())
    assert r.status_code == 422 and "不是有效的 Excel" in r.text
    r = upload(a, "支部.xlsx", b"PK\x03\x04not really a zip", json=True)
    assert r.status_code == 422 and "不是有效的 Excel" in r.json()["detail"]
    r = upload(a, "old.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, json=True)
    assert r.status_code == 422 and ".xls" in r.json()["detail"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    r = upload(a, "zip.xlsx", buf.getvalue(), json=True)
    assert r.status_code == 422


def test_zip_bomb_is_refused(as_user) -> None:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (tabular.MAX_BYTES + 1))
    assert len(buf.getvalue()) < 1024 * 1024
    r = upload(as_user("county_qs"), "bomb.xlsx", buf.getvalue(), json=True)
    assert r.status_code == 413 and "解压后超过" in r.json()["detail"]


def test_upsert_within_scope_only(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    mine = make_branch()
    theirs = make_branch(region=BH_VILLAGE)
    # A file without the phone column leaves phones alone; a moved region is applied.
    headers = ["支部编码", "支部名称", "领域", "所在区划代码", "党员人数"]
    r = upload(
        a,
        "u.csv",
        csv_bytes([[mine, "中共改名后支部委员会", "农村", QS_VILLAGE_2, "33"]], headers=headers),
        json=True,
    )
    assert r.status_code == 200 and r.json()["updated"] == 1
    branch = read_branch(mine)
    assert branch is not None and branch.name == "中共改名后支部委员会" and branch.version == 2
    assert branch.secretary_phone == "13800000000" and branch.member_count == 33
    assert branch.region_path.endswith(f"/{QS_VILLAGE_2}/")
    # Who changed it shows in a later conflict (the import's actor).
    r = a.post(
        f"/branches/{mine}/edit",
        json={"name": "x支部", "sector": "rural", "region_code": QS_VILLAGE, "version": 1},
        headers=JSON,
    )
    assert r.status_code == 409 and r.json()["changed_by"] == "青山县委组织部"
    r = upload(
        a, "u.csv", csv_bytes([[theirs, "中共抢占支部", "农村", QS_VILLAGE, "", "", "1", ""]]), json=True
    )
    assert r.status_code == 422 and "管辖范围外" in r.json()["errors"][0]["message"]
    assert read_branch(theirs).name == "中共测试村支部委员会"  # type: ignore[union-attr]


def test_changing_a_dissolved_branch_is_refused(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    code = make_branch()
    a.post(
        f"/branches/{code}/dissolve", data={"dissolved_on": "2026-01-01", "reason": "撤销", "version": "1"}
    )
    row = [code, "中共复活支部", "农村", QS_VILLAGE, "张三", "13800000000", "20", "2001-07-01"]
    r = upload(a, "d.csv", csv_bytes([row]), json=True)
    assert r.status_code == 422 and "已撤销" in r.json()["errors"][0]["message"]


def test_template_download(as_user) -> None:  # type: ignore[no-untyped-def]
    r = as_user("county_qs").get("/branches/import-template.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == tabular.XLSX_TYPE
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert [c.value for c in wb.worksheets[0][1]] == HEADERS
    page = as_user("county_qs").get("/branches/import")
    assert 'href="/branches/import-template.xlsx"' in page.text and 'type="file"' in page.text


def test_large_import_is_fast() -> None:
    """20,000 rows through validation and bulk inserts (100,000 take well under a minute on SQLite)."""
    n = 20_000
    rows = [
        (
            i + 2,
            [
                f"PERF{time.time_ns() % 10**9:09d}{i:06d}",
                f"中共性能测试第{i}支部",
                "农村",
                QS_VILLAGE,
                "",
                "",
                "5",
                "",
            ],
        )
        for i in range(n)
    ]
    table = tabular.Table(headers=HEADERS, rows=rows)
    scope = Scope(region_id=0, region_path="/99/9901/990102/", region_name="青山县")
    start = time.perf_counter()
    with Session(get_engine()) as s:
        before = s.exec(select(func.count()).select_from(Branch)).one()
        result = imports.import_branches(s, scope=scope, actor=TEST_ACTOR, table=table)
        took = time.perf_counter() - start
        assert result.created == n
        assert s.exec(select(func.count()).select_from(Branch)).one() == before + n
        s.rollback()
    assert took < 20, took
