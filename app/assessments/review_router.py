"""The county organisation department's review pages (and their JSON twins): review queue, one
assessment with approve / return / reopen / direct designation, bulk approval, publicity notices with
objections, and finalization with a quota preview. County staff and admins act; viewers only read."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from app.assessments import review_service as rs
from app.assessments import service, workflow
from app.assessments.models import Assessment
from app.assessments.service import LOCKED, Actor
from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.branches.models import Branch
from app.db import SessionDep
from app.errors import Conflict, DomainError, Forbidden, ValidationFailed
from app.web.htmx import redirect, render, wants_json

router = APIRouter(prefix="/review", tags=["县级审核"])

DONE = {
    "approved": "已审核通过。",
    "bulk": "已批量审核通过。",
    "returned": "已退回评审员。",
    "reopened": "已重新打开，评审员可以修改分数。",
    "designated": "直接定级已保存。",
    "opened": "公示已发布。",
    "objection": "异议已登记。",
    "resolved": "异议已处理。",
    "finalized": "星级已认定。",
}


def _reader(principal: CurrentPrincipal) -> Principal:
    """County staff and admins; read-only viewers (city/province) may read too."""
    if not (principal.can(Perm.REVIEW) or principal.user.role == "viewer"):
        raise Forbidden("审核工作台仅供县委组织部使用")
    return principal


def _reviewer(principal: CurrentPrincipal) -> Principal:
    if not principal.can(Perm.REVIEW):
        raise Forbidden("只有县委组织部可以进行审核操作")
    return principal


Reader = Annotated[Principal, Depends(_reader)]
Reviewer = Annotated[Principal, Depends(_reviewer)]


# Refused writes: a DomainError is re-raised (error page / problem+json) *without* a rollback first, since
# a rollback expires the user the error page reads; closing the session discards the flushed changes.
# Form errors and conflicts roll back and render the page again with the messages next to the fields.


def _actor(principal: Principal) -> Actor:
    return Actor(principal.user.id, principal.user.display_name, principal.user.role, principal.scope)


async def _form(request: Request) -> dict[str, Any]:
    """A JSON object or the form fields (repeated fields as lists; no CSRF token)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise ValidationFailed("JSON 格式错误") from None
        if not isinstance(body, dict):
            raise ValidationFailed("请求体须为 JSON 对象")
        return body
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if key == "pick" else (values[-1] if values else "")
    return out


Form = Annotated[dict[str, Any], Depends(_form)]


