"""JSON responses with a strong ETag (a hash of the exact body) and 304 for a matching If-None-Match."""

from __future__ import annotations

import hashlib

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
    body = model.model_dump_json().encode()
    etag = etag_of(body)
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(content=body, media_type="application/json", headers={"ETag": etag})
