"""The branch register: list, read, create, edit, dissolve, merge — always inside a scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from app import clock, labels
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.scope import Scope
from app.branches.models import Branch
from app.branches.schemas import (
    BranchCreate,
    BranchDissolve,
    BranchFilters,
    BranchMerge,
    BranchPublic,
    BranchUpdate,
)
from app.db_types import utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.regions.models import Region
from app.regions.paths import in_subtree

NOT_IN_SCOPE = "支部不存在或不在您的管辖范围内"
REGION_NOT_IN_SCOPE = "区划不存在或不在您的管辖范围内"
# Audit entity of a whole import (one event per file, with counts).
IMPORT_ENTITY = "branch_import"


@dataclass(frozen=True)
class Page:
    rows: list[BranchPublic]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _filtered(stmt: Any, *, scope: Scope, filters: BranchFilters, region_path: str | None) -> Any:
    stmt = stmt.where(scope.filter(col(Branch.region_path)))
    if scope.branch_id is not None:
        stmt = stmt.where(Branch.id == scope.branch_id)
    if region_path:
        stmt = stmt.where(in_subtree(col(Branch.region_path), region_path))
    if filters.sector:
        stmt = stmt.where(Branch.sector == filters.sector)
    if filters.status:
        stmt = stmt.where(Branch.status == filters.status)
    if filters.q:
        like = f"%{filters.q.strip()}%"
        stmt = stmt.where(
            or_(
                col(Branch.name).like(like),
                col(Branch.code).like(like),
                col(Branch.secretary_name).like(like),
            )
        )
    return stmt


def _region_path(session: Session, *, scope: Scope, code: str | None) -> str | None:
    if not code:
        return None
    region = session.exec(select(Region).where(Region.code == code)).first()
    if region is None or not scope.contains_path(region.path):
        raise NotFound("区域不存在或不在您的管辖范围内")
    return region.path


def list_branches(
    session: Session, *, scope: Scope, filters: BranchFilters, page: int = 1, per_page: int = 50
) -> Page:
    """Lists the branches of a scope with filters, by code, one page at a time."""
    region_path = _region_path(session, scope=scope, code=filters.region)
    total = session.exec(
        _filtered(
            select(func.count()).select_from(Branch), scope=scope, filters=filters, region_path=region_path
        )
    ).one()
    stmt = _filtered(select(Branch), scope=scope, filters=filters, region_path=region_path)
    rows = list(session.exec(stmt.order_by(col(Branch.code)).offset((page - 1) * per_page).limit(per_page)))
    return Page(rows=to_public(session, rows), total=total, page=page, per_page=per_page)


def iter_branches(session: Session, *, scope: Scope, filters: BranchFilters) -> list[BranchPublic]:
    """Every branch matching the filters (for exports)."""
    region_path = _region_path(session, scope=scope, code=filters.region)
    stmt = _filtered(select(Branch), scope=scope, filters=filters, region_path=region_path)
    return to_public(session, list(session.exec(stmt.order_by(col(Branch.code)))))


def select_columns(session: Session, *, scope: Scope, filters: BranchFilters, columns: list[Any]) -> Any:
    """A select of some branch columns with the list's scope and filters, by code (fast exports)."""
    region_path = _region_path(session, scope=scope, code=filters.region)
    stmt = _filtered(select(*columns), scope=scope, filters=filters, region_path=region_path)
    return stmt.order_by(col(Branch.code))


def to_public(session: Session, rows: list[Branch]) -> list[BranchPublic]:
    """Public shapes for branch rows, with region and township names (one query for all regions)."""
    codes: set[str] = set()
    for b in rows:
        codes.update(b.region_path.strip("/").split("/"))
    regions = (
        {r.code: r for r in session.exec(select(Region).where(col(Region.code).in_(codes)))} if codes else {}
    )
    merged_ids = {b.merged_into_id for b in rows if b.merged_into_id}
    merged = (
        {b.id: b.code for b in session.exec(select(Branch).where(col(Branch.id).in_(merged_ids)))}
        if merged_ids
        else {}
    )
    out = []
    for b in rows:
        path_codes = b.region_path.strip("/").split("/")
        own = regions.get(path_codes[-1])
        township = next(
            (regions[c] for c in path_codes if c in regions and regions[c].level == "township"), None
        )
        out.append(
            BranchPublic(
                code=b.code,
                name=b.name,
                sector=b.sector,  # type: ignore[arg-type]
                region_code=own.code if own else path_codes[-1],
                region_name=own.name if own else "",
                township_code=township.code if township else None,
                township_name=township.name if township else None,
                secretary_name=b.secretary_name,
                member_count=b.member_count,
                founded_on=b.founded_on,
                status=b.status,  # type: ignore[arg-type]
                merged_into_code=merged.get(b.merged_into_id) if b.merged_into_id else None,
                dissolved_on=b.dissolved_on,
                version=b.version,
                updated_at=b.updated_at,
            )
        )
    return out


