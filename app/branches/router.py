"""Branch register pages (and their JSON twins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.auth.deps import CurrentPrincipal
from app.branches import service
from app.branches.schemas import BranchFilters
from app.db import SessionDep
from app.regions import service as regions_service
from app.web.htmx import render

router = APIRouter(tags=["支部台账"])


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
        {"result": result, "filters": filters, "townships": townships},
        block="results",
        data=data,
    )


@router.get("/branches/{code}", include_in_schema=False)
def branch_page(request: Request, db: SessionDep, principal: CurrentPrincipal, code: str) -> Response:
    """One branch of the register."""
    branch = service.get_by_code(db, code=code, scope=principal.scope)
    public = service.to_public(db, [branch])[0]
    return render(request, "branches/detail.html", {"branch": public}, data=public)
