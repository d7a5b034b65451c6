"""Background jobs (reports for large scopes): one row per distinct request, survives reloads."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index
from sqlmodel import Field, SQLModel

from app.db_types import JSONType, UTCDateTime, utcnow


class Job(SQLModel, table=True):
    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("status IN ('queued','running','done','failed')", name="status"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        Index(None, "kind", "params_key", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    params_key: str = Field(
        max_length=64, description="sha256 of the canonical params: same request, same job"
    )
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    status: str = Field(default="queued", max_length=16)
    progress: int = 0
    message: str | None = Field(default=None, max_length=500)
    result_path: str | None = Field(default=None, max_length=500)
    requested_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
