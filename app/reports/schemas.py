"""Public models of the annual report and the notice: what JSON clients get, what every format renders."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from app.rankings.schemas import GroupStats, RankedRow, RegionRef


class BranchLine(BaseModel):
    """One branch as the report lists it (stars shown: final once final, else provisional)."""

    assessment_id: int
    branch_code: str
    branch_name: str
    sector: str
    place: str = Field(description="county / township (or 直属单位) of the branch, for display")
    township_name: str | None
    region_path: str
    status: str
    total: Decimal | None
    stars: int | None
    stars_basis: str
    prev_stars: int | None = Field(description="the previous year's final stars")


class Summary(BaseModel):
    assessments: int = Field(description="assessments of the year in the region")
    rated: int = Field(description="assessments at submitted or later (the ones counted)")
    not_rated: int
    final: int
    provisional: int
    distribution: dict[int, int]
    share_3plus: float | None
    five_star: int
    avg_total: Decimal | None
    prev_year: int
    prev_rated: int
    prev_distribution: dict[int, int]
    prev_share_3plus: float | None
    prev_avg_total: Decimal | None
    delta_share_3plus: float | None
    delta_avg_total: Decimal | None
    upgrades: int
    downgrades: int
    same: int
    new: int


class FiveStarGroup(BaseModel):
    place: str
    sector: str
    rows: list[BranchLine]


class StarListPlace(BaseModel):
    place: str
    names: list[str] = Field(description="branch names, by sector then branch code")


class StarListLevel(BaseModel):
    """One star level of the 星级党支部名单 (the list the county publishes), by place."""

    stars: int
    count: int
    places: list[StarListPlace]


class ChangeLine(BaseModel):
    kind: str = Field(description="up 升星 / down 降星 / withdrawn 摘星 (to no star)")
    line: BranchLine
    causes: list[str]


class MidYearChange(BaseModel):
    """A withdrawal or lowering of a final star after an event (from dynamic management)."""

    branch_code: str
    branch_name: str
    place: str
    year: int
    event: str
    occurred_on: date
    stars_before: int
    stars_after: int
    reason: str
    document_number: str | None


class QuotaRow(BaseModel):
    criteria_set_id: int
    title: str
    sector: str
    scope_name: str
    pool: int
    visible: bool
    stars: int | None = None
    kind: str | None = Field(default=None, description="max (上限) or min (下限)")
    share_limit: float | None = None
    limit_count: int | None = None
    before_quota: int | None = Field(default=None, description="count by the scored stars (before quotas)")
    shown: int | None = Field(default=None, description="count by the stars shown (final or provisional)")
    shown_share: float | None = None
    all_final: bool = False
    complies: bool | None = None
    moves: int = 0
    note: str = ""


class SpecialLine(BaseModel):
    kind: str = Field(description="veto 一票否决 / designation 直接定级")
    line: BranchLine
    reasons: list[str]


class DemoSiteLine(BaseModel):
    branch_code: str
    branch_name: str
    sector: str
    place: str
    total: Decimal | None
    decided_on: date | None
    document_number: str | None
    reason: str | None


class RectLine(BaseModel):
    line: BranchLine
    reasons: list[str]


class LossCell(BaseModel):
    category: str
    share: float


class LossRow(BaseModel):
    name: str
    assessments: int
    lowest: list[LossCell]


class LossTable(BaseModel):
    by: str = Field(description="sector, or township (within one sector)")
    sector: str | None
    rows: list[LossRow]
    overall: list[LossCell]
    link: str


class SectorRanking(BaseModel):
    sector: str
    rows: list[RankedRow]
    link: str


class AnnualReport(BaseModel):
    """The annual report: every number of every format (page, PDF, XLSX) comes from this one object."""

    year: int
    region: RegionRef
    title: str
    issuer: str
    generated_at: datetime
    draft: bool = Field(description="not every assessment of the year in the region is final")
    status_counts: dict[str, int]
    not_final: int
    child_label: str
    summary: Summary
    by_sector: list[GroupStats]
    by_child: list[GroupStats]
    child_total: GroupStats
    five_star: list[FiveStarGroup]
    five_star_count: int
    star_list: list[StarListLevel] = Field(description="branches of one to five stars, by level and place")
    changes: list[ChangeLine]
    mid_year: list[MidYearChange]
    quotas: list[QuotaRow]
    special: list[SpecialLine]
    demo_sites: list[DemoSiteLine]
    demo_eligible: int = Field(description="final five-star branches without a veto (eligible for 示范点)")
    demo_note: str
    rectification: list[RectLine]
    losses_by_sector: LossTable | None
    losses_by_child: list[LossTable]
    ranking: list[SectorRanking]
    ranked_count: int
    links: dict[str, str]


class NoticeRow(BaseModel):
    branch_code: str
    branch_name: str
    sector: str
    place: str
    region_path: str
    total: Decimal | None
    stars: int | None


class NoticeGroup(BaseModel):
    stars: int
    rows: list[NoticeRow]


class Notice(BaseModel):
    """公示: the branches proposed for each star in a scope, the window and where to send objections."""

    publicity_id: int
    year: int
    region: RegionRef
    title: str
    issuer: str
    starts_on: date
    ends_on: date
    contact: str
    state: str
    groups: list[NoticeGroup]
    count: int


class JobPublic(BaseModel):
    id: int
    kind: str
    status: str
    progress: int
    message: str | None
    year: int
    region_code: str
    region_name: str
    formats: list[str]
    created_at: datetime
    updated_at: datetime
