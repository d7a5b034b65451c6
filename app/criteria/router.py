"""Criteria-set pages (and their JSON twins): list, scoring sheet, export, new draft, editor, publish, diff."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from app.audit import service as audit
from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.auth.scope import Scope
from app.criteria import schemas, service
from app.criteria.diff import diff_documents
from app.criteria.schemas import MAX_UPLOAD_BYTES, SECTIONS, CriteriaFilters
from app.db import SessionDep
from app.errors import Conflict, DomainError, ValidationFailed
from app.scoring.document import dec_str
from app.scoring.library import library_names, load_library
from app.web.htmx import is_fragment_request, redirect, render, wants_json

router = APIRouter(tags=["评分标准"])

DONE = {
    "created": "草稿已创建。",
    "published": "评分标准已发布，此后不能再修改。",
    "archived": "评分标准已归档，仍可查看，已有评定记录不受影响。",
}


class TooLarge(DomainError):
    status_code = 413
    title = "上传内容过大"


async def _form(request: Request) -> AsyncIterator[FormData]:
    """The posted form, allowing the editor's many fields and a 1 MB document (files closed afterwards)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > 4 * MAX_UPLOAD_BYTES:  # URL-encoding may triple the text
        raise TooLarge("上传的文档过大（不能超过 1 MB）")
    form = await request.form(max_fields=20000, max_files=2, max_part_size=4 * MAX_UPLOAD_BYTES)
    try:
        yield form
    finally:
        await form.close()


Posted = Annotated[FormData, Depends(_form)]


def _actor(request: Request, principal: Principal) -> audit.Actor:
    return audit.Actor(
        id=principal.user.id,
        label=principal.user.display_name,
        ip=request.client.host if request.client else None,
    )


def _write_scope(principal: Principal) -> Scope | None:
    """The scope in which the principal may write criteria sets (None: read-only role)."""
    return principal.scope if principal.can(Perm.MANAGE_CRITERIA) else None


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _int(form: FormData, key: str) -> int | None:
    text = _text(form, key)
    return int(text) if text.isdigit() and len(text) < 10 else None


def _required_int(form: FormData, key: str, message: str) -> int:
    value = _int(form, key)
    if value is None:
        raise ValidationFailed(message, field_errors={key: message})
    return value


@cache
def _library() -> list[tuple[str, str]]:
    return [(name, load_library(name).title) for name in library_names()]


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
    items = [service.to_public(r, scope=_write_scope(principal)) for r in rows]
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
        return render(
            request,
            "criteria/sheet.html",
            data=service.to_public(row, scope=_write_scope(principal), detail=True),
            status_code=201,
        )
    return redirect(request, f"/criteria/{record_id}?done=created")


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
    values = {"region": _text(form, "region"), "text": "" if posted.from_file else posted.text}
    try:
        if posted.error is not None:
            raise posted.error
        region = service.issuing_region(db, scope=principal.scope, code=values["region"])
        record = service.import_text(db, text=posted.text, region=region, actor=_actor(request, principal))
    except DomainError as exc:
        return _create_refused(request, db, principal, exc, "upload", values)
    return _created(request, db, principal, record.id or 0)


@router.post("/criteria/copy", include_in_schema=False)
def copy_set(request: Request, db: SessionDep, principal: CurrentPrincipal, form: Posted) -> Response:
    """A new draft copied from a visible set into a new year (the year in the title is replaced)."""
    principal.require(Perm.MANAGE_CRITERIA)
    values = {k: _text(form, k) for k in ("source", "copy_year", "region")}
    try:
        source_id = _required_int(form, "source", "请选择要复制的评分标准")
        year = _required_int(form, "copy_year", "请填写年度")
        source = service.get_visible(db, scope=principal.scope, criteria_set_id=source_id)
        region = service.issuing_region(db, scope=principal.scope, code=values["region"])
        record = service.copy_to_year(
            db, source=source.record, year=year, region=region, actor=_actor(request, principal)
        )
    except DomainError as exc:
        if "year" in exc.field_errors:
            exc.field_errors["copy_year"] = exc.field_errors.pop("year")
        return _create_refused(request, db, principal, exc, "copy", values)
    return _created(request, db, principal, record.id or 0)


@router.post("/criteria/from-library", include_in_schema=False)
def from_library(request: Request, db: SessionDep, principal: CurrentPrincipal, form: Posted) -> Response:
    """A new draft from the standard library for a sector (or a shape example)."""
    principal.require(Perm.MANAGE_CRITERIA)
    values = {k: _text(form, k) for k in ("library", "library_year", "region")}
    try:
        year = _required_int(form, "library_year", "请填写年度")
        region = service.issuing_region(db, scope=principal.scope, code=values["region"])
        record = service.from_library(
            db, name=values["library"], year=year, region=region, actor=_actor(request, principal)
        )
    except DomainError as exc:
        if "year" in exc.field_errors:
            exc.field_errors["library_year"] = exc.field_errors.pop("year")
        return _create_refused(request, db, principal, exc, "library", values)
    return _created(request, db, principal, record.id or 0)


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
    public = service.to_public(row, scope=_write_scope(principal), detail=True)
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


# ---- editor -----------------------------------------------------------------------------------
def _state(document: dict[str, Any], section: str) -> dict[str, Any]:
    if section == "raw":
        return {"tree": {"yaml": service.document_yaml(document)}, "errors": {}}
    return {"tree": schemas.section_tree(document), "errors": {}}


