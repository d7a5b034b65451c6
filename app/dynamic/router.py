"""Dynamic-management pages (and their JSON twins): 示范点, mid-year star changes, the visit planner and
the branch timeline. The weak-branch register lives in weak_router and is included here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session

from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.db import SessionDep
from app.dynamic import changes as changes_service
from app.dynamic import demo_sites as demo_service
from app.dynamic import timeline as timeline_service
from app.dynamic import visits as visits_service
from app.dynamic.common import area_path
from app.dynamic.deps import Manager, Reader, Values, Visitor, act, page, today, typed_year, year_param
from app.dynamic.labels import DEMO_SITE_STATUSES, STAR_CHANGE_EVENTS
from app.dynamic.models import DemoSite, StarChange, Visit
from app.dynamic.schemas import (
    DemoSiteDesignate,
    DemoSiteShortlist,
    DemoSiteWithdraw,
    StarChangeCreate,
    VisitCreate,
    parse,
)
from app.dynamic.weak_router import router as weak_router
from app.errors import DomainError
from app.web.forms import FRESH, FormState
from app.web.htmx import redirect

router = APIRouter(prefix="/dynamic", tags=["动态管理"])
router.include_router(weak_router)

DONE = {
    "shortlisted": "已列为示范点候选。",
    "designated": "示范点命名已记录。",
    "withdrawn": "示范点已撤销。",
    "changed": "星级调整已记录，认定星级已更新。",
    "visited": "走访已登记。",
}


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


@router.get("", include_in_schema=False)
def dynamic_home(request: Request, principal: Reader) -> Response:
    """The dynamic-management section starts at the weak-branch register."""
    return redirect(request, "/dynamic/weak")


# -- 示范点 ----------------------------------------------------------------------------------------


def _demo_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    year: int | None = None,
    state: FormState = FRESH,
) -> Response:
    year = year or year_param(request, db, principal, final_only=True)
    region = request.query_params.get("region") or None
    path = area_path(db, scope=principal.scope, region=region)
    sites = demo_service.sites(db, region_path=path, year=year)
    candidates = demo_service.candidates(db, region_path=path, year=year)
    caps = demo_service.cap_info(db, region_path=path, year=year)
    data = {"year": year, "sites": sites, "candidates": candidates, "caps": caps}
    ctx = {
        "year": year,
        "region": region or "",
        "sites": sites,
        "candidates": candidates,
        "caps": caps,
        "statuses": DEMO_SITE_STATUSES,
        "can_manage": principal.can(Perm.REVIEW),
        "form": state.form,
        "values": state.values,
        "errors": state.errors,
        "message": state.message,
        "done": _done(request),
        "today": today(),
        "active": "demo",
    }
    return page(
        request, "dynamic/demo_sites.html", ctx, block="results", data=data, status_code=state.status_code
    )


@router.get("/demo-sites", include_in_schema=False)
def demo_sites(request: Request, db: SessionDep, principal: Reader) -> Response:
    """示范点 of a year: the list, the five-star candidates and each county's cap."""
    return _demo_page(request, db, principal)


def _demo_write(
    request: Request, db: Session, principal: Principal, values: dict[str, Any], form: str, run: Any
) -> Response:
    def on_error(exc: DomainError) -> Response:
        return _demo_page(
            request,
            db,
            principal,
            year=typed_year(values),
            state=FormState.refused(exc, values, form),
        )

    done = form.split("-")[0]
    return act(
        request,
        db,
        run=run,
        public=lambda row: demo_service.to_public(db, [row])[0],
        success_url=lambda row: f"/dynamic/demo-sites?year={row.year}&done={done}",
        on_error=on_error,
        status_code=201 if done == "shortlisted" else 200,
    )


@router.post("/demo-sites", include_in_schema=False)
def shortlist_demo_site(request: Request, db: SessionDep, principal: Manager, values: Values) -> Response:
    """Puts a five-star branch on the 示范点 shortlist."""

    def run() -> DemoSite:
        data = parse(DemoSiteShortlist, values, detail="示范点候选信息有误")
        return demo_service.shortlist(db, scope=principal.scope, actor=principal.actor, data=data)

    return _demo_write(request, db, principal, values, "shortlisted", run)


# The writes on one site, by what is done: (input schema, message when invalid, service).
SITE_WRITES: dict[str, tuple[type[BaseModel], str, Callable[..., DemoSite]]] = {
    "designated": (DemoSiteDesignate, "命名信息有误", demo_service.designate),
    "withdrawn": (DemoSiteWithdraw, "撤销信息有误", demo_service.withdraw),
}


def _site_write(
    request: Request, db: Session, principal: Principal, site_id: int, values: dict[str, Any], done: str
) -> Response:
    """One write on a site in the scope (the site's year is kept for the page shown again)."""
    site = demo_service.get(db, scope=principal.scope, site_id=site_id)
    values.setdefault("year", str(site.year))
    schema, detail, write = SITE_WRITES[done]

    def run() -> DemoSite:
        data = parse(schema, values, detail=detail)
        return write(db, scope=principal.scope, actor=principal.actor, site_id=site_id, data=data)

    return _demo_write(request, db, principal, values, f"{done}-{site_id}", run)


@router.post("/demo-sites/{site_id}/designate", include_in_schema=False)
def designate_demo_site(
    request: Request, db: SessionDep, principal: Manager, site_id: int, values: Values
) -> Response:
    """Records the committee decision naming a 示范点 (date, reason, document number), within the cap."""
    return _site_write(request, db, principal, site_id, values, "designated")