def _text(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # JSON clients send numbers as numbers
    return value.strip() if isinstance(value, str) else ""


def _int(values: dict[str, Any], key: str, *, label: str) -> int:
    try:
        return int(str(values.get(key, "")).strip())
    except ValueError:
        raise ValidationFailed(f"{label}无效", field_errors={key: f"{label}须为整数"}) from None


def _done(done: str | None) -> str | None:
    return DONE.get(done or "")


# -- review queue ----------------------------------------------------------------------------------


def _filters(request: Request) -> rs.QueueFilters:
    params = {
        k: request.query_params[k]
        for k in ("year", "status", "region", "sector", "q")
        if k in request.query_params
    }
    try:
        return rs.QueueFilters.model_validate(params)
    except ValidationError as exc:
        from app.branches.schemas import zh_errors

        raise ValidationFailed("查询条件有误", field_errors=zh_errors(exc)) from None


def _queue_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    page: int,
    per_page: int,
    bulk: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    filters = _filters(request)
    result = rs.queue(db, scope=principal.scope, filters=filters, page=page, per_page=per_page)
    query = urlencode({k: v for k, v in request.query_params.items() if k not in ("done", "n", "check")})
    data = {
        "items": result.rows,
        "total": result.total,
        "page": page,
        "per_page": per_page,
        "counts": result.counts,
        "filters": filters,
    }
    ctx = {
        "result": result,
        "filters": filters,
        "regions": rs.regions_with_counts(db, scope=principal.scope, year=filters.year, status="submitted"),
        "can_review": principal.can(Perm.REVIEW),
        "query": query,
        "page_query": urlencode(
            {k: v for k, v in request.query_params.items() if k not in ("done", "n", "check", "page")}
        ),
        "check_all": request.query_params.get("check") == "all",
        "bulk": bulk,
        "done": _done(request.query_params.get("done")),
        "done_n": request.query_params.get("n"),
        "funnel": rs.FUNNEL,
    }
    block = "bulk_result" if bulk is not None else "results"
    json_url = f"/review?{query}" if query else "/review"
    headers = {"Link": f'<{json_url}>; rel="alternate"; type="application/json"'}
    return render(
        request, "review/queue.html", ctx, block=block, data=data, status_code=status_code, headers=headers
    )


@router.get("", include_in_schema=False)
def review_queue(
    request: Request,
    db: SessionDep,
    principal: Reader,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """The review queue: assessments in scope with filters and counts per status (htmx: the results)."""
    return _queue_page(request, db, principal, page=page, per_page=per_page)


@router.post("/approve", include_in_schema=False)
def bulk_approve(
    request: Request,
    db: SessionDep,
    principal: Reviewer,
    values: Form,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Approves the ticked submitted assessments in one transaction, or none (409 with the list)."""
    picks: list[tuple[int, int]] = []
    raw = values.get("pick") or []
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, dict):
            item = f"{item.get('id')}:{item.get('version')}"
        aid, _, ver = str(item).partition(":")
        if not (aid.isdigit() and ver.isdigit()):
            raise ValidationFailed("勾选的数据格式有误", field_errors={"pick": "格式应为 编号:版本"})
        picks.append((int(aid), int(ver)))
    try:
        rows = rs.approve_many(db, actor=_actor(principal), picks=picks)
    except DomainError as exc:
        if wants_json(request) or not (exc.field_errors or isinstance(exc, Conflict)):
            raise
        db.rollback()
        bulk = {"detail": exc.detail, "problems": exc.extra.get("problems", []), "errors": exc.field_errors}
        return _queue_page(
            request, db, principal, page=page, per_page=per_page, bulk=bulk, status_code=exc.status_code
        )
    db.commit()
    if wants_json(request):
        return render(request, "review/queue.html", data={"approved": [a.id for a in rows]})
    back = urlencode({k: v for k, v in request.query_params.items() if k not in ("done", "n", "check")})
    return redirect(
        request, f"/review?{back}&done=bulk&n={len(rows)}" if back else f"/review?done=bulk&n={len(rows)}"
    )


# -- one assessment --------------------------------------------------------------------------------


def _public(db: Session, a: Assessment) -> dict[str, Any]:
    branch = db.get(Branch, a.branch_id)
    assert branch is not None
    row = rs.to_rows(db, [(a, branch)])[0]
    return row.model_dump() | {"returned_reason": a.returned_reason, "quota_explanation": a.quota_explanation}


def _assessment_page(
    request: Request,
    db: Session,
    principal: Principal,
    assessment_id: int,
    *,
    form: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    a = service.get(db, assessment_id=assessment_id, scope=principal.scope)
    ctx = rs.review_detail(db, a=a) | {
        "can_review": principal.can(Perm.REVIEW),
        "locked": a.status in LOCKED,
        "form": form,
        "values": values or {},
        "errors": errors or {},
        "message": message,
        "done": _done(request.query_params.get("done")),
    }
    return render(
        request, "review/assessment.html", ctx, block="actions", data=_public(db, a), status_code=status_code
    )


@router.get("/assessments/{assessment_id}", include_in_schema=False)
def review_assessment(request: Request, db: SessionDep, principal: Reader, assessment_id: int) -> Response:
    """One assessment, read-only, with the county's actions."""
    return _assessment_page(request, db, principal, assessment_id)


def _act(
    request: Request, db: Session, principal: Principal, assessment_id: int, values: dict[str, Any], kind: str
) -> Response:
    a = service.get(db, assessment_id=assessment_id, scope=principal.scope)
    actor = _actor(principal)
    try:
        version = _int(values, "version", label="版本号")
        if kind == "approve":
            workflow.approve(db, actor=actor, a=a, version=version)
        elif kind == "return":
            workflow.return_to_inspector(
                db, actor=actor, a=a, reason=_text(values, "reason"), version=version
            )
        elif kind == "reopen":
            workflow.reopen(db, actor=actor, a=a, reason=_text(values, "reason"), version=version)
        else:
            rs.save_designation(db, actor=actor, a=a, version=version, designation=_designation(values))
    except DomainError as exc:
        if wants_json(request) or not (exc.field_errors or isinstance(exc, Conflict)):
            raise
        db.rollback()
        return _assessment_page(
            request,
            db,
            principal,
            assessment_id,
            form=kind,
            values=values,
            errors=exc.field_errors,
            message=exc.detail,
            status_code=exc.status_code,
        )
    db.commit()
    if wants_json(request):
        return render(request, "review/assessment.html", data=_public(db, a))
    done = {"approve": "approved", "return": "returned", "reopen": "reopened"}.get(kind, "designated")
    return redirect(request, f"/review/assessments/{assessment_id}?done={done}")


def _designation(values: dict[str, Any]) -> dict[str, Any] | None:
    if _text(values, "clear"):
        return None
    errors = {}
    stars = _text(values, "stars")
    if not stars.isdigit() or not 0 <= int(stars) <= 5:
        errors["stars"] = "请选择直接认定的星级"
    for key, label in (("reason", "理由"), ("document", "文件依据")):
        if not _text(values, key):
            errors[key] = f"请填写{label}"
        elif len(_text(values, key)) > 500:
            errors[key] = f"{label}不超过 500 字"
    if errors:
        raise ValidationFailed("直接定级须选择星级并写明理由和文件依据", field_errors=errors)
    return {"stars": int(stars), "reason": _text(values, "reason"), "document": _text(values, "document")}


@router.post("/assessments/{assessment_id}/approve", include_in_schema=False)
def approve(
    request: Request, db: SessionDep, principal: Reviewer, assessment_id: int, values: Form
) -> Response:
    """Approves a submitted scoring (locks its scores)."""
    return _act(request, db, principal, assessment_id, values, "approve")


@router.post("/assessments/{assessment_id}/return", include_in_schema=False)
def return_(
    request: Request, db: SessionDep, principal: Reviewer, assessment_id: int, values: Form
) -> Response:
    """Returns a submitted scoring to the inspector with a reason."""
    return _act(request, db, principal, assessment_id, values, "return")


@router.post("/assessments/{assessment_id}/reopen", include_in_schema=False)
def reopen(
    request: Request, db: SessionDep, principal: Reviewer, assessment_id: int, values: Form
) -> Response:
    """Reopens a locked assessment for rescoring, with a reason (audited)."""
    return _act(request, db, principal, assessment_id, values, "reopen")


@router.post("/assessments/{assessment_id}/designation", include_in_schema=False)
def designation(
    request: Request, db: SessionDep, principal: Reviewer, assessment_id: int, values: Form
) -> Response:
    """Sets or clears a direct designation (直接定级) where the criteria set allows it."""
    return _act(request, db, principal, assessment_id, values, "designation")


# -- publicity -------------------------------------------------------------------------------------


def _year(request: Request) -> int:
    raw = request.query_params.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    if raw:
        raise ValidationFailed("年度无效", field_errors={"year": "年度须在 2000–2100 之间"})
    return date.today().year


def _publicity_index(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    year: int,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    rows = rs.publicity_list(db, scope=principal.scope, year=year)
    regions = rs.regions_with_counts(db, scope=principal.scope, year=year, status="reviewed")
    home = next((r for r, _ in regions if r.path == principal.scope.region_path), None)
    home = home or next((r for r, n in regions if r.level == "county" and n), None)
    defaults = {
        "region": home.code if home else "",
        "title": rs.default_title(home, year) if home else "",
        "starts_on": date.today().isoformat(),
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
        "values": defaults | (values or {}),
        "errors": errors or {},
        "message": message,
        "can_review": principal.can(Perm.REVIEW),
        "states": rs.PUBLICITY_STATES,
        "done": _done(request.query_params.get("done")),
    }
    return render(request, "review/publicity_index.html", ctx, data={"items": data}, status_code=status_code)


@router.get("/publicity", include_in_schema=False)
def publicity_index(request: Request, db: SessionDep, principal: Reader) -> Response:
    """Publicity notices in scope, and the form to open one."""
    return _publicity_index(request, db, principal, year=_year(request))


@router.post("/publicity", include_in_schema=False)
def open_publicity(request: Request, db: SessionDep, principal: Reviewer, values: Form) -> Response:
    """Opens a publicity notice for the reviewed assessments of a county or township."""
    year = _year(request)
    try:
        errors: dict[str, str] = {}
        region = rs.region_in_scope(db, scope=principal.scope, code=_text(values, "region") or "0")
        if region.level not in ("county", "township"):
            errors["region"] = "公示范围须为县/区或乡镇/街道"
        year = _int(values, "year", label="年度") if _text(values, "year") else year
        try:
            starts_on = date.fromisoformat(_text(values, "starts_on"))
        except ValueError:
            errors["starts_on"] = "日期格式应为 YYYY-MM-DD"
        days = _text(values, "days")
        if not days.isdigit():
            errors["days"] = "公示期须为 1–30 天"
        if errors:
            raise ValidationFailed("公示信息有误", field_errors=errors)
        pub, _n = workflow.open_publicity(
            db,
            actor=_actor(principal),
            region=region,
            year=year,
            title=_text(values, "title"),
            contact=_text(values, "contact"),
            starts_on=starts_on,
            days=int(days),
        )
    except DomainError as exc:
        if wants_json(request) or exc.status_code == 404:
            raise
        db.rollback()
        return _publicity_index(
            request,
            db,
            principal,
            year=year,
            values=values,
            errors=exc.field_errors,
            message=exc.detail,
            status_code=exc.status_code,
        )
    db.commit()
    if wants_json(request):
        return render(request, "review/publicity.html", data={"id": pub.id, "covered": _n}, status_code=201)
    return redirect(request, f"/review/publicity/{pub.id}?done=opened")


def _publicity_page(
    request: Request,
    db: Session,
    principal: Principal,
    publicity_id: int,
    *,
    form: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    pub, region = rs.get_publicity(db, scope=principal.scope, publicity_id=publicity_id)
    entries = rs.publicity_entries(db, publicity=pub)
    objections = rs.objections_of(db, publicity=pub)
    by_stars: dict[int, list[Any]] = {}
    for a, b in entries:
        if a.status in ("publicized", "final"):
            by_stars.setdefault((a.final_stars if a.status == "final" else a.stars) or 0, []).append((a, b))
    state = rs.publicity_state(pub)
    data = {
        "id": pub.id,
        "title": pub.title,
        "region_code": region.code,
        "region_name": region.name,
        "year": pub.year,
        "starts_on": pub.starts_on,
        "ends_on": pub.ends_on,
        "contact": pub.contact,
        "state": state,
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
        "state": state,
        "state_label": rs.PUBLICITY_STATES[state],
        "by_stars": sorted(by_stars.items(), key=lambda kv: -(kv[0] or 0)),
        "sent_back": [(a, b) for a, b in entries if a.status not in ("publicized", "final")],
        "publicized": [(a, b) for a, b in entries if a.status == "publicized"],
        "objections": objections,
        "can_review": principal.can(Perm.REVIEW),
        "form": form,
        "values": values or {"received_on": min(date.today(), pub.ends_on).isoformat()},
        "errors": errors or {},
        "message": message,
        "done": _done(request.query_params.get("done")),
    }
    return render(
        request, "review/publicity.html", ctx, block="objections", data=data, status_code=status_code
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
    pub, _region = rs.get_publicity(db, scope=principal.scope, publicity_id=publicity_id)
    try:
        assessment_id = _int(values, "assessment_id", label="支部")
        try:
            received_on = date.fromisoformat(_text(values, "received_on"))
        except ValueError:
            raise ValidationFailed(
                "收到日期有误", field_errors={"received_on": "日期格式应为 YYYY-MM-DD"}
            ) from None
        obj = rs.record_objection(
            db,
            actor=_actor(principal),
            publicity=pub,
            assessment_id=assessment_id,
            received_on=received_on,
            submitter=_text(values, "submitter") or None,
            content=_text(values, "content"),
        )
    except DomainError as exc:
        if wants_json(request) or not (exc.field_errors or isinstance(exc, Conflict)):
            raise
        db.rollback()
        return _publicity_page(
            request,
            db,
            principal,
            publicity_id,
            form="record",
            values=values,
            errors=exc.field_errors,
            message=exc.detail,
            status_code=exc.status_code,
        )
    db.commit()
    if wants_json(request):
        return render(
            request, "review/publicity.html", data={"id": obj.id, "status": obj.status}, status_code=201
        )
    return redirect(request, f"/review/publicity/{publicity_id}?done=objection#objections")


@router.post("/publicity/{publicity_id}/objections/{objection_id}/resolve", include_in_schema=False)
def resolve_objection(
    request: Request, db: SessionDep, principal: Reviewer, publicity_id: int, objection_id: int, values: Form
) -> Response:
    """Resolves an objection: 成立 sends the assessment back to review, 不成立 keeps it."""
    pub, _region = rs.get_publicity(db, scope=principal.scope, publicity_id=publicity_id)
    obj = rs.get_objection(db, publicity=pub, objection_id=objection_id)
    try:
        decision = _text(values, "decision")
        if decision not in ("upheld", "dismissed"):
            raise ValidationFailed(
                "请选择处理结果", field_errors={f"decision_{objection_id}": "请选择异议成立或不成立"}
            )
        workflow.resolve_objection(
            db,
            actor=_actor(principal),
            objection=obj,
            upheld=decision == "upheld",
            resolution=_text(values, "resolution"),
        )
    except DomainError as exc:
        if wants_json(request) or not (exc.field_errors or isinstance(exc, Conflict)):
            raise
        db.rollback()
        errors = {
            f"{k}_{objection_id}" if not k.endswith(f"_{objection_id}") else k: v
            for k, v in exc.field_errors.items()
        }
        return _publicity_page(
            request,
            db,
            principal,
            publicity_id,
            form=f"resolve_{objection_id}",
            values=values,
            errors=errors,
            message=exc.detail,
            status_code=exc.status_code,
        )
    db.commit()
    if wants_json(request):
        return render(request, "review/publicity.html", data={"id": obj.id, "status": obj.status})
    return redirect(request, f"/review/publicity/{publicity_id}?done=resolved#objections")


# -- finalize --------------------------------------------------------------------------------------


def _finalize_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    year: int,
    region_code: str | None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    regions = rs.regions_with_counts(db, scope=principal.scope, year=year, status="publicized")
    if not region_code:
        home = next((r for r, _ in regions if r.path == principal.scope.region_path), None)
        region_code = home.code if home else None
    region = rs.region_in_scope(db, scope=principal.scope, code=region_code) if region_code else None
    preview = rs.finalize_preview(db, scope=principal.scope, region=region, year=year) if region else None
    finals = rs.finals(db, region=region, year=year) if region else []
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
        "final_counts": rs.star_counts(finals),
        "is_admin": principal.user.role == "admin",
        "values": values or {},
        "errors": errors or {},
        "message": message,
        "done": _done(request.query_params.get("done")),
        "done_n": request.query_params.get("n"),
    }
    return render(
        request,
        "review/finalize.html",
        ctx,
        data=data or {"regions": [r.code for r, _ in regions]},
        status_code=status_code,
    )


@router.get("/finalize", include_in_schema=False)
def finalize_page(
    request: Request,
    db: SessionDep,
    principal: Reviewer,
    region: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
) -> Response:
    """The quota preview of a finalization (nothing is written), the confirm form, and final stars."""
    return _finalize_page(request, db, principal, year=_year(request), region_code=region)


@router.post("/finalize", include_in_schema=False)
def finalize(request: Request, db: SessionDep, principal: Reviewer, values: Form) -> Response:
    """Finalizes what the preview showed; refused during the window or with pending objections unless an
    administrator forces it with a reason."""
    year = _int(values, "year", label="年度")
    region = rs.region_in_scope(db, scope=principal.scope, code=_text(values, "region") or "0")
    try:
        n = rs.finalize(
            db,
            actor=_actor(principal),
            region=region,
            year=year,
            fingerprint=_text(values, "fingerprint"),
            force=_text(values, "force") in ("1", "on", "true"),
            force_reason=_text(values, "force_reason"),
        )
    except DomainError as exc:
        if wants_json(request) or exc.status_code in (403, 404):
            raise
        db.rollback()
        return _finalize_page(
            request,
            db,
            principal,
            year=year,
            region_code=region.code,
            values=values,
            errors=exc.field_errors,
            message=exc.detail,
            status_code=exc.status_code,
        )
    db.commit()
    if wants_json(request):
        return render(request, "review/finalize.html", data={"finalized": n})
    return redirect(request, f"/review/finalize?year={year}&region={region.code}&done=finalized&n={n}")
