"""Parsed criteria sets are cached by content hash (bounded LRU); drafts never are."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from app.assessments import scoring
from app.assessments.models import Assessment
from app.criteria import service as criteria_service
from app.criteria.models import CriteriaSetRecord
from app.criteria.service import ParsedCache


class NoDatabase:
    """A session that must not be used."""

    def get(self, *_a: Any, **_k: Any) -> Any:
        raise AssertionError("the database was read although the set was cached")


def test_pinned_set_is_served_from_the_cache_by_hash(db: Session) -> None:
    # An assessment pinned to a stored set (other tests may leave assessments pinned to made-up hashes,
    # and without an ORDER BY PostgreSQL may return any of them first).
    pinned = (
        select(Assessment)
        .join(CriteriaSetRecord, CriteriaSetRecord.id == Assessment.criteria_set_id)
        .where(CriteriaSetRecord.content_hash == Assessment.criteria_hash)
        .order_by(Assessment.id)
    )
    a = db.exec(pinned).first()
    assert a is not None
    criteria_service.PARSED.clear()
    first = scoring.criteria_of(db, a)
    assert a.criteria_hash in criteria_service.PARSED
    again = criteria_service.parsed_by_id(
        NoDatabase(),  # type: ignore[arg-type]
        record_id=a.criteria_set_id,
        content_hash=a.criteria_hash,
    )
    assert again is first


def test_an_unknown_hash_reads_the_record(db: Session) -> None:
    record = db.exec(select(CriteriaSetRecord).where(CriteriaSetRecord.status == "published")).first()
    assert record is not None and record.content_hash
    criteria_service.PARSED.clear()
    cs = criteria_service.parsed_by_id(db, record_id=record.id or 0, content_hash="0" * 64)
    assert "0" * 64 not in criteria_service.PARSED  # cached under the record's own hash only
    assert criteria_service.PARSED.get(record.content_hash) is cs
    with pytest.raises(AssertionError):
        criteria_service.parsed_by_id(NoDatabase(), record_id=record.id or 0, content_hash="1" * 64)  # type: ignore[arg-type]


def test_drafts_are_not_cached(db: Session) -> None:
    record = db.exec(select(CriteriaSetRecord).where(CriteriaSetRecord.status == "published")).first()
    assert record is not None
    draft = CriteriaSetRecord.model_validate(record.model_dump())
    draft.status = "draft"
    criteria_service.PARSED.clear()
    one, two = criteria_service.parsed(draft), criteria_service.parsed(draft)
    assert one is not two and len(criteria_service.PARSED) == 0


def test_cache_is_bounded_least_recently_used_first(db: Session) -> None:
    record = db.exec(select(CriteriaSetRecord).where(CriteriaSetRecord.status == "published")).first()
    assert record is not None
    cs = criteria_service.parsed(record)
    cache = ParsedCache(maxsize=2)
    cache.put("a", cs)
    cache.put("b", cs)
    assert cache.get("a") is cs  # "a" is now the most recent
    cache.put("c", cs)
    assert "b" not in cache and "a" in cache and "c" in cache and len(cache) == 2
