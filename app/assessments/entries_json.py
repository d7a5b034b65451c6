"""Each assessment's item entries as JSON text, per source (`assessment.inspector_entries_json` /
`assessment.self_entries_json`), for the NDJSON export (app.api.ndjson), which passes them through.

The text is a JSON array of the source's entries ordered by item code, each entry rendered as the API's
``ScoreEntryOut`` and exactly as the export's database-side builder renders it on SQLite (the export
falls back to that builder when a text is NULL, so both must give the same bytes):

* ``entry`` compact, with the escapes SQLAlchemy's JSON type writes (``json.dumps`` default, ASCII) —
  SQLite's ``json()`` keeps a stored text's escapes and numbers as they are;
* ``score`` with two decimals (``"87.50"``, never ``"-0.00"``: SQLite stores -0 as the integer 0);
* ``updated_at`` RFC 3339 UTC with ``Z``, microseconds only when not zero (pydantic's format);
* other strings as ``json_object`` quotes them (UTF-8 kept, control characters escaped).

On PostgreSQL the builder's text differs only in insignificant whitespace and key order (jsonb); the
JSON values are the same. Likewise on SQLite for an entry whose JSON another writer stored with raw
UTF-8 (bench.generate writes it compact, unescaped): once its assessment is recomputed, the text has
``\\uXXXX`` escapes where the builder would copy the characters — the same JSON value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from app.scoring.explain import cents

_quote = json.JSONEncoder(ensure_ascii=False).encode  # a str → its JSON string literal (as json_object)
_compact = json.JSONEncoder(separators=(",", ":")).encode  # a stored JSON value, as SQLite's json() of it


class EntryRow(Protocol):
    """What the text is made of (a ``ScoreEntry``)."""

    @property
    def source(self) -> str: ...
    @property
    def item_code(self) -> str: ...
    @property
    def entry(self) -> dict[str, Any]: ...
    @property
    def score(self) -> Decimal | None: ...
    @property
    def note(self) -> str | None: ...
    @property
    def version(self) -> int: ...
    @property
    def updated_at(self) -> datetime: ...


def money(value: Decimal | None) -> str:
    """A score as the export writes it: a JSON string with two decimals, or null."""
    return "null" if value is None else f'"{cents(value)}"'


def time(value: datetime) -> str:
    """A UTC time as the export writes it (a JSON string)."""
    if value.tzinfo is None:  # stored as UTC (app.db_types.UTCDateTime)
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return f'"{value.isoformat()[:-6]}Z"'  # without "+00:00"


def entry_object(
    *,
    source: str,
    item_code: str,
    entry_json: str,
    score: Decimal | None,
    note: str | None,
    version: int,
    updated_at: datetime,
) -> str:
    """One entry object; `entry_json` is the entry's compact JSON text."""
    return (
        f'{{"source":{_quote(source)},"item_code":{_quote(item_code)},"entry":{entry_json},'
        f'"score":{money(score)},"note":{"null" if note is None else _quote(note)},'
        f'"version":{int(version)},"updated_at":{time(updated_at)}}}'
    )


def entries_text(rows: Iterable[EntryRow]) -> str:
    """The JSON array text of one source's entries (any order given; written by item code)."""
    ordered = sorted(rows, key=lambda r: r.item_code)
    return (
        "["
        + ",".join(
            entry_object(
                source=r.source,
                item_code=r.item_code,
                entry_json=_compact(r.entry),
                score=r.score,
                note=r.note,
                version=r.version,
                updated_at=r.updated_at,
            )
            for r in ordered
        )
        + "]"
    )
