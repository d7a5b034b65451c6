"""The public shapes of /api/v1: field names, types and formats are the contract (add, don't change)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

Sector = Literal["rural", "community", "organ", "soe", "school", "nonpublic", "social_org", "hospital"]
RegionLevel = Literal["province", "city", "county", "township", "village"]
BranchStatus = Literal["active", "merged", "dissolved"]
CriteriaStatus = Literal["published", "archived"]
AssessmentStatus = Literal[
    "draft", "self_submitted", "scoring", "submitted", "returned", "reviewed", "publicized", "final"
]
EntrySource = Literal["self", "inspector"]

_CENT = Decimal("0.01")
T = TypeVar("T")


def money_text(value: Decimal) -> str:
    """An exact decimal as the API writes it: a string with exactly two decimals."""
    return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))


# Exact decimals travel as strings with exactly two decimals ("87.50"), never as JSON numbers.
Money = Annotated[
    Decimal,
    PlainSerializer(money_text, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?\d+\.\d{2}$",
            "description": '精确小数，字符串，固定两位小数（如 "87.50"）',
            "examples": ["87.50"],
        }
    ),
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class RegionOut(_Out):
    """行政区划."""

    code: str = Field(description="官方行政区划代码")
    name: str
    level: RegionLevel
    parent_code: str | None = Field(description="上级区划代码（根节点为 null）")


class BranchOut(_Out):
    """党支部."""

    code: str = Field(description="支部编码")
    name: str
    sector: Sector
    region_code: str = Field(description="所属区划代码")
    region_name: str
    township_code: str | None = Field(description="所属乡镇/街道代码（县直单位为 null）")
    township_name: str | None
    secretary_name: str | None = Field(description="支部书记姓名（空缺为 null）")
    member_count: int
    founded_on: date | None
    status: BranchStatus
    merged_into_code: str | None
    dissolved_on: date | None
    version: int
    updated_at: datetime = Field(description="RFC 3339，含时区偏移")


class CriteriaSetOut(_Out):
    """评分标准（不含细则正文）."""

    id: int
    year: int
    sector: Sector
    region_code: str = Field(description="发布机关所在区划代码")
    region_name: str
    title: str
    revision: int
    status: CriteriaStatus
    content_hash: str | None = Field(description="细则正文的 SHA-256，评定记录据此锁定版本")
    issuing_body: str | None
    document_number: str | None
    copied_from_id: int | None
    published_at: datetime | None
    version: int
    updated_at: datetime


class CriteriaSetDetail(CriteriaSetOut):
    """评分标准，含完整细则正文（document）."""

    document: dict[str, Any] = Field(description="完整的考评细则文档（评分引擎格式）")


class AssessmentOut(_Out):
    """年度评定（摘要）."""

    id: int
    year: int
    branch_code: str
    branch_name: str
    sector: Sector
    region_code: str = Field(description="支部所在区划代码（评定时）")
    township_code: str | None
    township_name: str | None
    status: AssessmentStatus
    criteria_set_id: int
    criteria_hash: str
    self_total: Money | None = Field(description="自评总分")
    total: Money | None = Field(description="考评总分")
    band_stars: int | None = Field(description="按分数档次的星级")
    stars: int | None = Field(description="暂定星级（否决、必备条件、直接定级之后）")
    final_stars: int | None = Field(description="认定星级（比例控制之后；仅 status=final 时确定）")
    vetoed: bool
    designated: bool
    items_scored: int
    items_total: int
    version: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    reviewed_at: datetime | None
    finalized_at: datetime | None


class ExplanationStep(BaseModel):
    """One step of the scoring explanation (item → category → … → stars)."""

    model_config = ConfigDict(extra="allow")

    kind: str
    code: str | None = None
    text: str
    value: Any = Field(default=None, description="该步骤的数值（精确小数文本）或 null")


class ScoreEntryOut(_Out):
    """一个指标的评分录入（自评 self 或考评 inspector）."""

    source: EntrySource
    item_code: str
    entry: dict[str, Any] = Field(description="录入内容（评分引擎的 ItemEntry 格式）")
    score: Money | None
    note: str | None
    version: int
    updated_at: datetime


class AssessmentDetail(AssessmentOut):
    """年度评定，含各指标录入与评分说明."""

    extras: dict[str, Any] = Field(description="指标之外的录入：否决、必备条件、评议、直接定级")
    explanation: list[ExplanationStep]
    quota_explanation: list[Any]
    returned_reason: str | None
    entries: list[ScoreEntryOut]


class ResultOut(_Out):
    """认定结果：一个支部一年的认定星级（仅 status=final）."""

    assessment_id: int
    year: int
    branch_code: str
    branch_name: str
    sector: Sector
    region_code: str
    township_code: str | None
    township_name: str | None
    total: Money | None
    stars: int | None
    final_stars: int
    vetoed: bool
    designated: bool
    finalized_at: datetime | None
    updated_at: datetime


class RankingRow(_Out):
    """排名行：并列同名次，下一名次跳过（1, 2, 2, 4）."""

    rank: int
    assessment_id: int
    branch_code: str
    branch_name: str
    sector: Sector
    township_code: str | None
    township_name: str | None
    status: AssessmentStatus
    total: Money
    stars: int | None
    final_stars: int | None


class Page(_Out, Generic[T]):
    """Every list: a page of items, the cursor of the next page, and the number of matching records."""

    items: list[T]
    next_cursor: str | None = Field(description="下一页游标；null 表示已到末页")
    total: int = Field(description="满足筛选条件的记录总数（与游标无关）")


class RegionPage(Page[RegionOut]):
    pass


class BranchPage(Page[BranchOut]):
    pass


class CriteriaSetPage(Page[CriteriaSetOut]):
    pass


class AssessmentPage(Page[AssessmentOut]):
    pass


class ResultPage(Page[ResultOut]):
    pass


class RankingPage(Page[RankingRow]):
    pass


class ProblemError(BaseModel):
    field: str = Field(description="出错的参数名")
    location: str = Field(description="query、path 或 header")
    message: str = Field(description="中文说明")


class Problem(BaseModel):
    """RFC 9457 problem details (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None
