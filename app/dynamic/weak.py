"""The weak-branch register (软弱涣散): suggestions from the signs, confirmation or rejection, manual
listing, rectification tasks, the follow-up check (回头看), make-up work (补课), delisting (摘帽) and
lifting the three-star block."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app import clock
from app.assessments.models import Assessment
from app.audit import service as audit
from app.auth.scope import Scope
from app.branches.models import Branch
from app.db_types import utcnow
from app.dynamic import signs as signs_service
from app.dynamic.common import branch_in_scope, branch_refs, require_in_scope, touch
from app.dynamic.labels import WEAK_STATUSES
from app.dynamic.models import RectificationTask, WeakListing
from app.dynamic.schemas import (
    Sign,
    SuggestionPublic,
    TaskPublic,
    WeakDecision,
    WeakListingPublic,
)
from app.dynamic.weak_cap import apply_weak_cap
from app.errors import Conflict, ValidationFailed
from app.regions.paths import in_subtree

PASSED = "【合格】"
FAILED = "【不合格】"
MAKEUP = "【补课】"


def followup_passed(listing: WeakListing) -> bool | None:
    """The follow-up verdict (None: none recorded yet). Stored as a prefix of followup_result."""
    text = listing.followup_result or ""
    if text.startswith(PASSED):
        return True
    if text.startswith(FAILED):
        return False
    return None if not text else True


# -- reads -----------------------------------------------------------------------------------------


def _this_year_or_still_listed(year: int) -> Any:
    return or_(
        col(WeakListing.year) == year,
        and_(col(WeakListing.status) == "listed", col(WeakListing.year) < year),
    )


def suggestions(session: Session, *, region_path: str, year: int) -> list[SuggestionPublic]:
    """Active branches under the path that show a sign for `year` and have no decision yet (most signs
    first). Branches already under rectification from an earlier year are left out."""
    branches = {
        b.id or 0: b
        for b in session.exec(
            select(Branch).where(in_subtree(col(Branch.region_path), region_path), Branch.status == "active")
        )
    }
    decided = set(
        session.exec(
            select(WeakListing.branch_id).where(
                in_subtree(col(WeakListing.region_path), region_path),
                _this_year_or_still_listed(year),
            )
        )
    )
    by_branch = signs_service.assessments_by_branch(
        session, branch_ids=None, region_path=region_path, year=year
    )
    found: list[tuple[Branch, list[Sign], int | None]] = []
    for bid, branch in branches.items():
        if bid in decided:
            continue
        years = by_branch.get(bid, {})
        signs = signs_service.signs_of(branch, year, years)
        if signs:
            current = years.get(year)
            found.append((branch, signs, signs_service.effective_stars(current) if current else None))
    refs = branch_refs(session, {b.id or 0 for b, _, _ in found})
    found.sort(key=lambda t: (-len(t[1]), t[0].code))
    return [SuggestionPublic(branch=refs[b.id or 0], year=year, signs=s, stars=st) for b, s, st in found]


def tasks_of(session: Session, listing_ids: list[int]) -> dict[int, list[RectificationTask]]:
    out: dict[int, list[RectificationTask]] = {}
    if not listing_ids:
        return out
    stmt = (
        select(RectificationTask)
        .where(col(RectificationTask.listing_id).in_(listing_ids))
        .order_by(col(RectificationTask.deadline), col(RectificationTask.id))
    )
    for t in session.exec(stmt):
        out.setdefault(t.listing_id, []).append(t)
    return out


def task_public(t: RectificationTask, today: date | None = None) -> TaskPublic:
    today = today or clock.today()
    return TaskPublic(
        id=t.id or 0,
        title=t.title,
        owner=t.owner,
        deadline=t.deadline,
        status=t.status,
        done_on=t.done_on,
        note=t.note,
        overdue=t.status != "done" and t.deadline < today,
        version=t.version,
    )


def to_public(session: Session, rows: list[WeakListing]) -> list[WeakListingPublic]:
    refs = branch_refs(session, {r.branch_id for r in rows})
    tasks = tasks_of(session, [r.id or 0 for r in rows])
    out = []
    for r in rows:
        ts = [task_public(t) for t in tasks.get(r.id or 0, [])]
        out.append(
            WeakListingPublic(
                id=r.id or 0,
                branch=refs[r.branch_id],
                year=r.year,
                status=r.status,
                signs=[Sign.model_validate(s) for s in r.signs if isinstance(s, dict)],
                reason=r.reason,
                confirmed_at=r.confirmed_at,
                lifted=r.lifted,
                lift_reason=r.lift_reason,
                followup_year=r.followup_year,
                followup_result=r.followup_result,
                followup_passed=followup_passed(r),
                delisted_on=r.delisted_on,
                delist_reason=r.delist_reason,
                tasks=ts,
                tasks_done=sum(1 for t in ts if t.status == "done"),
                version=r.version,
            )
        )
    return out


def listings(
    session: Session, *, region_path: str, year: int, status: str | None = None
) -> list[WeakListingPublic]:
    """The register of `year` under a path, plus earlier listings still under rectification."""
    stmt = select(WeakListing).where(
        in_subtree(col(WeakListing.region_path), region_path),
        _this_year_or_still_listed(year),
    )
    if status:
        stmt = stmt.where(WeakListing.status == status)
    rows = list(session.exec(stmt.order_by(col(WeakListing.year).desc(), col(WeakListing.id))))
    return to_public(session, rows)


def get(session: Session, *, scope: Scope, listing_id: int) -> WeakListing:
    """A listing inside the scope (404 otherwise)."""
    row = session.get(WeakListing, listing_id)
    require_in_scope(scope, row)
    assert row is not None
    return row


def snapshot(row: WeakListing) -> dict[str, Any]:
    return {
        "status": row.status,
        "lifted": row.lifted,
        "followup_year": row.followup_year,
        "followup_result": row.followup_result,
        "version": row.version,
    }


# -- decisions -------------------------------------------------------------------------------------


def _existing(session: Session, *, branch: Branch, year: int) -> WeakListing | None:
    return session.exec(
        select(WeakListing).where(WeakListing.branch_id == branch.id, WeakListing.year == year)
    ).first()


def _decide(
    session: Session, *, scope: Scope, actor: audit.Actor, data: WeakDecision, status: str, manual: bool
) -> WeakListing:
    branch = branch_in_scope(session, scope=scope, code=data.branch)
    signs = signs_service.branch_signs(session, branch=branch, year=data.year)
    if (manual or status == "rejected") and not data.reason:
        what = "不予列入" if status == "rejected" else "直接列入"
        raise ValidationFailed(f"{what}须写明理由", field_errors={"reason": f"请填写{what}的理由"})
    if not manual and status == "listed" and not signs:
        raise ValidationFailed(
            "该支部没有可由数据认定的软弱涣散情形；如确需列入，请使用“直接列入”并写明理由",
            field_errors={"branch": "该支部没有软弱涣散情形"},
        )
    if manual:
        signs = [*signs, Sign(code="manual", text=f"县委组织部直接列入：{data.reason}")]
    if branch.status != "active":
        raise ValidationFailed("该支部已撤销或合并，不能列入", field_errors={"branch": "支部已撤销或合并"})
    row = _existing(session, branch=branch, year=data.year)
    old = None
    if row is not None:
        if row.status != "rejected" or status == "rejected":
            raise Conflict(
                f"{branch.name}{data.year}年度已{WEAK_STATUSES[row.status]}，不能重复处理",
                extra={"current": snapshot(row)},
            )
        old = snapshot(row)
        touch(row)
    else:
        row = WeakListing(branch_id=branch.id or 0, year=data.year, region_path=branch.region_path)
    row.status = status
    row.signs = [s.model_dump() for s in signs]
    row.reason = data.reason
    row.confirmed_by_id = actor.id
    row.confirmed_at = utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="weak.list" if status == "listed" else "weak.reject",
        entity_type="weak_listing",
        entity_id=row.id,
        old=old,
        new=snapshot(row) | {"branch": branch.code, "year": row.year, "signs": row.signs},
        reason=data.reason,
    )
    if status == "listed":
        for a in open_assessments(session, row):
            apply_weak_cap(session, a, actor=actor)
    return row


def confirm(session: Session, *, scope: Scope, actor: audit.Actor, data: WeakDecision) -> WeakListing:
    """Lists a suggested branch (its signs are recomputed and stored)."""
    return _decide(session, scope=scope, actor=actor, data=data, status="listed", manual=False)


def reject(session: Session, *, scope: Scope, actor: audit.Actor, data: WeakDecision) -> WeakListing:
    """Rejects a suggestion with a reason (it is not suggested again for that year)."""
    return _decide(session, scope=scope, actor=actor, data=data, status="rejected", manual=False)


def list_manually(session: Session, *, scope: Scope, actor: audit.Actor, data: WeakDecision) -> WeakListing:
    """Lists a branch by decision of the county, with a reason (signs the data cannot show)."""
    return _decide(session, scope=scope, actor=actor, data=data, status="listed", manual=True)


def open_assessments(session: Session, listing: WeakListing) -> list[Assessment]:
    """The branch's assessments from the listing's year on that are not final yet."""
    stmt = select(Assessment).where(
        Assessment.branch_id == listing.branch_id,
        Assessment.year >= listing.year,
        Assessment.status != "final",
    )
    return list(session.exec(stmt))
