"""党支部: the branch register (台账)."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.db_types import UTCDateTime, utcnow

SECTOR_CHECK = "sector IN ('rural','community','organ','soe','school','nonpublic','social_org','hospital')"


class Branch(SQLModel, table=True):
    __tablename__ = "branch"
    __table_args__ = (
        CheckConstraint(SECTOR_CHECK, name="sector"),
        CheckConstraint("status IN ('active','merged','dissolved')", name="status"),
        CheckConstraint("member_count >= 0 AND member_count <= 100000", name="member_count"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("status <> 'merged' OR merged_into_id IS NOT NULL", name="merged_target"),
        Index(None, "region_path", "sector"),
        Index(None, "region_id"),
        Index(None, "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=128)
    sector: str = Field(max_length=16)
    region_id: int = Field(foreign_key="region.id", ondelete="RESTRICT")
    # Copy of the region's path, so scope filters need no join (kept in step by the service).
    region_path: str = Field(max_length=255)
    secretary_name: str | None = Field(default=None, max_length=32)
    secretary_phone: str | None = Field(default=None, max_length=32)
    secretary_vacant_since: date | None = None
    member_count: int = 0
    founded_on: date | None = None
    status: str = Field(default="active", max_length=16)
    merged_into_id: int | None = Field(default=None, foreign_key="branch.id", ondelete="RESTRICT")
    dissolved_on: date | None = None
    status_reason: str | None = Field(default=None, max_length=500)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
