"""Regions pages: browse the subtree of the user's scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import col, func, select

from app.auth.deps import CurrentPrincipal
from app.auth.roles import Perm
from app.branches import router_io, tabular
from app.branches.forms import actor_of
from app.branches.models import Branch
from app.branches.schemas import ImportResult
from app.db import SessionDep
from app.regions import imports, service
from app.regions.paths import in_subtree
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
            .where(in_subtree(col(Branch.region_path), region.path), Branch.status == "active")
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
    return render(
        request,
        "regions/index.html",
        {"breadcrumbs": parent_chain, "can_manage": principal.can(Perm.MANAGE_BRANCHES)},
        data=data,
    )


def _root_code(db: SessionDep, region_id: int) -> str:
    from app.regions.models import Region

    region = db.get(Region, region_id)
    assert region is not None
    return region.code


@router.get("/regions/import", include_in_schema=False)
def region_import_form(request: Request, principal: CurrentPrincipal) -> Response:
    """The region import page."""
    principal.require(Perm.MANAGE_BRANCHES)
    return router_io.import_page(request, kind="regions")


@router.post("/regions/import", include_in_schema=False)
def region_import(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Imports regions from an XLSX or CSV inside the user's scope: all rows or none."""
    principal.require(Perm.MANAGE_BRANCHES)

    def do_import() -> ImportResult:
        data, name = router_io.read_upload(file)
        table = tabular.read_table(data, filename=name)
        try:
            result = imports.import_regions(
                db, scope=principal.scope, actor=actor_of(request, principal), table=table, filename=name
            )
        except Exception:
            db.rollback()
            raise
        db.commit()
        return result

    return router_io.run_import(request, principal, "regions", do_import)


@router.get("/regions/import-template.xlsx", include_in_schema=False)
def region_import_template(principal: CurrentPrincipal) -> Response:
    """The XLSX template for region imports."""
    body = tabular.write_xlsx(
        [
            ("区划", [h for h, _, _ in imports.COLUMNS], [], [w for _, _, w in imports.COLUMNS]),
            ("填写说明", ["列名", "必填", "填写要求"], imports.template_rows(), [16, 8, 80]),
        ]
    )
    disposition = tabular.content_disposition("区划导入模板.xlsx", fallback="region-import-template.xlsx")
    return Response(body, media_type=tabular.XLSX_TYPE, headers={"Content-Disposition": disposition})


@router.get("/regions/import-report/{token}.csv", include_in_schema=False)
def region_import_report(principal: CurrentPrincipal, token: str) -> Response:
    """The error report of the user's last refused region import, as CSV."""
    return router_io.report_response(principal, token)
