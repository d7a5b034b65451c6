"""Writing to the append-only audit log. Services call `record`; nothing updates or deletes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.db_types import utcnow


@dataclass(frozen=True)
class Actor:
    """Who did it: a user (id + display label) or the system/CLI."""

    id: int | None
    label: str
    ip: str | None = None


SYSTEM = Actor(id=None, label="系统")


@dataclass(frozen=True)
class Recorded:
    """An event as written: its id and time (what writers stamp their rows with)."""

    id: int | None
    at: datetime


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
    assessment_id: int | None = None,
    item_code: str | None = None,
) -> Recorded:
    """Appends one audit event after flushing the session's pending changes (committed by the caller);
    answers its id and time.

    One Core INSERT, not an ORM add and flush: every save writes an event, and the unit of work's
    bookkeeping for a row that is never read back in the same request cost more than the INSERT (and
    building an ``AuditEvent`` to answer with cost a third of it)."""
    values: dict[str, Any] = {
        "at": utcnow(),
        "actor_id": actor.id,
        "actor_label": actor.label[:64],
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "assessment_id": assessment_id,
        "item_code": item_code,
        "old": old,
        "new": new,
        "reason": reason,
        "ip": actor.ip,
    }
    session.flush()
    pk = session.connection().execute(_INSERT, values).inserted_primary_key
    return Recorded(pk[0] if pk else None, values["at"])


_INSERT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]


def for_entity(
    session: Session, *, entity_type: str, entity_id: object, limit: int = 200
) -> list[AuditEvent]:
    """Lists the events of one entity, newest first."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
        .order_by(col(AuditEvent.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt))


def for_assessment(session: Session, *, assessment_id: int) -> list[AuditEvent]:
    """Lists every event of an assessment (scores and transitions), oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.assessment_id == assessment_id).order_by(col(AuditEvent.id))
    return list(session.exec(stmt))
