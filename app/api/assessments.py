"""Assessments, results and the NDJSON export of /api/v1 (sync order: updated_at, then id)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from app.api import cursor as cursors
from app.api import ndjson
from app.api.params import AssessmentQuery, ResultQuery, StreamQuery
from app.api.queries import NOT_FOUND, Places, after, count, path_codes, region_filter_path, split
from app.api.schemas import (
    AssessmentDetail,
    AssessmentOut,
    AssessmentPage,
    ResultOut,
    ResultPage,
    ScoreEntryOut,
)
from app.assessments.models import Assessment, ScoreEntry
from app.auth.scope import Scope
from app.branches.models import Branch
from app.errors import NotFound
from app.regions.paths import in_subtree


def _assessment_filters(
    session: Session, *, scope: Scope, query: AssessmentQuery | ResultQuery | StreamQuery
) -> list[Any]:
    """The query's filters on assessment columns (the region inside the scope; 403 outside it)."""
    path = region_filter_path(session, scope=scope, code=query.region)
    filters: list[Any] = [in_subtree(col(Assessment.region_path), path)]
    if query.year:
        filters.append(col(Assessment.year) == query.year)
    if query.sector:
        filters.append(col(Assessment.sector) == query.sector)
    status = getattr(query, "status", None)
    if status:
        filters.append(col(Assessment.status) == status)
    return filters


def _assessment_base(
    session: Session, *, scope: Scope, query: AssessmentQuery | ResultQuery | StreamQuery
) -> Any:
    stmt = (
        select(Assessment, Branch.code, Branch.name)
        .join(Branch, col(Branch.id) == col(Assessment.branch_id))
        .where(*_assessment_filters(session, scope=scope, query=query))
    )
    if query.updated_since:
        stmt = stmt.where(col(Assessment.updated_at) >= query.updated_since)
    return stmt


def _assessment_fields(a: Assessment, code: str, name: str, places: Places) -> dict[str, Any]:
    township = places.township(a.region_path)
    return {
        "id": a.id,
        "year": a.year,
        "branch_code": code,
        "branch_name": name,
        "sector": a.sector,
        "region_code": path_codes(a.region_path)[-1],
        "township_code": township.code if township else None,
        "township_name": township.name if township else None,
        "status": a.status,
        "criteria_set_id": a.criteria_set_id,
        "criteria_hash": a.criteria_hash,
        "self_total": a.self_total,
        "total": a.total,
        "band_stars": a.band_stars,
        "stars": a.stars,
        "final_stars": a.final_stars,
        "vetoed": a.vetoed,
        "designated": a.designated,
        "items_scored": a.items_scored,
        "items_total": a.items_total,
        "version": a.version,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "submitted_at": a.submitted_at,
        "reviewed_at": a.reviewed_at,
        "finalized_at": a.finalized_at,
    }


