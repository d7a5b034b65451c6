"""Writing to the append-only audit log. Services call `record`; nothing updates or deletes."""

from __future__ import annotations

from dataclasses import dataclass
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
) -> AuditEvent:
    """Appends one audit event after flushing the session's pending changes (committed by the caller);
    answers it as written (detached: the log is append-only, nothing changes it later).

    One Core INSERT, not an ORM add and flush: every save writes an event, and the unit of work's
    bookkeeping for a row that is never read back in the same request cost more than the INSERT."""
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
    return AuditEvent(id=pk[0] if pk else None, **values)


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
