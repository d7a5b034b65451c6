"""Assessments: scoped reads, item saves with optimistic versions, extras, yearly creation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import and_, bindparam, case, func, insert, or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from app.assessments import scoring
from app.assessments.models import Assessment, ScoreEntry
from app.assessments.schemas import AssessmentPublic, ExtrasSave, ItemSave
from app.audit import service as audit
from app.auth.models import User
from app.auth.roles import Perm, has_perm
from app.auth.scope import Scope
from app.branches.models import Branch
from app.criteria import service as criteria_service
from app.db_types import utcnow
from app.errors import Conflict, Forbidden, Locked, NotFound, ValidationFailed
from app.labels import ASSESSMENT_STATUSES
from app.scoring import Entries, EntriesError, ItemEntry, Result, validate_entry

INSPECTOR_EDITABLE = frozenset({"draft", "self_submitted", "scoring", "returned"})
LOCKED = frozenset({"reviewed", "publicized", "final"})
# From publicity on, the official total and stars are public (the branch itself may see them).
PUBLISHED = frozenset({"publicized", "final"})


@dataclass(frozen=True)
class Actor:
    """The acting user as services need it: identity, role, scope."""

    user_id: int | None
    label: str
    role: str
    scope: Scope

    @property
    def audit(self) -> audit.Actor:
        return audit.Actor(self.user_id, self.label)

    def can(self, perm: Perm) -> bool:
        return has_perm(self.role, perm)


def get(session: Session, *, assessment_id: int, scope: Scope) -> Assessment:
    """Gets an assessment inside the scope (404 otherwise: existence does not leak)."""
    a = session.get(Assessment, assessment_id)
    if a is None or not scope.contains_path(a.region_path):
        raise NotFound("评定记录不存在或不在您的管辖范围内")
    if scope.branch_id is not None and a.branch_id != scope.branch_id:
        raise NotFound("评定记录不存在或不在您的管辖范围内")
    return a


def get_for_branch(session: Session, *, branch: Branch, year: int) -> Assessment | None:
    return session.exec(
        select(Assessment).where(Assessment.branch_id == branch.id, Assessment.year == year)
    ).first()


def ensure_for_year(session: Session, *, branch: Branch, year: int, actor: audit.Actor) -> Assessment:
    """The branch's assessment for a year, created under the applicable published criteria set."""
    existing = get_for_branch(session, branch=branch, year=year)
    if existing is not None:
        return existing
    record = criteria_service.published_for(
        session, year=year, sector=branch.sector, region_path=branch.region_path
    )
    if record is None:
        raise ValidationFailed(f"{year} 年该领域尚无已发布的评分标准，无法开始评定")
    cs = criteria_service.parsed(record)
    a = Assessment(
        branch_id=branch.id or 0,
        year=year,
        sector=branch.sector,
        region_path=branch.region_path,
        criteria_set_id=record.id or 0,
        criteria_hash=record.content_hash or "",
        items_total=sum(1 for _ in cs.items()),
    )
    session.add(a)
    session.flush()
    scoring.recompute(session, a, cs)
    audit.record(
        session,
        actor=actor,
        action="assessment.create",
        entity_type="assessment",
        entity_id=a.id,
        assessment_id=a.id,
        new={"status": a.status, "criteria_hash": a.criteria_hash},
    )
    session.flush()
    return a


