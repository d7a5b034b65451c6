"""年度评定: one branch, one year; its score entries, evidence, publicity and objections."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.branches.models import SECTOR_CHECK
from app.db_types import JSONType, Score, UTCDateTime, utcnow

ASSESSMENT_STATUS_CHECK = (
    "status IN ('draft','self_submitted','scoring','submitted','returned','reviewed','publicized','final')"
)


class Assessment(SQLModel, table=True):
    """Totals and stars are precomputed here in the same transaction as the score they come from."""

    __tablename__ = "assessment"
    __table_args__ = (
        CheckConstraint(ASSESSMENT_STATUS_CHECK, name="status"),
        CheckConstraint(SECTOR_CHECK, name="sector"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
        CheckConstraint("stars IS NULL OR stars BETWEEN 0 AND 5", name="stars"),
        CheckConstraint("band_stars IS NULL OR band_stars BETWEEN 0 AND 5", name="band_stars"),
        CheckConstraint("final_stars IS NULL OR final_stars BETWEEN 0 AND 5", name="final_stars"),
        CheckConstraint("items_scored >= 0 AND items_scored <= items_total", name="items_scored"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("status <> 'final' OR final_stars IS NOT NULL", name="final_has_stars"),
        UniqueConstraint("branch_id", "year"),
        # Rankings (app.rankings.service.rank): a region's rows, and a year's rows in total order; both
        # cover the filters, so counting never reads the table.
        Index(None, "year", "region_path", "sector", "total", "status"),
        Index(None, "year", "total", "region_path", "sector", "status"),
        Index(None, "year", "final_stars"),
        Index(None, "year", "status"),
        Index(None, "updated_at", "id", "year", "region_path", "sector", "status"),
        Index(None, "publicity_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", ondelete="RESTRICT")
    year: int
    # Copies of the branch's sector and region path at the time of the assessment (rankings by scope).
    sector: str = Field(max_length=16)
    region_path: str = Field(max_length=255)
    criteria_set_id: int = Field(foreign_key="criteria_set.id", ondelete="RESTRICT")
    criteria_hash: str = Field(max_length=64)
    status: str = Field(default="draft", max_length=16)
    self_total: Decimal | None = Field(default=None, sa_type=Score)
    total: Decimal | None = Field(default=None, sa_type=Score)
    band_stars: int | None = None
    stars: int | None = None
    final_stars: int | None = None
    vetoed: bool = False
    designated: bool = False
    items_scored: int = 0
    items_total: int = 0
    # Entry-level inputs outside items: vetoes, prerequisites met, appraisal, designation.
    extras: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    explanation: list[Any] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    quota_explanation: list[Any] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    returned_reason: str | None = Field(default=None, max_length=1000)
    inspector_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    publicity_id: int | None = Field(default=None, foreign_key="publicity.id", ondelete="SET NULL")
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finalized_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Each source's entries as the JSON array text the NDJSON export passes through (app.assessments.
    # entries_json), written with the entries by scoring.recompute / recompute_self; NULL: not stored
    # (the export then builds it from score_entry).
    inspector_entries_json: str | None = Field(default=None, sa_type=Text)
    self_entries_json: str | None = Field(default=None, sa_type=Text)


class AssessmentTally(SQLModel, table=True):
    """How many assessments with a total each (year, region prefix, sector, status) has: the size of a
    ranking of a province, city or county without counting 100,000 rows per request.

    Maintained only by database triggers on `assessment` (migration 0004), in the writing transaction,
    so it is exact for every reader. `prefix` is the assessment's region path cut to its first
    `TALLY_DEPTH` codes (a county's path under a province), so a region at that depth or above sums the
    rows of its subtree; deeper regions count assessments directly (they are small)."""

    __tablename__ = "assessment_tally"

    year: int = Field(primary_key=True)
    prefix: str = Field(primary_key=True, max_length=255)
    sector: str = Field(primary_key=True, max_length=16)
    status: str = Field(primary_key=True, max_length=16)
    n: int = 0


TALLY_DEPTH = 3  # codes kept in AssessmentTally.prefix (migration 0004's triggers use the same depth)


class ScoreEntry(SQLModel, table=True):
    """One item's entry by one source (自评 or 考评); `entry` is the engine's ItemEntry JSON."""

    __tablename__ = "score_entry"
    __table_args__ = (
        CheckConstraint("source IN ('self','inspector')", name="source"),
        CheckConstraint("version >= 1", name="version"),
        UniqueConstraint("assessment_id", "source", "item_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", ondelete="CASCADE")
    source: str = Field(max_length=16)
    item_code: str = Field(max_length=32)
    entry: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    score: Decimal | None = Field(default=None, sa_type=Score)
    note: str | None = Field(default=None, max_length=2000)
    version: int = 1
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Evidence(SQLModel, table=True):
    """佐证材料: a file stored by content hash under data/evidence."""

    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint("size > 0 AND size <= 10485760", name="size"),
        CheckConstraint(
            "content_type IN ('image/jpeg','image/png','image/webp','application/pdf')", name="content_type"
        ),
        Index(None, "assessment_id", "item_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", ondelete="CASCADE")
    item_code: str | None = Field(default=None, max_length=32)
    sha256: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=64)
    size: int
    has_thumbnail: bool = False
    uploaded_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Publicity(SQLModel, table=True):
    """公示: a public-notice window for a scope and year."""

    __tablename__ = "publicity"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="window"),
        CheckConstraint("status IN ('open','closed')", name="status"),
        Index(None, "year", "region_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    year: int
    region_id: int = Field(foreign_key="region.id", ondelete="RESTRICT")
    title: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    contact: str = Field(max_length=500)
    status: str = Field(default="open", max_length=16)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Objection(SQLModel, table=True):
    """异议 received during a publicity window."""

    __tablename__ = "objection"
    __table_args__ = (
        CheckConstraint("status IN ('pending','upheld','dismissed')", name="status"),
        Index(None, "assessment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    publicity_id: int = Field(foreign_key="publicity.id", ondelete="RESTRICT")
    assessment_id: int = Field(foreign_key="assessment.id", ondelete="RESTRICT")
    received_on: date
    submitter: str | None = Field(default=None, max_length=64)
    content: str = Field(max_length=4000)
    status: str = Field(default="pending", max_length=16)
    resolution: str | None = Field(default=None, max_length=2000)
    resolved_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
