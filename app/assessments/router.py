"""The tablet: the inspector's list, the scorecard (item saves, extras, totals, explanation), evidence,
submission and the audit trail. Every route answers JSON, an htmx fragment or a page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy import Engine
from sqlmodel import Session

from app import clock, labels
from app.assessments import evidence as evidence_service
from app.assessments import scoring, service, workflow
from app.assessments.models import Assessment
from app.assessments.schemas import ExtrasSave, ItemSave
from app.audit import service as audit_service
from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.branches.models import Branch
from app.db import ReadSessionDep, SessionDep, in_write_lane
from app.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.labels import ASSESSMENT_STATUSES
from app.web.htmx import is_fragment_request, redirect, render, wants_json

router = APIRouter(tags=["考评"])

AssessmentId = Annotated[int, Path(ge=1, le=2_147_483_647)]
ItemCode = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")]
EvidenceId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class ExtrasIn(ExtrasSave):
    """Extras as the scorecard sends them: with the extras it last saw (`base`), for the conflict check."""

    base: dict[str, Any] | None = None


def actor_of(principal: Principal) -> service.Actor:
    user = principal.user
    return service.Actor(user.id, user.display_name, user.role, principal.scope)


def _load(db: SessionDep, principal: Principal, assessment_id: int) -> tuple[Assessment, service.Actor]:
    return service.get(db, assessment_id=assessment_id, scope=principal.scope), actor_of(principal)


def _mode(db: SessionDep, actor: service.Actor, a: Assessment) -> service.CardMode:
    return service.card_mode(actor, a, scoring.criteria_of(db, a).self_assessment)


# -- the inspector's list ----------------------------------------------------------------------


@router.get("/inspect", include_in_schema=False)
def inspect_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The year's branches of the user's township with status and progress, not-yet-visited first."""
    year = year or clock.this_year()
    status = status if status in (*ASSESSMENT_STATUSES, "none") else None
    rows, counts, cut = service.inspection_list(db, scope=principal.scope, year=year, status=status, q=q)
    scores = principal.user.role != "branch"
    data = {
        "year": year,
        "items": [r.public(scores=scores) for r in rows],
        "counts": counts,
        "truncated": cut,
    }
    ctx = {"rows": rows, "counts": counts, "cut": cut, "year": year, "status": status, "q": q or ""}
    ctx["scores"] = scores
    return render(request, "assessments/inspect.html", ctx, block="results", data=data)


@router.post("/inspect/start", include_in_schema=False)
def start_assessment(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    branch_code: Annotated[str, Form(min_length=1, max_length=32)],
    year: Annotated[int, Form(ge=2000, le=2100)],
) -> Response:
    """Starts a branch's assessment for the year under the published criteria set, then opens it."""
    a = service.start(db, actor=actor_of(principal), branch_code=branch_code, year=year)
    db.commit()
    if wants_json(request):
        return render(request, "assessments/inspect.html", {}, data=service.public(db, a), status_code=201)
    return redirect(request, f"/assessments/{a.id}/score")


# -- the scorecard -------------------------------------------------------------------------------


def _card_context(db: SessionDep, a: Assessment, mode: service.CardMode, **extra: Any) -> dict[str, Any]:
    card = scoring.card(db, a, mode.source)
    branch = db.get(Branch, a.branch_id)
    return {
        "a": a,
        "branch": branch,
        "card": card,
        "cs": card.cs,
        "mode": mode,
        "totals": scoring.totals_public(a, card.result, mode.source),
        **extra,
    }


def _card_data(db: SessionDep, ctx: dict[str, Any]) -> dict[str, Any]:
    card: scoring.Card = ctx["card"]
    a: Assessment = ctx["a"]
    return {
        "assessment": service.public(db, a, ctx["branch"], scores=ctx["mode"].source == "inspector"),
        "source": ctx["mode"].source,
        "editable": ctx["mode"].editable,
        "returned_reason": a.returned_reason if a.status == "returned" else None,
        "totals": ctx["totals"],
        "extras": a.extras if ctx["mode"].source == "inspector" else None,
        "items": [ci.public(card.updated_by(ci)) for ci in card.items()],
    }


