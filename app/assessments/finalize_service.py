"""The quota preview of a finalization (computed exactly as workflow.finalize_rows will apply it), the
finalization itself and the final stars of a region."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlmodel import Session, col, func, select

from app import clock
from app.assessments import quotas, workflow
from app.assessments import service as assessments_service
from app.assessments.models import Assessment, Objection, Publicity
from app.assessments.review_scope import NOT_IN_SCOPE
from app.audit import service as audit
from app.auth.scope import Scope
from app.branches.models import Branch
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.regions.models import Region
from app.regions.paths import in_subtree


@dataclass
class MovedRow:
    assessment_id: int
    branch_code: str
    branch_name: str
    total: Decimal | None
    before: int
    after: int
    explanation: list[str]


@dataclass
class QuotaGroup:
    """One quota group: a criteria set within its quota scope (county, township or city)."""

    set_title: str
    scope_name: str
    pool: int  # candidates the shares are computed over (incl. already final ones)
    members: int  # to be finalized now
    before: dict[int, int] = field(default_factory=dict)
    after: dict[int, int] = field(default_factory=dict)
    moved: list[MovedRow] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)


@dataclass
class FinalizePreview:
    region: Region
    year: int
    count: int
    groups: list[QuotaGroup]
    decisions: dict[int, int]  # assessment id → stars finalize will write
    blockers: list[str]
    fingerprint: str


def finalize_preview(session: Session, *, scope: Scope, region: Region, year: int) -> FinalizePreview:
    """What workflow.finalize would write for a region and year, with the quota moves, without writing."""
    if not scope.contains_path(region.path):
        raise NotFound("区域" + NOT_IN_SCOPE)
    rows = list(
        session.exec(
            select(Assessment)
            .where(
                Assessment.year == year,
                Assessment.status == "publicized",
                in_subtree(col(Assessment.region_path), region.path),
            )
            .order_by(col(Assessment.id))
        ).all()
    )
    out: list[QuotaGroup] = []
    decisions: dict[int, int] = {}
    seen: list[tuple[int, int]] = []
    for outcome in quotas.outcomes(session, rows):
        cs = outcome.cs
        member_ids = {m.id for m in outcome.members}
        scope_region = session.exec(select(Region).where(Region.path == outcome.prefix)).first()
        group = QuotaGroup(
            set_title=outcome.record.title,
            scope_name=scope_region.name if scope_region else outcome.prefix,
            pool=len(outcome.pool),
            members=len(outcome.members),
            rules=[
                _rule_text(r.stars, r.max_share, r.min_share) for r in (cs.quotas.rules if cs.quotas else ())
            ],
        )
        for a, b in outcome.pool:
            seen.append((a.id or 0, a.version))
            if a.id not in member_ids:
                continue
            d = outcome.decisions[b.code]
            decisions[a.id or 0] = d.stars
            group.before[d.before] = group.before.get(d.before, 0) + 1
            group.after[d.stars] = group.after.get(d.stars, 0) + 1
            if d.changed:
                group.moved.append(
                    MovedRow(a.id or 0, b.code, b.name, a.total, d.before, d.stars, list(d.explanation))
                )
        out.append(group)
    blockers = _blockers(session, rows)
    digest = hashlib.sha256(repr(sorted(seen)).encode()).hexdigest()[:16]
    return FinalizePreview(region, year, len(rows), out, decisions, blockers, digest)


def _rule_text(stars: int, max_share: Decimal | None, min_share: Decimal | None) -> str:
    from app.scoring.explain import pct, stars_label

    if max_share is not None:
        return f"{stars_label(stars)}不超过 {pct(max_share)}"
    return f"{stars_label(stars)}及以下不低于 {pct(min_share or Decimal(0))}"


def _blockers(session: Session, rows: list[Assessment]) -> list[str]:
    """Why workflow.finalize would refuse (unless forced): open windows, pending objections."""
    out = []
    pub_ids = {a.publicity_id for a in rows if a.publicity_id}
    today = clock.today()
    for pub in session.exec(select(Publicity).where(col(Publicity.id).in_(pub_ids))).all():
        if pub.ends_on >= today:
            out.append(f"公示“{pub.title}”期限至 {pub.ends_on.isoformat()}，公示期满后才能认定")
    pending = session.exec(
        select(func.count())
        .select_from(Objection)
        .where(col(Objection.assessment_id).in_([a.id for a in rows]), Objection.status == "pending")
    ).one()
    if pending:
        out.append(f"尚有 {pending} 件异议未处理")
    return out


def finalize(
    session: Session,
    *,
    actor: assessments_service.Actor,
    region: Region,
    year: int,
    fingerprint: str,
    force: bool = False,
    force_reason: str = "",
) -> int:
    """Finalizes what the preview showed (409 if the data changed since); closes finished notices.

    Forcing (despite an open window or pending objections) is for administrators only, with a reason
    that is audited on the region."""
    preview = finalize_preview(session, scope=actor.scope, region=region, year=year)
    if preview.fingerprint != fingerprint:
        raise Conflict("预览之后评定数据已有变化，请重新预览后再认定")
    if force:
        if actor.role != "admin":
            raise Forbidden("只有系统管理员可以强制认定")
        if not force_reason.strip():
            raise ValidationFailed(
                "强制认定须写明理由", field_errors={"force_reason": "请填写强制认定的理由"}
            )
        audit.record(
            session,
            actor=actor.audit,
            action="finalize.force",
            entity_type="region",
            entity_id=region.code,
            new={"year": year, "blockers": preview.blockers, "assessments": preview.count},
            reason=force_reason.strip()[:1000],
        )
    pub_ids = {a.publicity_id for a in _publicized(session, region=region, year=year) if a.publicity_id}
    n = workflow.finalize(session, actor=actor, region=region, year=year, force=force)
    session.flush()
    for pub in session.exec(select(Publicity).where(col(Publicity.id).in_(pub_ids))).all():
        left = session.exec(
            select(func.count())
            .select_from(Assessment)
            .where(Assessment.publicity_id == pub.id, Assessment.status == "publicized")
        ).one()
        if not left and pub.status != "closed":
            pub.status = "closed"
            session.add(pub)
            audit.record(
                session,
                actor=actor.audit,
                action="publicity.close",
                entity_type="publicity",
                entity_id=pub.id,
                old={"status": "open"},
                new={"status": "closed"},
                reason="公示范围内的评定均已认定",
            )
    return n


def _publicized(session: Session, *, region: Region, year: int) -> list[Assessment]:
    return list(
        session.exec(
            select(Assessment).where(
                Assessment.year == year,
                Assessment.status == "publicized",
                in_subtree(col(Assessment.region_path), region.path),
            )
        ).all()
    )


def finals(session: Session, *, region: Region, year: int) -> list[tuple[Assessment, Branch]]:
    """The final assessments of a region and year, by final stars then branch code."""
    pairs = list(
        session.exec(
            select(Assessment, Branch)
            .join(Branch, col(Branch.id) == Assessment.branch_id)
            .where(
                Assessment.year == year,
                Assessment.status == "final",
                in_subtree(col(Assessment.region_path), region.path),
            )
        ).all()
    )
    pairs.sort(key=lambda ab: (-(ab[0].final_stars or 0), ab[1].code))
    return pairs


def star_counts(pairs: list[tuple[Assessment, Branch]]) -> dict[int, int]:
    return dict(Counter(a.final_stars or 0 for a, _ in pairs))
