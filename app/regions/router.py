"""Regions pages: browse the subtree of the user's scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import col, func, select

from app.auth.deps import CurrentPrincipal
from app.branches.models import Branch
from app.db import SessionDep
from app.regions import service
from app.regions.schemas import RegionPublic
from app.web.htmx import render

router = APIRouter(tags=["行政区划"])


@router.get("/regions", include_in_schema=False)
def regions_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    code: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    """A region with its children and branch counts (defaults to the user's own region)."""
    region = service.get_by_code(db, code=code, scope=principal.scope) if code else None
    if region is None:
        region = service.get_by_code(db, code=_root_code(db, principal.scope.region_id))
    kids = service.children(db, parent=region)
    counts: dict[str, int] = {}
    if kids:
        for kid in kids:
            counts[kid.code] = 0
        stmt = (
            select(Branch.region_path, func.count())
            .where(col(Branch.region_path).startswith(region.path), Branch.status == "active")
            .group_by(Branch.region_path)
        )
        for path, n in db.exec(stmt):
            parts = path[len(region.path) :].split("/")
            if parts and parts[0] in counts:
                counts[parts[0]] += n
    parent_chain = [r for r in service.ancestors(db, region=region) if principal.scope.contains_path(r.path)]
    data = {
        "region": RegionPublic(code=region.code, name=region.name, level=region.level, path=region.path),
        "children": [
            {
                **RegionPublic(code=k.code, name=k.name, level=k.level, path=k.path).model_dump(),
                "branch_count": counts.get(k.code, 0),
            }
            for k in kids
        ],
    }
    return render(request, "regions/index.html", {"breadcrumbs": parent_chain}, data=data)


def _root_code(db: SessionDep, region_id: int) -> str:
    from app.regions.models import Region

    region = db.get(Region, region_id)
    assert region is not None
    return region.code
