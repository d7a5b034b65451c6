"""Criteria sets as stored documents: create drafts, publish (frozen, hashed), load the parsed set."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, func, select

from app.audit import service as audit
from app.criteria.models import CriteriaSetRecord
from app.db_types import utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.scoring import CriteriaSet, DocumentError, content_hash, dump_document, load_document


@lru_cache(maxsize=256)
def _parse_frozen(record_id: int, digest: str, document_json: str) -> CriteriaSet:
    import json

    return load_document(json.loads(document_json))


def parsed(record: CriteriaSetRecord) -> CriteriaSet:
    """The parsed set of a record (published sets are cached by their content hash)."""
    if record.status != "draft" and record.content_hash:
        import json

        return _parse_frozen(record.id or 0, record.content_hash, json.dumps(record.document, sort_keys=True))
    return load_document(record.document)


def validate_document(document: Any) -> CriteriaSet:
    """Parses a document, turning its errors into a ValidationFailed with a path per error."""
    try:
        return load_document(document)
    except DocumentError as exc:
        errors = {path or "document": message for path, message in exc.errors}
        raise ValidationFailed("评分标准文档有误", field_errors=errors) from exc


def create_draft(
    session: Session,
    *,
    document: dict[str, Any],
    region_id: int,
    actor: audit.Actor,
    copied_from_id: int | None = None,
) -> CriteriaSetRecord:
    """Creates a draft from a document (validated) as the next revision for its year, sector and region."""
    cs = validate_document(document)
    revision = (
        session.exec(
            select(func.max(CriteriaSetRecord.revision)).where(
                CriteriaSetRecord.year == cs.year,
                CriteriaSetRecord.sector == cs.sector,
                CriteriaSetRecord.region_id == region_id,
            )
        ).one()
        or 0
    ) + 1
    record = CriteriaSetRecord(
        year=cs.year,
        sector=cs.sector,
        region_id=region_id,
        title=cs.title,
        revision=revision,
        document=dump_document(cs),
        issuing_body=cs.issuer or None,
        document_number=cs.document_number or None,
        copied_from_id=copied_from_id,
        created_by_id=actor.id,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="criteria.create",
        entity_type="criteria_set",
        entity_id=record.id,
        new={"year": record.year, "sector": record.sector, "revision": revision},
    )
    return record


def publish(
    session: Session, *, record: CriteriaSetRecord, actor: audit.Actor, version: int | None = None
) -> None:
    """Publishes a draft: from now on it is frozen and identified by its content hash."""
    if record.status != "draft":
        raise Conflict("只有草稿可以发布；已发布的评分标准不能修改")
    if version is not None and version != record.version:
        raise Conflict("评分标准已被他人修改，请刷新后再发布")
    cs = validate_document(record.document)
    record.document = dump_document(cs)
    record.content_hash = content_hash(cs)
    record.status = "published"
    record.published_at = utcnow()
    record.updated_at = utcnow()
    record.version += 1
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="criteria.publish",
        entity_type="criteria_set",
        entity_id=record.id,
        new={"content_hash": record.content_hash},
    )


def get(session: Session, *, criteria_set_id: int) -> CriteriaSetRecord:
    record = session.get(CriteriaSetRecord, criteria_set_id)
    if record is None:
        raise NotFound("评分标准不存在")
    return record


def published_for(session: Session, *, year: int, sector: str, region_path: str) -> CriteriaSetRecord | None:
    """The published set that applies to a branch: the nearest issuing region up its path, latest revision."""
    from app.regions.models import Region

    codes = [c for c in region_path.strip("/").split("/") if c]
    stmt = (
        select(CriteriaSetRecord, Region.path)
        .join(Region, col(Region.id) == CriteriaSetRecord.region_id)
        .where(
            CriteriaSetRecord.year == year,
            CriteriaSetRecord.sector == sector,
            CriteriaSetRecord.status == "published",
            col(Region.code).in_(codes),
        )
    )
    best: tuple[int, int, CriteriaSetRecord] | None = None
    for record, path in session.exec(stmt):
        key = (path.count("/"), record.revision)
        if best is None or key > best[:2]:
            best = (key[0], key[1], record)
    return best[2] if best else None
