"""Home page and health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from app.auth.deps import CurrentPrincipal
from app.db import SessionDep
from app.web.htmx import render

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(db: SessionDep) -> Response:
    """Checks that the database answers."""
    try:
        db.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": db.get_bind().dialect.name})


@router.get("/", include_in_schema=False)
def home(request: Request, principal: CurrentPrincipal) -> Response:
    """The start page for the signed-in user."""
    return render(request, "home.html", {})


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """Browsers ask for /favicon.ico regardless of the <link>: answer with the SVG icon."""
    from fastapi.responses import FileResponse

    from app.web.templating import STATIC_DIR

    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")
