"""The assessment workflow: self_submitted → scoring → submitted → reviewed → publicized → final,
with returns, objections and audited reopens. Each transition checks role, scope and state."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select

from app import clock
from app.assessments import quotas, scoring
from app.assessments.models import Assessment, Evidence, Objection, Publicity
from app.assessments.service import LOCKED, Actor, lock, transition_record
from app.audit import service as audit
from app.auth.roles import Perm
from app.criteria.models import CriteriaSetRecord
from app.db_types import utcnow
from app.errors import Conflict, Forbidden, ValidationFailed
from app.labels import ASSESSMENT_STATUSES
from app.regions.models import Region
from app.regions.paths import in_subtree


def _need(actor: Actor, perm: Perm, message: str) -> None:
    if not actor.can(perm):
        raise Forbidden(message)


def _state(a: Assessment, allowed: set[str], action: str) -> None:
    if a.status not in allowed:
        raise Conflict(f"当前状态为“{ASSESSMENT_STATUSES[a.status]}”，不能{action}")


def _version(a: Assessment, version: int | None) -> None:
    if version is not None and version != a.version:
        raise Conflict("评定记录已被他人修改，请刷新后再操作")


def self_submit(session: Session, *, actor: Actor, a: Assessment, version: int | None = None) -> None:
    """The branch secretary submits the self-assessment."""
    if not actor.can(Perm.SELF_ASSESS) or actor.scope.branch_id != a.branch_id:
        raise Forbidden("只有本支部书记可以提交自评")
    lock(session, a)
    _state(a, {"draft"}, "提交自评")
    _version(a, version)
    transition_record(session, actor, a, "self_submitted", reason=None)


def submission_problems(session: Session, a: Assessment) -> list[str]:
    """What blocks an inspector's submission: unscored items, missing evidence, invalid entries."""
    cs = scoring.criteria_of(session, a)
    result = scoring.result_of(session, a, cs)
    problems = []
    names = {leaf.item.code: leaf.item.name for leaf in cs.items()}
    if cs.appraisal is not None:
        names["appraisal"] = cs.appraisal.name
    for code in result.missing:
        problems.append(f"“{names.get(code, code)}”尚未评分")
    for code, item in result.items.items():
        for p in item.problems:
            problems.append(f"“{names.get(code, code)}”：{p}")
    with_evidence = set(
        session.exec(
            select(Evidence.item_code).where(
                Evidence.assessment_id == a.id, col(Evidence.deleted_at).is_(None)
            )
        )
    )
    for leaf in cs.items():
        if (
            scoring.needs_evidence(leaf, result.items.get(leaf.item.code))
            and leaf.item.code not in with_evidence
        ):
            problems.append(f"“{leaf.item.name}”须上传佐证材料")
    problems.extend(result.problems)
    return problems


def submit(session: Session, *, actor: Actor, a: Assessment, version: int | None = None) -> None:
    """The inspector submits a complete scoring for review."""
    _need(actor, Perm.SCORE, "只有评审员可以提交考评")
    lock(session, a)
    _state(a, {"scoring", "returned"}, "提交考评")
    _version(a, version)
    problems = submission_problems(session, a)
    if problems:
        raise ValidationFailed(
            "考评尚不完整，不能提交",
            extra={"problems": problems},
            field_errors={"submit": "；".join(problems[:10])},
        )
    a.submitted_at = utcnow()
    a.returned_reason = None
    transition_record(session, actor, a, "submitted", reason=None)


def return_to_inspector(
    session: Session, *, actor: Actor, a: Assessment, reason: str, version: int | None = None
) -> None:
    """County staff return a submitted scoring with a reason."""
    _need(actor, Perm.REVIEW, "只有县委组织部可以退回")
    _state(a, {"submitted"}, "退回")
    _version(a, version)
    if not reason.strip() or len(reason) > 1000:
        raise ValidationFailed("退回须写明理由（不超过 1000 字）", field_errors={"reason": "请填写退回理由"})
    a.returned_reason = reason.strip()
    transition_record(session, actor, a, "returned", reason=reason.strip())


