"""The weak-branch register pages (软弱涣散) and their JSON twins: suggestions, decisions, one listing
with its rectification tasks, follow-up check, delisting and lifting of the three-star block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session

from app.auth.deps import Principal
from app.auth.roles import Perm
from app.db import SessionDep
from app.dynamic import rectification
from app.dynamic import weak as weak_service
from app.dynamic.common import area_path
from app.dynamic.deps import Manager, Reader, Values, act, page, today, typed_year, year_param
from app.dynamic.labels import TASK_STATUSES, WEAK_SIGNS, WEAK_STATUSES
from app.dynamic.models import RectificationTask, WeakListing
from app.dynamic.schemas import Delist, FollowupSave, Lift, TaskCreate, TaskUpdate, WeakDecision, parse
from app.errors import DomainError, NotFound, ValidationFailed
from app.web.forms import FRESH, FormState

router = APIRouter(prefix="/weak")

DONE = {
    "listed": "已列入软弱涣散整顿名单。",
    "rejected": "已记录不予列入及理由。",
    "task": "整顿任务已保存。",
    "followup": "回头看结果已记录。",
    "delisted": "已摘帽。",
    "lifted": "已解除三星限制。",
}


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


def _register_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    year: int | None = None,
    state: FormState = FRESH,
) -> Response:
    year = year or year_param(request, db, principal)
    region = request.query_params.get("region") or None
    status = request.query_params.get("status") or None
    if status and status not in WEAK_STATUSES:
        raise ValidationFailed("状态无效", field_errors={"status": "未知的状态"})
    path = area_path(db, scope=principal.scope, region=region)
    suggestions = weak_service.suggestions(db, region_path=path, year=year)
    listings = weak_service.listings(db, region_path=path, year=year, status=status)
    ctx = {
        "year": year,
        "region": region or "",
        "status": status or "",
        "suggestions": suggestions,
        "listings": listings,
        "statuses": WEAK_STATUSES,
        "sign_labels": WEAK_SIGNS,
        "can_manage": principal.can(Perm.REVIEW),
        "form": state.form,
        "values": state.values,
        "errors": state.errors,
        "message": state.message,
        "done": _done(request),
        "active": "weak",
    }
    data = {"year": year, "suggestions": suggestions, "listings": listings}
    return page(request, "dynamic/weak.html", ctx, block="results", data=data, status_code=state.status_code)


@router.get("", include_in_schema=False)
def register(request: Request, db: SessionDep, principal: Reader) -> Response:
    """The weak-branch register of a year: suggestions from the signs and the listings."""
    return _register_page(request, db, principal)


def _decision(
    request: Request, db: Session, principal: Principal, values: dict[str, Any], kind: str
) -> Response:
    run_service = {
        "confirm": weak_service.confirm,
        "reject": weak_service.reject,
        "manual": weak_service.list_manually,
    }[kind]

    def run() -> WeakListing:
        data = parse(WeakDecision, values, detail="请检查填写的内容")
        return run_service(db, scope=principal.scope, actor=principal.actor, data=data)

    def on_error(exc: DomainError) -> Response:
        form = f"{kind}-{values.get('branch', '')}" if kind != "manual" else "manual"
        return _register_page(
            request,
            db,
            principal,
            year=typed_year(values),
            state=FormState.refused(exc, values, form),
        )

    return act(
        request,
        db,
        run=run,
        public=lambda row: weak_service.to_public(db, [row])[0],
        success_url=lambda row: (
            f"/dynamic/weak?year={row.year}&done={'rejected' if kind == 'reject' else 'listed'}"
        ),
        on_error=on_error,
        status_code=201,
    )


@router.post("/confirm", include_in_schema=False)
def confirm(request: Request, db: SessionDep, principal: Manager, values: Values) -> Response:
    """Lists a suggested branch for rectification."""
    return _decision(request, db, principal, values, "confirm")


@router.post("/reject", include_in_schema=False)
def reject(request: Request, db: SessionDep, principal: Manager, values: Values) -> Response:
    """Rejects a suggestion, with a reason."""
    return _decision(request, db, principal, values, "reject")


@router.post("/manual", include_in_schema=False)
def list_manually(request: Request, db: SessionDep, principal: Manager, values: Values) -> Response:
    """Lists a branch by the county's decision, with a reason."""
    return _decision(request, db, principal, values, "manual")


# -- one listing -----------------------------------------------------------------------------------


