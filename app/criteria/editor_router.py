"""The criteria-set editor (and its JSON twin): one section at a time, then publish or archive."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.criteria import schemas, service
from app.criteria.forms import (
    Posted,
    actor_of,
    committed,
    int_field,
    sheet_json,
    write_scope,
)
from app.criteria.schemas import SECTIONS
from app.db import SessionDep
from app.errors import Conflict, DomainError, ValidationFailed
from app.web.htmx import is_fragment_request, redirect, render, wants_json

router = APIRouter(tags=["评分标准"])


# ---- editor -----------------------------------------------------------------------------------
def _state(document: dict[str, Any], section: str) -> dict[str, Any]:
    if section == "raw":
        return {"tree": {"yaml": service.document_yaml(document)}, "errors": {}}
    return {"tree": schemas.section_tree(document), "errors": {}}


def _editor_ctx(row: service.Row, principal: Principal, states: dict[str, dict[str, Any]]) -> dict[str, Any]:
    doc = row.record.document
    all_states = {s: states.get(s) or _state(doc, s) for s in SECTIONS}
    return {
        "set": service.to_public(row, scope=write_scope(principal)),
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
    version = int_field(form, "version")
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
            actor=actor_of(request, principal),
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
        return sheet_json(request, principal, row)
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
    version = int_field(form, "version")
    service.require_draft(row.record)
    service.check_version(row.record, version)
    service.publish(db, record=row.record, actor=actor_of(request, principal), version=version)
    return committed(request, db, principal, row, f"/criteria/{criteria_set_id}?done=published")


@router.post("/criteria/{criteria_set_id}/archive", include_in_schema=False)
def archive(
    request: Request, db: SessionDep, principal: CurrentPrincipal, criteria_set_id: int, form: Posted
) -> Response:
    """Archives a published set: still readable, its assessments unchanged, no longer applied."""
    principal.require(Perm.MANAGE_CRITERIA)
    row = service.get_for_write(db, scope=principal.scope, criteria_set_id=criteria_set_id)
    service.archive(
        db, record=row.record, version=int_field(form, "version"), actor=actor_of(request, principal)
    )
    return committed(request, db, principal, row, f"/criteria/{criteria_set_id}?done=archived")
