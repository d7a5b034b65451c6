"""The NDJSON export: each line's JSON text is built by the database, with a little text joining here.

The export is the largest read of the API (a province-year is 100,000 assessments of ~10 KB each), so it
never builds ORM objects or pydantic models: a plain Core select asks the database for JSON text
(SQLite ``json_object``, PostgreSQL ``json_build_object``), the stored JSON columns pass through without
being decoded, and each assessment's entries arrive as one JSON array text. Python only adds the region
fields (from the region path) and joins the pieces. The result is exactly what
``AssessmentDetail.model_dump_json()`` gives for the same row, as JSON (tests/api/test_ndjson_text.py):

* decimals are strings with two decimals (``"87.50"``): SQLite ``printf('%.2f')`` of the stored REAL,
  PostgreSQL ``numeric(7,2)::text``;
* times are RFC 3339 in UTC with ``Z``, microseconds only when not zero (pydantic's format);
* booleans are ``true``/``false`` (SQLite stores 0/1);
* stored JSON is passed as stored: explanation steps carry ``kind``, ``code``, ``text`` and ``value`` as
  the engine writes them (pydantic would add a missing ``code``/``value`` as null).

The entries, ~80 % of the work when the database builds them (~30 objects a line, each with time and
decimal formatting), are stored per source as JSON text on the assessment
(``inspector_entries_json`` / ``self_entries_json``, written by ``app.assessments.scoring`` in the same
transaction as the entries, app.assessments.entries_json) and passed through. A NULL text (an assessment
written before migration 0005's backfill, or by a bulk writer that does not fill it) is built here from
``score_entry`` as before: ``coalesce(stored, built)``, and both engines evaluate the built subquery only
when the stored text is NULL. The two give the same text on SQLite (tests/api/test_entries_text.py).

The pieces are joined as UTF-8 bytes (SQLite hands them over as BLOBs): a line is ~10 KB of mostly
Chinese text, and decoding it to str and encoding it back cost as much as the query.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    LargeBinary,
    String,
    Text,
    bindparam,
    case,
    cast,
    false,
    func,
    literal_column,
    select,
    tuple_,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from app.api import cursor as cursors
from app.api.queries import path_codes
from app.assessments.models import Assessment, ScoreEntry
from app.branches.models import Branch
from app.rankings import service as rankings_service

# Batches whose JSON the database builds at the same time (each on its own connection).
WORKERS = 2


class _Dialect(NamedTuple):
    """How one engine renders a value as JSON text inside its JSON object function."""

    object: Any  # the JSON object function (name/value pairs)
    money: Any  # Decimal column → "87.50" (or NULL)
    time: Any  # UTC time column → "2026-03-01T08:00:00.123456Z" (or NULL)
    flag: Any  # boolean column → true/false
    stored: Any  # stored JSON column → its JSON text, undecoded
    text_json: Any  # text column → a JSON string literal or null
    entries: Any  # (entry object, source) → that source's entry objects of the current assessment, one JSON array text
    utf8: Any  # a text → as the driver returns it cheapest for joining as bytes (SQLite: bytes, not decoded)


def _sql(literal: str) -> ColumnElement[str]:
    # A constant written into the SQL text (constants of this module only, never input): keys and
    # formats as literals keep the statement short and its cache key small.
    return literal_column(literal, String)


def _key(name: str) -> ColumnElement[str]:
    return _sql(f"'{name}'")


def _sqlite_time(column: Any) -> Any:
    # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, no offset); pydantic writes no fraction when
    # it is zero. The fewest SQL function calls: this runs for every entry (~30 per assessment).
    text = type_coerce(column, String)
    whole = case(
        (func.substr(text, _sql("21")) == _sql("'000000'"), func.substr(text, _sql("1"), _sql("19"))),
        else_=text,
    )
    return func.replace(whole, _sql("' '"), _sql("'T'"), type_=String).concat(_sql("'Z'"))


def _sqlite_money(column: Any) -> Any:
    # printf('%.2f', NULL) is '0.00': NULL stays NULL (JSON null).
    return case((column.is_not(None), func.printf(_sql("'%.2f'"), column)))


def _of(source: str) -> list[Any]:
    # The source as a literal (one of two constants): the unique (assessment_id, source, item_code) index
    # then gives the rows in item order.
    return [col(ScoreEntry.assessment_id) == col(Assessment.id), col(ScoreEntry.source) == _key(source)]


def _sqlite_entries(entry_object: Any, source: str) -> Any:
    # An ordered subquery feeding group_concat: SQLite 3.40 has no ORDER BY inside aggregates, and it
    # never flattens an ordered subquery into an aggregate query, so the order is the subquery's.
    rows = (
        select(entry_object.label("e"))
        .where(*_of(source))
        .order_by(col(ScoreEntry.item_code))
        .correlate(Assessment)
        .subquery()
    )
    joined = func.coalesce(func.group_concat(rows.c.e, _sql("','")), _sql("''"), type_=String)
    return select(_sql("'['") + joined + _sql("']'")).scalar_subquery()


SQLITE = _Dialect(
    object=func.json_object,
    money=_sqlite_money,
    time=_sqlite_time,
    flag=lambda c: func.json(case((c, _sql("'true'")), else_=_sql("'false'"))),
    stored=lambda c: type_coerce(c, String),
    text_json=func.json_quote,
    entries=_sqlite_entries,
    # As BLOB: the driver hands over the UTF-8 bytes (a line is ~10 KB of mostly non-ASCII text: decoding
    # it to str and encoding it back cost as much as the query).
    utf8=lambda c: cast(c, LargeBinary),
)


def _pg_time(column: Any) -> Any:
    utc = func.timezone(_sql("'UTC'"), column)
    return case(
        (
            column == func.date_trunc(_sql("'second'"), column),
            func.to_char(utc, _sql('\'YYYY-MM-DD"T"HH24:MI:SS"Z"\'')),
        ),
        else_=func.to_char(utc, _sql('\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\'')),
    )


def _pg_entries(entry_object: Any, source: str) -> Any:
    # string_agg, not json_agg: json_agg puts a newline between elements, which would split the line.
    ordered: Any = aggregate_order_by(_sql("','"), col(ScoreEntry.item_code))
    joined = func.coalesce(func.string_agg(cast(entry_object, Text), ordered), _sql("''"), type_=String)
    return select(_sql("'['") + joined + _sql("']'")).where(*_of(source)).scalar_subquery()


POSTGRES = _Dialect(
    object=func.json_build_object,
    money=lambda c: cast(c, Text),
    time=_pg_time,
    flag=lambda c: type_coerce(c, Boolean),
    stored=lambda c: cast(c, Text),
    text_json=lambda c: func.coalesce(cast(func.to_json(c), Text), _sql("'null'")),
    entries=_pg_entries,
    utf8=lambda c: c,  # text (psycopg decodes it in C; bytea would travel hex-encoded): encoded in _chunk
)


def _pairs(d: _Dialect, fields: Iterable[tuple[str, Any]]) -> Any:
    args: list[Any] = []
    for name, value in fields:
        args += [_key(name), value]
    # As text: psycopg would decode a json value into Python objects.
    return cast(d.object(*args), Text) if d is POSTGRES else type_coerce(d.object(*args), String)


def _columns(d: _Dialect) -> list[Any]:
    """The select list: the region path, then the JSON texts in the order of AssessmentDetail."""
    a = Assessment
    head = _pairs(
        d,
        [
            ("id", col(a.id)),
            ("year", col(a.year)),
            ("branch_code", col(Branch.code)),
            ("branch_name", col(Branch.name)),
            ("sector", col(a.sector)),
        ],
    )
    body = _pairs(
        d,
        [
            ("status", col(a.status)),
            ("criteria_set_id", col(a.criteria_set_id)),
            ("criteria_hash", col(a.criteria_hash)),
            ("self_total", d.money(col(a.self_total))),
            ("total", d.money(col(a.total))),
            ("band_stars", col(a.band_stars)),
            ("stars", col(a.stars)),
            ("final_stars", col(a.final_stars)),
            ("vetoed", d.flag(col(a.vetoed))),
            ("designated", d.flag(col(a.designated))),
            ("items_scored", col(a.items_scored)),
            ("items_total", col(a.items_total)),
            ("version", col(a.version)),
            ("created_at", d.time(col(a.created_at))),
            ("updated_at", d.time(col(a.updated_at))),
            ("submitted_at", d.time(col(a.submitted_at))),
            ("reviewed_at", d.time(col(a.reviewed_at))),
            ("finalized_at", d.time(col(a.finalized_at))),
        ],
    )
    texts = [
        head,
        body,
        d.stored(col(a.extras)),
        d.stored(col(a.explanation)),
        d.stored(col(a.quota_explanation)),
        type_coerce(d.text_json(col(a.returned_reason)), String),
        *[
            func.coalesce(stored, built, type_=String)
            for stored, built in zip(STORED, built_entries(d), strict=True)
        ],
    ]
    return [col(a.region_path), *map(d.utf8, texts)]


SOURCES = ("inspector", "self")  # the order of an export line's entries
STORED = (col(Assessment.inspector_entries_json), col(Assessment.self_entries_json))
STORED_NAMES = ("inspector_entries_json", "self_entries_json")


def built_entries(d: _Dialect) -> list[Any]:
    """Per source (SOURCES), the JSON array text of the current assessment's entries built from
    score_entry: what the stored texts hold (the export's fallback, and migration 0005's backfill)."""
    entry = d.object(
        _key("source"),
        col(ScoreEntry.source),
        _key("item_code"),
        col(ScoreEntry.item_code),
        _key("entry"),
        _embedded(d, col(ScoreEntry.entry)),
        _key("score"),
        d.money(col(ScoreEntry.score)),
        _key("note"),
        col(ScoreEntry.note),
        _key("version"),
        col(ScoreEntry.version),
        _key("updated_at"),
        d.time(col(ScoreEntry.updated_at)),
    )
    return [type_coerce(d.entries(entry, source), String) for source in SOURCES]


def store_built_entries(conn: Session | Connection, *where: Any) -> None:
    """Fills the stored entry texts of the assessments matching `where` (all when none) from score_entry,
    one UPDATE per source, without touching anything else (updated_at, version) — for bulk writers that
    insert entries without app.assessments.scoring (the demo seed, migration 0005's backfill)."""
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    d = POSTGRES if bind.dialect.name == "postgresql" else SQLITE
    table = Assessment.__table__  # type: ignore[attr-defined]
    for name, built in zip(STORED_NAMES, built_entries(d), strict=True):
        conn.execute(update(table).where(*where).values({name: built}))


def _embedded(d: _Dialect, column: Any) -> Any:
    # A stored JSON column inside a JSON object: SQLite needs json() to embed it as JSON, not as a string.
    return func.json(column) if d is SQLITE else column


def dialect_of(session: Session) -> _Dialect:
    return POSTGRES if session.get_bind().dialect.name == "postgresql" else SQLITE


class _Regions:
    """The region fields of each region path, as UTF-8 JSON members, for one export: each path is looked
    up once (a batch's new paths in one region query), not once per batch. Shared by the worker threads
    (a path two of them look up at once is computed twice, the same)."""

    def __init__(self) -> None:
        self.fields: dict[str, bytes] = {}

    def of(self, session: Session, paths: Iterable[str]) -> dict[str, bytes]:
        new = {p for p in paths if p not in self.fields}
        if new:
            towns = rankings_service.towns_of(session, new)
            self.fields.update({p: _region_fields(p, towns[p]) for p in new})
        return self.fields


def _region_fields(path: str, town: rankings_service.Town) -> bytes:
    values = {"region_code": path_codes(path)[-1], "township_code": town[0], "township_name": town[1]}
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))[1:-1].encode()


