"""Re-scoring stored entries in bulk (what-if; the few quota ties the stored totals cannot order, see
app.rankings.quota_inputs): one query for all entries, then the pure engine. Nothing is written."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.assessments import scoring as assessment_scoring
from app.assessments.models import ScoreEntry
from app.branches.models import Branch
from app.criteria import service as criteria_service
from app.criteria.models import CriteriaSetRecord
from app.db import in_chunks
from app.scoring import CriteriaSet, Result, score


def entry_rows(
    session: Session, ids: Sequence[int], *, source: str = "inspector"
) -> dict[int, list[ScoreEntry]]:
    """The stored entries of many assessments, by assessment id."""
    out: dict[int, list[ScoreEntry]] = defaultdict(list)
    for chunk in in_chunks(ids):
        stmt = select(ScoreEntry).where(col(ScoreEntry.assessment_id).in_(chunk), ScoreEntry.source == source)
        for row in session.exec(stmt):
            out[row.assessment_id].append(row)
    return out


def branch_names(session: Session, branch_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Branch id → (code, name)."""
    out: dict[int, tuple[str, str]] = {}
    for chunk in in_chunks(branch_ids):
        for bid, code, name in session.exec(
            select(Branch.id, Branch.code, Branch.name).where(col(Branch.id).in_(chunk))
        ):
            out[bid or 0] = (code, name)
    return out


class SetCache:
    """Parsed criteria sets by id (one parse per request)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.records: dict[int, CriteriaSetRecord] = {}
        self.parsed: dict[int, CriteriaSet] = {}

    def record(self, set_id: int) -> CriteriaSetRecord:
        if set_id not in self.records:
            self.records[set_id] = criteria_service.get(self.session, criteria_set_id=set_id)
        return self.records[set_id]

    def get(self, set_id: int) -> CriteriaSet:
        if set_id not in self.parsed:
            self.parsed[set_id] = criteria_service.parsed(self.record(set_id))
        return self.parsed[set_id]


class Scorable(Protocol):
    """What re-scoring reads of an assessment (an ``Assessment`` or a row of its columns)."""

    @property
    def id(self) -> int | None: ...

    @property
    def extras(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=Scorable)


def entry_items(session: Session, ids: Sequence[int]) -> dict[int, list[Any]]:
    """The item code and entry of the stored inspector entries of many assessments, by assessment id
    (plain rows: what ``build_entries`` reads, without loading ``ScoreEntry`` objects)."""
    se: Any = ScoreEntry
    out: dict[int, list[Any]] = defaultdict(list)
    for chunk in in_chunks(ids):
        stmt = sa_select(se.assessment_id, se.item_code, se.entry).where(
            col(se.assessment_id).in_(chunk), se.source == "inspector"
        )
        for row in session.execute(stmt):
            out[row.assessment_id].append(row)
    return out


def results(
    session: Session, assessments: Sequence[S], cs_of: Callable[[S], CriteriaSet]
) -> dict[int, Result]:
    """The engine's result for each assessment's inspector entries under the set `cs_of` gives."""
    if not assessments:
        return {}
    rows = entry_items(session, [a.id or 0 for a in assessments])
    return {
        a.id or 0: score(cs_of(a), assessment_scoring.build_entries(rows.get(a.id or 0, []), a.extras))
        for a in assessments
    }
