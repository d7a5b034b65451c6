"""The county organisation department's review pages (and their JSON twins): review queue, one
assessment with approve / return / reopen / direct designation, and bulk approval. County staff and
admins act; viewers only read. Publicity notices: publicity_router; finalization: finalize_router."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from app.assessments import review_service as rs
from app.assessments import service, workflow
from app.assessments.models import Assessment
from app.assessments.review_forms import (
    Form,
    Reader,
    Reviewer,
    actor_of,
    done_message,
    integer,
    on_form,
    text,
)
from app.assessments.service import LOCKED
from app.auth.deps import Principal
from app.auth.roles import Perm
from app.branches.models import Branch
from app.db import SessionDep
from app.errors import DomainError, ValidationFailed
from app.web import forms
from app.web.forms import FRESH, FormState
from app.web.htmx import render

router = APIRouter(prefix="/review", tags=["县级审核"])


# -- review queue ----------------------------------------------------------------------------------


def _filters(request: Request) -> rs.QueueFilters:
    params = {
        k: request.query_params[k]
        for k in ("year", "status", "region", "sector", "q")
        if k in request.query_params
    }
    try:
        return rs.QueueFilters.model_validate(params)
    except ValidationError as exc:
        from app.branches.schemas import zh_errors

        raise ValidationFailed("查询条件有误", field_errors=zh_errors(exc)) from None


def _queue_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    page: int,
    per_page: int,
    bulk: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    filters = _filters(request)
    result = rs.queue(db, scope=principal.scope, filters=filters, page=page, per_page=per_page)
    query = urlencode({k: v for k, v in request.query_params.items() if k not in ("done", "n", "check")})
    data = {
        "items": result.rows,
        "total": result.total,
        "page": page,
        "per_page": per_page,
        "counts": result.counts,
        "filters": filters,
    }
    ctx = {
        "result": result,
        "filters": filters,
        "regions": rs.regions_with_counts(db, scope=principal.scope, year=filters.year, status="submitted"),
        "can_review": principal.can(Perm.REVIEW),
        "query": query,
        "page_query": urlencode(
            {k: v for k, v in request.query_params.items() if k not in ("done", "n", "check", "page")}
        ),
        "check_all": request.query_params.get("check") == "all",
        "bulk": bulk,
        "done": done_message(request),
        "done_n": request.query_params.get("n"),
        "funnel": rs.FUNNEL,
    }
    block = "bulk_result" if bulk is not None else "results"
    json_url = f"/review?{query}" if query else "/review"
    headers = {"Link": f'<{json_url}>; rel="alternate"; type="application/json"'}
    return render(
        request, "review/queue.html", ctx, block=block, data=data, status_code=status_code, headers=headers
    )


@router.get("", include_in_schema=False)
def review_queue(
    request: Request,
    db: SessionDep,
    principal: Reader,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """The review queue: assessments in scope with filters and counts per status (htmx: the results)."""
    return _queue_page(request, db, principal, page=page, per_page=per_page)


@router.post("/approve", include_in_schema=False)
def bulk_approve(
    request: Request,
    db: SessionDep,
    principal: Reviewer,
    values: Form,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Approves the ticked submitted assessments in one transaction, or none (409 with the list)."""
    picks: list[tuple[int, int]] = []
    raw = values.get("pick") or []
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, dict):
            item = f"{item.get('id')}:{item.get('version')}"
        aid, _, ver = str(item).partition(":")
        if not (aid.isdigit() and ver.isdigit()):
            raise ValidationFailed("勾选的数据格式有误", field_errors={"pick": "格式应为 编号:版本"})
        picks.append((int(aid), int(ver)))

    def on_error(exc: DomainError) -> Response:
        bulk = {"detail": exc.detail, "problems": exc.extra.get("problems", []), "errors": exc.field_errors}
        return _queue_page(
            request, db, principal, page=page, per_page=per_page, bulk=bulk, status_code=exc.status_code
        )

    back = urlencode({k: v for k, v in request.query_params.items() if k not in ("done", "n", "check")})
    return forms.act(
        request,
        db,
        run=lambda: rs.approve_many(db, actor=actor_of(principal), picks=picks),
        shown=on_form,
        on_error=on_error,
        answer=lambda rows: render(request, "review/queue.html", data={"approved": [a.id for a in rows]}),
        success_url=lambda rows: (
            f"/review?{back}&done=bulk&n={len(rows)}" if back else f"/review?done=bulk&n={len(rows)}"
        ),
    )


# -- one assessment --------------------------------------------------------------------------------


