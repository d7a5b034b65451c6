"""Export of the branch register (same scope and filters as the list page) and the import template."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app import clock, labels
from app.auth.scope import Scope
from app.branches import service, tabular
from app.branches.columns import EXPORT_EXTRA, IMPORT_COLUMNS, Column
from app.branches.imports import chunks
from app.branches.models import Branch
from app.branches.schemas import BranchFilters
from app.regions.models import Region


def _columns(*, with_phone: bool) -> list[Column]:
    cols = [c for c in IMPORT_COLUMNS if with_phone or c.field != "secretary_phone"]
    return cols + list(EXPORT_EXTRA)


def rows(
    session: Session, *, scope: Scope, filters: BranchFilters, with_phone: bool
) -> tuple[list[Column], list[list[Any]]]:
    """The export columns and rows. Phones only for those who manage the register (personal data).

    Reads plain columns (no ORM objects): a province-size export stays quick.
    """
    t = Branch.__table__  # type: ignore[attr-defined]
    fields = ("code", "name", "sector", "region_path", "secretary_name", "secretary_phone", "member_count")
    stmt = service.select_columns(
        session,
        scope=scope,
        filters=filters,
        columns=[t.c[f] for f in (*fields, "founded_on", "status")],
    )
    found = session.execute(stmt).mappings().all()
    codes = sorted({c for r in found for c in r["region_path"].strip("/").split("/")})
    regions: dict[str, tuple[str, str]] = {}
    for part in chunks(codes):
        for code, name, level in session.execute(
            select(col(Region.code), col(Region.name), col(Region.level)).where(col(Region.code).in_(part))
        ):
            regions[code] = (name, level)
    cols = _columns(with_phone=with_phone)
    out: list[list[Any]] = []
    for r in found:
        path = r["region_path"].strip("/").split("/")
        township = next((regions[c][0] for c in path if regions.get(c, ("", ""))[1] == "township"), "")
        values: dict[str, Any] = {
            "code": r["code"],
            "name": r["name"],
            "sector": labels.SECTORS.get(r["sector"], r["sector"]),
            "region_code": path[-1],
            "secretary_name": r["secretary_name"] or "",
            "secretary_phone": r["secretary_phone"] or "",
            "member_count": r["member_count"],
            "founded_on": r["founded_on"],
            "region_name": regions.get(path[-1], ("", ""))[0],
            "township_name": township,
            "status": labels.BRANCH_STATUSES.get(r["status"], r["status"]),
        }
        out.append([values[c.field] for c in cols])
    return cols, out


def to_xlsx(cols: list[Column], data: list[list[Any]]) -> bytes:
    return tabular.write_xlsx([("支部台账", [c.header for c in cols], data, [c.width for c in cols])])


def to_csv(cols: list[Column], data: list[list[Any]]) -> bytes:
    text_rows = ([v.isoformat() if isinstance(v, date) else v for v in row] for row in data)
    return tabular.write_csv([c.header for c in cols], text_rows)


def file_name(scope: Scope, ext: str) -> tuple[str, str]:
    """(Chinese file name, ASCII fallback) of an export."""
    today = clock.today().strftime("%Y%m%d")
    return f"支部台账_{scope.region_name}_{today}.{ext}", f"branches-{today}.{ext}"


def template_xlsx() -> bytes:
    """The import template: the columns on the first sheet, instructions and sector values after it."""
    notes = [[c.header, "是" if c.required else "否", c.hint] for c in IMPORT_COLUMNS]
    notes += [
        ["", "", ""],
        ["说明", "", "第一行为列名，从第二行起每行一个支部；只读取第一个工作表。"],
        [
            "说明",
            "",
            "支部编码已存在且在您的管辖范围内时更新该支部，否则新建；任何一行有误则整个文件不导入。",
        ],
        ["说明", "", "文件中没有的列不会修改已有支部的对应信息；导出的台账可直接修改后重新导入。"],
    ]
    sectors = [[label, code] for code, label in labels.SECTORS.items()]
    return tabular.write_xlsx(
        [
            ("支部", [c.header for c in IMPORT_COLUMNS], [], [c.width for c in IMPORT_COLUMNS]),
            ("填写说明", ["列名", "必填", "填写要求"], notes, [16, 8, 80]),
            ("领域", ["领域", "代码"], sectors, [14, 14]),
        ]
    )