@router.get("/assessments/{assessment_id}/score", include_in_schema=False)
def score_page(
    request: Request, db: SessionDep, principal: CurrentPrincipal, assessment_id: AssessmentId
) -> Response:
    """The scorecard under the assessment's pinned criteria set (self-assessment for branch users)."""
    a, actor = _load(db, principal, assessment_id)
    mode = _mode(db, actor, a)
    ctx = _card_context(db, a, mode, problems=[])
    return render(request, "assessments/score.html", ctx, data=_card_data(db, ctx))


@router.get("/assessments/{assessment_id}/items/{item_code}", include_in_schema=False)
def item_view(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    assessment_id: AssessmentId,
    item_code: ItemCode,
) -> Response:
    """One item's editor as it is stored now (the card reloads it after "take theirs")."""
    a, actor = _load(db, principal, assessment_id)
    ci, card, mode = _one(db, a, actor, item_code)
    ctx = {"a": a, "card": card, "ci": ci, "mode": mode, "cs": card.cs}
    return render(request, "assessments/_item.html", ctx, data=ci.public(card.updated_by(ci)))


def _one(
    db: SessionDep, a: Assessment, actor: service.Actor, item_code: str
) -> tuple[scoring.CardItem, scoring.Card, service.CardMode]:
    mode = _mode(db, actor, a)
    card = scoring.card(db, a, mode.source, only=item_code)
    ci = card.find(item_code)
    if ci is None:
        raise NotFound("该评分标准中没有这个指标")
    return ci, card, mode


@router.put("/assessments/{assessment_id}/items/{item_code}", include_in_schema=False)
async def save_item(
    request: Request,
    db: SessionDep,
    read: ReadSessionDep,
    principal: CurrentPrincipal,
    assessment_id: AssessmentId,
    item_code: ItemCode,
    body: Annotated[ItemSave, Body()],
) -> Response:
    """The item autosave, the most frequent write of all: run in the write lane (app.db.in_write_lane)."""
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    return await in_write_lane(
        engine, lambda: _save_item(request, db, read, principal, assessment_id, item_code, body)
    )


def _save_item(
    request: Request,
    db: Session,
    read: Session,
    principal: Principal,
    assessment_id: int,
    item_code: str,
    body: ItemSave,
) -> Response:
    """Saves one item's entry on the version it was based on; answers the item and the new totals.

    Checked, scored and written in one transaction: on SQLite under the writer lock from its first
    statement (the write lane runs one save at a time, so saves never wait for each other's lock), on
    PostgreSQL under the assessment's row lock. The answer is built from what THIS write stored and
    scored: no second read of the card after the commit."""
    actor = actor_of(principal)
    source = "self" if actor.role == "branch" else "inspector"
    try:
        a = service.get(db, assessment_id=assessment_id, scope=actor.scope)
        row, result = service.save_item(
            db, actor=actor, assessment=a, item_code=item_code, source=source, data=body
        )
        cs = scoring.criteria_of(db, a)  # cached by its content hash: no query
        context = scoring.item_context(db, a, cs, item_code, source)  # not changed by the save
    except (Conflict, ValidationFailed) as exc:
        db.rollback()
        read.rollback()  # the refusal shows the item as stored now, not as this request first read it
        if not is_fragment_request(request):
            raise
        return _item_refused(request, read, actor, assessment_id, item_code, exc)
    db.commit()
    saver = {actor.user_id: actor.label} if actor.user_id is not None else None
    card = scoring.saved_card(read, a, cs, row, result, context, known_users=saver)
    ci = card.items()[0]
    mode = service.card_mode(actor, a, cs.self_assessment)
    totals = scoring.totals_public(a, card.result, mode.source)
    ctx = {"a": a, "card": card, "ci": ci, "mode": mode, "cs": card.cs, "totals": totals}
    data = {"item": ci.public(card.updated_by(ci)), "totals": totals}
    trigger = {"score-saved": {"item": item_code, "version": ci.version, "total": str(totals["total"])}}
    return render(request, "assessments/_saved.html", ctx, data=data, trigger=trigger)


