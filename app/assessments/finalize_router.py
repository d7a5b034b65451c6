"""Finalization of the county review (and its JSON twin): the quota preview (nothing is written), the
confirm form, and the final stars of a region."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.assessments import finalize_service as fs
from app.assessments import review_scope
from app.assessments.review_forms import Form, Reviewer, actor_of, done_message, integer, text, year_param
from app.auth.deps import Principal
from app.db import SessionDep
from app.errors import DomainError
from app.web import forms
from app.web.forms import FRESH, FormState
from app.web.htmx import render

router = APIRouter(prefix="/review", tags=["县级审核"])


# -- finalize --------------------------------------------------------------------------------------


def _finalize_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    year: int,
    region_code: str | None,
    state: FormState = FRESH,
) -> Response:
    regions = review_scope.regions_with_counts(db, scope=principal.scope, year=year, status="publicized")
    if not region_code:
        home = next((r for r, _ in regions if r.path == principal.scope.region_path), None)
        region_code = home.code if home else None
    region = (
        review_scope.region_in_scope(db, scope=principal.scope, code=region_code) if region_code else None
    )
    preview = fs.finalize_preview(db, scope=principal.scope, region=region, year=year) if region else None
    finals = fs.finals(db, region=region, year=year) if region else []
    data = None
    if preview is not None:
        data = {
            "region_code": preview.region.code,
            "year": year,
            "count": preview.count,
            "fingerprint": preview.fingerprint,
            "blockers": preview.blockers,
            "decisions": {str(k): v for k, v in preview.decisions.items()},
            "groups": [
                {
                    "set_title": g.set_title,
                    "scope_name": g.scope_name,
                    "pool": g.pool,
                    "members": g.members,
                    "before": g.before,
                    "after": g.after,
                    "moved": [m.__dict__ for m in g.moved],
                }
                for g in preview.groups
            ],
            "final": [
                {"assessment_id": a.id, "branch_code": b.code, "final_stars": a.final_stars}
                for a, b in finals
            ],
        }
    ctx = {
        "year": year,
        "regions": regions,
        "region": region,
        "preview": preview,
        "finals": finals,
        "final_counts": fs.star_counts(finals),
        "is_admin": principal.user.role == "admin",
        "values": state.values,
        "errors": state.errors,
        "message": state.message,
        "done": done_message(request),
        "done_n": request.query_params.get("n"),
    }
    return render(
        request,
        "review/finalize.html",
        ctx,
        data=data or {"regions": [r.code for r, _ in regions]},
        status_code=state.status_code,
    )


@router.get("/finalize", include_in_schema=False)
def finalize_page(
    request: Request,
    db: SessionDep,
    principal: Reviewer,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
) -> Response:
    """The quota preview of a finalization (nothing is written), the confirm form, and final stars."""
    return _finalize_page(request, db, principal, year=year_param(request), region_code=region)


@router.post("/finalize", include_in_schema=False)
def finalize(request: Request, db: SessionDep, principal: Reviewer, values: Form) -> Response:
    """Finalizes what the preview showed; refused during the window or with pending objections unless an
    administrator forces it with a reason."""
    year = integer(values, "year", label="年度")
    region = review_scope.region_in_scope(db, scope=principal.scope, code=text(values, "region") or "0")

    def on_error(exc: DomainError) -> Response:
        return _finalize_page(
            request, db, principal, year=year, region_code=region.code, state=FormState.refused(exc, values)
        )

    return forms.act(
        request,
        db,
        run=lambda: fs.finalize(
            db,
            actor=actor_of(principal),
            region=region,
            year=year,
            fingerprint=text(values, "fingerprint"),
            force=text(values, "force") in ("1", "on", "true"),
            force_reason=text(values, "force_reason"),
        ),
        shown=lambda exc: exc.status_code not in (403, 404),
        on_error=on_error,
        answer=lambda n: render(request, "review/finalize.html", data={"finalized": n}),
        success_url=lambda n: f"/review/finalize?year={year}&region={region.code}&done=finalized&n={n}",
    )