def get_by_code(session: Session, *, code: str, scope: Scope) -> Branch:
    """Gets a branch by code inside the scope (404 otherwise, so existence does not leak)."""
    branch = session.exec(select(Branch).where(Branch.code == code)).first()
    if branch is None or not scope.contains_path(branch.region_path):
        raise NotFound(NOT_IN_SCOPE)
    if scope.branch_id is not None and branch.id != scope.branch_id:
        raise NotFound(NOT_IN_SCOPE)
    return branch


def record_change(
    session: Session,
    *,
    actor: audit.Actor,
    branch: Branch,
    action: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="branch",
        entity_id=branch.code,
        old=old,
        new=new,
        reason=reason,
    )


# --- writes -----------------------------------------------------------------------------------------


def snapshot(
    branch: Branch, *, region_code: str | None = None, merged_into: str | None = None
) -> dict[str, Any]:
    """The audited values of a branch (JSON-ready)."""
    return {
        "code": branch.code,
        "name": branch.name,
        "sector": branch.sector,
        "region_code": region_code or branch.region_path.strip("/").split("/")[-1],
        "secretary_name": branch.secretary_name,
        "secretary_phone": branch.secretary_phone,
        "member_count": branch.member_count,
        "founded_on": branch.founded_on.isoformat() if branch.founded_on else None,
        "status": branch.status,
        "merged_into": merged_into,
        "dissolved_on": branch.dissolved_on.isoformat() if branch.dissolved_on else None,
        "status_reason": branch.status_reason,
        "version": branch.version,
    }


def _diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in new if old.get(k) != new[k]]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


def region_in_scope(session: Session, *, scope: Scope, code: str) -> Region:
    """The region a branch is placed in: must exist inside the scope (404 with a field error otherwise)."""
    region = session.exec(select(Region).where(Region.code == code)).first()
    if region is None or not scope.contains_path(region.path):
        raise NotFound(REGION_NOT_IN_SCOPE, field_errors={"region_code": REGION_NOT_IN_SCOPE})
    return region


def _for_write(session: Session, *, code: str, scope: Scope) -> Branch:
    """Loads a branch for a write, locking its row (PostgreSQL; SQLite holds the write lock already)."""
    stmt = select(Branch).where(Branch.code == code).with_for_update()
    branch = session.exec(stmt.execution_options(populate_existing=True)).first()
    if branch is None or not scope.contains_path(branch.region_path):
        raise NotFound(NOT_IN_SCOPE)
    if scope.branch_id is not None and branch.id != scope.branch_id:
        raise NotFound(NOT_IN_SCOPE)
    return branch


def changed_by(session: Session, *, branch: Branch) -> tuple[str | None, datetime]:
    """Who made the branch's current version (from the audit log) and when."""
    stmt = (
        select(AuditEvent)
        .where(
            or_(
                (col(AuditEvent.entity_type) == "branch") & (col(AuditEvent.entity_id) == branch.code),
                (col(AuditEvent.entity_type) == IMPORT_ENTITY) & (col(AuditEvent.at) == branch.updated_at),
            )
        )
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    )
    event = session.exec(stmt).first()
    return (event.actor_label if event else None), branch.updated_at


def _check_version(session: Session, *, branch: Branch, version: int) -> None:
    if branch.version == version:
        return
    who, when = changed_by(session, branch=branch)
    current = to_public(session, [branch])[0]
    detail = f"该支部已于 {when.astimezone(clock.LOCAL_TZ):%Y-%m-%d %H:%M} 被{who or '他人'}修改（当前版本 {branch.version}），您的修改未保存。请核对当前内容后重试。"
    raise Conflict(
        detail,
        extra={
            "current": current.model_dump(mode="json") | {"secretary_phone": branch.secretary_phone},
            "changed_by": who,
            "changed_at": when.isoformat(),
        },
    )


def _require_active(branch: Branch) -> None:
    if branch.status != "active":
        raise Conflict(f"该支部{labels.BRANCH_STATUSES[branch.status]}，不能再修改")


def _touch(branch: Branch) -> None:
    branch.version += 1
    branch.updated_at = utcnow()