def _one_line(text: bytes) -> bytes:
    # Stored JSON written by hand (migrations, fixes) may be pretty-printed: a newline would split the line.
    if b"\n" not in text:
        return text
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")).encode()


def _line(row: Any, places: dict[str, bytes]) -> list[Any]:
    """One line as pieces of UTF-8 (bytes, or views of them: joined once per batch, never decoded)."""
    path, head, body, extras, explanation, quota, returned_reason, inspector, self_ = row
    return [
        memoryview(head)[:-1],
        b",",
        places[path],
        b",",
        memoryview(body)[1:-1],
        b',"extras":',
        _one_line(extras),
        b',"explanation":',
        _one_line(explanation),
        b',"quota_explanation":',
        _one_line(quota),
        b',"returned_reason":',
        returned_reason,
        b',"entries":',
        *_entries(inspector, self_),
        b"}\n",
    ]


def _entries(inspector: bytes, self_: bytes) -> list[Any]:
    """The line's entries array from the two sources' arrays: the inspector's, then the self-assessment's."""
    if self_ == b"[]":
        return [inspector]
    if inspector == b"[]":
        return [self_]
    return [memoryview(inspector)[:-1], b",", memoryview(self_)[1:]]


def _fenced(condition: Any) -> Any:
    """A filter no index can serve (coalesce is opaque to both planners), so that the batch query walks
    the (updated_at, id) index and stops after `batch` rows. Served by the year or region index, each
    batch would read every matching row (SQLite: through the overflow pages of the JSON columns, which
    come before updated_at) and sort them all again: quadratic in the size of the export."""
    return func.coalesce(condition, false())


