"""评分标准/考评细则 as stored documents: drafts are edited, published ones are frozen."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.branches.models import SECTOR_CHECK
from app.db_types import JSONType, UTCDateTime, utcnow


class CriteriaSetRecord(SQLModel, table=True):
    __tablename__ = "criteria_set"
    __table_args__ = (
        CheckConstraint(SECTOR_CHECK, name="sector"),
        CheckConstraint("status IN ('draft','published','archived')", name="status"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
        CheckConstraint("revision >= 1", name="revision"),
        CheckConstraint("status = 'draft' OR content_hash IS NOT NULL", name="published_has_hash"),
        UniqueConstraint("year", "sector", "region_id", "revision"),
        Index(None, "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    year: int
    sector: str = Field(max_length=16)
    region_id: int = Field(foreign_key="region.id", ondelete="RESTRICT", description="issuing region")
    title: str = Field(max_length=200)
    revision: int = 1
    status: str = Field(default="draft", max_length=16)
    document: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    content_hash: str | None = Field(default=None, max_length=64)
    issuing_body: str | None = Field(default=None, max_length=128)
    document_number: str | None = Field(default=None, max_length=64)
    copied_from_id: int | None = Field(default=None, foreign_key="criteria_set.id", ondelete="SET NULL")
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
