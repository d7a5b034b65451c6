"""Annual report and public-notice pages, their PDF/XLSX downloads and the background report jobs.

Access: county staff, administrators and city viewers read reports of regions in their scope (another
county → 404, including jobs and their files). Inspectors and branch secretaries get 403 on every
/reports route: the annual report and the notice are documents of the organisation department.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session

from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.db import SessionDep
from app.errors import Forbidden, NotFound
from app.rankings.exports import XLSX_TYPE, content_disposition
from app.regions.models import Region
from app.reports import documents, jobs, pdf, service, xlsx
from app.web.htmx import is_fragment_request, render, wants_json

router = APIRouter(tags=["评定报告"])

READERS = ("admin", "county", "viewer")
Year = Annotated[int | None, Query(ge=2000, le=2100)]
RegionCode = Annotated[str | None, Query(max_length=12, pattern=r"^\d*$")]
Fmt = Literal["pdf", "xlsx"]


def _reader(principal: Principal) -> None:
    principal.require(Perm.VIEW)
    if principal.user.role not in READERS or principal.scope.branch_id is not None:
        raise Forbidden("年度评定报告和公示名单由县委组织部编制，评审员和支部书记账号不能查看")


def _target(db: Session, principal: Principal, year: int | None, region: str | None) -> tuple[Region, int]:
    _reader(principal)
    reg = service.report_region(db, scope=principal.scope, code=region)
    return reg, year or service.default_year(db, scope=principal.scope)


def _names(region_name: str, year: int, ext: str, *, what: str = "年度星级党支部评定结果") -> tuple[str, str]:
    return f"{region_name}{year}{what}.{ext}", f"report-{year}.{ext}"


def _attachment(
    body: bytes | None, *, path: str | None = None, ext: str, name: str, fallback: str
) -> Response:
    media = pdf.PDF_TYPE if ext == "pdf" else XLSX_TYPE
    headers = {"Content-Disposition": content_disposition(name, fallback=fallback)}
    if path is not None:
        return FileResponse(path, media_type=media, headers=headers)
    return Response(body, media_type=media, headers=headers)


def _page_ctx(db: Session, principal: Principal, region: Region, year: int) -> dict[str, Any]:
    return {
        "year": year,
        "region": region,
        "years": service.rankings.years_present(db, scope=principal.scope) or [year],
        "regions": service.report_regions(db, scope=principal.scope),
        "publicities": service.publicities(db, scope=principal.scope, year=year),
    }


# -- the annual report ---------------------------------------------------------------------------------


@router.get("/reports", include_in_schema=False)
def reports_home() -> Response:
    return RedirectResponse("/reports/annual", status_code=303)


@router.get("/reports/annual", include_in_schema=False)
def annual_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    year: Year = None,
    region: RegionCode = None,
) -> Response:
    """The report as a page (print CSS for A4); a large scope shows its background job instead."""
    reg, y = _target(db, principal, year, region)
    ctx = _page_ctx(db, principal, reg, y)
    if service.is_large(db, scope=principal.scope, region=reg, year=y):
        job = jobs.existing_for(db, scope=principal.scope, region=reg, year=y)
        ctx.update({"large": True, "job": jobs.public(db, job) if job else None, "data": None})
        return render(request, "reports/annual.html", ctx, data=ctx["job"])
    report = service.build(db, scope=principal.scope, region=reg, year=y)
    q = f"year={y}&region={reg.code}"
    ctx.update(documents.annual_context(report, pdf=False))
    ctx.update({"large": False, "downloads": {f: f"/reports/annual.{f}?{q}" for f in jobs.FORMATS}})
    return render(request, "reports/annual.html", ctx, data=report)


@router.get("/reports/annual.{fmt}", include_in_schema=False)
def annual_download(
    db: SessionDep, principal: CurrentPrincipal, fmt: Fmt, year: Year = None, region: RegionCode = None
) -> Response:
    """PDF or XLSX of a report, generated now; a large scope is sent to its page to run as a job."""
    reg, y = _target(db, principal, year, region)
    if service.is_large(db, scope=principal.scope, region=reg, year=y):
        return RedirectResponse(f"/reports/annual?year={y}&region={reg.code}#job", status_code=303)
    report = service.build(db, scope=principal.scope, region=reg, year=y)
    body = pdf.annual_pdf(report) if fmt == "pdf" else xlsx.annual_xlsx(report)
    name, _fb = _names(reg.name, y, fmt)
    return _attachment(body, ext=fmt, name=name, fallback=f"report-{reg.code}-{y}.{fmt}")


# -- jobs ----------------------------------------------------------------------------------------------


@router.post("/reports/jobs", include_in_schema=False)
def job_create(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    year: Annotated[int, Form(ge=2000, le=2100)],
    region: Annotated[str, Form(max_length=12, pattern=r"^\d+$")],
) -> Response:
    """Creates or reuses the background job of a report (same request → same job)."""
    reg, y = _target(db, principal, year, region)
    job, created = jobs.submit(db, scope=principal.scope, region=reg, year=y, user_id=principal.user.id)
    db.commit()
    jobs.enqueue(job)
    if not (wants_json(request) or is_fragment_request(request)):
        return RedirectResponse(f"/reports/jobs/{job.id}", status_code=303)
    data = jobs.public(db, job)
    return render(
        request,
        "reports/job.html",
        {"job": data},
        block="job",
        data=data,
        status_code=202 if created else 200,
    )


@router.get("/reports/jobs/{job_id}", include_in_schema=False)
def job_page(request: Request, db: SessionDep, principal: CurrentPrincipal, job_id: int) -> Response:
    """A job's state; the htmx fragment polls itself every second until the job ends."""
    _reader(principal)
    jobs.ensure_started()
    job = jobs.get(db, scope=principal.scope, job_id=job_id)
    data = jobs.public(db, job)
    return render(request, "reports/job.html", {"job": data}, block="job", data=data)


