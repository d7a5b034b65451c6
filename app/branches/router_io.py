"""Import and export of the branch register (XLSX / CSV), and the import error reports."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response

from app.auth.deps import CurrentPrincipal, Principal
from app.auth.roles import Perm
from app.branches import exports, imports, tabular
from app.branches.forms import actor_of
from app.branches.schemas import BranchFilters, ImportResult
from app.config import get_settings
from app.db import SessionDep
from app.errors import DomainError, NotFound, ValidationFailed
from app.web.htmx import render, wants_json

router = APIRouter()
REPORT_MAX_AGE = 24 * 3600


def read_upload(file: UploadFile | None) -> tuple[bytes, str]:
    """The uploaded bytes (at most MAX_BYTES) and the file name."""
    if file is None or not file.filename:
        raise ValidationFailed("请选择要导入的文件")
    data = file.file.read(tabular.MAX_BYTES + 1)
    if len(data) > tabular.MAX_BYTES:
        raise tabular.TooLarge(f"文件超过 {tabular.MAX_BYTES // 1024 // 1024} MB 上限，请拆分后分批导入")
    if not data:
        raise ValidationFailed("上传的文件是空的")
    return data, file.filename


def _reports_dir() -> Path:
    path = get_settings().data_dir / "import-reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_report(principal: Principal, errors: list[Any]) -> str:
    """Keeps an error report for its user for a day; returns its token."""
    folder = _reports_dir()
    cutoff = time.time() - REPORT_MAX_AGE
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(16)
    (folder / f"{principal.user.id}-{token}.csv").write_bytes(tabular.error_report_csv(errors))
    return token


def import_page(
    request: Request,
    *,
    kind: str,
    result: ImportResult | None = None,
    error: DomainError | None = None,
    report_token: str | None = None,
) -> Response:
    """The import page of branches or regions: upload form, then the counts or the error report."""
    rows: list[Any] = error.errors if isinstance(error, tabular.ImportRejected) else []
    ctx = {
        "kind": kind,
        "result": result,
        "error": error,
        "errors": rows[:1000],
        "more_errors": max(0, len(rows) - 1000),
        "report_url": f"/{kind}/import-report/{report_token}.csv" if report_token else None,
    }
    status = error.status_code if error else 200
    return render(request, f"{kind}/import.html", ctx, status_code=status)


def run_import(request: Request, principal: Principal, kind: str, do_import: Any) -> Response:
    """Shared flow of the import POSTs: JSON clients get counts or problem+json, people get the page."""
    try:
        result: ImportResult = do_import()
    except DomainError as exc:
        if wants_json(request):
            raise
        token = save_report(principal, exc.errors) if isinstance(exc, tabular.ImportRejected) else None
        return import_page(request, kind=kind, error=exc, report_token=token)
    if wants_json(request):
        return render(request, f"{kind}/import.html", data=result.model_dump() | {"total": result.total})
    return import_page(request, kind=kind, result=result)


def report_response(principal: Principal, token: str) -> Response:
    if not token.replace("-", "").replace("_", "").isalnum():
        raise NotFound("错误报告不存在或已过期")
    path = _reports_dir() / f"{principal.user.id}-{token}.csv"
    if not path.is_file():
        raise NotFound("错误报告不存在或已过期")
    disposition = tabular.content_disposition("导入错误报告.csv", fallback="import-errors.csv")
    return Response(
        path.read_bytes(), media_type=tabular.CSV_TYPE, headers={"Content-Disposition": disposition}
    )


@router.get("/branches/import", include_in_schema=False)
def import_form(request: Request, principal: CurrentPrincipal) -> Response:
    """The branch import page."""
    principal.require(Perm.MANAGE_BRANCHES)
    return import_page(request, kind="branches")


@router.post("/branches/import", include_in_schema=False)
def import_branches(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Imports branches from an XLSX or CSV: all rows or none (upsert by code within the scope)."""
    principal.require(Perm.MANAGE_BRANCHES)

    def do_import() -> ImportResult:
        data, name = read_upload(file)
        table = tabular.read_table(data, filename=name)
        try:
            result = imports.import_branches(
                db, scope=principal.scope, actor=actor_of(request, principal), table=table, filename=name
            )
        except Exception:
            db.rollback()
            raise
        db.commit()
        return result

    return run_import(request, principal, "branches", do_import)


@router.get("/branches/import-template.xlsx", include_in_schema=False)
def import_template(principal: CurrentPrincipal) -> Response:
    """The XLSX template for branch imports."""
    disposition = tabular.content_disposition("支部导入模板.xlsx", fallback="branch-import-template.xlsx")
    return Response(
        exports.template_xlsx(), media_type=tabular.XLSX_TYPE, headers={"Content-Disposition": disposition}
    )


@router.get("/branches/import-report/{token}.csv", include_in_schema=False)
def import_report(principal: CurrentPrincipal, token: str) -> Response:
    """The error report of the user's last refused import, as CSV."""
    return report_response(principal, token)


def _export(db: SessionDep, principal: Principal, filters: BranchFilters, ext: str) -> Response:
    cols, rows = exports.rows(
        db, scope=principal.scope, filters=filters, with_phone=principal.can(Perm.MANAGE_BRANCHES)
    )
    body = exports.to_xlsx(cols, rows) if ext == "xlsx" else exports.to_csv(cols, rows)
    name, fallback = exports.file_name(principal.scope, ext)
    return Response(
        body,
        media_type=tabular.XLSX_TYPE if ext == "xlsx" else tabular.CSV_TYPE,
        headers={"Content-Disposition": tabular.content_disposition(name, fallback=fallback)},
    )


@router.get("/branches/export.xlsx", include_in_schema=False)
def export_xlsx(
    db: SessionDep, principal: CurrentPrincipal, filters: Annotated[BranchFilters, Depends()]
) -> Response:
    """The branches of the list page (same scope and filters) as XLSX."""
    return _export(db, principal, filters, "xlsx")


@router.get("/branches/export.csv", include_in_schema=False)
def export_csv(
    db: SessionDep, principal: CurrentPrincipal, filters: Annotated[BranchFilters, Depends()]
) -> Response:
    """The branches of the list page (same scope and filters) as CSV (UTF-8 with BOM)."""
    return _export(db, principal, filters, "csv")