def _batch_keys(filters: list[Any], since: datetime | None, *, batch: int, sqlite: bool) -> tuple[Any, Any]:
    """The statements of (id, updated_at) of a batch in (updated_at, id) order: the first batch, and the
    batch after the key in the parameters `k_at`, `k_id`. Built once per export (a statement built per
    batch cost its cache key every time)."""
    order = (col(Assessment.updated_at), col(Assessment.id))
    at: Any = bindparam("k_at")
    kid: Any = bindparam("k_id")
    keys = select(order[1], order[0]).where(*[_fenced(f) for f in filters])
    if since is not None:
        keys = keys.where(order[0] >= since)
    first = keys.order_by(*order).limit(batch)
    if not sqlite:
        # PostgreSQL seeks a btree to a row value.
        return first, keys.where(tuple_(*order) > tuple_(at, kid)).order_by(*order).limit(batch)
    # SQLite 3.40 seeks a row value on its first column only, then reads every row with the same
    # updated_at (a bulk import shares one): the rest of the same instant, then the later ones.
    same = keys.where(order[0] == at, order[1] > kid).order_by(*order).limit(batch)
    later = keys.where(order[0] > at).order_by(*order).limit(batch)
    both = union_all(select(same.subquery()), select(later.subquery())).subquery()
    return first, select(both.c.id, both.c.updated_at).order_by(both.c.updated_at, both.c.id).limit(batch)


