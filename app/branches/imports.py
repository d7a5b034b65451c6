"""Import of the branch register from a spreadsheet: validate every row, then write all or nothing.

Rule for existing codes: **upsert by code within the scope**. A row whose code is new creates a branch;
a row whose code belongs to a branch inside the importer's scope updates it (only the columns present
in the file; a column left out of the file is left alone, an empty cell clears an optional value);
a row identical to the register counts as unchanged and writes nothing. A code used by a branch outside
the scope, or a change to a merged/dissolved branch, is refused. Status changes (dissolve, merge) are
not done by import. One audit event per import records the counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session, col

from app import clock, labels
from app.audit import service as audit
from app.auth.scope import Scope
from app.branches.columns import BY_HEADER, HEADER_OF, IMPORT_COLUMNS, normalize_header
from app.branches.models import Branch
from app.branches.schemas import BranchCreate, ImportResult, RowError, zh_errors
from app.branches.service import IMPORT_ENTITY
from app.branches.tabular import MAX_ERRORS, ImportRejected, Table
from app.errors import Conflict, ValidationFailed
from app.regions.models import Region

CHUNK = 500  # codes per IN (...) lookup
WRITE_CHUNK = 5_000
# Fields an import may set; the region columns follow region_code.
DATA_FIELDS = ("name", "sector", "secretary_name", "secretary_phone", "member_count", "founded_on")

Progress = Callable[[int], None]


class ErrorList:
    def __init__(self) -> None:
        self.items: list[RowError] = []
        self.truncated = False

    def add(self, row: int, column: str, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(RowError(row=row, column=column, message=message))
        else:
            self.truncated = True


def chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def column_index(table: Table, errors: ErrorList) -> dict[str, int]:
    """Maps field → column position from the header row; unknown columns are ignored (read-only extras)."""
    index: dict[str, int] = {}
    for i, header in enumerate(table.headers):
        column = BY_HEADER.get(normalize_header(header))
        if column is None:
            continue
        if column.field in index:
            errors.add(1, column.header, "该列出现了两次")
        index[column.field] = i
    for column in IMPORT_COLUMNS:
        if column.required and column.field not in index:
            errors.add(1, column.header, "缺少必填列（请使用导入模板）")
    return index


def import_branches(
    session: Session,
    *,
    scope: Scope,
    actor: audit.Actor,
    table: Table,
    filename: str = "",
    progress: Progress = lambda n: None,
) -> ImportResult:
    """Validates every row, then creates/updates all branches in one go (nothing on any error).

    `progress` receives row counts adding up to twice the number of rows (validation, then writing).
    """
    errors = ErrorList()
    index = column_index(table, errors)
    if errors.items:
        raise ImportRejected(errors.items, total_rows=len(table.rows))
    if not table.rows:
        raise ValidationFailed("文件中没有数据行")

    # 1. Each row on its own: fields, formats, ranges; duplicate codes within the file.
    valid: list[tuple[int, BranchCreate]] = []
    first_row: dict[str, int] = {}
    for n, (number, cells) in enumerate(table.rows, start=1):
        raw = {field: (cells[i] if i < len(cells) else "") for field, i in index.items()}
        code = raw.get("code", "").strip()
        if code in first_row:
            errors.add(number, "支部编码", f"与第 {first_row[code]} 行的支部编码重复")
            continue
        if code:
            first_row[code] = number
        try:
            valid.append((number, BranchCreate.model_validate(raw)))
        except ValidationError as exc:
            for field, message in zh_errors(exc).items():
                errors.add(number, HEADER_OF.get(field, field), message)
        if n % WRITE_CHUNK == 0:
            progress(WRITE_CHUNK)
    progress(len(table.rows) % WRITE_CHUNK)

    # 2. Against the database: regions in scope, existing codes (upsert inside the scope).
    regions = _regions(session, sorted({item.region_code for _, item in valid}))
    existing = _existing(session, [item.code for _, item in valid])
    fields = [f for f in DATA_FIELDS if f in index]
    creates: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    updated_codes: list[str] = []
    unchanged = 0
    today = clock.today()
    for number, item in valid:
        region = regions.get(item.region_code)
        if region is None or not scope.contains_path(region[1]):
            errors.add(number, "所在区划代码", f"区划 {item.region_code} 不存在或不在您的管辖范围内")
            continue
        old = existing.get(item.code)
        if old is None:
            creates.append(_new_row(item, region, today))
            continue
        if not scope.contains_path(old["region_path"]) or (
            scope.branch_id is not None and old["id"] != scope.branch_id
        ):
            errors.add(number, "支部编码", "该支部编码已被管辖范围外的支部使用")
            continue
        values = {f: getattr(item, f) for f in fields}
        values["region_id"], values["region_path"] = region
        if all(old[k] == v for k, v in values.items()):
            unchanged += 1
            continue
        if old["status"] != "active":
            status = labels.BRANCH_STATUSES.get(old["status"], old["status"])
            errors.add(number, "支部编码", f"该支部{status}，不能通过导入修改")
            continue
        if "secretary_name" in values:
            vacant = old["secretary_vacant_since"]
            if values["secretary_name"]:
                vacant = None
            elif old["secretary_name"]:
                vacant = today
            values["secretary_vacant_since"] = vacant
        updated_codes.append(item.code)
        updates.append(
            {"p_id": old["id"], "p_version": old["version"], **{f"p_{k}": v for k, v in values.items()}}
        )
    if errors.items:
        raise ImportRejected(errors.items, total_rows=len(table.rows), truncated=errors.truncated)

    # 3. Write: one audit event, then bulk inserts and updates stamped with the event's time.
    result = ImportResult(created=len(creates), updated=len(updates), unchanged=unchanged)
    event = audit.record(
        session,
        actor=actor,
        action="branch.import",
        entity_type=IMPORT_ENTITY,
        entity_id=scope.region_path.strip("/").split("/")[-1],
        new={
            "file": filename[:200],
            "rows": len(table.rows),
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "created_codes": [r["code"] for r in creates[:1000]],
            "updated_codes": updated_codes[:1000],
        },
    )
    _write(session, creates=creates, updates=updates, now=event.at, progress=progress)
    progress(unchanged)
    return result


def _regions(session: Session, codes: Sequence[str]) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for part in chunks(codes):
        stmt = select(col(Region.id), col(Region.code), col(Region.path)).where(col(Region.code).in_(part))
        for rid, code, path in session.execute(stmt):
            out[code] = (rid, path)
    return out


def _existing(session: Session, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    table = Branch.__table__  # type: ignore[attr-defined]
    cols = [table.c[name] for name in ("id", "code", "region_id", "region_path", "status", "version")]
    cols += [table.c[name] for name in (*DATA_FIELDS, "secretary_vacant_since")]
    out: dict[str, dict[str, Any]] = {}
    for part in chunks(codes):
        for row in session.execute(select(*cols).where(table.c.code.in_(part))).mappings():
            out[row["code"]] = dict(row)
    return out


def _new_row(item: BranchCreate, region: tuple[int, str], today: date) -> dict[str, Any]:
    return {
        "code": item.code,
        "name": item.name,
        "sector": item.sector,
        "region_id": region[0],
        "region_path": region[1],
        "secretary_name": item.secretary_name,
        "secretary_phone": item.secretary_phone,
        "secretary_vacant_since": None if item.secretary_name else today,
        "member_count": item.member_count,
        "founded_on": item.founded_on,
        "status": "active",
        "version": 1,
    }


def _write(
    session: Session,
    *,
    creates: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    now: Any,
    progress: Progress,
) -> None:
    table = Branch.__table__  # type: ignore[attr-defined]
    for i in range(0, len(creates), WRITE_CHUNK):
        part = [{**row, "created_at": now, "updated_at": now} for row in creates[i : i + WRITE_CHUNK]]
        session.execute(insert(table), part)
        progress(len(part))
    if not updates:
        return
    keys = [k[2:] for k in updates[0] if k not in ("p_id", "p_version")]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("p_id"), table.c.version == bindparam("p_version"))
        .values({k: bindparam(f"p_{k}") for k in keys} | {"version": table.c.version + 1, "updated_at": now})
    )
    done = 0
    for i in range(0, len(updates), WRITE_CHUNK):
        part = updates[i : i + WRITE_CHUNK]
        res = session.execute(stmt, part)
        done += res.rowcount if res.rowcount is not None and res.rowcount >= 0 else len(part)  # type: ignore[attr-defined]
        progress(len(part))
    if session.get_bind().dialect.supports_sane_multi_rowcount and done != len(updates):
        # A branch changed between the check and the write: refuse the whole import (the caller rolls back).
        raise Conflict("导入期间有支部被他人修改，未导入任何数据，请重新导入")
    session.expire_all()