def approve(session: Session, *, actor: Actor, a: Assessment, version: int | None = None) -> None:
    """County staff approve a submitted scoring; from now on its scores are locked."""
    _need(actor, Perm.REVIEW, "只有县委组织部可以审核")
    _state(a, {"submitted"}, "审核通过")
    _version(a, version)
    a.reviewed_at = utcnow()
    transition_record(session, actor, a, "reviewed", reason=None)


def reopen(session: Session, *, actor: Actor, a: Assessment, reason: str, version: int | None = None) -> None:
    """County staff reopen a locked assessment for rescoring; recorded with a reason."""
    _need(actor, Perm.REVIEW, "只有县委组织部可以重新打开")
    _state(a, set(LOCKED) | {"submitted"}, "重新打开")
    _version(a, version)
    if not reason.strip():
        raise ValidationFailed("重新打开须写明理由", field_errors={"reason": "请填写理由"})
    a.final_stars = None
    a.finalized_at = None
    a.quota_explanation = []
    transition_record(session, actor, a, "scoring", reason=reason.strip())


def open_publicity(
    session: Session,
    *,
    actor: Actor,
    region: Region,
    year: int,
    title: str,
    contact: str,
    starts_on: date,
    days: int = 5,
) -> tuple[Publicity, int]:
    """Opens a 公示 for the reviewed assessments of a scope; returns it and how many it covers."""
    _need(actor, Perm.REVIEW, "只有县委组织部可以发布公示")
    if not actor.scope.contains_path(region.path):
        raise Forbidden("不能对管辖范围以外的区域发布公示")
    errors = {}
    if not title.strip() or len(title) > 200:
        errors["title"] = "请填写公示标题（不超过 200 字）"
    if not contact.strip() or len(contact) > 500:
        errors["contact"] = "请填写异议受理方式（电话、地址等）"
    if not 1 <= days <= 30:
        errors["days"] = "公示期须为 1–30 天"
    if errors:
        raise ValidationFailed("公示信息有误", field_errors=errors)
    rows = list(
        session.exec(
            select(Assessment).where(
                Assessment.year == year,
                Assessment.status == "reviewed",
                in_subtree(col(Assessment.region_path), region.path),
            )
        )
    )
    if not rows:
        raise ValidationFailed("该范围内没有已审核的评定，无法发布公示")
    pub = Publicity(
        year=year,
        region_id=region.id or 0,
        title=title.strip(),
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=days - 1),
        contact=contact.strip(),
        created_by_id=actor.user_id,
    )
    session.add(pub)
    session.flush()
    for a in rows:
        a.publicity_id = pub.id
        transition_record(session, actor, a, "publicized", reason=f"公示：{pub.title}")
    return pub, len(rows)


def record_objection(
    session: Session, *, actor: Actor, a: Assessment, content: str, submitter: str | None, received_on: date
) -> Objection:
    """Records an objection received during the publicity window."""
    _need(actor, Perm.REVIEW, "只有县委组织部可以登记异议")
    _state(a, {"publicized"}, "登记异议")
    if not content.strip() or len(content) > 4000:
        raise ValidationFailed("请填写异议内容（不超过 4000 字）", field_errors={"content": "请填写异议内容"})
    obj = Objection(
        publicity_id=a.publicity_id or 0,
        assessment_id=a.id or 0,
        received_on=received_on,
        submitter=(submitter or "").strip()[:64] or None,
        content=content.strip(),
    )
    session.add(obj)
    session.flush()
    from app.audit import service as audit

    audit.record(
        session,
        actor=actor.audit,
        action="objection.record",
        entity_type="assessment",
        entity_id=a.id,
        assessment_id=a.id,
        new={"objection": obj.id, "content": obj.content},
    )
    return obj


