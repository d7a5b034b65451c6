"""Public models of the county analysis (what JSON clients get; templates get the same objects)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

Change = Literal["up", "down", "same", "new"]
StarsBasis = Literal["final", "provisional", "mixed", "none"]


class RegionRef(BaseModel):
    code: str
    name: str
    level: str
    path: str


class RankedRow(BaseModel):
    """One branch in a ranking. `stars_shown` is `final_stars` once final, else the provisional `stars`."""

    rank: int
    percentile: float = Field(
        description="share (%) of the other ranked branches with a strictly lower total"
    )
    assessment_id: int
    branch_code: str
    branch_name: str
    sector: str
    region_path: str
    township_code: str | None
    township_name: str | None
    region_name: str | None
    status: str
    total: Decimal
    band_stars: int | None
    stars: int | None
    final_stars: int | None
    stars_shown: int | None
    stars_basis: Literal["final", "provisional"]
    prev_final_stars: int | None
    change: Change
    vetoed: bool
    designated: bool


class RankingPage(BaseModel):
    year: int
    region: RegionRef
    sector: str = Field(description="a sector code, or 'all' for a ranking across sectors")
    statuses: list[str]
    q: str | None
    stars: int | None
    sort: str
    ranked: int = Field(description="branches in the ranking (before search/star filters)")
    not_ranked: int = Field(description="assessments of the year in scope not yet submitted")
    total: int = Field(description="rows matching the filters")
    page: int
    per_page: int
    pages: int
    next_after: str | None = Field(default=None, description="keyset cursor 'total|branch_code' (sort=rank)")
    rows: list[RankedRow]


class GroupStats(BaseModel):
    """Figures of one group of assessments (a child region, or the whole region) for one year."""

    key: str
    name: str
    level: str | None = None
    assessments: int = 0
    completed: int = 0
    completion: float | None = None
    avg_total: Decimal | None = None
    distribution: dict[int, int] = Field(default_factory=lambda: dict.fromkeys(range(6), 0))
    stars_basis: StarsBasis = "none"
    share_3plus: float | None = None
    five_star: int = 0
    upgrades: int = 0
    downgrades: int = 0
    same: int = 0
    new: int = 0
    prev_avg_total: Decimal | None = None
    prev_share_3plus: float | None = None
    delta_avg_total: Decimal | None = None
    delta_share_3plus: float | None = None


class Comparison(BaseModel):
    year: int
    region: RegionRef
    sector: str
    # "child": one row per child region (the townships of a county, the counties of a city);
    # "township": one row per township anywhere in the region (a city's townships across its counties)
    by: Literal["child", "township"] = "child"
    children: list[GroupStats]
    overall: GroupStats


class YearPair(BaseModel):
    key: str
    name: str
    a: GroupStats
    b: GroupStats
    delta_avg_total: Decimal | None
    delta_share_3plus: float | None


class YearsComparison(BaseModel):
    region: RegionRef
    sector: str
    a: int
    b: int
    children: list[YearPair]
    overall: YearPair
    transitions: dict[int, dict[int, int]] = Field(
        description="branches assessed in both years: stars in year a → stars in year b → count"
    )
    up: int
    down: int
    same: int


class HeatCell(BaseModel):
    category: str
    share: float | None = Field(description="average share of the category maximum (0..1)")
    assessments: int
    link: str | None = None


class HeatRow(BaseModel):
    key: str
    name: str
    region_code: str | None
    sector: str | None
    direct: bool = False
    assessments: int
    cells: list[HeatCell]


class Heatmap(BaseModel):
    year: int
    region: RegionRef
    by: Literal["township", "sector"]
    sector: str | None
    categories: list[str]
    rows: list[HeatRow]
    averages: list[HeatCell]


class ItemLoss(BaseModel):
    item_code: str
    item_name: str
    max: Decimal
    avg_score: Decimal | None
    avg_lost: Decimal | None
    losing: int
    assessments: int


class BranchLoss(BaseModel):
    branch_code: str
    branch_name: str
    total: Decimal | None
    category_score: Decimal
    category_max: Decimal
    share: float | None
    lost_items: list[str]


class HeatCellDetail(BaseModel):
    year: int
    region: RegionRef
    sector: str
    category: str
    direct: bool
    share: float | None
    items: list[ItemLoss]
    branches: list[BranchLoss]


class HistoryYear(BaseModel):
    year: int
    status: str
    total: Decimal | None
    band_stars: int | None
    stars: int | None
    final_stars: int | None
    stars_shown: int | None
    stars_basis: Literal["final", "provisional"]
    vetoed: bool
    designated: bool
    change: Change
    causes: list[str]
    quota_explanation: list[str]


class ExplanationStep(BaseModel):
    kind: str
    text: str


class BranchHistory(BaseModel):
    branch_code: str
    branch_name: str
    sector: str
    region_path: str
    region_name: str | None
    years: list[HistoryYear]
    latest_year: int | None
    latest_explanation: list[ExplanationStep]
    latest_quota_explanation: list[str]


class QuotaMove(BaseModel):
    branch_code: str
    branch_name: str
    total: Decimal
    place: int
    stars_before: int
    stars_after: int
    inside: bool
    moved_here: bool = Field(
        description="this quota line moves the branch (a max line down from its band, a min line down to it)"
    )
    note: str


class QuotaLine(BaseModel):
    stars: int
    kind: Literal["max", "min"]
    share_limit: float
    limit_count: int
    current: int
    current_share: float
    over_by: int
    borderline: list[QuotaMove]


class QuotaGroup(BaseModel):
    criteria_set_id: int
    title: str
    sector: str
    scope_level: str
    scope_code: str
    scope_name: str
    pool: int
    lines: list[QuotaLine]
    moves: int
    visible: bool = True
    note: str = ""


class QuotaPressure(BaseModel):
    year: int
    region: RegionRef
    statuses: list[str]
    groups: list[QuotaGroup]


class WhatIfChange(BaseModel):
    branch_code: str
    branch_name: str
    sector: str
    township_name: str | None
    total_before: Decimal | None
    total_after: Decimal
    stars_before: int | None
    stars_after: int
    reasons: list[str]


class WhatIfSet(BaseModel):
    id: int
    title: str
    year: int
    sector: str
    status: str
    revision: int


class WhatIf(BaseModel):
    year: int
    region: RegionRef
    sector: str
    criteria_set: WhatIfSet | None
    five_max: float | None
    assessments: int
    before: dict[int, int]
    after: dict[int, int]
    up: int
    down: int
    changes: list[WhatIfChange]
    notes: list[str]