def _listing_page(
    request: Request,
    db: Session,
    principal: Principal,
    listing_id: int,
    *,
    state: FormState = FRESH,
) -> Response:
    row = weak_service.get(db, scope=principal.scope, listing_id=listing_id)
    listing = weak_service.to_public(db, [row])[0]
    problems = rectification.delist_problems(db, row) if row.status == "listed" else []
    ctx = {
        "w": listing,
        "problems": problems,
        "statuses": WEAK_STATUSES,
        "task_statuses": TASK_STATUSES,
        "can_manage": principal.can(Perm.REVIEW),
        "form": state.form,
        "values": state.values,
        "errors": state.errors,
        "message": state.message,
        "done": _done(request),
        "today": today(),
        "active": "weak",
    }
    data = listing.model_dump() | {"delist_problems": problems}
    return page(request, "dynamic/weak_detail.html", ctx, data=data, status_code=state.status_code)


@router.get("/{listing_id}", include_in_schema=False)
def listing(request: Request, db: SessionDep, principal: Reader, listing_id: int) -> Response:
    """One listing: signs, rectification tasks, follow-up, delisting and lifting."""
    return _listing_page(request, db, principal, listing_id)


def _listing_write(
    request: Request,
    db: Session,
    principal: Principal,
    listing_id: int,
    values: dict[str, Any],
    form: str,
    run: Any,
    *,
    status_code: int = 200,
) -> Response:
    weak_service.get(db, scope=principal.scope, listing_id=listing_id)

    def on_error(exc: DomainError) -> Response:
        return _listing_page(
            request,
            db,
            principal,
            listing_id,
            state=FormState.refused(exc, values, form),
        )

    def public(_: Any) -> Any:
        row = weak_service.get(db, scope=principal.scope, listing_id=listing_id)
        return weak_service.to_public(db, [row])[0]

    done = form.split("-")[0]
    return act(
        request,
        db,
        run=run,
        public=public,
        success_url=lambda _: f"/dynamic/weak/{listing_id}?done={done}",
        on_error=on_error,
        status_code=status_code,
    )


# The writes on a listing, by the form they come from: (input schema, message when invalid, service).
LISTING_WRITES: dict[str, tuple[type[BaseModel], str, Callable[..., Any]]] = {
    "task": (TaskCreate, "整顿任务信息有误", rectification.add_task),
    "followup": (FollowupSave, "回头看信息有误", rectification.record_followup),
    "delisted": (Delist, "摘帽信息有误", rectification.delist),
    "lifted": (Lift, "解除限制信息有误", rectification.lift),
}


def _listing_action(
    request: Request, db: Session, principal: Principal, listing_id: int, values: dict[str, Any], form: str
) -> Response:
    """One write on a listing: parse the values, call the rectification service (a new task: 201)."""
    schema, detail, write = LISTING_WRITES[form]

    def run() -> Any:
        data = parse(schema, values, detail=detail)
        return write(db, scope=principal.scope, actor=principal.actor, listing_id=listing_id, data=data)

    status_code = 201 if form == "task" else 200
    return _listing_write(request, db, principal, listing_id, values, form, run, status_code=status_code)


@router.post("/{listing_id}/tasks", include_in_schema=False)
def add_task(
    request: Request, db: SessionDep, principal: Manager, listing_id: int, values: Values
) -> Response:
    """Adds a rectification task (after a failed follow-up: make-up work, 补课)."""
    return _listing_action(request, db, principal, listing_id, values, "task")


@router.post("/tasks/{task_id}", include_in_schema=False)
def update_task(
    request: Request, db: SessionDep, principal: Manager, task_id: int, values: Values
) -> Response:
    """Changes the status of a rectification task."""
    task = db.get(RectificationTask, task_id)
    if task is None:
        raise NotFound("整顿任务不存在")

    def run() -> RectificationTask:
        data = parse(TaskUpdate, values, detail="整顿任务信息有误")
        return rectification.update_task(
            db, scope=principal.scope, actor=principal.actor, task_id=task_id, data=data
        )

    return _listing_write(request, db, principal, task.listing_id, values, f"task-{task_id}", run)


@router.post("/{listing_id}/followup", include_in_schema=False)
def followup(
    request: Request, db: SessionDep, principal: Manager, listing_id: int, values: Values
) -> Response:
    """Records the follow-up check (回头看): year, verdict, findings."""
    return _listing_action(request, db, principal, listing_id, values, "followup")


@router.post("/{listing_id}/delist", include_in_schema=False)
def delist(request: Request, db: SessionDep, principal: Manager, listing_id: int, values: Values) -> Response:
    """Delists (摘帽) once every task is done and the follow-up passed, with a reason."""
    return _listing_action(request, db, principal, listing_id, values, "delisted")


@router.post("/{listing_id}/lift", include_in_schema=False)
def lift(request: Request, db: SessionDep, principal: Manager, listing_id: int, values: Values) -> Response:
    """Lifts the three-star block of a listed branch, with a reason."""
    return _listing_action(request, db, principal, listing_id, values, "lifted")