def _editor_ctx(row: service.Row, principal: Principal, states: dict[str, dict[str, Any]]) -> dict[str, Any]:
    doc = row.record.document
    all_states = {s: states.get(s) or _state(doc, s) for s in SECTIONS}
    return {
        "set": service.to_public(row, scope=_write_scope(principal)),
        "document": doc,
        "aggregation": doc.get("aggregation", "standard"),
        "version": row.record.version,
        "states": all_states,
        "sections": SECTIONS,
        "labels": schemas.LABELS,
        "rows_of": schemas.rows_of,
        "values_of": schemas.values_of,
    }


def _for_edit(db: Session, principal: Principal, criteria_set_id: int) -> service.Row:
    principal.require(Perm.MANAGE_CRITERIA)
    row = service.get_for_write(db, scope=principal.scope, criteria_set_id=criteria_set_id)
    service.require_draft(row.record)
    return row


@router.get("/criteria/{criteria_set_id}/edit", include_in_schema=False)
def edit_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    criteria_set_id: int,
    saved: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The draft editor: one form per section, each saved (and validated whole) on its own."""
    row = _for_edit(db, principal, criteria_set_id)
    states: dict[str, dict[str, Any]] = {}
    if saved in SECTIONS:
        states[saved] = _state(row.record.document, saved) | {
            "notice": f"已保存（第 {row.record.version} 版）"
        }
    return render(request, "criteria/edit.html", _editor_ctx(row, principal, states))


def _section_response(
    request: Request,
    row: service.Row,
    principal: Principal,
    section: str,
    state: dict[str, Any],
    *,
    status_code: int = 200,
    version: int | None = None,
) -> Response:
    ctx = _editor_ctx(row, principal, {section: state})
    if version is not None:
        ctx["form_version"] = {section: version}
    if is_fragment_request(request):
        ctx |= {"section": section, "oob": status_code == 200}
        return render(request, "criteria/_section.html", ctx, status_code=status_code)
    return render(request, "criteria/edit.html", ctx, status_code=status_code)


@router.post("/criteria/{criteria_set_id}/edit/{section}", include_in_schema=False)
def save_section(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    criteria_set_id: int,
    section: str,
    form: Posted,
) -> Response:
    """Saves one section: merged into the document, validated whole, stored if the version is current."""
    row = _for_edit(db, principal, criteria_set_id)
    if section not in SECTIONS:
        raise ValidationFailed("未知的编辑部分")
    version = _int(form, "version")
    tree = schemas.form_tree(form.multi_items())
    mapping: dict[str, str] = {}
    try:
        if section == "raw":
            raw = form.get("yaml")
            document = service.parse_text(raw if isinstance(raw, str) else "")
        else:
            document, mapping = schemas.merge_section(row.record.document, section, tree)
        service.require_draft(row.record)
        service.check_version(row.record, version)
        service.update_document(
            db,
            record=row.record,
            document=document,
            version=version,
            actor=_actor(request, principal),
            section=section,
        )
    except DomainError as exc:
        db.rollback()
        if wants_json(request):
            raise
        row = service.get_for_write(db, scope=principal.scope, criteria_set_id=criteria_set_id)
        if isinstance(exc, Conflict):
            state = {"tree": tree, "errors": {}, "conflict": exc.detail}
        else:
            pairs = [(k if k != "document" else "", v) for k, v in exc.field_errors.items()]
            errors = schemas.form_errors(pairs, mapping) if pairs else {"_": exc.detail}
            state = {"tree": tree, "errors": errors, "error_list": pairs or [("", exc.detail)]}
        return _section_response(
            request, row, principal, section, state, status_code=exc.status_code, version=version
        )
    db.commit()
    if wants_json(request):
        return render(
            request,
            "criteria/sheet.html",
            data=service.to_public(row, scope=_write_scope(principal), detail=True),
        )
    if not is_fragment_request(request):
        return redirect(request, f"/criteria/{criteria_set_id}/edit?saved={section}#sec-{section}")
    state = _state(row.record.document, section) | {"notice": f"已保存（第 {row.record.version} 版）"}
    return _section_response(request, row, principal, section, state)


# ---- publish, archive -------------------------------------------------------------------------
@router.post("/criteria/{criteria_set_id}/publish", include_in_schema=False)
def publish(
    request: Request, db: SessionDep, principal: CurrentPrincipal, criteria_set_id: int, form: Posted
) -> Response:
    """Publishes a draft (it is frozen from then on and identified by its content hash)."""
    principal.require(Perm.MANAGE_CRITERIA)
    row = service.get_for_write(db, scope=principal.scope, criteria_set_id=criteria_set_id)
    version = _int(form, "version")
    service.require_draft(row.record)
    service.check_version(row.record, version)
    service.publish(db, record=row.record, actor=_actor(request, principal), version=version)
    db.commit()
    if wants_json(request):
        return render(
            request,
            "criteria/sheet.html",
            data=service.to_public(row, scope=_write_scope(principal), detail=True),
        )
    return redirect(request, f"/criteria/{criteria_set_id}?done=published")


@router.post("/criteria/{criteria_set_id}/archive", include_in_schema=False)
def archive(
    request: Request, db: SessionDep, principal: CurrentPrincipal, criteria_set_id: int, form: Posted
) -> Response:
    """Archives a published set: still readable, its assessments unchanged, no longer applied."""
    principal.require(Perm.MANAGE_CRITERIA)
    row = service.get_for_write(db, scope=principal.scope, criteria_set_id=criteria_set_id)
    service.archive(db, record=row.record, version=_int(form, "version"), actor=_actor(request, principal))
    db.commit()
    if wants_json(request):
        return render(
            request,
            "criteria/sheet.html",
            data=service.to_public(row, scope=_write_scope(principal), detail=True),
        )
    return redirect(request, f"/criteria/{criteria_set_id}?done=archived")
