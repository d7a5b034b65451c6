"""Mid-year changes of a final star (摘星/降星) after an event: the new value replaces
assessment.final_stars, so every ranking, report and API answer that reads final stars follows."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app import clock
from app.assessments.models import Assessment, Evidence
from app.audit import service as audit
from app.auth.scope import Scope
from app.dynamic.common import branch_in_scope, branch_refs, check_version, ref_of, touch
from app.dynamic.labels import STAR_CHANGE_EVENTS
from app.dynamic.models import StarChange
from app.dynamic.schemas import StarChangeCreate, StarChangePublic
from app.errors import Conflict, ValidationFailed
from app.labels import STARS
from app.regions.paths import in_subtree


def changes(session: Session, *, region_path: str, year: int | None = None) -> list[StarChangePublic]:
    """Star changes under a path (of one assessment year, if given), newest first."""
    stmt = (
        select(StarChange, Assessment)
        .join(Assessment, col(Assessment.id) == StarChange.assessment_id)
        .where(in_subtree(col(Assessment.region_path), region_path))
    )
    if year is not None:
        stmt = stmt.where(Assessment.year == year)
    rows = list(session.exec(stmt.order_by(col(StarChange.occurred_on).desc(), col(StarChange.id).desc())))
    refs = branch_refs(session, {a.branch_id for _, a in rows})
    return [
        StarChangePublic(
            id=c.id or 0,
            branch=refs[a.branch_id],
            year=a.year,
            assessment_id=a.id or 0,
            event=c.event,
            occurred_on=c.occurred_on,
            reason=c.reason,
            document_number=c.document_number,
            evidence_id=c.evidence_id,
            stars_before=c.stars_before,
            stars_after=c.stars_after,
            created_at=c.created_at,
        )
        for c, a in rows
    ]


def change_stars(session: Session, *, scope: Scope, actor: audit.Actor, data: StarChangeCreate) -> StarChange:
    """Withdraws or lowers a final star (0 = 摘星) with the event, reason and document; audited."""
    branch = branch_in_scope(session, scope=scope, code=data.branch)
    a = session.exec(
        select(Assessment).where(Assessment.branch_id == branch.id, Assessment.year == data.year)
    ).first()
    if a is None or a.status != "final" or a.final_stars is None:
        raise ValidationFailed(
            f"{branch.name}{data.year}年度尚未认定星级，不能摘星或降星",
            field_errors={"year": "该年度星级尚未认定"},
        )
    current = {"final_stars": a.final_stars, "version": a.version}
    check_version(a, data.version, what="评定记录", current=current)
    if a.final_stars == 0:
        raise Conflict(f"{branch.name}{data.year}年度已被摘星")
    errors: dict[str, str] = {}
    if data.stars_after >= a.final_stars:
        errors["stars_after"] = f"调整后星级须低于当前的{STARS[a.final_stars]}"
    if data.occurred_on > clock.today():
        errors["occurred_on"] = "发生日期不能晚于今天"
    if data.evidence_id is not None:
        ev = session.get(Evidence, data.evidence_id)
        if ev is None or ev.deleted_at is not None or ev.assessment_id != a.id:
            errors["evidence_id"] = "佐证材料须为该支部本年度评定下的材料"
    if errors:
        raise ValidationFailed("星级调整信息有误", field_errors=errors)
    change = StarChange(
        assessment_id=a.id or 0,
        event=data.event,
        occurred_on=data.occurred_on,
        reason=data.reason,
        document_number=data.document_number,
        evidence_id=data.evidence_id,
        stars_before=a.final_stars,
        stars_after=data.stars_after,
        created_by_id=actor.id,
    )
    session.add(change)
    old_stars = a.final_stars
    a.final_stars = data.stars_after
    touch(a)
    session.add(a)
    session.flush()
    verb = "摘星" if data.stars_after == 0 else "降星"
    audit.record(
        session,
        actor=actor,
        action="assessment.star_change",
        entity_type="assessment",
        entity_id=a.id,
        old={"final_stars": old_stars},
        new={
            "final_stars": a.final_stars,
            "star_change_id": change.id,
            "event": data.event,
            "document_number": data.document_number,
        },
        reason=f"{verb}（{STAR_CHANGE_EVENTS[data.event]}）：{data.reason}",
        assessment_id=a.id,
    )
    return change


def target(session: Session, *, scope: Scope, code: str, year: int) -> dict[str, Any]:
    """What the withdrawal form needs about one branch and year: its final stars, the version to base
    the change on, and the evidence files of that assessment (404 outside the scope)."""
    branch = branch_in_scope(session, scope=scope, code=code)
    a = session.exec(
        select(Assessment).where(Assessment.branch_id == branch.id, Assessment.year == year)
    ).first()
    evidence = []
    if a is not None:
        evidence = [
            {"id": e.id, "filename": e.filename}
            for e in session.exec(
                select(Evidence)
                .where(Evidence.assessment_id == a.id, col(Evidence.deleted_at).is_(None))
                .order_by(col(Evidence.id))
            )
        ]
    final = a is not None and a.status == "final" and a.final_stars is not None
    return {
        "branch": ref_of(branch),
        "year": year,
        "assessment_id": a.id if a else None,
        "final_stars": a.final_stars if final and a else None,
        "version": a.version if a else None,
        "final": final,
        "evidence": evidence,
    }
