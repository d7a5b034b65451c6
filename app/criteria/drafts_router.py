"""New criteria-set drafts (and their JSON twins): upload a document, copy a set into a new year, or
start from the standard library."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.criteria import service
from app.criteria.forms import (
    Posted,
    TooLarge,
    actor_of,
    required_int,
    sheet_json,
    text_field,
)
from app.criteria.models import CriteriaSetRecord
from app.criteria.schemas import MAX_UPLOAD_BYTES, CriteriaFilters
from app.db import SessionDep
from app.errors import DomainError, ValidationFailed
from app.scoring.library import library_names, load_library
from app.web.htmx import is_fragment_request, redirect, render, wants_json

router = APIRouter(tags=["评分标准"])


@cache
def _library() -> list[tuple[str, str]]:
    return [(name, load_library(name).title) for name in library_names()]


# ---- new drafts -------------------------------------------------------------------------------
def _new_ctx(db: Session, principal: Principal, **kw: Any) -> dict[str, Any]:
    sources = service.list_visible(db, scope=principal.scope, filters=CriteriaFilters(), limit=300)
    ctx: dict[str, Any] = {
        "regions": service.issuing_regions(db, scope=principal.scope),
        "sources": [service.to_public(r) for r in sources],
        "library": _library(),
        "values": {},
        "errors": {},
        "form": None,
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    ctx.update(kw)
    return ctx


@router.get("/criteria/new", include_in_schema=False)
def new_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    copy: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Three ways to start a draft: upload a document, copy an existing set, or start from the library."""
    principal.require(Perm.MANAGE_CRITERIA)
    values: dict[str, Any] = {}
    if copy:
        src = service.get_visible(db, scope=principal.scope, criteria_set_id=copy)
        values = {"source": str(copy), "copy_year": str(src.record.year + 1)}
    return render(request, "criteria/new.html", _new_ctx(db, principal, values=values))


def _created(request: Request, db: Session, principal: Principal, record_id: int) -> Response:
    db.commit()
    if wants_json(request):
        row = service.get_visible(db, scope=principal.scope, criteria_set_id=record_id)
        return sheet_json(request, principal, row, status_code=201)
    return redirect(request, f"/criteria/{record_id}?done=created")


def _create(
    request: Request,
    db: Session,
    principal: Principal,
    form: str,
    values: dict[str, Any],
    run: Callable[[], CriteriaSetRecord],
    *,
    year_field: str = "year",
) -> Response:
    """Creates a draft: 201 / the new set, or the form again with the refusal (`year` shown as `year_field`)."""
    try:
        record = run()
    except DomainError as exc:
        if year_field != "year" and "year" in exc.field_errors:
            exc.field_errors[year_field] = exc.field_errors.pop("year")
        return _create_refused(request, db, principal, exc, form, values)
    return _created(request, db, principal, record.id or 0)


def _create_refused(
    request: Request, db: Session, principal: Principal, exc: DomainError, form: str, values: dict[str, Any]
) -> Response:
    db.rollback()
    if wants_json(request):
        raise exc
    errors = exc.field_errors or {"_": exc.detail}
    status = exc.status_code
    block = form if is_fragment_request(request) else None
    if block and status not in (409, 422):
        status = 422  # htmx swaps only 409/422; the message is shown in the form either way
    ctx = _new_ctx(db, principal, values=values, errors=errors, form=form, detail=exc.detail)
    return render(request, "criteria/new.html", ctx, block=block, status_code=status)


async def _read_file(file: UploadFile) -> str:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge("上传的文档过大（不能超过 1 MB）", field_errors={"file": "文件不能超过 1 MB"})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(
            "文件编码有误", field_errors={"file": "文件须为 UTF-8 编码的 YAML 或 JSON"}
        ) from None


@dataclass(frozen=True)
class Upload:
    """The uploaded document text, or why it was refused before parsing (too large, not UTF-8)."""

    text: str
    from_file: bool
    error: DomainError | None = None


async def _upload(form: Posted) -> Upload:
    try:
        file = form.get("file")
        if isinstance(file, UploadFile) and file.filename:
            return Upload(await _read_file(file), True)
        text = form.get("text")
        text = text if isinstance(text, str) else ""
        if len(text.encode("utf-8")) > MAX_UPLOAD_BYTES:
            raise TooLarge("粘贴的文档过大（不能超过 1 MB）", field_errors={"text": "内容不能超过 1 MB"})
        return Upload(text, False)
    except DomainError as exc:
        return Upload("", False, exc)


@router.post("/criteria/upload", include_in_schema=False)
def upload(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    form: Posted,
    posted: Annotated[Upload, Depends(_upload)],
) -> Response:
    """A new draft from a YAML/JSON file or pasted text; errors are listed by document path (422)."""
    principal.require(Perm.MANAGE_CRITERIA)
    values = {"region": text_field(form, "region"), "text": "" if posted.from_file else posted.text}

    def run() -> CriteriaSetRecord:
        if posted.error is not None:
            raise posted.error
        region = service.issuing_region(db, scope=principal.scope, code=values["region"])
        return service.import_text(db, text=posted.text, region=region, actor=actor_of(request, principal))

    return _create(request, db, principal, "upload", values, run)


@router.post("/criteria/copy", include_in_schema=False)
def copy_set(request: Request, db: SessionDep, principal: CurrentPrincipal, form: Posted) -> Response:
    """A new draft copied from a visible set into a new year (the year in the title is replaced)."""
    principal.require(Perm.MANAGE_CRITERIA)
    values = {k: text_field(form, k) for k in ("source", "copy_year", "region")}

    def run() -> CriteriaSetRecord:
        source_id = required_int(form, "source", "请选择要复制的评分标准")
        year = required_int(form, "copy_year", "请填写年度")
        source = service.get_visible(db, scope=principal.scope, criteria_set_id=source_id)
        region = service.issuing_region(db, scope=principal.scope, code=values["region"])
        return service.copy_to_year(
            db, source=source.record, year=year, region=region, actor=actor_of(request, principal)
        )

    return _create(request, db, principal, "copy", values, run, year_field="copy_year")


@router.post("/criteria/from-library", include_in_schema=False)
def from_library(request: Request, db: SessionDep, principal: CurrentPrincipal, form: Posted) -> Response:
    """A new draft from the standard library for a sector (or a shape example)."""
    principal.require(Perm.MANAGE_CRITERIA)
    values = {k: text_field(form, k) for k in ("library", "library_year", "region")}

    def run() -> CriteriaSetRecord:
        year = required_int(form, "library_year", "请填写年度")
        region = service.issuing_region(db, scope=principal.scope, code=values["region"])
        return service.from_library(
            db, name=values["library"], year=year, region=region, actor=actor_of(request, principal)
        )

    return _create(request, db, principal, "library", values, run, year_field="library_year")