def _item_refused(
    request: Request,
    read: Session,
    actor: service.Actor,
    assessment_id: int,
    item_code: str,
    exc: DomainError,
) -> Response:
    """The item's own answer to a refused save: the conflict (server value, who) or the error, read as
    stored now in `read` (on SQLite the read engine's: the answer's reads take no writer lock, though the
    refused check itself ran under it)."""
    a = service.get(read, assessment_id=assessment_id, scope=actor.scope)
    ci, card, mode = _one(read, a, actor, item_code)
    read.commit()  # read-only: ends the transaction before rendering
    ctx = {
        "a": a,
        "card": card,
        "ci": ci,
        "mode": mode,
        "cs": card.cs,
        "error": exc,
        "describe": lambda entry: scoring.describe_entry(card.cs, item_code, entry),
    }
    template = "assessments/_conflict.html" if isinstance(exc, Conflict) else "assessments/_item_error.html"
    return render(request, template, ctx, status_code=exc.status_code)


@router.get("/assessments/{assessment_id}/extras", include_in_schema=False)
def extras_view(
    request: Request, db: SessionDep, principal: CurrentPrincipal, assessment_id: AssessmentId
) -> Response:
    """Vetoes, prerequisites and appraisal as stored now."""
    a, actor = _load(db, principal, assessment_id)
    mode = _mode(db, actor, a)
    cs = scoring.criteria_of(db, a)
    ctx = {"a": a, "cs": cs, "mode": mode}
    return render(request, "assessments/_extras.html", ctx, data={"extras": a.extras, "version": a.version})


@router.put("/assessments/{assessment_id}/extras", include_in_schema=False)
def save_extras(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    assessment_id: AssessmentId,
    body: Annotated[ExtrasIn, Body()],
) -> Response:
    """Saves vetoes, prerequisites and appraisal; the designation stays the county's."""
    a, actor = _load(db, principal, assessment_id)
    data = ExtrasSave(
        vetoes=body.vetoes,
        prerequisites=body.prerequisites,
        appraisal=body.appraisal,
        designation=body.designation if actor.can(Perm.REVIEW) else (a.extras or {}).get("designation"),
        version=body.version,
    )
    try:
        result = service.save_extras(db, actor=actor, assessment=a, data=data, base=body.base)
    except (Conflict, ValidationFailed) as exc:
        db.rollback()
        if not is_fragment_request(request):
            raise
        a, actor = _load(db, principal, assessment_id)
        cs = scoring.criteria_of(db, a)
        ctx = {
            "a": a,
            "cs": cs,
            "mode": _mode(db, actor, a),
            "error": exc,
            "extras_text": _extras_text(cs, a.extras),
        }
        template = (
            "assessments/_conflict.html" if isinstance(exc, Conflict) else "assessments/_item_error.html"
        )
        return render(request, template, ctx, status_code=exc.status_code)
    db.commit()
    totals = scoring.totals_public(a, result, "inspector")
    ctx = {"a": a, "cs": scoring.criteria_of(db, a), "mode": _mode(db, actor, a), "totals": totals}
    trigger = {"score-saved": {"item": "extras", "version": a.version, "total": str(totals["total"])}}
    return render(
        request,
        "assessments/_saved_extras.html",
        ctx,
        data={"extras": a.extras, "version": a.version, "totals": totals},
        trigger=trigger,
    )


@router.get("/assessments/{assessment_id}/totals", include_in_schema=False)
def totals_view(
    request: Request, db: SessionDep, principal: CurrentPrincipal, assessment_id: AssessmentId
) -> Response:
    """The running total, band and provisional stars (the sticky bar)."""
    a, actor = _load(db, principal, assessment_id)
    mode = _mode(db, actor, a)
    result = scoring.result_of(db, a) if mode.source == "inspector" else scoring.self_result_of(db, a)
    totals = scoring.totals_public(a, result, mode.source)
    return render(request, "assessments/_totals.html", {"a": a, "totals": totals, "mode": mode}, data=totals)


