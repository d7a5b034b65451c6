"""Helpers shared by the dynamic-management services: scope, branch references, versions, audited saves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic_core import to_jsonable_python
from sqlmodel import Session, col, func, select

from app import clock
from app.assessments.models import Assessment
from app.audit import service as audit
from app.auth.scope import Scope
from app.branches import service as branches_service
from app.branches.models import Branch
from app.db_types import utcnow
from app.dynamic.schemas import BranchRef
from app.errors import Conflict, NotFound
from app.regions import service as regions_service
from app.regions.models import Region

NOT_IN_SCOPE = "记录不存在或不在您的管辖范围内"


class Versioned(Protocol):
    version: int


def branch_in_scope(session: Session, *, scope: Scope, code: str) -> Branch:
    """A branch by code inside the scope (404 otherwise)."""
    return branches_service.get_by_code(session, code=code, scope=scope)


def in_scope(scope: Scope, region_path: str, branch_id: int | None = None) -> bool:
    if not scope.contains_path(region_path):
        return False
    return scope.branch_id is None or branch_id == scope.branch_id


def require_in_scope(scope: Scope, row: Any) -> None:
    """404 unless the row (with region_path and branch_id) lies inside the scope."""
    if row is None or not in_scope(scope, row.region_path, getattr(row, "branch_id", None)):
        raise NotFound(NOT_IN_SCOPE)


def area_path(session: Session, *, scope: Scope, region: str | None) -> str:
    """The region path to list: a region (by code) inside the scope, or the whole scope."""
    if not region:
        return scope.region_path
    return regions_service.get_by_code(session, code=region, scope=scope).path


def county_prefix(region_path: str) -> str:
    """The county part of a region path ("/99/9901/990102/"), the scope of the 示范点 cap."""
    parts = region_path.strip("/").split("/")
    return "/" + "/".join(parts[:3]) + "/"


def branch_refs(session: Session, branch_ids: set[int]) -> dict[int, BranchRef]:
    """Branch references (code, name, region name) for a set of ids, in two queries."""
    if not branch_ids:
        return {}
    rows = list(session.exec(select(Branch).where(col(Branch.id).in_(branch_ids))))
    region_ids = {b.region_id for b in rows}
    names = {
        rid: name
        for rid, name in session.exec(select(Region.id, Region.name).where(col(Region.id).in_(region_ids)))
    }
    return {b.id or 0: ref_of(b, names.get(b.region_id)) for b in rows}


def ref_of(branch: Branch, region_name: str | None = None) -> BranchRef:
    return BranchRef(
        code=branch.code,
        name=branch.name,
        sector=branch.sector,
        region_path=branch.region_path,
        region_name=region_name,
    )


def effective_stars(a: Assessment) -> int | None:
    """Final stars once final, otherwise the provisional stars."""
    if a.status == "final" and a.final_stars is not None:
        return a.final_stars
    return a.stars


def check_version(row: Versioned, version: int, *, what: str, current: dict[str, Any] | None = None) -> None:
    """Refuses a write based on a stale version (409 with the current version and values)."""
    if row.version != version:
        raise Conflict(
            f"{what}已被他人修改（当前版本 {row.version}，您提交的版本 {version}），请刷新后重试",
            extra={"current_version": row.version, "current": current or {}},
        )


def jsonable(value: Any) -> Any:
    """Plain JSON for the audit log (dates as ISO text)."""
    return to_jsonable_python(value)


def touch(row: Any) -> None:
    row.version += 1
    row.updated_at = utcnow()


def save_change(
    session: Session,
    row: Any,
    *,
    actor: audit.Actor,
    action: str,
    entity_type: str,
    old: Any,
    new: Callable[[Any], Any],
    reason: str | None = None,
) -> None:
    """Bumps the version of a changed row, flushes it and audits the change (`new(row)`: after it)."""
    touch(row)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=row.id,
        old=old,
        new=new(row),
        reason=reason,
    )


def default_year(session: Session, *, scope: Scope, final_only: bool = False) -> int:
    """The latest year with assessments in the scope (final ones only, if asked)."""
    stmt = select(func.max(Assessment.year)).where(scope.filter(col(Assessment.region_path)))
    if final_only:
        stmt = stmt.where(Assessment.status == "final")
    year = session.exec(stmt).one()
    if year is None:
        return clock.this_year()
    return int(year)
