"""Everything the product knows about htmx: fragment/full/JSON negotiation, events, redirects."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from app.web.json_body import json_response
from app.web.templating import base_context, templates

VARY = "HX-Request, Accept"


def is_fragment_request(request: Request) -> bool:
    """An htmx request that wants a fragment (not a boosted page load or a history restore)."""
    h = request.headers
    return (
        h.get("hx-request") == "true"
        and h.get("hx-boosted") != "true"
        and h.get("hx-history-restore-request") != "true"
    )


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    data: Any = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    trigger: dict[str, Any] | None = None,
) -> Response:
    """One answer, three renderings: JSON (Accept), a named block (htmx) or the full page.

    `data` is the public model (what JSON clients get); the template gets it too, as `data`.
    """
    all_headers = {"Vary": VARY, **(headers or {})}
    if trigger:
        all_headers["HX-Trigger"] = json.dumps(trigger, ensure_ascii=False)
    if data is not None and wants_json(request):
        return json_response(data, status_code=status_code, headers=all_headers)
    ctx = {**base_context(request), **(context or {})}
    if data is not None:
        ctx.setdefault("data", data)
    if block and is_fragment_request(request):
        return templates.TemplateResponse(
            request, template, ctx, block_name=block, status_code=status_code, headers=all_headers
        )
    return templates.TemplateResponse(request, template, ctx, status_code=status_code, headers=all_headers)


def redirect(request: Request, url: str, *, status_code: int = 303) -> Response:
    """A redirect that works for htmx (HX-Redirect) and for plain browsers (303)."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=status_code)


def url_with(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path
