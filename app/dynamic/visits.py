"""The visit planner: which branches an inspector (their township) or the county should visit first,
and the record of visits.

Priority = 200 for a branch under rectification (软弱涣散, still listed: always first)
         + up to 100 for the time since the last visit (100 at two years; never visited nor scored: 100)
         + 10 per weak item last year (the inspector's score lost at least half of the item's max), at most 50.
The last visit is the latest Visit row; without one, the last inspector save on any of its assessments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, func, select

from app import clock
from app.assessments.models import Assessment, ScoreEntry
from app.audit import service as audit
from app.auth.models import User
from app.auth.scope import Scope
from app.branches.models import Branch
from app.criteria import service as criteria_service
from app.criteria.models import CriteriaSetRecord
from app.dynamic.common import branch_in_scope, branch_refs
from app.dynamic.models import Visit, WeakListing
from app.dynamic.schemas import VisitCreate, VisitPriority, VisitPublic
from app.errors import ValidationFailed
from app.regions.paths import in_subtree
from app.scoring import CriteriaSet, Item

LISTED_POINTS = 200.0
WEAK_ITEM_POINTS = 10.0
WEAK_ITEMS_COUNTED = 5
STALE_DAYS_FULL = 730  # two years without a visit = the full 100 points
WEAK_ITEM_SHARE = Decimal("0.5")
REASON_DAYS = 180  # mention the time since the last visit from half a year on


def _in_path(column: object, region_path: str):  # type: ignore[no-untyped-def]
    return in_subtree(col(column), region_path)  # type: ignore[arg-type]


def _last_visits(session: Session, region_path: str) -> dict[int, date]:
    stmt = (
        select(Visit.branch_id, func.max(Visit.visited_on))
        .join(Branch, col(Branch.id) == Visit.branch_id)
        .where(_in_path(Branch.region_path, region_path))
        .group_by(col(Visit.branch_id))
    )
    return {bid: d for bid, d in session.exec(stmt) if d is not None}


def _last_scoring(session: Session, region_path: str) -> dict[int, date]:
    stmt = (
        select(Assessment.branch_id, func.max(ScoreEntry.updated_at))
        .join(Assessment, col(Assessment.id) == ScoreEntry.assessment_id)
        .where(ScoreEntry.source == "inspector", _in_path(Assessment.region_path, region_path))
        .group_by(col(Assessment.branch_id))
    )
    out = {}
    for bid, at in session.exec(stmt):
        if isinstance(at, datetime):
            out[bid] = clock.local_date(at)
        elif isinstance(at, str):  # SQLite aggregates bypass the column type (the text is naive UTC)
            out[bid] = clock.local_date(datetime.fromisoformat(at))
    return out


def weak_items(session: Session, *, region_path: str, year: int) -> dict[int, list[str]]:
    """{branch_id: ["A1 三会一课（得 2/50 分）", …]} for items that lost ≥ 50 % of their max in `year`."""
    stmt = (
        select(Assessment.branch_id, Assessment.criteria_set_id, ScoreEntry.item_code, col(ScoreEntry.score))
        .join(ScoreEntry, col(ScoreEntry.assessment_id) == Assessment.id)
        .where(
            Assessment.year == year,
            ScoreEntry.source == "inspector",
            col(ScoreEntry.score).is_not(None),
            _in_path(Assessment.region_path, region_path),
        )
        .order_by(col(Assessment.branch_id), col(ScoreEntry.item_code))
    )
    out: dict[int, list[str]] = {}
    sets: dict[int, CriteriaSet | None] = {}
    for branch_id, set_id, item_code, got in session.exec(stmt):
        if set_id not in sets:
            record = session.get(CriteriaSetRecord, set_id)
            sets[set_id] = criteria_service.parsed(record) if record else None
        cs = sets[set_id]
        leaf = cs.find_item(item_code) if cs else None
        if leaf is None or leaf.section != "category" or not isinstance(leaf.item, Item):
            continue
        top = leaf.item.max
        got = got or Decimal(0)
        if top > 0 and top - got >= top * WEAK_ITEM_SHARE:
            text = f"{leaf.item.code} {leaf.item.name}（得 {got.normalize():f}/{top.normalize():f} 分）"
            out.setdefault(branch_id, []).append(text)
    return out


def visit_priorities(
    session: Session, *, scope: Scope, year: int, today: date | None = None
) -> list[VisitPriority]:
    """Active branches in the scope ranked by visit priority (highest first), each with its reasons."""
    today = today or clock.today()
    path = scope.region_path
    stmt = select(Branch).where(_in_path(Branch.region_path, path), Branch.status == "active")
    if scope.branch_id is not None:
        stmt = stmt.where(Branch.id == scope.branch_id)
    branches = list(session.exec(stmt))
    listed = {
        w.branch_id: w
        for w in session.exec(
            select(WeakListing).where(
                _in_path(WeakListing.region_path, path),
                WeakListing.status == "listed",
                WeakListing.year <= year,
            )
        )
    }
    visits = _last_visits(session, path)
    scored = _last_scoring(session, path)
    weak = weak_items(session, region_path=path, year=year - 1)
    refs = branch_refs(session, {b.id or 0 for b in branches})
    out = []
    for b in branches:
        bid = b.id or 0
        score = 0.0
        reasons: list[str] = []
        if bid in listed:
            w = listed[bid]
            score += LISTED_POINTS
            reasons.append(f"列入{w.year}年度软弱涣散整顿名单，整顿中")
        items = weak.get(bid, [])
        if items:
            score += WEAK_ITEM_POINTS * min(len(items), WEAK_ITEMS_COUNTED)
            reasons.append(f"{year - 1}年度有 {len(items)} 项指标失分过半：" + "；".join(items[:5]))
        last, source = (visits[bid], "visit") if bid in visits else (scored.get(bid), "scoring")
        days = (today - last).days if last is not None else None
        if days is None:
            score += 100.0
            reasons.append("尚无走访或现场考评记录")
            source_out = None
        else:
            score += 100.0 * min(max(days, 0), STALE_DAYS_FULL) / STALE_DAYS_FULL
            source_out = source
            if days >= REASON_DAYS:
                what = "走访" if source == "visit" else "现场考评"
                reasons.append(f"距上次{what}已 {days} 天（{last.isoformat() if last else ''}）")
        out.append(
            VisitPriority(
                branch=refs[bid],
                score=round(score, 1),
                reasons=reasons,
                listed=bid in listed,
                last_visit=last,
                last_visit_source=source_out,
                days_since=days,
                weak_items=items,
            )
        )
    out.sort(key=lambda p: (-p.score, p.branch.code))
    return out


def record_visit(session: Session, *, scope: Scope, actor: audit.Actor, data: VisitCreate) -> Visit:
    """Records a visit to a branch in the scope."""
    branch = branch_in_scope(session, scope=scope, code=data.branch)
    if data.visited_on > clock.today():
        raise ValidationFailed("走访日期不能晚于今天", field_errors={"visited_on": "走访日期不能晚于今天"})
    visit = Visit(
        branch_id=branch.id or 0,
        visited_on=data.visited_on,
        inspector_id=actor.id,
        purpose=data.purpose,
        note=data.note,
    )
    session.add(visit)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="visit.create",
        entity_type="visit",
        entity_id=visit.id,
        new={"branch": branch.code, "visited_on": visit.visited_on.isoformat(), "purpose": visit.purpose},
    )
    return visit


def recent(
    session: Session, *, region_path: str, branch_id: int | None = None, limit: int = 30
) -> list[VisitPublic]:
    """The latest visits under a path (or to one branch), newest first."""
    stmt = (
        select(Visit, Branch.code, User.display_name)
        .join(Branch, col(Branch.id) == Visit.branch_id)
        .join(User, col(User.id) == Visit.inspector_id, isouter=True)
        .where(_in_path(Branch.region_path, region_path))
    )
    if branch_id is not None:
        stmt = stmt.where(Visit.branch_id == branch_id)
    stmt = stmt.order_by(col(Visit.visited_on).desc(), col(Visit.id).desc()).limit(limit)
    return [
        VisitPublic(
            id=v.id or 0,
            branch_code=code,
            visited_on=v.visited_on,
            purpose=v.purpose,
            note=v.note,
            inspector=name,
        )
        for v, code, name in session.exec(stmt)
    ]
