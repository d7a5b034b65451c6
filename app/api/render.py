"""JSON responses with a strong ETag (a hash of the exact body) and 304 for a matching If-None-Match."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def _matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    # If-None-Match uses the weak comparison: W/"x" matches "x".
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def json_response(request: Request, model: BaseModel) -> Response:
    """The model as JSON with its ETag, or 304 Not Modified (no body) when the client has it already."""
    return body_response(request, model.model_dump_json().encode())


def values_response(request: Request, values: dict[str, Any]) -> Response:
    """JSON values (already in the schema's shapes: strings for decimals) written as pydantic writes a
    model — compact, UTF-8 — with its ETag, or 304."""
    return body_response(request, json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode())


def body_response(request: Request, body: bytes) -> Response:
    etag = etag_of(body)
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(content=body, media_type="application/json", headers={"ETag": etag})