@router.get("/assessments/{assessment_id}/explanation", include_in_schema=False)
def explanation_view(
    request: Request, db: SessionDep, principal: CurrentPrincipal, assessment_id: AssessmentId
) -> Response:
    """The engine's explanation: item → category → component → total → band → vetoes → stars."""
    a, actor = _load(db, principal, assessment_id)
    mode = _mode(db, actor, a)
    result = scoring.result_of(db, a) if mode.source == "inspector" else scoring.self_result_of(db, a)
    steps = result.to_json()["explanation"]
    data = {"source": mode.source, "total": result.total, "stars": result.stars, "steps": steps}
    return render(request, "assessments/_explanation.html", {"steps": steps, "result": result}, data=data)


# -- submission ----------------------------------------------------------------------------------


@router.post("/assessments/{assessment_id}/submit", include_in_schema=False)
def submit(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    assessment_id: AssessmentId,
    version: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    """The inspector submits the scoring for county review; when blocked, the list of problems."""
    a, actor = _load(db, principal, assessment_id)
    try:
        workflow.submit(db, actor=actor, a=a, version=version)
    except ValidationFailed as exc:
        db.rollback()
        if wants_json(request) or "problems" not in exc.extra:
            raise
        a, actor = _load(db, principal, assessment_id)
        ctx = _card_context(db, a, _mode(db, actor, a), problems=exc.extra["problems"])
        return render(request, "assessments/score.html", ctx, block="problems", status_code=422)
    db.commit()
    if wants_json(request):
        return render(request, "assessments/score.html", {}, data=service.public(db, a))
    return redirect(request, f"/assessments/{a.id}/score")


@router.post("/assessments/{assessment_id}/self-submit", include_in_schema=False)
def self_submit(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    assessment_id: AssessmentId,
    version: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    """The branch secretary submits the self-assessment."""
    a, actor = _load(db, principal, assessment_id)
    workflow.self_submit(db, actor=actor, a=a, version=version)
    db.commit()
    if wants_json(request):
        return render(request, "assessments/score.html", {}, data=service.public(db, a))
    return redirect(request, f"/assessments/{a.id}/score")


# -- the audit trail -----------------------------------------------------------------------------


@router.get("/assessments/{assessment_id}/audit", include_in_schema=False)
def audit_page(
    request: Request, db: SessionDep, principal: CurrentPrincipal, assessment_id: AssessmentId
) -> Response:
    """Every change of the assessment (who, when, item, old → new, reason), oldest first."""
    a, _actor = _load(db, principal, assessment_id)
    cs = scoring.criteria_of(db, a)
    names = {leaf.item.code: leaf.item.name for leaf in cs.items()}
    events = audit_service.for_assessment(db, assessment_id=a.id or 0)
    rows = [_audit_row(cs, names, e) for e in events]
    data = {"assessment_id": a.id, "events": rows}
    ctx = {"a": a, "branch": db.get(Branch, a.branch_id), "rows": rows}
    return render(request, "assessments/audit.html", ctx, data=data)


def _audit_row(cs: Any, names: dict[str, str], e: Any) -> dict[str, Any]:
    old, new = e.old, e.new
    if e.action in ("score.inspector", "score.self"):
        old_text = scoring.describe_entry(cs, e.item_code, old["entry"]) if old else "（未录入）"
        new_text = scoring.describe_entry(cs, e.item_code, new["entry"]) if new else ""
        if (old or {}).get("note") != (new or {}).get("note") and (new or {}).get("note"):
            new_text += f"；备注：{new['note']}"
    elif e.action == "assessment.transition":
        old_text = ASSESSMENT_STATUSES.get((old or {}).get("status", ""), "")
        new_text = ASSESSMENT_STATUSES.get((new or {}).get("status", ""), "")
    elif e.action == "score.extras":
        old_text, new_text = _extras_text(cs, old), _extras_text(cs, new)
    elif e.action.startswith("evidence."):
        old_text = (old or {}).get("filename", "")
        new_text = (new or {}).get("filename", "")
    else:
        old_text = "" if old is None else str(old)
        new_text = "" if new is None else str(new)
    return {
        "id": e.id,
        "at": e.at,
        "actor": e.actor_label,
        "action": e.action,
        "action_label": labels.AUDIT_ACTIONS.get(e.action, e.action),
        "item_code": e.item_code,
        "item_name": names.get(e.item_code or "", ""),
        "old": old,
        "new": new,
        "old_text": old_text,
        "new_text": new_text,
        "reason": e.reason,
    }


def _extras_text(cs: Any, extras: dict[str, Any] | None) -> str:
    if not extras:
        return "（无）"
    parts = []
    for code, reason in (extras.get("vetoes") or {}).items():
        veto = cs.veto(code)
        parts.append(f"一票否决：{veto.name if veto else code}（{reason}）")
    for code in extras.get("prerequisites") or []:
        pre = cs.prerequisite(code)
        parts.append(f"具备：{pre.name if pre else code}")
    appraisal = extras.get("appraisal")
    if isinstance(appraisal, dict):
        parts.append(
            f"评议：满意 {appraisal.get('satisfied', 0)}、基本满意 {appraisal.get('basic', 0)}、"
            f"不满意 {appraisal.get('unsatisfied', 0)} 票"
        )
    elif appraisal is not None:
        parts.append(f"评议得分 {appraisal}")
    if extras.get("designation"):
        d = extras["designation"]
        parts.append(f"直接定级 {d.get('stars')} 星（{d.get('document', '')}）")
    return "；".join(parts) or "（无）"


# -- evidence ------------------------------------------------------------------------------------


@router.post("/assessments/{assessment_id}/items/{item_code}/evidence", include_in_schema=False)
def upload_evidence(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    assessment_id: AssessmentId,
    item_code: ItemCode,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Adds a photo or PDF to an item (checked by its bytes, ≤ 10 MB); answers the item's evidence."""
    a, actor = _load(db, principal, assessment_id)
    data = file.file.read(evidence_service.max_bytes() + 1)
    row = evidence_service.add(
        db,
        actor=actor,
        assessment=a,
        item_code=item_code,
        filename=file.filename,
        declared_type=file.content_type,
        data=data,
    )
    db.commit()
    return _evidence_answer(request, db, a, actor, item_code, status_code=201, created=row.id)


@router.delete("/evidence/{evidence_id}", include_in_schema=False)
def delete_evidence(
    request: Request, db: SessionDep, principal: CurrentPrincipal, evidence_id: EvidenceId
) -> Response:
    """Marks a file deleted (audited); answers the item's remaining evidence."""
    actor = actor_of(principal)
    row = evidence_service.delete(db, actor=actor, evidence_id=evidence_id)
    db.commit()
    a = service.get(db, assessment_id=row.assessment_id, scope=principal.scope)
    return _evidence_answer(request, db, a, actor, row.item_code or "")


def _evidence_answer(
    request: Request,
    db: SessionDep,
    a: Assessment,
    actor: service.Actor,
    item_code: str,
    *,
    status_code: int = 200,
    created: int | None = None,
) -> Response:
    ci, card, mode = _one(db, a, actor, item_code)
    ctx = {"a": a, "card": card, "ci": ci, "mode": mode, "cs": card.cs}
    data = {
        "item_code": item_code,
        "created": created,
        "evidence": [scoring.evidence_public(e) for e in ci.evidence],
        "evidence_missing": ci.evidence_missing,
    }
    return render(request, "assessments/_evidence_saved.html", ctx, data=data, status_code=status_code)


def _file_response(
    request: Request, db: SessionDep, principal: Principal, evidence_id: int, thumb: bool
) -> Response:
    f = evidence_service.open_file(db, evidence_id=evidence_id, scope=principal.scope, thumbnail=thumb)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400"}
    return FileResponse(
        f.path,
        media_type=f.content_type,
        filename=f.filename,
        content_disposition_type="inline" if f.inline else "attachment",
        headers=headers,
    )


@router.get("/evidence/{evidence_id}", include_in_schema=False)
def evidence_file(
    request: Request, db: SessionDep, principal: CurrentPrincipal, evidence_id: EvidenceId
) -> Response:
    """The stored file, to users whose scope covers its assessment (PDFs as attachments)."""
    return _file_response(request, db, principal, evidence_id, thumb=False)


@router.get("/evidence/{evidence_id}/thumb", include_in_schema=False)
def evidence_thumbnail(
    request: Request, db: SessionDep, principal: CurrentPrincipal, evidence_id: EvidenceId
) -> Response:
    """A JPEG thumbnail (≤ 320 px) of an image."""
    return _file_response(request, db, principal, evidence_id, thumb=True)
