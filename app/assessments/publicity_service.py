"""Publicity notices (公示) of reviewed assessments and the objections received during their window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, func, select

from app import clock
from app.assessments import service as assessments_service
from app.assessments import workflow
from app.assessments.models import Assessment, Objection, Publicity
from app.assessments.review_scope import NOT_IN_SCOPE
from app.auth.scope import Scope
from app.branches.models import Branch
from app.errors import NotFound, ValidationFailed
from app.regions.models import Region


@dataclass(frozen=True)
class PublicityRow:
    publicity: Publicity
    region: Region
    covered: int
    pending: int
    state: str


PUBLICITY_STATES = {"upcoming": "未开始", "open": "公示中", "ended": "公示期满", "closed": "已结束"}


def publicity_state(pub: Publicity, today: date | None = None) -> str:
    """upcoming / open / ended (window over, not yet closed) / closed (all finalized)."""
    today = today or clock.today()
    if pub.status == "closed":
        return "closed"
    if today < pub.starts_on:
        return "upcoming"
    return "open" if today <= pub.ends_on else "ended"


def publicity_list(session: Session, *, scope: Scope, year: int) -> list[PublicityRow]:
    """The publicity notices of a year whose region is in the scope, newest first."""
    pubs = list(
        session.exec(
            select(Publicity, Region)
            .join(Region, col(Region.id) == Publicity.region_id)
            .where(Publicity.year == year, scope.filter(col(Region.path)))
            .order_by(col(Publicity.id).desc())
        ).all()
    )
    ids = [p.id for p, _ in pubs]
    if not ids:
        return []
    covered = dict(
        session.exec(
            select(Assessment.publicity_id, func.count())
            .where(col(Assessment.publicity_id).in_(ids))
            .group_by(col(Assessment.publicity_id))
        ).all()
    )
    pending = dict(
        session.exec(
            select(Objection.publicity_id, func.count())
            .where(col(Objection.publicity_id).in_(ids), Objection.status == "pending")
            .group_by(col(Objection.publicity_id))
        ).all()
    )
    return [
        PublicityRow(p, r, covered.get(p.id or 0, 0), pending.get(p.id or 0, 0), publicity_state(p))
        for p, r in pubs
    ]


def get_publicity(session: Session, *, scope: Scope, publicity_id: int) -> tuple[Publicity, Region]:
    """A publicity notice whose region is in the scope (404 otherwise)."""
    pub = session.get(Publicity, publicity_id)
    region = session.get(Region, pub.region_id) if pub else None
    if pub is None or region is None or not scope.contains_path(region.path):
        raise NotFound("公示" + NOT_IN_SCOPE)
    return pub, region


def default_title(region: Region, year: int) -> str:
    return f"{region.name}{year}年度星级党支部评定结果公示"


def publicity_entries(session: Session, *, publicity: Publicity) -> list[tuple[Assessment, Branch]]:
    """The assessments a notice covers, by proposed stars (highest first), then branch code."""
    pairs = list(
        session.exec(
            select(Assessment, Branch)
            .join(Branch, col(Branch.id) == Assessment.branch_id)
            .where(Assessment.publicity_id == publicity.id)
        ).all()
    )
    pairs.sort(
        key=lambda ab: (
            -(ab[0].final_stars if ab[0].final_stars is not None else ab[0].stars or 0),
            ab[1].code,
        )
    )
    return pairs


def objections_of(session: Session, *, publicity: Publicity) -> list[tuple[Objection, Branch]]:
    """The objections received for a notice, oldest first."""
    return list(
        session.exec(
            select(Objection, Branch)
            .join(Assessment, col(Assessment.id) == Objection.assessment_id)
            .join(Branch, col(Branch.id) == Assessment.branch_id)
            .where(Objection.publicity_id == publicity.id)
            .order_by(col(Objection.id))
        ).all()
    )


def record_objection(
    session: Session,
    *,
    actor: assessments_service.Actor,
    publicity: Publicity,
    assessment_id: int,
    received_on: date,
    submitter: str | None,
    content: str,
) -> Objection:
    """Records an objection to one assessment of a notice, received inside its window."""
    a = assessments_service.get(session, assessment_id=assessment_id, scope=actor.scope)
    if a.publicity_id != publicity.id:
        raise ValidationFailed(
            "该支部不在本次公示名单中", field_errors={"assessment_id": "请选择本次公示的支部"}
        )
    if not publicity.starts_on <= received_on <= min(publicity.ends_on, clock.today()):
        raise ValidationFailed(
            "收到日期须在公示期内且不晚于今天",
            field_errors={
                "received_on": f"须在 {publicity.starts_on.isoformat()} 至 {publicity.ends_on.isoformat()} 之间"
            },
        )
    return workflow.record_objection(
        session, actor=actor, a=a, content=content, submitter=submitter, received_on=received_on
    )


def get_objection(session: Session, *, publicity: Publicity, objection_id: int) -> Objection:
    obj = session.get(Objection, objection_id)
    if obj is None or obj.publicity_id != publicity.id:
        raise NotFound("异议" + NOT_IN_SCOPE)
    return obj