@router.post("/demo-sites/{site_id}/withdraw", include_in_schema=False)
def withdraw_demo_site(
    request: Request, db: SessionDep, principal: Manager, site_id: int, values: Values
) -> Response:
    """Withdraws a 示范点 with a reason."""
    return _site_write(request, db, principal, site_id, values, "withdrawn")


# -- mid-year star changes -------------------------------------------------------------------------


def _changes_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    state: FormState = FRESH,
) -> Response:
    year = year_param(request, db, principal, final_only=True)
    region = request.query_params.get("region") or None
    path = area_path(db, scope=principal.scope, region=region)
    rows = changes_service.changes(db, region_path=path, year=year)
    values = dict(state.values)
    code = values.get("branch") or request.query_params.get("branch") or ""
    target = None
    if code and principal.can(Perm.REVIEW):
        target = changes_service.target(db, scope=principal.scope, code=str(code), year=year)
    ctx = {
        "year": year,
        "region": region or "",
        "rows": rows,
        "events": STAR_CHANGE_EVENTS,
        "target": target,
        "can_manage": principal.can(Perm.REVIEW),
        "values": {"occurred_on": today(), **values},
        "errors": state.errors,
        "message": state.message,
        "done": _done(request),
        "active": "withdrawals",
    }
    data = {"year": year, "items": rows}
    return page(
        request, "dynamic/withdrawals.html", ctx, block="results", data=data, status_code=state.status_code
    )


@router.get("/withdrawals", include_in_schema=False)
def withdrawals(request: Request, db: SessionDep, principal: Reader) -> Response:
    """Mid-year star withdrawals and lowerings (摘星/降星) of a year; ?branch= opens the form for one."""
    return _changes_page(request, db, principal)


@router.post("/withdrawals", include_in_schema=False)
def create_withdrawal(request: Request, db: SessionDep, principal: Manager, values: Values) -> Response:
    """Withdraws or lowers a final star after an event (writes a star change, updates final stars)."""

    def run() -> StarChange:
        data = parse(StarChangeCreate, values, detail="星级调整信息有误")
        return changes_service.change_stars(db, scope=principal.scope, actor=principal.actor, data=data)

    def on_error(exc: DomainError) -> Response:
        return _changes_page(
            request,
            db,
            principal,
            state=FormState.refused(exc, values),
        )

    def public(change: StarChange) -> Any:
        return next(
            r
            for r in changes_service.changes(db, region_path=principal.scope.region_path)
            if r.id == change.id
        )

    year = values.get("year", "")
    return act(
        request,
        db,
        run=run,
        public=public,
        success_url=lambda c: f"/dynamic/withdrawals?year={year}&done=changed",
        on_error=on_error,
        status_code=201,
    )


# -- visit planner ---------------------------------------------------------------------------------


def _planner_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    state: FormState = FRESH,
) -> Response:
    year = year_param(request, db, principal)
    items = visits_service.visit_priorities(db, scope=principal.scope, year=year)
    recent = visits_service.recent(db, region_path=principal.scope.region_path)
    ctx = {
        "year": year,
        "items": items,
        "recent": recent,
        "can_visit": principal.can(Perm.REVIEW) or principal.can(Perm.SCORE),
        "values": {"visited_on": today(), "purpose": "考评", **state.values},
        "errors": state.errors,
        "message": state.message,
        "done": _done(request),
        "active": "planner",
    }
    data = {"year": year, "items": items, "recent": recent}
    return page(
        request, "dynamic/planner.html", ctx, block="results", data=data, status_code=state.status_code
    )


@router.get("/planner", include_in_schema=False)
def planner(request: Request, db: SessionDep, principal: Reader) -> Response:
    """Which branches to visit first, with the reasons; the latest visits; the form to record one."""
    return _planner_page(request, db, principal)


@router.post("/visits", include_in_schema=False)
def create_visit(request: Request, db: SessionDep, principal: Visitor, values: Values) -> Response:
    """Records a visit (date, purpose, note) to a branch in the scope."""

    def run() -> Visit:
        data = parse(VisitCreate, values, detail="走访信息有误")
        return visits_service.record_visit(db, scope=principal.scope, actor=principal.actor, data=data)

    def on_error(exc: DomainError) -> Response:
        return _planner_page(
            request,
            db,
            principal,
            state=FormState.refused(exc, values),
        )

    def public(v: Visit) -> Any:
        return visits_service.recent(
            db, region_path=principal.scope.region_path, branch_id=v.branch_id, limit=1
        )[0]

    year = request.query_params.get("year", "")
    return act(
        request,
        db,
        run=run,
        public=public,
        success_url=lambda v: (
            f"/dynamic/planner?year={year}&done=visited" if year else "/dynamic/planner?done=visited"
        ),
        on_error=on_error,
        status_code=201,
    )


# -- branch timeline -------------------------------------------------------------------------------


@router.get("/branches/{code}/timeline", include_in_schema=False)
def branch_timeline(request: Request, db: SessionDep, principal: CurrentPrincipal, code: str) -> Response:
    """One branch over the years, newest first (a branch secretary sees their own branch)."""
    data = timeline_service.timeline(db, scope=principal.scope, code=code)
    ctx = {
        "t": data,
        "can_manage": principal.can(Perm.REVIEW),
        "can_read_section": principal.user.role != "branch",
        "active": "",
    }
    return page(request, "dynamic/timeline.html", ctx, data=data)
