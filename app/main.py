"""create_app(): routers, middleware, static files, error handlers."""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app.auth.deps import csrf_guard
from app.config import get_settings
from app.web import errors
from app.web.middleware import RequestLog, SecurityHeaders
from app.web.templating import STATIC_DIR


def create_app() -> FastAPI:
    """Builds the application (pages, fragments, JSON and the /api/v1 contract)."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = FastAPI(
        title="星级党支部评定",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    errors.install(app)

    from app.auth.router import router as auth_router
    from app.branches.router import router as branches_router
    from app.regions.router import router as regions_router
    from app.web.router import router as web_router

    from app.auth.admin_router import router as admin_router

    for router in (web_router, auth_router, regions_router, branches_router, admin_router):
        app.include_router(router)
    from app.api.router import router as api_router

    app.include_router(api_router)
    return app