def _entries_by_assessment(session: Session, ids: list[int]) -> dict[int, list[ScoreEntryOut]]:
    """The item entries of a batch of assessments, in one query (plain columns: no ORM identity map)."""
    out: dict[int, list[ScoreEntryOut]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (
        sql_select(
            col(ScoreEntry.assessment_id),
            col(ScoreEntry.source),
            col(ScoreEntry.item_code),
            col(ScoreEntry.entry),
            col(ScoreEntry.score),
            col(ScoreEntry.note),
            col(ScoreEntry.version),
            col(ScoreEntry.updated_at),
        )
        .where(col(ScoreEntry.assessment_id).in_(ids))
        .order_by(col(ScoreEntry.assessment_id), col(ScoreEntry.source), col(ScoreEntry.item_code))
    )
    for assessment_id, source, item_code, entry, score, note, version, updated_at in session.execute(stmt):
        # Trusted database values: construct without re-validating (the stream builds ~100k of these).
        out[assessment_id].append(
            ScoreEntryOut.model_construct(
                source=source,
                item_code=item_code,
                entry=entry,
                score=score,
                note=note,
                version=version,
                updated_at=updated_at,
            )
        )
    return out


def _details(session: Session, rows: list[tuple[Assessment, str, str]]) -> list[AssessmentDetail]:
    places = Places.load(session, (a.region_path for a, _, _ in rows))
    entries = _entries_by_assessment(session, [a.id or 0 for a, _, _ in rows])
    return [
        AssessmentDetail(
            **_assessment_fields(a, code, name, places),
            extras=a.extras,
            explanation=a.explanation,
            quota_explanation=a.quota_explanation,
            returned_reason=a.returned_reason,
            entries=entries[a.id or 0],
        )
        for a, code, name in rows
    ]


def _sync_page(
    session: Session, base: Any, *, cursor: str | None, limit: int
) -> tuple[list[Any], str | None, int]:
    stmt = base
    if cursor:
        stmt = stmt.where(after(col(Assessment.updated_at), col(Assessment.id), cursors.decode_sync(cursor)))
    stmt = stmt.order_by(col(Assessment.updated_at), col(Assessment.id)).limit(limit + 1)
    rows, more = split(list(session.exec(stmt)), limit)
    last = rows[-1][0] if rows else None
    next_cursor = cursors.encode_sync(last.updated_at, last.id or 0) if more and last else None
    return rows, next_cursor, count(session, base)


def list_assessments(session: Session, *, scope: Scope, query: AssessmentQuery) -> AssessmentPage:
    """Lists the assessments of the scope, ordered by (updated_at, id)."""
    base = _assessment_base(session, scope=scope, query=query)
    rows, next_cursor, total = _sync_page(session, base, cursor=query.cursor, limit=query.limit)
    places = Places.load(session, (a.region_path for a, _, _ in rows))
    items = [AssessmentOut(**_assessment_fields(a, code, name, places)) for a, code, name in rows]
    return AssessmentPage(items=items, next_cursor=next_cursor, total=total)


def get_assessment(session: Session, *, scope: Scope, assessment_id: int) -> AssessmentDetail:
    """Gets one assessment with its item entries and explanation (404 outside the scope)."""
    row = session.exec(
        select(Assessment, Branch.code, Branch.name)
        .join(Branch, col(Branch.id) == col(Assessment.branch_id))
        .where(Assessment.id == assessment_id, scope.filter(col(Assessment.region_path)))
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return _details(session, [row])[0]


def list_results(session: Session, *, scope: Scope, query: ResultQuery) -> ResultPage:
    """Lists final results (status 'final': stars after quotas), ordered by (updated_at, id)."""
    base = _assessment_base(session, scope=scope, query=query).where(Assessment.status == "final")
    rows, next_cursor, total = _sync_page(session, base, cursor=query.cursor, limit=query.limit)
    places = Places.load(session, (a.region_path for a, _, _ in rows))
    items = []
    for a, code, name in rows:
        township = places.township(a.region_path)
        items.append(
            ResultOut(
                assessment_id=a.id or 0,
                year=a.year,
                branch_code=code,
                branch_name=name,
                sector=a.sector,  # type: ignore[arg-type]
                region_code=path_codes(a.region_path)[-1],
                township_code=township.code if township else None,
                township_name=township.name if township else None,
                total=a.total,
                stars=a.stars,
                final_stars=a.final_stars or 0,
                vetoed=a.vetoed,
                designated=a.designated,
                finalized_at=a.finalized_at,
                updated_at=a.updated_at,
            )
        )
    return ResultPage(items=items, next_cursor=next_cursor, total=total)


def iter_assessment_lines(
    session: Session, *, scope: Scope, query: StreamQuery, batch: int
) -> Iterator[bytes]:
    """Every matching assessment as one JSON line, fetched `batch` rows at a time (constant memory).

    Ordered by (updated_at, id) like the sync lists; each batch runs in its own short read transaction.
    The lines are built from JSON text the database renders (app.api.ndjson), the same JSON as
    `AssessmentDetail`."""
    filters = _assessment_filters(session, scope=scope, query=query)
    yield from ndjson.iter_lines(session, filters, since=query.updated_since, batch=batch)
