"""Import of regions: parents from the database or the same file, levels, scope, all-or-nothing."""

from __future__ import annotations

import io
import uuid

from openpyxl import load_workbook
from sqlmodel import Session, func, select

from app.db import get_engine
from app.regions.models import Region
from tests.branches.test_branch_import import csv_bytes, upload

HEADERS = ["区划代码", "名称", "级别", "上级区划代码"]


def new_code(county: str = "990102") -> str:
    """A new 12-digit region code inside a county (codes start with their county's, like the real ones)."""
    return county + str(uuid.uuid4().int)[:6]


def region(code: str) -> Region | None:
    with Session(get_engine()) as s:
        return s.exec(select(Region).where(Region.code == code)).first()


def count_regions() -> int:
    with Session(get_engine()) as s:
        return s.exec(select(func.count()).select_from(Region)).one()


def test_import_township_and_village_in_any_order_then_rename(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    town, village = new_code(), new_code()
    rows = [[village, "新建测试村", "村/社区", town], [town, "新建测试镇", "乡镇", "990102"]]
    r = upload(a, "区划.csv", csv_bytes(rows, headers=HEADERS), url="/regions/import")
    assert r.status_code == 200, r.text
    assert 'id="created-count">2<' in r.text
    v = region(village)
    assert v is not None and v.level == "village" and v.path == f"/99/9901/990102/{town}/{village}/"
    assert region(town).level == "township"  # type: ignore[union-attr]
    # A branch can now be placed in the new village.
    form = {"code": new_code(), "name": "中共新建测试村支部", "sector": "rural", "region_code": village}
    assert a.post("/branches", data=form, follow_redirects=False).status_code == 303
    rows[0][1] = "改名测试村"
    r = upload(a, "区划.csv", csv_bytes(rows, headers=HEADERS), url="/regions/import", json=True)
    assert r.status_code == 200 and r.json() == {"created": 0, "updated": 1, "unchanged": 1, "total": 2}
    assert region(village).name == "改名测试村"  # type: ignore[union-attr]


def test_bad_region_rows_are_reported_and_nothing_written(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    good, dup = new_code(), new_code()
    rows = [
        [good, "正常镇", "乡镇", "990102"],  # row 2
        [new_code(), "外县镇", "乡镇", "990103"],  # row 3: parent out of scope
        [new_code(), "越级县", "县/区", "990102001"],  # row 4: a county under a township
        [dup, "重复村", "村", "990102001"],  # row 5
        [dup, "重复村二", "村", "990102001"],  # row 6: duplicate
        [new_code(), "无上级村", "村", "98000000000"],  # row 7: unknown parent
        [new_code(), "", "村", "990102001"],  # row 8: no name
        ["990102001", "青山县某镇", "村", "990102"],  # row 9: existing region, level changed
        [new_code(), "无上级", "乡镇", ""],  # row 10: no parent from the web
        ["12ab", "坏代码", "星球", "990102"],  # row 11: code and level
    ]
    before = count_regions()
    r = upload(a, "区划.csv", csv_bytes(rows, headers=HEADERS), url="/regions/import", json=True)
    assert r.status_code == 422
    got = [(e["row"], e["column"], e["message"]) for e in r.json()["errors"]]
    expected = [
        (3, "上级区划代码", "不在您的管辖范围内"),
        (4, "级别", "县/区不能隶属于乡镇/街道"),
        (6, "区划代码", "与第 5 行的区划代码重复"),
        (7, "上级区划代码", "不存在"),
        (8, "名称", "请填写名称"),
        (9, "级别", "不能通过导入修改"),
        (10, "上级区划代码", "请填写上级区划代码"),
        (11, "区划代码", "区划代码须为 2–12 位数字"),
        (11, "级别", "级别须为"),
    ]
    assert [(g[0], g[1]) for g in got] == [(e[0], e[1]) for e in expected], got
    for (_, _, message), (_, _, fragment) in zip(got, expected, strict=True):
        assert fragment in message
    assert count_regions() == before and region(good) is None
    page = upload(a, "区划.csv", csv_bytes(rows, headers=HEADERS), url="/regions/import")
    assert (
        page.status_code == 422 and 'id="error-table"' in page.text and "/regions/import-report/" in page.text
    )


def test_region_import_page_and_template(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    assert a.get("/regions/import").status_code == 200
    assert 'id="region-import-link"' in a.get("/regions").text
    assert 'id="region-import-link"' not in as_user("city_viewer").get("/regions").text
    assert as_user("inspector_qs1").get("/regions/import").status_code == 403
    r = a.get("/regions/import-template.xlsx")
    wb = load_workbook(io.BytesIO(r.content))
    assert [c.value for c in wb.worksheets[0][1]] == HEADERS
