"""JSON response bodies: what FastAPI's `jsonable_encoder` + `JSONResponse` write, in one `json.dumps`.

`jsonable_encoder` walks every value of the answer in Python before `json.dumps` walks it again; for the
item autosave's answer (the item, its deductions, the totals) that was about 80 calls and 4 % of a save's
CPU. Here the C encoder writes the plain values and calls back only for the rest: decimals and dates the
way FastAPI encodes them, anything else through `jsonable_encoder` itself, so the bytes are the same."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from fastapi.encoders import decimal_encoder, jsonable_encoder
from fastapi.responses import Response

MEDIA_TYPE = "application/json"


def json_bytes(data: Any) -> bytes:
    """The body `JSONResponse(jsonable_encoder(data))` would send, for the answers the routes build (plain
    dicts, lists, models, dataclasses). Not for SQLAlchemy instances' `__dict__` (jsonable_encoder drops
    their `_sa…` keys) or dict subclasses with their own `items()`: pass models or plain dicts."""
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default)
    except TypeError:  # a dict key json.dumps cannot write (a date, an enum …): the general encoder
        text = json.dumps(jsonable_encoder(data), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


def json_response(data: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(data), status_code=status_code, headers=headers, media_type=MEDIA_TYPE)


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):  # FastAPI's own rule: an int without exponent, else a float
        return decimal_encoder(obj)
    if isinstance(obj, datetime.date | datetime.time):
        return obj.isoformat()
    return jsonable_encoder(obj)
