"""County review: the review queue, bulk approval and one assessment's review view. Publicity notices
live in publicity_service, finalization in finalize_service."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session, col, func, or_, select

from app import clock
from app.assessments import scoring, workflow
from app.assessments import service as assessments_service
from app.assessments.models import Assessment, Objection

# Re-exported (`name as name`): the review pages and other domains (reports) read these from here.
from app.assessments.publicity_service import PUBLICITY_STATES as PUBLICITY_STATES
from app.assessments.publicity_service import PublicityRow as PublicityRow
from app.assessments.publicity_service import get_publicity as get_publicity
from app.assessments.publicity_service import publicity_entries as publicity_entries
from app.assessments.publicity_service import publicity_list as publicity_list
from app.assessments.publicity_service import publicity_state as publicity_state
from app.assessments.review_scope import NOT_IN_SCOPE as NOT_IN_SCOPE
from app.assessments.review_scope import region_in_scope as region_in_scope
from app.assessments.review_scope import regions_with_counts as regions_with_counts
from app.audit import service as audit
from app.auth.models import User
from app.auth.scope import Scope
from app.branches import schemas as branches_schemas
from app.branches.models import Branch
from app.criteria.models import CriteriaSetRecord
from app.errors import Conflict, ValidationFailed
from app.labels import ASSESSMENT_STATUSES
from app.regions.models import Region
from app.regions.paths import in_subtree

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


class QueueFilters(BaseModel):
    """Filters of the review queue (page, fragment and JSON share them). Absent status = 已提交."""

    year: int = Field(default_factory=lambda: clock.this_year(), ge=2000, le=2100)
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


def _township_code(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return parts[3] if len(parts) >= 4 else None


def _filtered(stmt: Any, *, scope: Scope, filters: QueueFilters, region_path: str | None) -> Any:
    stmt = stmt.where(Assessment.year == filters.year, scope.filter(col(Assessment.region_path)))
    if scope.branch_id is not None:
        stmt = stmt.where(Assessment.branch_id == scope.branch_id)
    if region_path:
        stmt = stmt.where(in_subtree(col(Assessment.region_path), region_path))
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
