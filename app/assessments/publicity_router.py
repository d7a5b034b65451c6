"""Publicity notices of the county review (and their JSON twins): the list and the form to open one,
one notice with the branches proposed per star, and the objections received during its window."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import clock
from app.assessments import publicity_service as ps
from app.assessments import review_scope, workflow
from app.assessments.models import Objection, Publicity
from app.assessments.review_forms import (
    Form,
    Reader,
    Reviewer,
    actor_of,
    done_message,
    integer,
    on_form,
    text,
    year_param,
)
from app.auth.deps import Principal
from app.auth.roles import Perm
from app.db import SessionDep
from app.errors import DomainError, ValidationFailed
from app.web import forms
from app.web.forms import FRESH, FormState
from app.web.htmx import render

router = APIRouter(prefix="/review", tags=["县级审核"])


# -- publicity -------------------------------------------------------------------------------------


def _publicity_index(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    year: int,
    state: FormState = FRESH,
) -> Response:
    rows = ps.publicity_list(db, scope=principal.scope, year=year)
    regions = review_scope.regions_with_counts(db, scope=principal.scope, year=year, status="reviewed")
    home = next((r for r, _ in regions if r.path == principal.scope.region_path), None)
    home = home or next((r for r, n in regions if r.level == "county" and n), None)
    defaults = {
        "region": home.code if home else "",
        "title": ps.default_title(home, year) if home else "",
        "starts_on": clock.today().isoformat(),
        "days": "5",
        "contact": "",
        "year": str(year),
    }
    data = [
        {
            "id": r.publicity.id,
            "title": r.publicity.title,
            "region_code": r.region.code,
            "region_name": r.region.name,
            "year": r.publicity.year,
            "starts_on": r.publicity.starts_on,
            "ends_on": r.publicity.ends_on,
            "state": r.state,
            "covered": r.covered,
            "pending_objections": r.pending,
        }
        for r in rows
    ]
    ctx = {
        "rows": rows,
        "year": year,
        "regions": regions,
        "values": defaults | state.values,
        "errors": state.errors,
        "message": state.message,
        "can_review": principal.can(Perm.REVIEW),
        "states": ps.PUBLICITY_STATES,
        "done": done_message(request),
    }
    return render(
        request, "review/publicity_index.html", ctx, data={"items": data}, status_code=state.status_code
    )


@router.get("/publicity", include_in_schema=False)
def publicity_index(request: Request, db: SessionDep, principal: Reader) -> Response:
    """Publicity notices in scope, and the form to open one."""
    return _publicity_index(request, db, principal, year=year_param(request))


@router.post("/publicity", include_in_schema=False)
def open_publicity(request: Request, db: SessionDep, principal: Reviewer, values: Form) -> Response:
    """Opens a publicity notice for the reviewed assessments of a county or township."""
    year = year_param(request)

    def run() -> tuple[Publicity, int]:
        nonlocal year
        errors: dict[str, str] = {}
        region = review_scope.region_in_scope(db, scope=principal.scope, code=text(values, "region") or "0")
        if region.level not in ("county", "township"):
            errors["region"] = "公示范围须为县/区或乡镇/街道"
        year = integer(values, "year", label="年度") if text(values, "year") else year
        try:
            starts_on = date.fromisoformat(text(values, "starts_on"))
        except ValueError:
            errors["starts_on"] = "日期格式应为 YYYY-MM-DD"
        days = text(values, "days")
        if not days.isdigit():
            errors["days"] = "公示期须为 1–30 天"
        if errors:
            raise ValidationFailed("公示信息有误", field_errors=errors)
        return workflow.open_publicity(
            db,
            actor=actor_of(principal),
            region=region,
            year=year,
            title=text(values, "title"),
            contact=text(values, "contact"),
            starts_on=starts_on,
            days=int(days),
        )

    return forms.act(
        request,
        db,
        run=run,
        shown=lambda exc: exc.status_code != 404,
        on_error=lambda exc: _publicity_index(
            request, db, principal, year=year, state=FormState.refused(exc, values)
        ),
        answer=lambda done: render(
            request, "review/publicity.html", data={"id": done[0].id, "covered": done[1]}, status_code=201
        ),
        success_url=lambda done: f"/review/publicity/{done[0].id}?done=opened",
    )


def _publicity_page(
    request: Request,
    db: Session,
    principal: Principal,
    publicity_id: int,
    *,
    state: FormState = FRESH,
) -> Response:
    pub, region = ps.get_publicity(db, scope=principal.scope, publicity_id=publicity_id)
    entries = ps.publicity_entries(db, publicity=pub)
    objections = ps.objections_of(db, publicity=pub)
    by_stars: dict[int, list[Any]] = {}
    for a, b in entries:
        if a.status in ("publicized", "final"):
            by_stars.setdefault((a.final_stars if a.status == "final" else a.stars) or 0, []).append((a, b))
    window = ps.publicity_state(pub)
    data = {
        "id": pub.id,
        "title": pub.title,
        "region_code": region.code,
        "region_name": region.name,
        "year": pub.year,
        "starts_on": pub.starts_on,
        "ends_on": pub.ends_on,
        "contact": pub.contact,
        "state": window,
        "entries": [
            {
                "assessment_id": a.id,
                "branch_code": b.code,
                "branch_name": b.name,
                "status": a.status,
                "stars": a.stars,
                "final_stars": a.final_stars,
                "total": a.total,
            }
            for a, b in entries
        ],
        "objections": [
            {
                "id": o.id,
                "assessment_id": o.assessment_id,
                "branch_name": b.name,
                "received_on": o.received_on,
                "status": o.status,
                "resolution": o.resolution,
            }
            for o, b in objections
        ],
    }
    ctx = {
        "pub": pub,
        "region": region,
        "state": window,
        "state_label": ps.PUBLICITY_STATES[window],
        "by_stars": sorted(by_stars.items(), key=lambda kv: -(kv[0] or 0)),
        "sent_back": [(a, b) for a, b in entries if a.status not in ("publicized", "final")],
        "publicized": [(a, b) for a, b in entries if a.status == "publicized"],
        "objections": objections,
        "can_review": principal.can(Perm.REVIEW),
        "form": state.form,
        "values": state.values or {"received_on": min(clock.today(), pub.ends_on).isoformat()},
        "errors": state.errors,
        "message": state.message,
        "done": done_message(request),
    }
    return render(
        request, "review/publicity.html", ctx, block="objections", data=data, status_code=state.status_code
    )


@router.get("/publicity/{publicity_id}", include_in_schema=False)
def publicity_page(request: Request, db: SessionDep, principal: Reader, publicity_id: int) -> Response:
    """A publicity notice: branches proposed per star, window, contact and objections (printable)."""
    return _publicity_page(request, db, principal, publicity_id)


@router.post("/publicity/{publicity_id}/objections", include_in_schema=False)
def record_objection(
    request: Request, db: SessionDep, principal: Reviewer, publicity_id: int, values: Form
) -> Response:
    """Records an objection received during the window."""
    pub, _region = ps.get_publicity(db, scope=principal.scope, publicity_id=publicity_id)

    def run() -> Objection:
        assessment_id = integer(values, "assessment_id", label="支部")
        try:
            received_on = date.fromisoformat(text(values, "received_on"))
        except ValueError:
            raise ValidationFailed(
                "收到日期有误", field_errors={"received_on": "日期格式应为 YYYY-MM-DD"}
            ) from None
        return ps.record_objection(
            db,
            actor=actor_of(principal),
            publicity=pub,
            assessment_id=assessment_id,
            received_on=received_on,
            submitter=text(values, "submitter") or None,
            content=text(values, "content"),
        )

    def on_error(exc: DomainError) -> Response:
        return _publicity_page(
            request, db, principal, publicity_id, state=FormState.refused(exc, values, "record")
        )

    return forms.act(
        request,
        db,
        run=run,
        shown=on_form,
        on_error=on_error,
        answer=lambda obj: render(
            request, "review/publicity.html", data={"id": obj.id, "status": obj.status}, status_code=201
        ),
        success_url=lambda obj: f"/review/publicity/{publicity_id}?done=objection#objections",
    )


@router.post("/publicity/{publicity_id}/objections/{objection_id}/resolve", include_in_schema=False)
def resolve_objection(
    request: Request, db: SessionDep, principal: Reviewer, publicity_id: int, objection_id: int, values: Form
) -> Response:
    """Resolves an objection: 成立 sends the assessment back to review, 不成立 keeps it."""
    pub, _region = ps.get_publicity(db, scope=principal.scope, publicity_id=publicity_id)
    obj = ps.get_objection(db, publicity=pub, objection_id=objection_id)

    def run() -> None:
        decision = text(values, "decision")
        if decision not in ("upheld", "dismissed"):
            raise ValidationFailed(
                "请选择处理结果", field_errors={f"decision_{objection_id}": "请选择异议成立或不成立"}
            )
        workflow.resolve_objection(
            db,
            actor=actor_of(principal),
            objection=obj,
            upheld=decision == "upheld",
            resolution=text(values, "resolution"),
        )

    def on_error(exc: DomainError) -> Response:
        # The form of each objection has its own field names (decision_7 …).
        errors = {
            f"{k}_{objection_id}" if not k.endswith(f"_{objection_id}") else k: v
            for k, v in exc.field_errors.items()
        }
        return _publicity_page(
            request,
            db,
            principal,
            publicity_id,
            state=replace(FormState.refused(exc, values, f"resolve_{objection_id}"), errors=errors),
        )

    return forms.act(
        request,
        db,
        run=run,
        shown=on_form,
        on_error=on_error,
        answer=lambda _: render(request, "review/publicity.html", data={"id": obj.id, "status": obj.status}),
        success_url=lambda _: f"/review/publicity/{publicity_id}?done=resolved#objections",
    )
