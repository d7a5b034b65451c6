"""The glue between stored entries and the pure engine: build Entries, score, persist totals."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from app.assessments.models import Assessment, ScoreEntry
from app.criteria import service as criteria_service
from app.criteria.models import CriteriaSetRecord
from app.scoring import CriteriaSet, Entries, EntriesError, ItemEntry, Result, score

EXTRA_KEYS = ("vetoes", "prerequisites", "appraisal", "designation")


def criteria_of(session: Session, assessment: Assessment) -> CriteriaSet:
    """The criteria set the assessment is pinned to."""
    record = session.get(CriteriaSetRecord, assessment.criteria_set_id)
    assert record is not None
    return criteria_service.parsed(record)


def entry_rows(session: Session, assessment_id: int, source: str) -> list[ScoreEntry]:
    stmt = select(ScoreEntry).where(ScoreEntry.assessment_id == assessment_id, ScoreEntry.source == source)
    return list(session.exec(stmt))


def build_entries(rows: list[ScoreEntry], extras: dict[str, Any] | None) -> Entries:
    """Entries for the engine from stored rows (+ the assessment's extras for the inspector source)."""
    items = {}
    for row in rows:
        try:
            items[row.item_code] = ItemEntry.from_json(row.entry)
        except EntriesError:
            continue  # stored entries were validated on save; never let one bad row hide the rest
    obj: dict[str, Any] = {"items": {}}
    for key in EXTRA_KEYS:
        if extras and extras.get(key) is not None:
            obj[key] = extras[key]
    try:
        base = Entries.from_json(obj)
    except EntriesError:
        base = Entries()
    return Entries(items, base.vetoes, base.prerequisites, base.appraisal, base.designation)


def recompute(session: Session, assessment: Assessment, cs: CriteriaSet | None = None) -> Result:
    """Scores the inspector's entries and stores totals, stars and the explanation on the assessment,
    and each item's score on its entry row (same transaction as the change that caused it)."""
    cs = cs or criteria_of(session, assessment)
    rows = entry_rows(session, assessment.id or 0, "inspector")
    result = score(cs, build_entries(rows, assessment.extras))
    for row in rows:
        item = result.items.get(row.item_code)
        row.score = item.score if item else None
        session.add(row)
    scored = sum(1 for r in result.items.values() if r.scored)
    assessment.total = result.total
    assessment.band_stars = result.band_stars
    assessment.stars = result.stars
    assessment.vetoed = result.vetoed
    assessment.designated = result.designated
    assessment.items_total = len(result.items)
    assessment.items_scored = min(scored, len(result.items))
    assessment.explanation = result.to_json()["explanation"]
    session.add(assessment)
    return result


def recompute_self(session: Session, assessment: Assessment, cs: CriteriaSet | None = None) -> Result:
    """Scores the branch's self-assessment and stores its total."""
    cs = cs or criteria_of(session, assessment)
    rows = entry_rows(session, assessment.id or 0, "self")
    result = score(cs, build_entries(rows, None))
    for row in rows:
        item = result.items.get(row.item_code)
        row.score = item.score if item else None
        session.add(row)
    assessment.self_total = result.total
    session.add(assessment)
    return result


def result_of(session: Session, assessment: Assessment, cs: CriteriaSet | None = None) -> Result:
    """The engine's full result for the inspector's entries (not persisted)."""
    cs = cs or criteria_of(session, assessment)
    return score(cs, build_entries(entry_rows(session, assessment.id or 0, "inspector"), assessment.extras))
