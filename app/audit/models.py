"""The append-only audit log (database triggers refuse UPDATE and DELETE)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from app.db_types import JSONType, UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index(None, "entity_type", "entity_id"),
        Index(None, "assessment_id"),
        Index(None, "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    actor_label: str = Field(max_length=64)
    action: str = Field(max_length=48)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    assessment_id: int | None = None
    item_code: str | None = Field(default=None, max_length=32)
    old: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    new: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    reason: str | None = Field(default=None, max_length=2000)
    ip: str | None = Field(default=None, max_length=64)
