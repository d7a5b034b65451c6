"""Input schemas (validated, Chinese field errors) and public shapes of dynamic management."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import ValidationFailed

Year = Field(ge=2000, le=2100)
Version = Field(ge=1, le=1_000_000_000)
Stars = Literal[0, 1, 2, 3, 4, 5]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


# -- inputs ----------------------------------------------------------------------------------------


class DemoSiteShortlist(_In):
    branch: str = Field(min_length=1, max_length=32)
    year: int = Year
    reason: str | None = Field(default=None, max_length=2000)


class DemoSiteDesignate(_In):
    decided_on: date
    reason: str = Field(min_length=1, max_length=2000)
    document_number: str = Field(min_length=1, max_length=64)
    version: int = Version


class DemoSiteWithdraw(_In):
    withdrawn_on: date
    withdraw_reason: str = Field(min_length=1, max_length=2000)
    version: int = Version


class WeakDecision(_In):
    """Confirm (list) or reject a suggestion; a rejection and a manual listing need a reason."""

    branch: str = Field(min_length=1, max_length=32)
    year: int = Year
    reason: str | None = Field(default=None, max_length=2000)


class TaskCreate(_In):
    title: str = Field(min_length=1, max_length=180)
    owner: str = Field(min_length=1, max_length=64)
    deadline: date
    note: str | None = Field(default=None, max_length=2000)
    version: int = Version  # of the listing


class TaskUpdate(_In):
    status: Literal["open", "in_progress", "done"]
    done_on: date | None = None
    note: str | None = Field(default=None, max_length=2000)
    version: int = Version


class FollowupSave(_In):
    followup_year: int = Year
    passed: bool
    result: str = Field(min_length=1, max_length=1900)
    version: int = Version


class Delist(_In):
    delisted_on: date
    reason: str = Field(min_length=1, max_length=2000)
    version: int = Version


class Lift(_In):
    reason: str = Field(min_length=1, max_length=2000)
    version: int = Version


class StarChangeCreate(_In):
    branch: str = Field(min_length=1, max_length=32)
    year: int = Year
    event: Literal["discipline", "accident", "mass_incident", "other"]
    occurred_on: date
    reason: str = Field(min_length=1, max_length=2000)
    document_number: str | None = Field(default=None, max_length=64)
    evidence_id: int | None = Field(default=None, ge=1)
    stars_after: int = Field(ge=0, le=4)
    version: int = Version  # of the assessment


class VisitCreate(_In):
    branch: str = Field(min_length=1, max_length=32)
    visited_on: date
    purpose: str = Field(default="考评", min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=2000)


LABELS = {
    "branch": "支部",
    "year": "年度",
    "reason": "理由",
    "decided_on": "决定日期",
    "document_number": "文号",
    "withdrawn_on": "撤销日期",
    "withdraw_reason": "撤销理由",
    "title": "任务",
    "owner": "责任人",
    "deadline": "完成时限",
    "note": "备注",
    "status": "状态",
    "done_on": "完成日期",
    "followup_year": "回头看年度",
    "passed": "回头看结论",
    "result": "回头看情况",
    "delisted_on": "摘帽日期",
    "event": "事由类别",
    "occurred_on": "发生日期",
    "evidence_id": "佐证材料编号",
    "stars_after": "调整后星级",
    "visited_on": "走访日期",
    "purpose": "走访目的",
    "version": "版本号",
}


def _message(err: Any) -> str:
    field = str((err.get("loc") or ("",))[0])
    label = LABELS.get(field, field)
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return f"请填写{label}"
    if kind == "string_too_long":
        return f"{label}不能超过 {ctx.get('max_length')} 字"
    if kind.startswith("date"):
        return f"{label}格式应为 YYYY-MM-DD"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{label}须为整数"
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = "不能小于" if kind == "greater_than_equal" else "不能大于"
        return f"{label}{bound} {ctx.get('ge', ctx.get('le'))}"
    if kind in ("literal_error", "enum", "bool_parsing", "bool_type"):
        return f"请选择{label}"
    return f"{label}无效"


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], values: dict[str, Any], *, detail: str = "输入有误") -> M:
    """Validates form or JSON values (empty fields count as absent); Chinese errors per field (422)."""
    clean = {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}
    try:
        return model.model_validate(clean)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            field = str((err.get("loc") or ("",))[0])
            errors.setdefault(field, _message(err))
        raise ValidationFailed(detail, field_errors=errors) from None


# -- public shapes ---------------------------------------------------------------------------------


class Sign(BaseModel):
    """One sign of a weak branch (软弱涣散情形) with the evidence in words."""

    code: str
    text: str


class BranchRef(BaseModel):
    code: str
    name: str
    sector: str
    region_path: str
    region_name: str | None = None


class DemoSitePublic(BaseModel):
    id: int
    branch: BranchRef
    year: int
    status: str
    decided_on: date | None
    reason: str | None
    document_number: str | None
    withdrawn_on: date | None
    withdraw_reason: str | None
    final_stars: int | None
    still_eligible: bool
    version: int
    updated_at: datetime


class DemoCandidate(BaseModel):
    branch: BranchRef
    year: int
    total: Any
    final_stars: int


class CapInfo(BaseModel):
    """How many 示范点 a county may name in a year, and how many it has."""

    county_code: str
    county_name: str
    five_star: int
    allowed: int
    designated: int
    rule: str


class SuggestionPublic(BaseModel):
    branch: BranchRef
    year: int
    stars: int | None
    signs: list[Sign]


class TaskPublic(BaseModel):
    id: int
    title: str
    owner: str
    deadline: date
    status: str
    done_on: date | None
    note: str | None
    overdue: bool
    version: int


class WeakListingPublic(BaseModel):
    id: int
    branch: BranchRef
    year: int
    status: str
    signs: list[Sign]
    reason: str | None
    confirmed_at: datetime | None
    lifted: bool
    lift_reason: str | None
    followup_year: int | None
    followup_result: str | None
    followup_passed: bool | None
    delisted_on: date | None
    delist_reason: str | None
    tasks: list[TaskPublic]
    tasks_done: int
    version: int


class StarChangePublic(BaseModel):
    id: int
    branch: BranchRef
    year: int
    assessment_id: int
    event: str
    occurred_on: date
    reason: str
    document_number: str | None
    evidence_id: int | None
    stars_before: int
    stars_after: int
    created_at: datetime


class VisitPriority(BaseModel):
    """One branch in the visit planner: a priority score (higher first) and the reasons for it."""

    branch: BranchRef
    score: float
    reasons: list[str]
    listed: bool
    last_visit: date | None
    last_visit_source: str | None  # "visit" | "scoring" | None (never)
    days_since: int | None
    weak_items: list[str]


class VisitPublic(BaseModel):
    id: int
    branch_code: str
    visited_on: date
    purpose: str
    note: str | None
    inspector: str | None


class TimelineEvent(BaseModel):
    on: date
    kind: str
    title: str
    detail: str | None = None
    marks: list[str] = Field(default_factory=list)


class TimelineYear(BaseModel):
    year: int
    status: str
    total: Any
    stars: int | None
    final_stars: int | None
    marks: list[str]


class Timeline(BaseModel):
    branch: BranchRef
    years: list[TimelineYear]
    events: list[TimelineEvent]