def create(session: Session, *, scope: Scope, actor: audit.Actor, data: BranchCreate) -> Branch:
    """Creates a branch in a region of the scope (the code must be new)."""
    region = region_in_scope(session, scope=scope, code=data.region_code)
    if session.exec(select(Branch.id).where(Branch.code == data.code)).first() is not None:
        raise ValidationFailed("支部编码已存在", field_errors={"code": "支部编码已存在，请换一个"})
    branch = Branch(
        code=data.code,
        name=data.name,
        sector=data.sector,
        region_id=region.id or 0,
        region_path=region.path,
        secretary_name=data.secretary_name,
        secretary_phone=data.secretary_phone,
        secretary_vacant_since=None if data.secretary_name else clock.today(),
        member_count=data.member_count,
        founded_on=data.founded_on,
    )
    session.add(branch)
    session.flush()
    record_change(session, actor=actor, branch=branch, action="branch.create", old=None, new=snapshot(branch))
    return branch


def update(session: Session, *, scope: Scope, actor: audit.Actor, code: str, data: BranchUpdate) -> Branch:
    """Edits the register fields of an active branch, if the client saw the current version."""
    branch = _for_write(session, code=code, scope=scope)
    _check_version(session, branch=branch, version=data.version)
    _require_active(branch)
    region = region_in_scope(session, scope=scope, code=data.region_code)
    before = snapshot(branch)
    if branch.secretary_name and not data.secretary_name:
        branch.secretary_vacant_since = clock.today()
    elif data.secretary_name:
        branch.secretary_vacant_since = None
    branch.name = data.name
    branch.sector = data.sector
    branch.region_id = region.id or 0
    branch.region_path = region.path
    branch.secretary_name = data.secretary_name
    branch.secretary_phone = data.secretary_phone
    branch.member_count = data.member_count
    branch.founded_on = data.founded_on
    old, new = _diff(before, snapshot(branch))
    if not new:
        return branch
    _touch(branch)
    old["version"], new["version"] = before["version"], branch.version
    session.flush()
    record_change(session, actor=actor, branch=branch, action="branch.update", old=old, new=new)
    return branch


def dissolve(
    session: Session, *, scope: Scope, actor: audit.Actor, code: str, data: BranchDissolve
) -> Branch:
    """Dissolves (撤销) an active branch; it stays in the register with its status."""
    branch = _for_write(session, code=code, scope=scope)
    _check_version(session, branch=branch, version=data.version)
    _require_active(branch)
    if branch.founded_on and data.dissolved_on < branch.founded_on:
        raise ValidationFailed("撤销日期有误", field_errors={"dissolved_on": "撤销日期不能早于成立日期"})
    before = snapshot(branch)
    branch.status = "dissolved"
    branch.dissolved_on = data.dissolved_on
    branch.status_reason = data.reason
    _touch(branch)
    session.flush()
    old, new = _diff(before, snapshot(branch))
    record_change(
        session, actor=actor, branch=branch, action="branch.dissolve", old=old, new=new, reason=data.reason
    )
    return branch


def merge(session: Session, *, scope: Scope, actor: audit.Actor, code: str, data: BranchMerge) -> Branch:
    """Merges an active branch into another active branch of the scope; both stay in the register."""
    branch = _for_write(session, code=code, scope=scope)
    _check_version(session, branch=branch, version=data.version)
    _require_active(branch)
    if data.target_code == branch.code:
        raise ValidationFailed("合并目标有误", field_errors={"target_code": "不能并入支部自身"})
    target = session.exec(select(Branch).where(Branch.code == data.target_code)).first()
    if target is None or not scope.contains_path(target.region_path):
        raise NotFound(NOT_IN_SCOPE, field_errors={"target_code": "并入的支部不存在或不在您的管辖范围内"})
    if target.status != "active":
        status = labels.BRANCH_STATUSES[target.status]
        raise ValidationFailed(
            "合并目标有误", field_errors={"target_code": f"并入的支部{status}，只能并入正常状态的支部"}
        )
    before = snapshot(branch)
    branch.status = "merged"
    branch.merged_into_id = target.id
    branch.status_reason = data.reason
    _touch(branch)
    session.flush()
    old, new = _diff(before, snapshot(branch, merged_into=target.code))
    record_change(
        session, actor=actor, branch=branch, action="branch.merge", old=old, new=new, reason=data.reason
    )
    return branch


def merge_candidates(session: Session, *, scope: Scope, branch: Branch, limit: int = 300) -> list[Branch]:
    """Active branches a branch could be merged into: same township (or county) first, inside the scope."""
    parts = branch.region_path.strip("/").split("/")
    near = "/" + "/".join(parts[: min(len(parts), 4)]) + "/"
    prefix = near if scope.contains_path(near) else scope.region_path
    stmt = (
        select(Branch)
        .where(in_subtree(col(Branch.region_path), prefix), Branch.status == "active")
        .where(Branch.id != branch.id)
        .order_by(col(Branch.code))
        .limit(limit)
    )
    return list(session.exec(stmt))
