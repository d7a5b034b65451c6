"""Opaque keyset cursors: base64url of the last row's sort key, tagged with the kind of list.

A cursor names a position in a sort order, not an offset, so it stays correct while rows are inserted
or updated during paging. Kinds: "s" sync lists (updated_at, id), "r" regions (code), "k" rankings
(total, branch code).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_ID = 2_147_483_647
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"
_CURSOR_RE = re.compile(CURSOR_PATTERN)
_CODE_RE = re.compile(r"^[A-Za-z0-9-]{1,32}$")


class CursorError(ValueError):
    """The cursor is not one this server issued for this list."""


@dataclass(frozen=True)
class SyncKey:
    updated_at: datetime
    id: int


@dataclass(frozen=True)
class CodeKey:
    code: str


@dataclass(frozen=True)
class RankKey:
    total: Decimal
    branch_code: str


def _encode(payload: list[Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, kind: str, size: int) -> list[Any]:
    if not _CURSOR_RE.match(cursor):
        raise CursorError("游标格式不正确")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise CursorError("游标无法解析") from exc
    if not isinstance(payload, list) or len(payload) != size + 1 or payload[0] != kind:
        raise CursorError("游标不属于此列表")
    return payload[1:]


def encode_sync(updated_at: datetime, row_id: int) -> str:
    return _encode(["s", updated_at.astimezone(UTC).isoformat(timespec="microseconds"), row_id])


def decode_sync(cursor: str) -> SyncKey:
    stamp, row_id = _decode(cursor, "s", 2)
    if not isinstance(stamp, str) or type(row_id) is not int or not 0 <= row_id <= MAX_ID:
        raise CursorError("游标内容无效")
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError as exc:
        raise CursorError("游标内容无效") from exc
    if when.tzinfo is None:
        raise CursorError("游标内容无效")
    return SyncKey(when.astimezone(UTC), row_id)


def encode_code(code: str) -> str:
    return _encode(["r", code])


def decode_code(cursor: str) -> CodeKey:
    (code,) = _decode(cursor, "r", 1)
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise CursorError("游标内容无效")
    return CodeKey(code)


def encode_rank(total: Decimal, branch_code: str) -> str:
    return _encode(["k", f"{total:.2f}", branch_code])


def decode_rank(cursor: str) -> RankKey:
    total, code = _decode(cursor, "k", 2)
    if not isinstance(total, str) or not isinstance(code, str) or not _CODE_RE.match(code):
        raise CursorError("游标内容无效")
    try:
        value = Decimal(total)
    except InvalidOperation as exc:
        raise CursorError("游标内容无效") from exc
    if not value.is_finite() or abs(value) >= 100000:
        raise CursorError("游标内容无效")
    return RankKey(value, code)


DECODERS = {"s": decode_sync, "r": decode_code, "k": decode_rank}