def _public(db: Session, a: Assessment) -> dict[str, Any]:
    branch = db.get(Branch, a.branch_id)
    assert branch is not None
    row = rs.to_rows(db, [(a, branch)])[0]
    return row.model_dump() | {"returned_reason": a.returned_reason, "quota_explanation": a.quota_explanation}


def _assessment_page(
    request: Request,
    db: Session,
    principal: Principal,
    assessment_id: int,
    *,
    state: FormState = FRESH,
) -> Response:
    a = service.get(db, assessment_id=assessment_id, scope=principal.scope)
    ctx = rs.review_detail(db, a=a) | {
        "can_review": principal.can(Perm.REVIEW),
        "locked": a.status in LOCKED,
        "form": state.form,
        "values": state.values,
        "errors": state.errors,
        "message": state.message,
        "done": done_message(request),
    }
    return render(
        request,
        "review/assessment.html",
        ctx,
        block="actions",
        data=_public(db, a),
        status_code=state.status_code,
    )


@router.get("/assessments/{assessment_id}", include_in_schema=False)
def review_assessment(request: Request, db: SessionDep, principal: Reader, assessment_id: int) -> Response:
    """One assessment, read-only, with the county's actions."""
    return _assessment_page(request, db, principal, assessment_id)


def _act(
    request: Request, db: Session, principal: Principal, assessment_id: int, values: dict[str, Any], kind: str
) -> Response:
    a = service.get(db, assessment_id=assessment_id, scope=principal.scope)
    actor = actor_of(principal)

    def run() -> None:
        version = integer(values, "version", label="版本号")
        if kind == "approve":
            workflow.approve(db, actor=actor, a=a, version=version)
        elif kind == "return":
            workflow.return_to_inspector(db, actor=actor, a=a, reason=text(values, "reason"), version=version)
        elif kind == "reopen":
            workflow.reopen(db, actor=actor, a=a, reason=text(values, "reason"), version=version)
        else:
            rs.save_designation(db, actor=actor, a=a, version=version, designation=_designation(values))

    def on_error(exc: DomainError) -> Response:
        return _assessment_page(
            request, db, principal, assessment_id, state=FormState.refused(exc, values, kind)
        )

    done = {"approve": "approved", "return": "returned", "reopen": "reopened"}.get(kind, "designated")
    return forms.act(
        request,
        db,
        run=run,
        shown=on_form,
        on_error=on_error,
        answer=lambda _: render(request, "review/assessment.html", data=_public(db, a)),
        success_url=lambda _: f"/review/assessments/{assessment_id}?done={done}",
    )


def _designation(values: dict[str, Any]) -> dict[str, Any] | None:
    if text(values, "clear"):
        return None
    errors = {}
    stars = text(values, "stars")
    if not stars.isdigit() or not 0 <= int(stars) <= 5:
        errors["stars"] = "请选择直接认定的星级"
    for key, label in (("reason", "理由"), ("document", "文件依据")):
        if not text(values, key):
            errors[key] = f"请填写{label}"
        elif len(text(values, key)) > 500:
            errors[key] = f"{label}不超过 500 字"
    if errors:
        raise ValidationFailed("直接定级须选择星级并写明理由和文件依据", field_errors=errors)
    return {"stars": int(stars), "reason": text(values, "reason"), "document": text(values, "document")}


@router.post("/assessments/{assessment_id}/approve", include_in_schema=False)
def approve(
    request: Request, db: SessionDep, principal: Reviewer, assessment_id: int, values: Form
) -> Response:
    """Approves a submitted scoring (locks its scores)."""
    return _act(request, db, principal, assessment_id, values, "approve")


@router.post("/assessments/{assessment_id}/return", include_in_schema=False)
def return_(
    request: Request, db: SessionDep, principal: Reviewer, assessment_id: int, values: Form
) -> Response:
    """Returns a submitted scoring to the inspector with a reason."""
    return _act(request, db, principal, assessment_id, values, "return")


@router.post("/assessments/{assessment_id}/reopen", include_in_schema=False)
def reopen(
    request: Request, db: SessionDep, principal: Reviewer, assessment_id: int, values: Form
) -> Response:
    """Reopens a locked assessment for rescoring, with a reason (audited)."""
    return _act(request, db, principal, assessment_id, values, "reopen")


@router.post("/assessments/{assessment_id}/designation", include_in_schema=False)
def designation(
    request: Request, db: SessionDep, principal: Reviewer, assessment_id: int, values: Form
) -> Response:
    """Sets or clears a direct designation (直接定级) where the criteria set allows it."""
    return _act(request, db, principal, assessment_id, values, "designation")
