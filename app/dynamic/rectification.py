"""Rectification of a listed weak branch: tasks, the follow-up check (回头看), make-up work (补课) after
a failed one, delisting (摘帽) and lifting of the three-star block."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app import clock
from app.assessments import scoring
from app.audit import service as audit
from app.auth.scope import Scope
from app.dynamic.common import check_version, jsonable, save_change, touch
from app.dynamic.labels import WEAK_STATUSES
from app.dynamic.models import RectificationTask, WeakListing
from app.dynamic.schemas import Delist, FollowupSave, Lift, TaskCreate, TaskUpdate
from app.dynamic.weak import (
    FAILED,
    MAKEUP,
    PASSED,
    followup_passed,
    get,
    open_assessments,
    snapshot,
    tasks_of,
)
from app.dynamic.weak_cap import STEP_KIND, apply_weak_cap
from app.errors import Conflict, NotFound, ValidationFailed


def _require_listed(row: WeakListing) -> None:
    if row.status != "listed":
        raise Conflict(f"该记录当前为“{WEAK_STATUSES[row.status]}”，不能进行此操作")


def _listed(session: Session, *, scope: Scope, listing_id: int, version: int) -> WeakListing:
    """A listing in the scope that is still listed, as long as the user saw its current version."""
    row = get(session, scope=scope, listing_id=listing_id)
    _require_listed(row)
    check_version(row, version, what="整顿记录", current=snapshot(row))
    return row


def _save(
    session: Session,
    row: WeakListing,
    *,
    actor: audit.Actor,
    action: str,
    old: Any,
    reason: str | None = None,
) -> None:
    save_change(
        session,
        row,
        actor=actor,
        action=action,
        entity_type="weak_listing",
        old=old,
        new=snapshot,
        reason=reason,
    )


def _task_snapshot(task: RectificationTask) -> dict[str, Any]:
    return jsonable(
        {"status": task.status, "done_on": task.done_on, "note": task.note, "version": task.version}
    )


def _release(session: Session, *, listing: WeakListing, actor: audit.Actor) -> None:
    """After delisting or lifting: rescore the open assessments that were capped (unless still blocked)."""
    for a in open_assessments(session, listing):
        if not any(isinstance(s, dict) and s.get("kind") == STEP_KIND for s in a.explanation):
            continue
        before = a.stars
        scoring.recompute(session, a)
        apply_weak_cap(session, a, actor=actor)
        if a.stars != before:
            audit.record(
                session,
                actor=actor,
                action="assessment.weak_cap_removed",
                entity_type="assessment",
                entity_id=a.id,
                old={"stars": before},
                new={"stars": a.stars},
                reason="软弱涣散整顿限制已解除，按评分结果恢复星级",
                assessment_id=a.id,
            )


# -- rectification ---------------------------------------------------------------------------------


def add_task(
    session: Session, *, scope: Scope, actor: audit.Actor, listing_id: int, data: TaskCreate
) -> RectificationTask:
    """Adds a rectification task; after a failed follow-up it is make-up work (补课)."""
    row = _listed(session, scope=scope, listing_id=listing_id, version=data.version)
    title = data.title
    if followup_passed(row) is False and not title.startswith(MAKEUP):
        title = MAKEUP + title
    task = RectificationTask(
        listing_id=row.id or 0, title=title, owner=data.owner, deadline=data.deadline, note=data.note
    )
    session.add(task)
    touch(row)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="weak.task.create",
        entity_type="rectification_task",
        entity_id=task.id,
        new={
            "listing_id": row.id,
            "title": task.title,
            "owner": task.owner,
            "deadline": task.deadline.isoformat(),
        },
    )
    return task


def update_task(
    session: Session, *, scope: Scope, actor: audit.Actor, task_id: int, data: TaskUpdate
) -> RectificationTask:
    """Changes a task's status (and note), based on the version the user saw."""
    task = session.get(RectificationTask, task_id)
    if task is None:
        raise NotFound("整顿任务不存在")
    row = get(session, scope=scope, listing_id=task.listing_id)
    _require_listed(row)
    old = _task_snapshot(task)
    check_version(task, data.version, what="整顿任务", current=old)
    if data.status == "done":
        done_on = data.done_on or clock.today()
        if done_on > clock.today():
            raise ValidationFailed("完成日期不能晚于今天", field_errors={"done_on": "完成日期不能晚于今天"})
        task.done_on = done_on
    else:
        task.done_on = None
    task.status = data.status
    if data.note is not None:
        task.note = data.note
    save_change(
        session,
        task,
        actor=actor,
        action="weak.task.update",
        entity_type="rectification_task",
        old=old,
        new=_task_snapshot,
    )
    return task


def record_followup(
    session: Session, *, scope: Scope, actor: audit.Actor, listing_id: int, data: FollowupSave
) -> WeakListing:
    """Records the follow-up check (回头看) of a later year; a failed one calls for make-up work."""
    row = _listed(session, scope=scope, listing_id=listing_id, version=data.version)
    if data.followup_year <= row.year:
        raise ValidationFailed(
            "回头看须在列入的次年及以后进行",
            field_errors={"followup_year": f"回头看年度须晚于 {row.year} 年"},
        )
    old = snapshot(row)
    row.followup_year = data.followup_year
    row.followup_result = (PASSED if data.passed else FAILED) + data.result
    _save(session, row, actor=actor, action="weak.followup", old=old)
    return row


def delist_problems(session: Session, row: WeakListing) -> list[str]:
    """What still stands in the way of delisting (empty when it may be delisted)."""
    problems = []
    tasks = tasks_of(session, [row.id or 0]).get(row.id or 0, [])
    if not tasks:
        problems.append("尚未布置整顿任务")
    open_ = [t for t in tasks if t.status != "done"]
    if open_:
        problems.append(f"还有 {len(open_)} 项整顿任务未完成")
    passed = followup_passed(row)
    if passed is None:
        problems.append("尚未开展回头看")
    elif passed is False:
        problems.append("回头看结论为不合格，须补课后重新回头看")
    return problems


def delist(
    session: Session, *, scope: Scope, actor: audit.Actor, listing_id: int, data: Delist
) -> WeakListing:
    """Delists (摘帽) once every task is done and a follow-up check passed; with a reason."""
    row = _listed(session, scope=scope, listing_id=listing_id, version=data.version)
    problems = delist_problems(session, row)
    if problems:
        raise ValidationFailed("暂不能摘帽：" + "；".join(problems))
    if data.delisted_on > clock.today():
        raise ValidationFailed("摘帽日期不能晚于今天", field_errors={"delisted_on": "摘帽日期不能晚于今天"})
    old = snapshot(row)
    row.status = "delisted"
    row.delisted_on = data.delisted_on
    row.delist_reason = data.reason
    _save(session, row, actor=actor, action="weak.delist", old=old, reason=data.reason)
    _release(session, listing=row, actor=actor)
    return row


def lift(session: Session, *, scope: Scope, actor: audit.Actor, listing_id: int, data: Lift) -> WeakListing:
    """Lifts the three-star block of a listed branch (the county's decision, with a reason)."""
    row = _listed(session, scope=scope, listing_id=listing_id, version=data.version)
    if row.lifted:
        raise Conflict("该支部的星级限制已解除")
    old = snapshot(row)
    row.lifted = True
    row.lift_reason = data.reason
    _save(session, row, actor=actor, action="weak.lift", old=old, reason=data.reason)
    _release(session, listing=row, actor=actor)
    return row
