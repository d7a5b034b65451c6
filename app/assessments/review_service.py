"""County review: the review queue, bulk approval, publicity notices with their objections, and the
quota preview of a finalization (computed exactly as workflow.finalize_rows will apply it)."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session, col, func, or_, select

from app.assessments import quotas, scoring, workflow
from app.assessments import service as assessments_service
from app.assessments.models import Assessment, Objection, Publicity
from app.audit import service as audit
from app.auth.models import User
from app.auth.scope import Scope
from app.branches import schemas as branches_schemas
from app.branches.models import Branch
from app.criteria.models import CriteriaSetRecord
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.labels import ASSESSMENT_STATUSES
from app.regions.models import Region

Status = Literal[
    "draft", "self_submitted", "scoring", "submitted", "returned", "reviewed", "publicized", "final"
]
# The funnel at the top of the queue: (stage, statuses counted in it). 未开始 includes 已自评.
FUNNEL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("draft", ("draft", "self_submitted")),
    ("scoring", ("scoring",)),
    ("submitted", ("submitted",)),
    ("returned", ("returned",)),
    ("reviewed", ("reviewed",)),
    ("publicized", ("publicized",)),
    ("final", ("final",)),
)
NOT_IN_SCOPE = "不存在或不在您的管辖范围内"


class QueueFilters(BaseModel):
    """Filters of the review queue (page, fragment and JSON share them). Absent status = 已提交."""

    year: int = Field(default_factory=lambda: date.today().year, ge=2000, le=2100)
    status: Status | Literal["all"] = "submitted"
    region: str | None = Field(default=None, pattern=r"^\d{2,12}$")
    sector: branches_schemas.Sector | None = None
    q: str | None = Field(default=None, max_length=64)

    @model_validator(mode="before")
    @classmethod
    def _blank(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
            if "q" in data and isinstance(data["q"], str):
                data["q"] = data["q"].strip()
        return data


class QueueRow(BaseModel):
    """One assessment as the review queue shows it (also its JSON shape)."""

    id: int
    version: int
    status: str
    status_label: str
    branch_code: str
    branch_name: str
    sector: str
    township_code: str | None
    township_name: str | None
    inspector: str | None
    submitted_at: datetime | None
    total: Decimal | None
    band_stars: int | None
    stars: int | None
    final_stars: int | None
    self_total: Decimal | None
    gap: Decimal | None  # inspector total minus self total
    vetoed: bool
    designated: bool
    items_scored: int
    items_total: int


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    per_page: int
    counts: dict[str, int]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def region_in_scope(session: Session, *, scope: Scope, code: str) -> Region:
    """A region by code inside the scope (404 otherwise)."""
    region = session.exec(select(Region).where(Region.code == code)).first()
    if region is None or not scope.contains_path(region.path):
        raise NotFound("区域" + NOT_IN_SCOPE)
    return region


def _township_code(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return parts[3] if len(parts) >= 4 else None


def _filtered(stmt: Any, *, scope: Scope, filters: QueueFilters, region_path: str | None) -> Any:
    stmt = stmt.where(Assessment.year == filters.year, scope.filter(col(Assessment.region_path)))
    if scope.branch_id is not None:
        stmt = stmt.where(Assessment.branch_id == scope.branch_id)
    if region_path:
        stmt = stmt.where(col(Assessment.region_path).startswith(region_path, autoescape=True))
    if filters.sector:
        stmt = stmt.where(Assessment.sector == filters.sector)
    if filters.q:
        stmt = stmt.where(
            or_(
                col(Branch.name).contains(filters.q, autoescape=True),
                col(Branch.code).contains(filters.q, autoescape=True),
            )
        )
    return stmt


def queue(
    session: Session, *, scope: Scope, filters: QueueFilters, page: int = 1, per_page: int = 50
) -> QueuePage:
    """The assessments of a year in the scope with filters, one page at a time, and counts per status."""
    region_path = region_in_scope(session, scope=scope, code=filters.region).path if filters.region else None
    joined = select(Assessment.status, func.count()).join(Branch, col(Branch.id) == Assessment.branch_id)
    count_stmt = _filtered(joined, scope=scope, filters=filters, region_path=region_path)
    by_status: dict[str, int] = dict(session.exec(count_stmt.group_by(Assessment.status)).all())
    counts = {stage: sum(by_status.get(s, 0) for s in members) for stage, members in FUNNEL}
    counts["self_submitted"] = by_status.get("self_submitted", 0)
    counts["all"] = sum(by_status.values())
    total = counts["all"] if filters.status == "all" else by_status.get(filters.status, 0)
    stmt = _filtered(
        select(Assessment, Branch).join(Branch, col(Branch.id) == Assessment.branch_id),
        scope=scope,
        filters=filters,
        region_path=region_path,
    )
    if filters.status != "all":
        stmt = stmt.where(Assessment.status == filters.status)
    stmt = stmt.order_by(col(Branch.code)).offset((page - 1) * per_page).limit(per_page)
    pairs = list(session.exec(stmt).all())
    return QueuePage(rows=to_rows(session, pairs), total=total, page=page, per_page=per_page, counts=counts)


def to_rows(session: Session, pairs: list[tuple[Assessment, Branch]]) -> list[QueueRow]:
    """Queue rows with township and inspector names (one query each)."""
    towns = {c for a, _ in pairs if (c := _township_code(a.region_path))}
    names = dict(session.exec(select(Region.code, Region.name).where(col(Region.code).in_(towns))).all())
    ids = {a.inspector_id for a, _ in pairs if a.inspector_id}
    users = dict(session.exec(select(User.id, User.display_name).where(col(User.id).in_(ids))).all())
    rows = []
    for a, b in pairs:
        town = _township_code(a.region_path)
        gap = a.total - a.self_total if a.total is not None and a.self_total is not None else None
        rows.append(
            QueueRow(
                id=a.id or 0,
                version=a.version,
                status=a.status,
                status_label=ASSESSMENT_STATUSES[a.status],
                branch_code=b.code,
                branch_name=b.name,
                sector=a.sector,
                township_code=town,
                township_name=names.get(town) if town else None,
                inspector=users.get(a.inspector_id) if a.inspector_id else None,
                submitted_at=a.submitted_at,
                total=a.total,
                band_stars=a.band_stars,
                stars=a.stars,
                final_stars=a.final_stars,
                self_total=a.self_total,
                gap=gap,
                vetoed=a.vetoed,
                designated=a.designated,
                items_scored=a.items_scored,
                items_total=a.items_total,
            )
        )
    return rows


def approve_many(
    session: Session, *, actor: assessments_service.Actor, picks: list[tuple[int, int]]
) -> list[Assessment]:
    """Approves every picked (id, version) or none: a Conflict lists the ones that cannot be approved."""
    if not picks:
        raise ValidationFailed(
            "请先勾选要审核通过的评定", field_errors={"pick": "请至少勾选一条已提交的评定"}
        )
    rows: list[tuple[Assessment, int]] = []
    problems: list[dict[str, Any]] = []
    for assessment_id, version in picks:
        a = assessments_service.get(session, assessment_id=assessment_id, scope=actor.scope)
        branch = session.get(Branch, a.branch_id)
        name = branch.name if branch else str(a.id)
        if a.status != "submitted":
            problems.append(
                {"id": a.id, "branch_name": name, "message": f"当前状态为“{ASSESSMENT_STATUSES[a.status]}”"}
            )
        elif a.version != version:
            problems.append({"id": a.id, "branch_name": name, "message": "已被他人修改，请刷新后再选"})
        rows.append((a, version))
    if problems:
        raise Conflict(
            f"有 {len(problems)} 条评定不能审核通过，本次一条也未审核",
            extra={"problems": problems},
        )
    for a, version in rows:
        workflow.approve(session, actor=actor, a=a, version=version)
    session.flush()
    return [a for a, _ in rows]


# -- publicity -------------------------------------------------------------------------------------


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
    today = today or date.today()
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


def regions_with_counts(
    session: Session, *, scope: Scope, year: int, status: str
) -> list[tuple[Region, int]]:
    """Counties and townships of the scope with how many assessments of the year are in `status`."""
    paths = session.exec(
        select(Assessment.region_path, func.count())
        .where(
            Assessment.year == year, Assessment.status == status, scope.filter(col(Assessment.region_path))
        )
        .group_by(Assessment.region_path)
    ).all()
    regions = session.exec(
        select(Region)
        .where(scope.filter(col(Region.path)), col(Region.level).in_(("county", "township")))
        .order_by(col(Region.code))
    ).all()
    return [(r, sum(n for p, n in paths if p.startswith(r.path))) for r in regions]


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
    if not publicity.starts_on <= received_on <= min(publicity.ends_on, date.today()):
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


# -- finalize ----------------------------------------------------------------------------------------


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
                col(Assessment.region_path).startswith(region.path, autoescape=True),
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
    today = date.today()
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
                col(Assessment.region_path).startswith(region.path, autoescape=True),
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
                col(Assessment.region_path).startswith(region.path, autoescape=True),
            )
        ).all()
    )
    pairs.sort(key=lambda ab: (-(ab[0].final_stars or 0), ab[1].code))
    return pairs


def star_counts(pairs: list[tuple[Assessment, Branch]]) -> dict[int, int]:
    return dict(Counter(a.final_stars or 0 for a, _ in pairs))


# -- one assessment --------------------------------------------------------------------------------


@dataclass
class ItemView:
    code: str
    name: str
    max: Decimal
    score: Decimal | None
    self_score: Decimal | None
    scored: bool
    deductions: list[Any]
    note: str | None
    evidence: list[Any]
    problems: list[str]
    award: bool = False  # bonus items: their presets add points


@dataclass
class SectionView:
    title: str
    max: Decimal | None
    score: Decimal | None
    self_score: Decimal | None
    items: list[ItemView]


HISTORY_ACTIONS = (
    "assessment.create",
    "assessment.transition",
    "score.extras",
    "objection.record",
    "objection.resolve",
)


def review_detail(session: Session, *, a: Assessment) -> dict[str, Any]:
    """Everything the review page shows of one assessment: scores per category and item next to the
    self-assessment, deductions with reasons, evidence, the engine's explanation, objections, history."""
    from app.assessments.models import Evidence
    from app.scoring import score

    cs = scoring.criteria_of(session, a)
    record = session.get(CriteriaSetRecord, a.criteria_set_id)
    result = scoring.result_of(session, a, cs)
    self_rows = scoring.entry_rows(session, a.id or 0, "self")
    self_result = score(cs, scoring.build_entries(self_rows, None)) if self_rows else None
    notes = {r.item_code: r.note for r in scoring.entry_rows(session, a.id or 0, "inspector")}
    evidence: dict[str | None, list[Evidence]] = defaultdict(list)
    for ev in session.exec(
        select(Evidence)
        .where(Evidence.assessment_id == a.id, col(Evidence.deleted_at).is_(None))
        .order_by(col(Evidence.id))
    ).all():
        evidence[ev.item_code].append(ev)

    def item(code: str, name: str, maximum: Decimal, award: bool = False) -> ItemView:
        res = result.items.get(code)
        mine = self_result.items.get(code) if self_result else None
        return ItemView(
            code=code,
            name=name,
            max=maximum,
            score=res.score if res and res.scored else None,
            self_score=mine.score if mine and mine.scored else None,
            scored=bool(res and res.scored),
            deductions=list(res.deductions) if res else [],
            note=notes.get(code),
            evidence=evidence.get(code, []),
            problems=list(res.problems) if res else [],
            award=award,
        )

    sections: list[SectionView] = []
    for cat, sheet in cs.all_categories():
        cr = result.categories.get(cat.code)
        sr = self_result.categories.get(cat.code) if self_result else None
        title = f"{sheet.name} · {cat.name}" if sheet else cat.name
        rows = [item(i.code, i.name, i.max) for i in cat.items]
        sections.append(SectionView(title, cat.max, cr.score if cr else None, sr.score if sr else None, rows))
    if cs.bonus:
        rows = [item(i.code, i.name, i.max, award=True) for i in cs.bonus.items]
        sections.append(
            SectionView(
                "加分项", cs.bonus.max, result.bonus, self_result.bonus if self_result else None, rows
            )
        )
    if cs.penalties:
        rows = [item(i.code, i.name, Decimal(0)) for i in cs.penalties.items]
        sections.append(
            SectionView("减分项", None, -result.penalty, -self_result.penalty if self_result else None, rows)
        )
    branch = session.get(Branch, a.branch_id)
    town = _township_code(a.region_path)
    township = session.exec(select(Region).where(Region.code == town)).first() if town else None
    inspector = session.get(User, a.inspector_id) if a.inspector_id else None
    objections = list(
        session.exec(
            select(Objection).where(Objection.assessment_id == a.id).order_by(col(Objection.id))
        ).all()
    )
    history = [
        e for e in audit.for_assessment(session, assessment_id=a.id or 0) if e.action in HISTORY_ACTIONS
    ]
    extras = a.extras or {}
    return {
        "a": a,
        "branch": branch,
        "township": township,
        "inspector": inspector.display_name if inspector else None,
        "criteria": record,
        "cs": cs,
        "result": result,
        "self_result": self_result,
        "sections": sections,
        "general_evidence": evidence.get(None, []),
        "vetoes": [(cs.veto(code), reason) for code, reason in (extras.get("vetoes") or {}).items()],
        "prerequisites": [(p, p.code in (extras.get("prerequisites") or [])) for p in cs.prerequisites],
        "designation": extras.get("designation"),
        "objections": objections,
        "history": history,
        "explanation": [s for s in result.explanation if s.kind != "item"],
    }


def save_designation(
    session: Session,
    *,
    actor: assessments_service.Actor,
    a: Assessment,
    version: int,
    designation: dict[str, Any] | None,
) -> None:
    """Sets (or clears) a direct designation through the assessment service, keeping the other extras."""
    from app.assessments.schemas import ExtrasSave

    extras = a.extras or {}
    data = ExtrasSave(
        vetoes=extras.get("vetoes") or {},
        prerequisites=extras.get("prerequisites") or [],
        appraisal=extras.get("appraisal"),
        designation=designation,
        version=version,
    )
    assessments_service.save_extras(session, actor=actor, assessment=a, data=data)