def resolve_objection(
    session: Session, *, actor: Actor, objection: Objection, upheld: bool, resolution: str
) -> None:
    """Resolves an objection: upheld sends the assessment back to review; dismissed keeps it."""
    _need(actor, Perm.REVIEW, "只有县委组织部可以处理异议")
    if objection.status != "pending":
        raise Conflict("该异议已处理")
    if not resolution.strip():
        raise ValidationFailed("请填写处理意见", field_errors={"resolution": "请填写处理意见"})
    objection.status = "upheld" if upheld else "dismissed"
    objection.resolution = resolution.strip()
    objection.resolved_by_id = actor.user_id
    objection.resolved_at = utcnow()
    session.add(objection)
    a = session.get(Assessment, objection.assessment_id)
    assert a is not None
    if upheld and a.status == "publicized":
        transition_record(session, actor, a, "submitted", reason=f"异议成立：{resolution.strip()}")
    from app.audit import service as audit

    audit.record(
        session,
        actor=actor.audit,
        action="objection.resolve",
        entity_type="assessment",
        entity_id=a.id,
        assessment_id=a.id,
        new={"objection": objection.id, "status": objection.status},
        reason=resolution.strip(),
    )


def finalize(session: Session, *, actor: Actor, region: Region, year: int, force: bool = False) -> int:
    """Finalizes the publicized assessments of a scope: applies the quotas per quota scope and freezes
    the stars. Refuses while a publicity window is open or objections are pending (unless forced)."""
    _need(actor, Perm.REVIEW, "只有县委组织部可以认定星级")
    if not actor.scope.contains_path(region.path):
        raise Forbidden("不能认定管辖范围以外的评定")
    rows = list(
        session.exec(
            select(Assessment).where(
                Assessment.year == year,
                Assessment.status == "publicized",
                in_subtree(col(Assessment.region_path), region.path),
            )
        )
    )
    if not rows:
        raise ValidationFailed("该范围内没有公示中的评定")
    pub_ids = {a.publicity_id for a in rows if a.publicity_id}
    today = clock.today()
    if not force:
        for pub in session.exec(select(Publicity).where(col(Publicity.id).in_(pub_ids))):
            if pub.ends_on >= today:
                raise Conflict(f"公示“{pub.title}”期限至 {pub.ends_on.isoformat()}，公示期满后才能认定")
        pending = session.exec(
            select(Objection).where(
                col(Objection.assessment_id).in_([a.id for a in rows]), Objection.status == "pending"
            )
        ).first()
        if pending is not None:
            raise Conflict("尚有未处理的异议，处理完毕后才能认定")
    finalize_rows(session, actor=actor, rows=rows)
    return len(rows)


def quota_group_key(cs_record: CriteriaSetRecord, quota_scope: str, region_path: str) -> tuple[int, str]:
    """Quotas apply per criteria set within the set's quota scope (see app.assessments.quotas)."""
    return quotas.group_key(cs_record, quota_scope, region_path)


def apply_weak_cap(session: Session, a: Assessment, *, actor: audit.Actor) -> bool:
    from app.dynamic.weak_cap import apply_weak_cap as _apply

    return _apply(session, a, actor=actor)


def finalize_rows(session: Session, *, actor: Actor, rows: list[Assessment]) -> None:
    """Applies quotas and freezes stars for these assessments (grouped by set and quota scope; the
    pool is every publicized or final assessment of the group, see app.assessments.quotas)."""
    for group in quotas.outcomes(session, rows):
        codes = {a.id: b.code for a, b in group.pool}
        for p in group.members:
            d = group.decisions[codes[p.id]]
            p.final_stars = d.stars
            p.quota_explanation = list(d.explanation)
            apply_weak_cap(session, p, actor=actor.audit)
            p.finalized_at = utcnow()
            transition_record(session, actor, p, "final", reason="认定星级")
