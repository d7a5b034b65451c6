"""Dynamic management (动态管理): 示范点, the weak-branch register (软弱涣散) with rectification tasks,
mid-year star withdrawals, and inspectors' visits."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db_types import JSONType, UTCDateTime, utcnow


class DemoSite(SQLModel, table=True):
    """示范点: shortlisted from five-star branches, designated by a committee decision, withdrawable."""

    __tablename__ = "demo_site"
    __table_args__ = (
        CheckConstraint("status IN ('shortlisted','designated','withdrawn')", name="status"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
        CheckConstraint("status <> 'designated' OR decided_on IS NOT NULL", name="designated_has_decision"),
        CheckConstraint("status <> 'withdrawn' OR withdraw_reason IS NOT NULL", name="withdrawn_has_reason"),
        UniqueConstraint("branch_id", "year"),
        Index(None, "year", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", ondelete="RESTRICT")
    year: int
    region_path: str = Field(max_length=255)
    status: str = Field(default="shortlisted", max_length=16)
    decided_on: date | None = None
    reason: str | None = Field(default=None, max_length=2000)
    document_number: str | None = Field(default=None, max_length=64)
    withdrawn_on: date | None = None
    withdraw_reason: str | None = Field(default=None, max_length=2000)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class WeakListing(SQLModel, table=True):
    """软弱涣散: a branch suggested (by signs) or listed for rectification in a year, until delisted."""

    __tablename__ = "weak_listing"
    __table_args__ = (
        CheckConstraint("status IN ('suggested','listed','rejected','delisted')", name="status"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
        CheckConstraint("status <> 'delisted' OR delisted_on IS NOT NULL", name="delisted_has_date"),
        CheckConstraint("NOT lifted OR lift_reason IS NOT NULL", name="lift_has_reason"),
        UniqueConstraint("branch_id", "year"),
        Index(None, "year", "status"),
        Index(None, "region_path"),
    )

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", ondelete="RESTRICT")
    year: int
    region_path: str = Field(max_length=255)
    status: str = Field(default="suggested", max_length=16)
    signs: list[Any] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    reason: str | None = Field(default=None, max_length=2000)
    confirmed_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # While listed, a branch cannot be rated three stars or above unless the county lifts the block.
    lifted: bool = False
    lift_reason: str | None = Field(default=None, max_length=2000)
    followup_year: int | None = None
    followup_result: str | None = Field(default=None, max_length=2000)
    delisted_on: date | None = None
    delist_reason: str | None = Field(default=None, max_length=2000)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class RectificationTask(SQLModel, table=True):
    """整顿任务 of a listed branch: owner, deadline, status."""

    __tablename__ = "rectification_task"
    __table_args__ = (
        CheckConstraint("status IN ('open','in_progress','done')", name="status"),
        CheckConstraint("status <> 'done' OR done_on IS NOT NULL", name="done_has_date"),
        Index(None, "listing_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(foreign_key="weak_listing.id", ondelete="CASCADE")
    title: str = Field(max_length=200)
    owner: str = Field(max_length=64)
    deadline: date
    status: str = Field(default="open", max_length=16)
    done_on: date | None = None
    note: str | None = Field(default=None, max_length=2000)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class StarChange(SQLModel, table=True):
    """A mid-year withdrawal (摘星) or lowering of a final star after an event, with evidence."""

    __tablename__ = "star_change"
    __table_args__ = (
        CheckConstraint("event IN ('discipline','accident','mass_incident','other')", name="event"),
        CheckConstraint(
            "stars_after >= 0 AND stars_after < stars_before AND stars_before <= 5", name="stars"
        ),
        Index(None, "assessment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", ondelete="RESTRICT")
    event: str = Field(max_length=16)
    occurred_on: date
    reason: str = Field(max_length=2000)
    document_number: str | None = Field(default=None, max_length=64)
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id", ondelete="SET NULL")
    stars_before: int
    stars_after: int
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Visit(SQLModel, table=True):
    """An inspector's visit to a branch (for the visit planner: long since the last visit)."""

    __tablename__ = "visit"
    __table_args__ = (Index(None, "branch_id", "visited_on"),)

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", ondelete="RESTRICT")
    visited_on: date
    inspector_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    purpose: str = Field(default="考评", max_length=64)
    note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
