"""What the main application includes: the /api/v1 sub-application and the offline docs at /api/docs."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.api.app import create_api_app

SWAGGER = "/static/vendor/swagger-ui"
DOCS_PAGE = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>星级党支部评定 · 省级数据接口文档</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{SWAGGER}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/api/v1/openapi.json"></div>
<script src="{SWAGGER}/swagger-ui-bundle.js"></script>
<script src="{SWAGGER}/api-docs-init.js"></script>
</body>
</html>
"""

api_app = create_api_app()
router = APIRouter()
router.mount("/api/v1", api_app, name="api_v1")


@router.get("/api/docs", include_in_schema=False, response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    """Interactive API documentation (Swagger UI served from local assets; no CDN, no inline script)."""
    return HTMLResponse(DOCS_PAGE)
