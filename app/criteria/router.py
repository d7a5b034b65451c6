"""Criteria-set pages (and their JSON twins): list, diff, scoring sheet, export. New drafts live in
drafts_router, the editor with publish and archive in editor_router."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.auth.deps import CurrentPrincipal
from app.auth.roles import Perm
from app.criteria import schemas, service
from app.criteria.diff import diff_documents
from app.criteria.forms import (
    write_scope,
)
from app.criteria.schemas import CriteriaFilters
from app.db import SessionDep
from app.errors import ValidationFailed
from app.scoring.document import dec_str
from app.web.htmx import render, wants_json

router = APIRouter(tags=["评分标准"])

DONE = {
    "created": "草稿已创建。",
    "published": "评分标准已发布，此后不能再修改。",
    "archived": "评分标准已归档，仍可查看，已有评定记录不受影响。",
}


# ---- list -------------------------------------------------------------------------------------
@router.get("/criteria", include_in_schema=False)
def criteria_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    filters: Annotated[CriteriaFilters, Depends()],
) -> Response:
    """Criteria sets visible to the user (own region and below; published sets of the regions above)."""
    rows = service.list_visible(db, scope=principal.scope, filters=filters)
    items = [service.to_public(r, scope=write_scope(principal)) for r in rows]
    return render(
        request,
        "criteria/index.html",
        {
            "items": items,
            "filters": filters,
            "years": service.years(db, scope=principal.scope),
            "can_manage": principal.can(Perm.MANAGE_CRITERIA),
        },
        block="results",
        data={"items": items, "total": len(items)},
    )


# ---- diff -------------------------------------------------------------------------------------
@router.get("/criteria/diff", include_in_schema=False)
def diff_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    a: Annotated[int | None, Query(ge=1)] = None,
    b: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """A structural diff of two versions: items, points, deductions, bands, vetoes, quotas."""
    sets = [
        service.to_public(r)
        for r in service.list_visible(db, scope=principal.scope, filters=CriteriaFilters())
    ]
    ctx: dict[str, Any] = {"sets": sets, "a": a, "b": b, "diff": None}
    data = None
    if a and b:
        ra = service.get_visible(db, scope=principal.scope, criteria_set_id=a)
        rb = service.get_visible(db, scope=principal.scope, criteria_set_id=b)
        diff = diff_documents(ra.record.document, rb.record.document)
        pa, pb = service.to_public(ra), service.to_public(rb)
        ctx |= {"diff": diff, "left": pa, "right": pb}
        data = {"a": pa, "b": pb, "counts": diff.counts(), "changes": diff.as_json()}
    elif wants_json(request):
        raise ValidationFailed("请指定要比较的两个版本", field_errors={"a": "必填", "b": "必填"})
    return render(request, "criteria/diff.html", ctx, data=data)


# ---- one set: sheet, export -------------------------------------------------------------------
@router.get("/criteria/{criteria_set_id}", include_in_schema=False)
def sheet_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    criteria_set_id: int,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The set as the printable scoring sheet (评分表); JSON: the record with its document."""
    row = service.get_visible(db, scope=principal.scope, criteria_set_id=criteria_set_id)
    public = service.to_public(row, scope=write_scope(principal), detail=True)
    manage = principal.can(Perm.MANAGE_CRITERIA)
    same_sector = [
        service.to_public(r)
        for r in service.list_visible(
            db, scope=principal.scope, filters=CriteriaFilters.model_validate({"sector": row.record.sector})
        )
        if r.record.id != row.record.id
    ]
    ctx = {
        "set": public,
        "cs": service.parsed(row.record),
        "num": schemas_num,
        "labels": schemas.LABELS,
        "can_write": manage and service.can_edit(principal.scope, row),
        "can_copy": manage,
        "history": service.history(db, record=row.record),
        "done": DONE.get(done or ""),
        "compare": same_sector[:50],
    }
    return render(request, "criteria/sheet.html", ctx, data=public)


def schemas_num(value: Any) -> str:
    """Decimals without trailing zeros for the sheet ("5", "0.5")."""
    if value is None:
        return ""
    return dec_str(value)


def _download(body: str, media: str, filename: str) -> Response:
    return Response(
        body.encode("utf-8"),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/criteria/{criteria_set_id}/document.yaml", include_in_schema=False)
def export_yaml(db: SessionDep, principal: CurrentPrincipal, criteria_set_id: int) -> Response:
    """The document as YAML (re-imports to the same content hash)."""
    row = service.get_visible(db, scope=principal.scope, criteria_set_id=criteria_set_id)
    name = f"criteria-{row.record.year}-{row.record.sector}-{row.region.code}-r{row.record.revision}.yaml"
    return _download(service.export_yaml(row.record, row.region), "application/yaml; charset=utf-8", name)


@router.get("/criteria/{criteria_set_id}/document.json", include_in_schema=False)
def export_json(db: SessionDep, principal: CurrentPrincipal, criteria_set_id: int) -> Response:
    """The canonical document as JSON."""
    row = service.get_visible(db, scope=principal.scope, criteria_set_id=criteria_set_id)
    name = f"criteria-{row.record.year}-{row.record.sector}-{row.region.code}-r{row.record.revision}.json"
    return _download(service.export_json(row.record), "application/json; charset=utf-8", name)
