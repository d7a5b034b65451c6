"""Shared by the reliability tests: fresh assessments of our own, and a consistency check that recomputes
an assessment with the pure engine and compares it with what the database holds."""

from __future__ import annotations

import itertools
import os
from decimal import Decimal

from sqlmodel import Session, col, select

from app.assessments import scoring
from app.assessments import service as assessments_service
from app.assessments.models import Assessment, ScoreEntry
from app.audit.models import AuditEvent
from app.auth import service as auth_service
from app.auth.models import User
from app.branches.models import Branch
from app.regions.models import Region
from app.scoring import score

TOWNSHIP = "990102001"
INSPECTOR = "inspector_qs1"
_seq = itertools.count(1)
_RUN = os.getpid() % 10000


def inspector_actor(session: Session, username: str = INSPECTOR) -> assessments_service.Actor:
    user = session.exec(select(User).where(User.username == username)).one()
    scope = auth_service.scope_for_user(session, user)
    return assessments_service.Actor(user.id, user.display_name, user.role, scope)


def fresh_assessment(session: Session, tag: str) -> tuple[int, list[str]]:
    """A new branch of our own in inspector_qs1's township and its 2026 assessment (flushed; the caller
    commits). Returns (assessment id, the codes of its scoreable category items)."""
    village = session.exec(
        select(Region)
        .where(col(Region.code).startswith(TOWNSHIP), Region.level == "village")
        .order_by(Region.code)
    ).first()
    assert village is not None
    n = next(_seq)
    branch = Branch(
        code=f"{village.code}-R{_RUN:04d}{tag}{n}"[:32],
        name=f"可靠性测试支部{_RUN}{tag}{n}",
        sector="rural",
        region_id=village.id or 0,
        region_path=village.path,
        member_count=9,
    )
    session.add(branch)
    session.flush()
    actor = inspector_actor(session)
    a = assessments_service.ensure_for_year(session, branch=branch, year=2026, actor=actor.audit)
    cs = scoring.criteria_of(session, a)
    items = [leaf.item.code for leaf in cs.items() if leaf.section == "category"]
    return a.id or 0, items


def consistency_problems(session: Session, assessment_id: int) -> list[str]:
    """Everything that would show a half-written save: totals, stars and item scores that differ from a
    fresh run of the engine over the stored entries; versions that differ from the number of audited
    saves of each item."""
    a = session.get(Assessment, assessment_id)
    assert a is not None
    session.refresh(a)
    cs = scoring.criteria_of(session, a)
    rows = scoring.entry_rows(session, assessment_id, "inspector")
    result = score(cs, scoring.build_entries(rows, a.extras))
    problems = []
    if _dec(a.total) != _dec(result.total):
        problems.append(f"total {a.total} but the engine says {result.total}")
    if a.stars != result.stars:  # our branches are never weak-listed (no three-star cap)
        problems.append(f"stars {a.stars} but the engine says {result.stars}")
    scored = min(sum(1 for r in result.items.values() if r.scored), len(result.items))
    if a.items_scored != scored:
        problems.append(f"items_scored {a.items_scored} but {scored} are scored")
    for row in rows:
        item = result.items.get(row.item_code)
        if item is not None and _dec(row.score) != _dec(item.score):
            problems.append(f"{row.item_code}: stored score {row.score}, engine {item.score}")
        saves = session.exec(
            select(AuditEvent).where(
                AuditEvent.assessment_id == assessment_id,
                AuditEvent.item_code == row.item_code,
                AuditEvent.action == "score.inspector",
            )
        ).all()
        if len(saves) != row.version:
            problems.append(f"{row.item_code}: version {row.version} but {len(saves)} audited saves")
    return problems


def entry_of(session: Session, assessment_id: int, item_code: str) -> ScoreEntry | None:
    return session.exec(
        select(ScoreEntry).where(
            ScoreEntry.assessment_id == assessment_id,
            ScoreEntry.source == "inspector",
            ScoreEntry.item_code == item_code,
        )
    ).first()


def audited_notes(session: Session, assessment_id: int, item_code: str) -> list[str]:
    """The notes of every audited save of an item, oldest first."""
    rows = session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.assessment_id == assessment_id,
            AuditEvent.item_code == item_code,
            AuditEvent.action == "score.inspector",
        )
        .order_by(col(AuditEvent.id))
    ).all()
    return [str((r.new or {}).get("note")) for r in rows]


def _dec(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))
