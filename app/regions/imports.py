"""Import of regions from a spreadsheet: validate every row, then write all or nothing.

Rule for existing codes: **upsert by code within the scope**, names only. A new code creates a region
under its parent (already in the database, or earlier/later in the same file); an existing code inside
the scope gets its name updated; its level and parent cannot change by import (descendant paths and
branch scopes hang on them). Every new region must land inside the importer's scope; a region without
a parent (a new root) only from the command line (no scope). One audit event per import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session, col

from app import labels
from app.audit import service as audit
from app.auth.scope import Scope
from app.branches import imports as branch_imports
from app.branches.schemas import ImportResult
from app.branches.tabular import ImportRejected, Table
from app.db_types import utcnow
from app.errors import ValidationFailed
from app.regions.models import Region

IMPORT_ENTITY = "region_import"
COLUMNS = (
    ("区划代码", "code", 16),
    ("名称", "name", 24),
    ("级别", "level", 12),
    ("上级区划代码", "parent_code", 16),
)
_FIELD_BY_HEADER = {h: f for h, f, _ in COLUMNS} | {f: f for _, f, _ in COLUMNS}
_HEADER_OF = {f: h for h, f, _ in COLUMNS}
_LEVEL_BY_TEXT = (
    {v: k for k, v in labels.REGION_LEVELS.items()}
    | {k: k for k in labels.REGION_LEVELS}
    | {
        "县": "county",
        "区": "county",
        "县区": "county",
        "乡": "township",
        "镇": "township",
        "乡镇": "township",
    }
    | {"街道": "township", "村": "village", "社区": "village", "村社区": "village"}
)


@dataclass
class _Row:
    number: int
    code: str
    name: str
    level: str
    parent_code: str
    path: str = ""


def _read_rows(table: Table, errors: branch_imports.ErrorList) -> list[_Row]:
    index: dict[str, int] = {}
    for i, header in enumerate(table.headers):
        field = _FIELD_BY_HEADER.get(header.strip().rstrip("*").strip())
        if field:
            index[field] = i
    for header, field, _ in COLUMNS:
        if field not in index and field != "parent_code":
            errors.add(1, header, "缺少必填列（请使用导入模板）")
    if errors.items:
        return []
    rows: list[_Row] = []
    first: dict[str, int] = {}
    for number, cells in table.rows:
        raw = {f: (cells[i].strip() if i < len(cells) else "") for f, i in index.items()}
        code, name = raw.get("code", ""), raw.get("name", "")
        level = _LEVEL_BY_TEXT.get(raw.get("level", "").replace("/", ""), "")
        ok = True
        if not (code.isdigit() and 2 <= len(code) <= 12):
            errors.add(
                number, "区划代码", "请填写 2–12 位数字的区划代码" if not code else "区划代码须为 2–12 位数字"
            )
            ok = False
        elif code in first:
            errors.add(number, "区划代码", f"与第 {first[code]} 行的区划代码重复")
            ok = False
        else:
            first[code] = number
        if not 1 <= len(name) <= 64:
            errors.add(number, "名称", "请填写名称" if not name else "名称不能超过 64 个字符")
            ok = False
        if not level:
            errors.add(number, "级别", "级别须为：" + "、".join(labels.REGION_LEVELS.values()))
            ok = False
        parent = raw.get("parent_code", "")
        if parent and not (parent.isdigit() and 2 <= len(parent) <= 12):
            errors.add(number, "上级区划代码", "上级区划代码须为 2–12 位数字")
            ok = False
        if ok:
            rows.append(_Row(number, code, name, level, parent))
    return rows


def import_regions(
    session: Session,
    *,
    scope: Scope | None,
    actor: audit.Actor,
    table: Table,
    filename: str = "",
    progress: Callable[[int], None] = lambda n: None,
) -> ImportResult:
    """Validates every row, then creates regions / renames existing ones in one go (nothing on any error)."""
    errors = branch_imports.ErrorList()
    rows = _read_rows(table, errors)
    if not errors.items and not table.rows:
        raise ValidationFailed("文件中没有数据行")
    progress(len(table.rows))
    codes = sorted({r.code for r in rows} | {r.parent_code for r in rows if r.parent_code})
    known: dict[str, tuple[int, str, str, int | None]] = {}  # code → (id, level, path, parent_id)
    names: dict[str, str] = {}
    for part in branch_imports.chunks(codes):
        stmt = select(
            col(Region.id),
            col(Region.code),
            col(Region.level),
            col(Region.path),
            col(Region.parent_id),
            col(Region.name),
        )
        for rid, code, level, path, parent_id, name in session.execute(
            stmt.where(col(Region.code).in_(part))
        ):
            known[code] = (rid, level, path, parent_id)
            names[code] = name
    in_file = {r.code: r for r in rows}
    creates: list[_Row] = []
    renames: list[dict[str, Any]] = []
    unchanged = 0
    for row in rows:
        old = known.get(row.code)
        if old is None:
            creates.append(row)
            continue
        if scope is not None and not scope.contains_path(old[2]):
            errors.add(row.number, "区划代码", "该区划代码已被管辖范围外的区划使用")
            continue
        parent_path = old[2].rstrip("/").rsplit("/", 1)[0] + "/"
        parent_code = parent_path.strip("/").split("/")[-1] if parent_path != "/" else ""
        if old[1] != row.level or (row.parent_code and row.parent_code != parent_code):
            errors.add(
                row.number,
                "级别" if old[1] != row.level else "上级区划代码",
                "已有区划的级别和上级不能通过导入修改",
            )
            continue
        if names.get(row.code) == row.name:
            unchanged += 1
        else:
            renames.append({"p_id": old[0], "p_name": row.name})
    _resolve_paths(creates, known=known, in_file=in_file, scope=scope, errors=errors)
    if errors.items:
        raise ImportRejected(errors.items, total_rows=len(table.rows), truncated=errors.truncated)

    result = ImportResult(created=len(creates), updated=len(renames), unchanged=unchanged)
    audit.record(
        session,
        actor=actor,
        action="region.import",
        entity_type=IMPORT_ENTITY,
        entity_id=scope.region_path.strip("/").split("/")[-1] if scope else "*",
        new={"file": filename[:200], "rows": len(table.rows), **result.model_dump()},
    )
    _write(session, creates=creates, renames=renames, known=known)
    progress(len(table.rows))
    return result


def _resolve_paths(
    creates: list[_Row],
    *,
    known: dict[str, tuple[int, str, str, int | None]],
    in_file: dict[str, _Row],
    scope: Scope | None,
    errors: branch_imports.ErrorList,
) -> None:
    """Gives each new region its path (parents from the database or the file), checking level and scope."""
    levels = labels.LEVEL_ORDER
    pending = {r.code: r for r in creates}

    def parent_of(row: _Row) -> tuple[str, str] | None:  # (path, level) of the parent, if resolved
        if row.parent_code in known:
            return known[row.parent_code][2], known[row.parent_code][1]
        parent = in_file.get(row.parent_code)
        if parent is not None and parent.path:
            return parent.path, parent.level
        return None

    progress_made = True
    while pending and progress_made:
        progress_made = False
        for code, row in list(pending.items()):
            if not row.parent_code:
                if scope is not None:
                    errors.add(row.number, "上级区划代码", "请填写上级区划代码")
                    del pending[code]
                    continue
                row.path = f"/{row.code}/"
            else:
                found = parent_of(row)
                if found is None:
                    if row.parent_code not in known and row.parent_code not in pending:
                        errors.add(row.number, "上级区划代码", f"上级区划 {row.parent_code} 不存在")
                        del pending[code]
                    continue
                parent_path, parent_level = found
                if levels.index(row.level) <= levels.index(parent_level):
                    message = (
                        f"{labels.REGION_LEVELS[row.level]}不能隶属于{labels.REGION_LEVELS[parent_level]}"
                    )
                    errors.add(row.number, "级别", message)
                    del pending[code]
                    continue
                row.path = f"{parent_path}{row.code}/"
            if scope is not None and not scope.contains_path(row.path):
                errors.add(row.number, "上级区划代码", f"上级区划 {row.parent_code} 不在您的管辖范围内")
                row.path = ""
            del pending[code]
            progress_made = True
    for row in pending.values():
        errors.add(row.number, "上级区划代码", f"上级区划 {row.parent_code} 无法确定（可能存在循环引用）")


def _write(
    session: Session,
    *,
    creates: list[_Row],
    renames: list[dict[str, Any]],
    known: dict[str, tuple[int, str, str, int | None]],
) -> None:
    table = Region.__table__  # type: ignore[attr-defined]
    now = utcnow()
    ids = {code: v[0] for code, v in known.items()}
    by_depth: dict[int, list[_Row]] = {}
    for row in creates:
        by_depth.setdefault(row.path.count("/"), []).append(row)
    for depth in sorted(by_depth):
        batch = by_depth[depth]
        session.execute(
            insert(table),
            [
                {
                    "code": r.code,
                    "name": r.name,
                    "level": r.level,
                    "parent_id": ids.get(r.parent_code) if r.parent_code else None,
                    "path": r.path,
                    "created_at": now,
                }
                for r in batch
            ],
        )
        for part in branch_imports.chunks([r.code for r in batch]):
            stmt = select(col(Region.id), col(Region.code)).where(col(Region.code).in_(part))
            for rid, code in session.execute(stmt):
                ids[code] = rid
    if renames:
        rename = update(table).where(table.c.id == bindparam("p_id")).values(name=bindparam("p_name"))
        session.execute(rename, renames)
    session.expire_all()


def template_rows() -> list[list[str]]:
    """The instructions sheet of the region import template."""
    return [
        ["区划代码", "是", "2–12 位数字（国家统计用区划代码）；已存在的代码只更新名称"],
        ["名称", "是", "1–64 个字符"],
        [
            "级别",
            "是",
            "、".join(labels.REGION_LEVELS.values()) + "（也可填 县、区、乡、镇、街道、村、社区）",
        ],
        ["上级区划代码", "是", "上级须已存在或在同一文件中，且在您的管辖范围内"],
    ]
