"""Branch register pages (and their JSON twins): list, detail, create, edit, dissolve, merge."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import labels
from app.audit import service as audit
from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.branches import service
from app.branches.forms import Submitted, actor_of, parse
from app.branches.models import Branch
from app.branches.router_io import router as io_router
from app.branches.schemas import BranchCreate, BranchDissolve, BranchFilters, BranchMerge, BranchUpdate
from app.db import SessionDep
from app.errors import Conflict, DomainError
from app.regions import service as regions_service
from app.web.htmx import redirect, render, wants_json

router = APIRouter(tags=["支部台账"])
# Import/export routes first: "/branches/import" must not be taken for a branch code.
router.include_router(io_router)

DONE = {
    "created": "支部已新建。",
    "updated": "修改已保存。",
    "dissolved": "支部已撤销。",
    "merged": "支部已合并。",
}
FORM_FIELDS = (
    "code",
    "name",
    "sector",
    "region_code",
    "secretary_name",
    "secretary_phone",
    "member_count",
    "founded_on",
    "version",
)


def _form_values(values: dict[str, Any]) -> dict[str, str]:
    return {k: "" if values.get(k) is None else str(values[k]) for k in FORM_FIELDS}


def _branch_values(branch: Branch) -> dict[str, str]:
    return _form_values(service.snapshot(branch) | {"version": branch.version})


@router.get("/branches", include_in_schema=False)
def branches_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    filters: Annotated[BranchFilters, Depends()],
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Lists the branches in scope with search, filters and pages (htmx: the results block)."""
    result = service.list_branches(db, scope=principal.scope, filters=filters, page=page, per_page=per_page)
    townships = regions_service.in_scope(db, scope=principal.scope, level="township")
    data = {"items": result.rows, "total": result.total, "page": page, "per_page": per_page}
    return render(
        request,
        "branches/index.html",
        {
            "result": result,
            "filters": filters,
            "townships": townships,
            "can_manage": principal.can(Perm.MANAGE_BRANCHES),
        },
        block="results",
        data=data,
    )


def _form_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    branch: Branch | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    conflict: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = {
        "branch": service.to_public(db, [branch])[0] if branch else None,
        "values": values,
        "errors": errors or {},
        "conflict": conflict,
        "regions": regions_service.in_scope(db, scope=principal.scope)[:3000],
    }
    return render(request, "branches/form.html", ctx, status_code=status_code)


def _refused(
    request: Request,
    db: Session,
    principal: Principal,
    exc: DomainError,
    *,
    branch: Branch | None,
    values: dict,
) -> Response:
    """A refused form: the page again with the typed values and the errors at their fields."""
    if wants_json(request) or not (exc.field_errors or isinstance(exc, Conflict)):
        raise exc
    conflict = None
    shown = _form_values(values)
    if isinstance(exc, Conflict) and "current" in exc.extra:
        current = exc.extra["current"]
        conflict = {"detail": exc.detail, "current": current, "changed_by": exc.extra.get("changed_by")}
        shown["version"] = str(current["version"])  # a second save is a conscious overwrite
    errors = exc.field_errors or ({} if conflict else {"_": exc.detail})
    return _form_page(
        request,
        db,
        principal,
        branch=branch,
        values=shown,
        errors=errors,
        conflict=conflict,
        status_code=exc.status_code,
    )


@router.get("/branches/new", include_in_schema=False)
def new_branch_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    region: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    """The form for a new branch."""
    principal.require(Perm.MANAGE_BRANCHES)
    values = _form_values({"region_code": region, "member_count": 0})
    return _form_page(request, db, principal, branch=None, values=values)


@router.post("/branches", include_in_schema=False)
def create_branch(
    request: Request, db: SessionDep, principal: CurrentPrincipal, values: Submitted
) -> Response:
    """Creates a branch (form → detail page; JSON → 201 with the branch)."""
    principal.require(Perm.MANAGE_BRANCHES)
    try:
        data = parse(BranchCreate, values)
        branch = service.create(db, scope=principal.scope, actor=actor_of(request, principal), data=data)
    except DomainError as exc:
        db.rollback()
        return _refused(request, db, principal, exc, branch=None, values=values)
    db.commit()
    public = service.to_public(db, [branch])[0]
    if wants_json(request):
        return render(request, "branches/detail.html", data=public, status_code=201)
    return redirect(request, f"/branches/{branch.code}?done=created")


@router.get("/branches/{code}", include_in_schema=False)
def branch_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    code: str,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """One branch of the register (with its change history and, for managers, the status forms)."""
    branch = service.get_by_code(db, code=code, scope=principal.scope)
    public = service.to_public(db, [branch])[0]
    return render(request, "branches/detail.html", _detail_ctx(db, principal, branch, done=done), data=public)