def _user_label(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.display_name if user else None


def entry_public(session: Session, row: ScoreEntry | scoring.EntryState) -> dict[str, Any]:
    return {
        "item_code": row.item_code,
        "source": row.source,
        "entry": row.entry,
        "score": row.score,
        "note": row.note,
        "version": row.version,
        "updated_by": _user_label(session, row.updated_by_id),
        "updated_at": row.updated_at,
    }


def _check_item_write(actor: Actor, a: Assessment, source: str, self_enabled: bool) -> None:
    if source == "inspector":
        if not actor.can(Perm.SCORE):
            raise Forbidden("只有评审员可以考评打分")
        if a.status in LOCKED:
            raise Locked(f"评定已{ASSESSMENT_STATUSES[a.status]}，分数已锁定；如需修改请由县委组织部重新打开")
        if a.status not in INSPECTOR_EDITABLE:
            raise Locked(f"当前状态（{ASSESSMENT_STATUSES[a.status]}）不能修改考评分")
    else:
        if not actor.can(Perm.SELF_ASSESS) or actor.scope.branch_id != a.branch_id:
            raise Forbidden("只有本支部书记可以自评")
        if not self_enabled:
            raise Forbidden("本评分标准不设自评环节")
        if a.status != "draft":
            raise Locked("自评已提交，不能再修改")


@dataclass
class ItemSavePlan:
    """One item save, validated and scored but not written: what `apply_item_save` writes.

    Computed from the assessment and entries as the save's transaction read them (`plan_item_save` changes
    no loaded row) and written in the same transaction, under its lock (`save_item`)."""

    assessment: Assessment  # as read, unchanged
    source: str
    item_code: str
    row: scoring.EntryState | None  # the stored entry as read (None: the first save of the item), unchanged
    rows: list[scoring.EntryState]  # all of the source's stored entries as read, unchanged
    saved: scoring.EntryState  # the item's entry as it will be stored
    states: list[scoring.EntryState]  # all of the source's entries as they will be stored (saved among them)
    scored: scoring.Scored
    start_scoring: bool  # the first inspector save moves a draft or self-submitted assessment to scoring
    unchanged: bool  # the same entry and note as stored: nothing to write (a retried save)

    @property
    def result(self) -> Result:
        return self.scored.result


def plan_item_save(
    session: Session, *, actor: Actor, assessment: Assessment, item_code: str, source: str, data: ItemSave
) -> ItemSavePlan:
    """Checks one item save (permission, state, the entry, its version) and scores the entries it would
    leave; raises the refusal. Reads only: no loaded row is changed."""
    cs = scoring.criteria_of(session, assessment)
    _check_item_write(actor, assessment, source, cs.self_assessment)
    if cs.find_item(item_code) is None:
        raise NotFound("该评分标准中没有这个指标")
    try:
        entry = ItemEntry.from_json(data.entry)
    except EntriesError as exc:
        raise ValidationFailed(
            "录入格式有误", field_errors={p or item_code: m for p, m in exc.errors}
        ) from exc
    problems = validate_entry(cs, item_code, entry)
    if problems:
        raise ValidationFailed("；".join(problems), field_errors={item_code: "；".join(problems)})
    rows = scoring.entry_states(session, assessment.id or 0, source)
    row = next((r for r in rows if r.item_code == item_code), None)
    new_json = entry.to_json()
    # Nothing changes: a retry of a write that already landed (its answer was lost on the way) or the same
    # value sent twice. Neither is a conflict, and neither is a new version or audit event.
    unchanged = row is not None and _same(row, new_json, data.note)
    current_version = row.version if row else 0
    if not unchanged and data.version != current_version:
        current = entry_public(session, row) if row else None
        who = current["updated_by"] if current else None
        raise Conflict(
            f"该指标已被{who or '他人'}修改，您的修改未保存；请查看最新内容后再改",
            extra={"current": _jsonable(current)},
        )
    # Copies: scoring sets each state's score, and the plan keeps the stored states as they were read.
    states = [replace(r) for r in rows if r is not row]
    if unchanged and row is not None:
        saved = replace(row)
    else:
        saved = scoring.EntryState(
            source, item_code, new_json, None, data.note, current_version + 1, utcnow(), actor.user_id
        )
    states.append(saved)
    scored = scoring.score_entries(cs, source, states, assessment.extras)
    return ItemSavePlan(
        assessment=assessment,
        source=source,
        item_code=item_code,
        row=row,
        rows=rows,
        saved=saved,
        states=states,
        scored=scored,
        start_scoring=source == "inspector" and assessment.status in ("draft", "self_submitted"),
        unchanged=unchanged,
    )


def apply_item_save(session: Session, plan: ItemSavePlan, *, actor: Actor) -> tuple[ScoreEntry, Assessment]:
    """Writes a plan (the entry, the assessment's totals, the audit events) in the session's transaction;
    answers the stored entry and the assessment. The plan was made in the same transaction.

    Written with Core statements (the plan holds the rows' ids): the ORM's unit of work cost several times
    the SQL it ran. The assessment object the plan read is brought up to date as if it had loaded what
    was written (`set_committed_value`: nothing left pending in any session); a save that starts the
    scoring writes its workflow transition through the session first (flushed by its audit event)."""
    a = plan.assessment
    if plan.unchanged:
        assert plan.row is not None
        return _entry_row(a, plan.row), a
    if plan.start_scoring:
        a = _attached(session, a)
        a.inspector_id = actor.user_id
        transition_record(session, actor, a, "scoring", reason="开始考评")  # its audit event flushes both
    saved = plan.saved
    # Stamped here, in the writing transaction, not when the plan was made: stamps then follow the commit
    # order, which the sync API's `updated_since` cursor relies on. The stored entries text carries it.
    saved.updated_at = utcnow()
    scored = scoring.with_entries_text(plan.scored, plan.source, plan.states)
    conn = session.connection()
    entry_values = {
        "entry": saved.entry,
        "score": saved.score,
        "note": saved.note,
        "version": saved.version,
        "updated_by_id": saved.updated_by_id,
        "updated_at": saved.updated_at,
    }
    if plan.row is None:
        ident = {"assessment_id": a.id, "source": plan.source, "item_code": plan.item_code}
        pk = conn.execute(_INSERT_ENTRY, {**ident, **entry_values}).inserted_primary_key
        assert pk is not None
        saved.id = pk[0]
        old = None
    else:
        saved.id = plan.row.id
        conn.execute(_UPDATE_ENTRY, {"row_id": saved.id, **entry_values})
        old = {"entry": plan.row.entry, "note": plan.row.note}
    # Other items whose stored score changes with this save (a rescored criteria set, a rounding fix).
    rescored = [r for r in plan.rows if r is not plan.row and r.item_code in plan.scored.scores]
    if rescored:
        scores = plan.scored.scores
        conn.execute(_UPDATE_SCORE, [{"row_id": r.id, "score": scores[r.item_code]} for r in rescored])
    _expire_loaded(session, [saved.id, *(r.id for r in rescored)])
    # Every scored column, even one equal to what the assessment object holds: the object may have been read
    # before this transaction (a weak listing's cap or release changes the stars without a new version).
    values = {**scoring.values_to_store(session, a, scored), "updated_at": saved.updated_at}
    conn.execute(_UPDATE_ASSESSMENT, {"assessment_id": a.id, **values})
    for key, value in values.items():
        set_committed_value(a, key, value)
    audit.record(
        session,
        actor=actor.audit,
        action=f"score.{plan.source}",
        entity_type="assessment",
        entity_id=a.id,
        assessment_id=a.id,
        item_code=plan.item_code,
        old=old,
        new={"entry": saved.entry, "note": saved.note},
    )
    return _entry_row(a, saved), a


_ENTRY_TABLE = ScoreEntry.__table__  # type: ignore[attr-defined]
_INSERT_ENTRY = insert(_ENTRY_TABLE)
_UPDATE_ENTRY = (
    update(_ENTRY_TABLE)
    .where(_ENTRY_TABLE.c.id == bindparam("row_id"))
    .values(
        entry=bindparam("entry"),
        score=bindparam("score"),
        note=bindparam("note"),
        version=bindparam("version"),
        updated_by_id=bindparam("updated_by_id"),
        updated_at=bindparam("updated_at"),
    )
)
_UPDATE_ASSESSMENT = update(Assessment.__table__).where(  # type: ignore[attr-defined]
    Assessment.__table__.c.id == bindparam("assessment_id")  # type: ignore[attr-defined]
)  # SET: the columns named by the parameters
_UPDATE_SCORE = (
    update(_ENTRY_TABLE).where(_ENTRY_TABLE.c.id == bindparam("row_id")).values(score=bindparam("score"))
)


def _expire_loaded(session: Session, row_ids: list[int | None]) -> None:
    """Entry rows this session had loaded as ORM objects (a service that read the entries before saving)
    are expired, so that the next read of them loads what the Core statements wrote."""
    if not session.identity_map:
        return
    for row_id in row_ids:
        loaded = session.identity_map.get(session.identity_key(ScoreEntry, row_id))
        if loaded is not None:
            session.expire(loaded)


def _entry_row(a: Assessment, state: scoring.EntryState) -> ScoreEntry:
    """The stored entry as a (detached) ``ScoreEntry``, for the answer."""
    return ScoreEntry(
        id=state.id,
        assessment_id=a.id or 0,
        source=state.source,
        item_code=state.item_code,
        entry=state.entry,
        score=state.score,
        note=state.note,
        version=state.version,
        updated_by_id=state.updated_by_id,
        updated_at=state.updated_at,
    )


def _attached(session: Session, obj: Any) -> Any:
    """A row read by another session, attached to this one as loaded, without SQL (a no-op for a row of
    this session, as the item save's)."""
    return obj if obj in session else session.merge(obj, load=False)


def save_item(
    session: Session, *, actor: Actor, assessment: Assessment, item_code: str, source: str, data: ItemSave
) -> tuple[ScoreEntry, Result]:
    """Saves one item's entry if `data.version` matches the stored one; recomputes the totals. Reads and
    writes in the session's one transaction: on PostgreSQL under the assessment's row lock, on SQLite
    under the writer lock, which the transaction's first statement took (BEGIN IMMEDIATE)."""
    lock(session, assessment)
    plan = plan_item_save(
        session, actor=actor, assessment=assessment, item_code=item_code, source=source, data=data
    )
    row, _ = apply_item_save(session, plan, actor=actor)
    session.flush()
    return row, plan.result


def save_extras(
    session: Session,
    *,
    actor: Actor,
    assessment: Assessment,
    data: ExtrasSave,
    base: dict[str, Any] | None = None,
) -> Result:
    """Saves vetoes, prerequisites, appraisal (inspector while scoring) and designation (county).

    Stale writes are refused by `data.version` (the assessment's version); a client that sends `base`
    (the extras it last saw) is refused only when the extras themselves changed since, so workflow
    transitions that bump the version do not turn an inspector's veto into a false conflict."""
    cs = scoring.criteria_of(session, assessment)
    lock(session, assessment)
    designation_changed = (data.designation or None) != (assessment.extras or {}).get("designation")
    if designation_changed and not actor.can(Perm.REVIEW):
        raise Forbidden("直接定级只能由县委组织部设定")
    others_changed = any(
        _norm(getattr(data, k)) != _norm((assessment.extras or {}).get(k))
        for k in ("vetoes", "prerequisites", "appraisal")
    )
    if others_changed:
        _check_item_write(actor, assessment, "inspector", cs.self_assessment)
    elif designation_changed and assessment.status == "final":
        raise Locked("评定已认定，不能再直接定级")
    obj = {
        "items": {},
        "vetoes": data.vetoes,
        "prerequisites": data.prerequisites,
        "appraisal": data.appraisal,
        "designation": data.designation,
    }
    try:
        parsed = Entries.from_json(obj)
    except EntriesError as exc:
        raise ValidationFailed(
            "录入格式有误", field_errors={p or "extras": m for p, m in exc.errors}
        ) from exc
    errors: dict[str, str] = {}
    for code, reason in parsed.vetoes.items():
        if cs.veto(code) is None:
            errors[f"vetoes.{code}"] = "未知的否决事项"
        elif not reason.strip():
            errors[f"vetoes.{code}"] = "一票否决须写明事实与依据"
    for code in parsed.prerequisites:
        if cs.prerequisite(code) is None:
            errors[f"prerequisites.{code}"] = "未知的必备条件"
    if parsed.appraisal is not None and cs.appraisal is None:
        errors["appraisal"] = "本评分标准不设评议项"
    if parsed.designation is not None:
        if not cs.allow_designation:
            errors["designation"] = "本评分标准不允许直接定级"
        elif not parsed.designation.reason.strip() or not parsed.designation.document.strip():
            errors["designation"] = "直接定级须写明理由和文件依据"
    if errors:
        raise ValidationFailed("录入有误", field_errors=errors)
    old = dict(assessment.extras or {})
    new = {k: v for k, v in parsed.to_json().items() if k != "items"}
    if _same_extras(old, new):
        # Nothing changes (a retried write that already landed, or the same value twice): no conflict,
        # no new version, no audit event.
        return scoring.result_of(session, assessment, cs)
    stale = (
        not _same_extras(base, assessment.extras or {})
        if base is not None
        else data.version != assessment.version
    )
    if stale:
        raise Conflict(
            "否决事项、必备条件或评议已被他人修改，您的修改未保存；请查看最新内容后再改",
            extra={"current": _jsonable(assessment.extras), "version": assessment.version},
        )
    assessment.extras = new
    assessment.version += 1
    assessment.updated_at = utcnow()
    if others_changed and assessment.status in ("draft", "self_submitted"):
        transition_record(session, actor, assessment, "scoring", reason="开始考评")
    result = scoring.recompute(session, assessment, cs)
    audit.record(
        session,
        actor=actor.audit,
        action="score.extras",
        entity_type="assessment",
        entity_id=assessment.id,
        assessment_id=assessment.id,
        old=old,
        new=new,
    )
    session.flush()
    return result


def lock(session: Session, assessment: Assessment) -> None:
    """Re-reads the assessment under a row lock (PostgreSQL), so concurrent saves of one assessment
    queue up and every recompute sees the others' entries. SQLite writers are serialized already."""
    if session.get_bind().dialect.name == "postgresql" and assessment.id is not None:
        session.flush()
        session.refresh(assessment, with_for_update=True)


def _same(row: scoring.EntryState, entry: dict[str, Any], note: str | None) -> bool:
    return row.entry == entry and (row.note or None) == (note or None)


def _same_extras(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(
        _norm(a.get(k)) == _norm(b.get(k)) for k in ("vetoes", "prerequisites", "appraisal", "designation")
    )


def _norm(value: Any) -> Any:
    if value in (None, {}, []):
        return None
    if isinstance(value, list):
        return sorted(value)
    return value


def transition_record(session: Session, actor: Actor, a: Assessment, to: str, *, reason: str | None) -> None:
    old = a.status
    a.status = to
    a.version += 1
    a.updated_at = utcnow()
    session.add(a)
    audit.record(
        session,
        actor=actor.audit,
        action="assessment.transition",
        entity_type="assessment",
        entity_id=a.id,
        assessment_id=a.id,
        old={"status": old},
        new={"status": to},
        reason=reason,
    )


def _jsonable(value: Any) -> Any:
    return to_jsonable_python(value)


def list_for_scope(
    session: Session, *, scope: Scope, year: int, status: str | None = None, q: str | None = None
) -> list[tuple[Assessment, Branch]]:
    """Assessments of a year in the scope with their branches, not-yet-visited first."""
    stmt = (
        select(Assessment, Branch)
        .join(Branch, col(Branch.id) == Assessment.branch_id)
        .where(Assessment.year == year, scope.filter(col(Assessment.region_path)))
    )
    if scope.branch_id is not None:
        stmt = stmt.where(Assessment.branch_id == scope.branch_id)
    if status:
        stmt = stmt.where(Assessment.status == status)
    if q:
        stmt = stmt.where(col(Branch.name).contains(q.strip(), autoescape=True))
    rows = list(session.exec(stmt))
    order = {"draft": 0, "self_submitted": 1, "scoring": 2, "returned": 3, "submitted": 4}
    rows.sort(key=lambda ab: (order.get(ab[0].status, 9), ab[1].code))
    return rows


# -- the inspector's list and the card's mode --------------------------------------------------

VISIT_ORDER = {"draft": 0, "self_submitted": 0, "returned": 1, "scoring": 2, "submitted": 3}


@dataclass(frozen=True)
class InspectionRow:
    """A branch of the year's round: its assessment (None = not started) and whether it can start."""

    branch: Branch
    place: str
    assessment: Assessment | None
    can_start: bool = False

    def public(self, *, scores: bool = True) -> dict[str, Any]:
        """`scores=False` hides an official total that is not public yet (for the branch itself)."""
        a = self.assessment
        scores = scores or (a is not None and a.status in PUBLISHED)
        return {
            "branch_code": self.branch.code,
            "branch_name": self.branch.name,
            "sector": self.branch.sector,
            "place": self.place,
            "assessment_id": a.id if a else None,
            "status": a.status if a else None,
            "items_scored": a.items_scored if a else 0,
            "items_total": a.items_total if a else 0,
            "total": a.total if a and scores else None,
            "stars": a.stars if a and scores else None,
            "self_total": a.self_total if a else None,
            "updated_at": a.updated_at if a else None,
            "can_start": self.can_start,
        }


def inspection_list(
    session: Session,
    *,
    scope: Scope,
    year: int,
    status: str | None = None,
    q: str | None = None,
    limit: int = 300,
) -> tuple[list[InspectionRow], dict[str, int], bool]:
    """The year's branches in scope with their assessments, not-yet-visited first; counts by status
    ('none' = not started) and whether the list was cut at `limit`."""
    from app.regions.models import Region

    joined = and_(col(Assessment.branch_id) == col(Branch.id), col(Assessment.year) == year)
    conds: list[Any] = [
        scope.filter(col(Branch.region_path)),
        or_(col(Branch.status) == "active", col(Assessment.id).is_not(None)),
    ]
    if scope.branch_id is not None:
        conds.append(Branch.id == scope.branch_id)
    if q and q.strip():
        needle = q.strip()[:64]
        conds.append(
            or_(
                col(Branch.name).contains(needle, autoescape=True),
                col(Branch.code).contains(needle, autoescape=True),
            )
        )
    counts: dict[str, int] = {}
    count_stmt = (
        select(Assessment.status, func.count())
        .select_from(Branch)
        .outerjoin(Assessment, joined)
        .where(*conds)
        .group_by(Assessment.status)
    )
    for st, n in session.exec(count_stmt):
        counts[st or "none"] = counts.get(st or "none", 0) + int(n)
    if status == "none":
        conds.append(col(Assessment.id).is_(None))
    elif status:
        conds.append(Assessment.status == status)
    whens: list[Any] = [(col(Assessment.id).is_(None), 0)]
    whens += [(Assessment.status == st, rank) for st, rank in VISIT_ORDER.items()]
    base = (
        select(Branch, Assessment, Region.name)
        .outerjoin(Assessment, joined)
        .join(Region, col(Region.id) == col(Branch.region_id))
        .where(*conds)
    )
    order = case(*whens, else_=4)
    rows = list(session.exec(base.order_by(order, col(Branch.code)).limit(limit + 1)))
    cut = len(rows) > limit
    published: dict[tuple[str, str], bool] = {}
    out = []
    for branch, a, place in rows[:limit]:
        can_start = False
        if a is None and branch.status == "active":
            key = (branch.sector, branch.region_path)
            if key not in published:
                published[key] = (
                    criteria_service.published_for(
                        session, year=year, sector=branch.sector, region_path=branch.region_path
                    )
                    is not None
                )
            can_start = published[key]
        out.append(InspectionRow(branch, place, a, can_start))
    return out, counts, cut


def start(session: Session, *, actor: Actor, branch_code: str, year: int) -> Assessment:
    """Starts (or opens) a branch's assessment for the year: inspectors, inside their scope."""
    if not actor.can(Perm.SCORE):
        raise Forbidden("只有评审员可以开始考评")
    branch = session.exec(select(Branch).where(Branch.code == branch_code)).first()
    if branch is None or not actor.scope.contains_path(branch.region_path):
        raise NotFound("支部不存在或不在您的管辖范围内")
    if branch.status != "active":
        raise ValidationFailed("该支部已合并或撤销，不能开始评定")
    return ensure_for_year(session, branch=branch, year=year, actor=actor.audit)


@dataclass(frozen=True)
class CardMode:
    """Which entries a user sees on the card and whether they may change them."""

    source: str
    editable: bool
    reason: str = ""


def card_mode(actor: Actor, assessment: Assessment, cs_self_assessment: bool) -> CardMode:
    """Branch users work on their self-assessment; everyone else sees (inspectors edit) the scoring."""
    if actor.role == "branch":
        if not cs_self_assessment:
            return CardMode("self", False, "本评分标准不设自评环节")
        if assessment.status != "draft":
            return CardMode("self", False, "自评已提交，只能查看")
        return CardMode("self", actor.scope.branch_id == assessment.branch_id)
    if not actor.can(Perm.SCORE):
        return CardMode("inspector", False, "只读查看")
    if assessment.status in LOCKED:
        return CardMode("inspector", False, f"评定已{ASSESSMENT_STATUSES[assessment.status]}，分数已锁定")
    if assessment.status not in INSPECTOR_EDITABLE:
        return CardMode("inspector", False, f"考评已{ASSESSMENT_STATUSES[assessment.status]}，只能查看")
    return CardMode("inspector", True)


def public(
    session: Session, a: Assessment, branch: Branch | None = None, *, scores: bool = True
) -> dict[str, Any]:
    """The assessment's public shape (AssessmentPublic); `scores=False` blanks an official total and
    stars that are not public yet (what a branch sees while the township is still scoring)."""
    branch = branch or session.get(Branch, a.branch_id)
    out = AssessmentPublic(
        id=a.id or 0,
        branch_code=branch.code if branch else "",
        branch_name=branch.name if branch else "",
        year=a.year,
        sector=a.sector,
        status=a.status,
        criteria_set_id=a.criteria_set_id,
        criteria_hash=a.criteria_hash,
        total=a.total,
        self_total=a.self_total,
        band_stars=a.band_stars,
        stars=a.stars,
        final_stars=a.final_stars,
        vetoed=a.vetoed,
        designated=a.designated,
        items_scored=a.items_scored,
        items_total=a.items_total,
        version=a.version,
        updated_at=a.updated_at,
    ).model_dump()
    if not scores and a.status not in PUBLISHED:
        out.update(total=None, band_stars=None, stars=None, final_stars=None, vetoed=False, designated=False)
    return out
