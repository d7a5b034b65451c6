"""python -m app import / export: same validation as the web, system actor, counts or the error report."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.cli import main
from app.db import get_engine
from tests.branches.conftest import BH_VILLAGE, QS_VILLAGE, count_branches, read_branch, unique_code
from tests.branches.test_branch_import import csv_bytes
from tests.regions.test_region_import import HEADERS as REGION_HEADERS
from tests.regions.test_region_import import new_code, region


def test_import_branches_from_the_command_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = unique_code("C")
    path = tmp_path / "支部.csv"
    path.write_bytes(
        csv_bytes([[code, "中共命令行支部", "农村", QS_VILLAGE, "", "", "7", ""]], encoding="gb18030")
    )
    assert main(["import", "branches", str(path), "--region", "990102"]) == 0
    assert "新增 1" in capsys.readouterr().out
    assert read_branch(code) is not None
    with Session(get_engine()) as s:
        event = s.exec(
            select(AuditEvent).where(AuditEvent.action == "branch.import").order_by(col(AuditEvent.id).desc())
        ).first()
    assert event is not None and event.actor_label == "系统" and event.new["created"] == 1


def test_refused_import_prints_the_report(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    rows = [
        [unique_code(), "中共外县支部", "农村", BH_VILLAGE, "", "", "1", ""],
        [unique_code(), "x", "农村", QS_VILLAGE],
    ]
    path.write_bytes(csv_bytes(rows))
    before = count_branches()
    assert main(["import", "branches", str(path), "--region", "990102"]) == 2
    err = capsys.readouterr().err
    assert "2\t所在区划代码\t" in err and "3\t支部名称\t" in err
    assert count_branches() == before


def test_import_regions_and_export_branches(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    town = new_code("990104")
    path = tmp_path / "regions.csv"
    path.write_bytes(csv_bytes([[town, "命令行镇", "镇", "990104"]], headers=REGION_HEADERS))
    assert main(["import", "regions", str(path)]) == 0
    assert region(town) is not None and region(town).path.startswith("/99/9901/990104/")  # type: ignore[union-attr]
    out = tmp_path / "台账.xlsx"
    assert main(["export", "branches", "--region", "990102001", "-o", str(out)]) == 0
    rows = list(load_workbook(io.BytesIO(out.read_bytes())).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "支部编码" and len(rows) > 10
    assert all(str(r[3]).startswith("990102001") for r in rows[1:])
    assert f"已导出 {len(rows) - 1} 个支部" in capsys.readouterr().out
