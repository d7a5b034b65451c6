"""行政区划: province → city → county → township → village, with a materialized path."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from app.db_types import UTCDateTime, utcnow


class Region(SQLModel, table=True):
    __tablename__ = "region"
    __table_args__ = (
        CheckConstraint("level IN ('province','city','county','township','village')", name="level"),
        CheckConstraint("length(code) >= 2", name="code_len"),
        Index(None, "path"),
        Index(None, "parent_id", "code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True, description="official 行政区划代码")
    name: str = Field(max_length=64)
    level: str = Field(max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="region.id", ondelete="RESTRICT")
    # "/<code>/<code>/…/" from the root: a subtree is `path LIKE '<path>%'`.
    path: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