def _detail_ctx(
    db: Session,
    principal: Principal,
    branch: Branch,
    *,
    done: str | None = None,
    forms: dict[str, Any] | None = None,
) -> dict[str, Any]:
    forms = forms or {}
    can_manage = principal.can(Perm.MANAGE_BRANCHES)
    return {
        "branch": service.to_public(db, [branch])[0],
        "phone": branch.secretary_phone if can_manage else None,
        "status_reason": branch.status_reason,
        "can_manage": can_manage and branch.status == "active",
        "candidates": service.merge_candidates(db, scope=principal.scope, branch=branch)
        if can_manage and branch.status == "active"
        else [],
        "history": audit.for_entity(db, entity_type="branch", entity_id=branch.code, limit=20),
        "done": DONE.get(done or ""),
        "field_labels": labels.BRANCH_FIELDS,
        "action_labels": labels.BRANCH_ACTIONS,
        "dissolve": forms.get("dissolve", {"values": {}, "errors": {}}),
        "merge": forms.get("merge", {"values": {}, "errors": {}}),
    }


@router.get("/branches/{code}/edit", include_in_schema=False)
def edit_branch_page(request: Request, db: SessionDep, principal: CurrentPrincipal, code: str) -> Response:
    """The edit form of a branch (carries the version it was read at)."""
    principal.require(Perm.MANAGE_BRANCHES)
    branch = service.get_by_code(db, code=code, scope=principal.scope)
    if branch.status != "active":
        raise Conflict("已撤销或已合并的支部不能再修改")
    return _form_page(request, db, principal, branch=branch, values=_branch_values(branch))


@router.post("/branches/{code}/edit", include_in_schema=False)
def update_branch(
    request: Request, db: SessionDep, principal: CurrentPrincipal, code: str, values: Submitted
) -> Response:
    """Saves an edit if nobody changed the branch since it was read (409 with the current values otherwise)."""
    principal.require(Perm.MANAGE_BRANCHES)
    branch = service.get_by_code(db, code=code, scope=principal.scope)
    try:
        data = parse(BranchUpdate, values)
        branch = service.update(
            db, scope=principal.scope, actor=actor_of(request, principal), code=code, data=data
        )
    except DomainError as exc:
        db.rollback()
        return _refused(request, db, principal, exc, branch=branch, values=values | {"code": code})
    db.commit()
    if wants_json(request):
        return render(request, "branches/detail.html", data=service.to_public(db, [branch])[0])
    return redirect(request, f"/branches/{code}?done=updated")


def _status_change(
    request: Request, db: Session, principal: Principal, code: str, values: dict[str, Any], kind: str
) -> Response:
    principal.require(Perm.MANAGE_BRANCHES)
    branch = service.get_by_code(db, code=code, scope=principal.scope)
    actor = actor_of(request, principal)
    try:
        if kind == "dissolve":
            branch = service.dissolve(
                db, scope=principal.scope, actor=actor, code=code, data=parse(BranchDissolve, values)
            )
        else:
            branch = service.merge(
                db, scope=principal.scope, actor=actor, code=code, data=parse(BranchMerge, values)
            )
    except DomainError as exc:
        db.rollback()
        if wants_json(request) or not (exc.field_errors or isinstance(exc, Conflict)):
            raise
        errors = exc.field_errors or {"_": exc.detail}
        form = {"values": {k: str(v) for k, v in values.items()}, "errors": errors}
        db.refresh(branch)
        ctx = _detail_ctx(db, principal, branch, forms={kind: form})
        public = ctx["branch"]
        return render(request, "branches/detail.html", ctx, data=public, status_code=exc.status_code)
    db.commit()
    if wants_json(request):
        return render(request, "branches/detail.html", data=service.to_public(db, [branch])[0])
    return redirect(request, f"/branches/{code}?done={kind}d")


@router.post("/branches/{code}/dissolve", include_in_schema=False)
def dissolve_branch(
    request: Request, db: SessionDep, principal: CurrentPrincipal, code: str, values: Submitted
) -> Response:
    """Dissolves a branch (date and reason required); it stays in the register as 已撤销."""
    return _status_change(request, db, principal, code, values, "dissolve")


@router.post("/branches/{code}/merge", include_in_schema=False)
def merge_branch(
    request: Request, db: SessionDep, principal: CurrentPrincipal, code: str, values: Submitted
) -> Response:
    """Merges a branch into another active branch of the scope (reason required)."""
    return _status_change(request, db, principal, code, values, "merge")