def _page(filters: list[Any], columns: list[Any]) -> Any:
    """The JSON texts of one batch, by the ids in the parameter `ids` (the filters again: a row may have
    changed since its id was chosen). Chosen apart: with the JSON columns in the select, a sorting plan
    would build them for every matching row. Built once per export."""
    return (
        select(*columns)
        .select_from(Assessment)
        .join(Branch, col(Branch.id) == col(Assessment.branch_id))
        .where(col(Assessment.id).in_(bindparam("ids", expanding=True)), *[_fenced(f) for f in filters])
        .order_by(col(Assessment.updated_at), col(Assessment.id))
    )


def _chunk(bind: Any, page: Any, ids: list[int], regions: _Regions) -> bytes:
    """One batch as bytes, read in its own short transaction (in a worker thread)."""
    with Session(bind) as session:
        rows: list[Any] = list(session.connection().execute(page, {"ids": ids}).all())
        places = regions.of(session, {row[0] for row in rows})
    if rows and isinstance(rows[0][1], str):  # PostgreSQL
        rows = [(row[0], *[t.encode() for t in row[1:]]) for row in rows]
    return b"".join([piece for row in rows for piece in _line(row, places)])


def iter_lines(
    session: Session, filters: list[Any], *, since: datetime | None, batch: int
) -> Iterator[bytes]:
    """The lines of every assessment matching `filters` (and updated since `since`), `batch` at a time by
    (updated_at, id), each batch yielded as one chunk.

    The keys of each batch are read here (a short index query, its own transaction); the JSON of up to
    WORKERS batches is built meanwhile by the database on other connections (it releases the GIL), so
    both cores of a small server work on the export. Chunks are yielded in order."""
    dialect = dialect_of(session)
    page = _page(filters, _columns(dialect))
    first, after = _batch_keys(filters, since, batch=batch, sqlite=dialect is SQLITE)
    regions = _Regions()
    bind = session.get_bind()
    key: cursors.SyncKey | None = None
    pending: deque[Future[bytes]] = deque()
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ndjson") as pool:
        try:
            while True:
                if key is None:
                    keys = session.execute(first).all()
                else:
                    keys = session.execute(after, {"k_at": key.updated_at, "k_id": key.id}).all()
                session.rollback()
                if keys:
                    key = cursors.SyncKey(keys[-1][1], keys[-1][0])
                    pending.append(pool.submit(_chunk, bind, page, [k[0] for k in keys], regions))
                done = len(keys) < batch
                while pending and (done or len(pending) > WORKERS):
                    yield pending.popleft().result()
                if done:
                    return
        finally:
            # The client went away (or a batch failed): drop the batches not started.
            for future in pending:
                future.cancel()