@router.get("/reports/jobs/{job_id}/report", include_in_schema=False)
def job_report(request: Request, db: SessionDep, principal: CurrentPrincipal, job_id: int) -> Response:
    """The report a job produced, as a page (the same template as a report made on request)."""
    _reader(principal)
    job = jobs.get(db, scope=principal.scope, job_id=job_id)
    body = None if wants_json(request) else jobs.load_body(job)
    report = jobs.load_report(job) if body is None else None
    public = jobs.public(db, job)
    reg = service.report_region(db, scope=principal.scope, code=public.region_code)
    ctx = _page_ctx(db, principal, reg, public.year)
    ctx.update(
        {
            "large": False,
            "job": public,
            "downloads": {f: f"/reports/jobs/{job.id}/download/{f}" for f in jobs.FORMATS},
            "body_html": body,
        }
    )
    if report is not None:
        ctx.update(documents.annual_context(report, pdf=False))
    return render(request, "reports/annual.html", ctx, data=report)


@router.get("/reports/jobs/{job_id}/download/{fmt}", include_in_schema=False)
def job_download(db: SessionDep, principal: CurrentPrincipal, job_id: int, fmt: Fmt) -> Response:
    """A job's file, only to users whose scope covers the scope the job was made for."""
    _reader(principal)
    job = jobs.get(db, scope=principal.scope, job_id=job_id)
    path = jobs.file_of(job, fmt)
    if job.status != "done" or not path.exists():
        raise NotFound("报告尚未生成完成")
    data = jobs.public(db, job)
    name, _fb = _names(data.region_name, data.year, fmt)
    return _attachment(
        None, path=str(path), ext=fmt, name=name, fallback=f"report-{data.region_code}-{data.year}.{fmt}"
    )


# -- the public notice ---------------------------------------------------------------------------------


def _notice(
    db: Session, principal: Principal, publicity: int | None, year: int | None, region: str | None
) -> Any:
    _reader(principal)
    return service.notice(db, scope=principal.scope, publicity_id=publicity, year=year, region_code=region)


@router.get("/reports/notice", include_in_schema=False)
def notice_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    publicity: Annotated[int | None, Query(ge=1)] = None,
    year: Year = None,
    region: RegionCode = None,
) -> Response:
    """The 公示 list of a notice (by id, or by year and region) as a printable page."""
    data = _notice(db, principal, publicity, year, region)
    ctx = documents.notice_context(data, pdf=False)
    ctx["pdf_url"] = f"/reports/notice.pdf?publicity={data.publicity_id}"
    return render(request, "reports/notice.html", ctx, data=data)


@router.get("/reports/notice.pdf", include_in_schema=False)
def notice_pdf(
    db: SessionDep,
    principal: CurrentPrincipal,
    publicity: Annotated[int | None, Query(ge=1)] = None,
    year: Year = None,
    region: RegionCode = None,
) -> Response:
    data = _notice(db, principal, publicity, year, region)
    name = f"{data.region.name}{data.year}年度星级党支部评定结果公示.pdf"
    return _attachment(
        pdf.notice_pdf(data), ext="pdf", name=name, fallback=f"notice-{data.region.code}-{data.year}.pdf"
    )
