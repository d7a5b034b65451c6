"""create_app(): routers, middleware, static files, error handlers."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from app.auth.deps import csrf_guard
from app.config import get_settings
from app.web import errors
from app.web.middleware import RequestLog, SecurityHeaders
from app.web.templating import STATIC_DIR

# Every domain's router, in the order they are matched. The /api/v1 contract is one of them.
# Matched in this order, and the first match wins: the machine API comes first, so an /api/v1 request is
# routed by one prefix test instead of a walk past every page route (about 0.4 ms a request); then the
# tablet's scorecard, whose item autosave is the most frequent request of all (its paths, /inspect,
# /assessments/{id}/… and /evidence/…, are no other router's).
ROUTERS = (
    "app.api.router",
    "app.assessments.router",
    "app.web.router",
    "app.auth.router",
    "app.auth.admin_router",
    "app.regions.router",
    "app.branches.router",
    "app.criteria.drafts_router",
    "app.criteria.router",
    "app.criteria.editor_router",
    "app.assessments.review_router",
    "app.assessments.publicity_router",
    "app.assessments.finalize_router",
    "app.rankings.router",
    "app.rankings.tools_router",
    "app.dynamic.router",
    "app.reports.router",
)


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Report jobs interrupted by a crash are marked failed, waiting ones re-queued, the worker started.
    from app.reports import jobs

    try:
        jobs.startup()
    except SQLAlchemyError:  # e.g. not migrated yet; the job routes start the worker on first use
        logging.getLogger("app").warning("report job worker not started at startup", exc_info=True)
    yield


def create_app() -> FastAPI:
    """Builds the application (pages, fragments, JSON and the /api/v1 contract)."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = FastAPI(
        title="星级党支部评定",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_guard)],
        # No OpenTelemetry: nothing is exported, and every request skips the check for a configured provider.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    errors.install(app)

    for module in ROUTERS:
        app.include_router(importlib.import_module(module).router)
    return app
