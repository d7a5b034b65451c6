"""The branch register: list, read, create, edit, dissolve, merge — always inside a scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from app.audit import service as audit
from app.auth.scope import Scope
from app.branches.models import Branch
from app.branches.schemas import BranchFilters, BranchPublic
from app.errors import NotFound
from app.regions.models import Region


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
        stmt = stmt.where(col(Branch.region_path).startswith(region_path, autoescape=True))
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
        raise NotFound("支部不存在或不在您的管辖范围内")
    if scope.branch_id is not None and branch.id != scope.branch_id:
        raise NotFound("支部不存在或不在您的管辖范围内")
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
