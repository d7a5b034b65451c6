"""Query parameters of each list, as models: every bad parameter is reported at once (422)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from app.api import cursor as cursors
from app.api.schemas import AssessmentStatus, BranchStatus, CriteriaStatus, RegionLevel, Sector
from app.api.settings import LIMIT_DEFAULT, LIMIT_MAX

RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$",
)
REGION_PATTERN = r"^\d{2,12}$"


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 timestamp with an offset ("Z" or "+08:00"), as aware UTC; naive ones are refused."""
    m = RFC3339.match(value)
    if m is None:
        raise PydanticCustomError("rfc3339", "时间格式应为 RFC 3339，如 2026-01-01T00:00:00+08:00")
    day, clock, fraction, offset = m.groups()
    if offset is None:
        raise PydanticCustomError("timezone_aware", "时间须带时区偏移（如 Z 或 +08:00）")
    fraction = (fraction or "")[:7]
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{day}T{clock}{fraction}{offset}").astimezone(UTC)
    except (ValueError, OverflowError):
        raise PydanticCustomError("rfc3339", "时间无效，请使用 RFC 3339 格式") from None


class _Strict(BaseModel):
    """Unknown parameters are errors: a typo must not silently widen a sync."""

    model_config = ConfigDict(extra="forbid")


class _Since(_Strict):
    updated_since: datetime | None = Field(
        default=None,
        description="只返回 updated_at >= 该时间的记录；RFC 3339，须带时区偏移（如 2026-11-01T00:00:00+08:00）",
    )

    @field_validator("updated_since", mode="before")
    @classmethod
    def _parse_since(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_rfc3339(value)
        return value


class _Query(_Strict):
    CURSOR_KIND: ClassVar[str] = "s"

    limit: int = Field(
        default=LIMIT_DEFAULT,
        ge=1,
        le=LIMIT_MAX,
        description=f"每页条数，默认 {LIMIT_DEFAULT}，最大 {LIMIT_MAX}（超过即 422，不会静默截断）",
    )
    cursor: str | None = Field(
        default=None,
        max_length=512,
        pattern=cursors.CURSOR_PATTERN,
        description="上一页响应的 next_cursor（不透明）",
    )

    @field_validator("cursor")
    @classmethod
    def _check_cursor(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                cursors.DECODERS[cls.CURSOR_KIND](value)
            except cursors.CursorError as exc:
                raise PydanticCustomError("cursor", "游标无效：{reason}", {"reason": str(exc)}) from None
        return value


class _SyncQuery(_Query, _Since):
    """A sync list: ordered by (updated_at, id), optionally from `updated_since`."""


class RegionQuery(_Query):
    CURSOR_KIND: ClassVar[str] = "r"

    region: str | None = Field(default=None, pattern=REGION_PATTERN, description="区划代码（含下级）")
    level: RegionLevel | None = None


class BranchQuery(_SyncQuery):
    region: str | None = Field(default=None, pattern=REGION_PATTERN, description="区划代码（含下级）")
    sector: Sector | None = None
    status: BranchStatus | None = Field(default=None, description="默认返回所有状态（含已合并、已撤销）")


class CriteriaSetQuery(_SyncQuery):
    year: int | None = Field(default=None, ge=2000, le=2100, description="年度")
    region: str | None = Field(
        default=None, pattern=REGION_PATTERN, description="适用于该区划的标准（上级发布的和下级发布的）"
    )
    sector: Sector | None = None
    status: CriteriaStatus | None = None


class AssessmentQuery(_SyncQuery):
    year: int | None = Field(default=None, ge=2000, le=2100, description="年度")
    region: str | None = Field(default=None, pattern=REGION_PATTERN, description="区划代码（含下级）")
    sector: Sector | None = None
    status: AssessmentStatus | None = None


class StreamQuery(_Since):
    """The NDJSON export: the same filters as /assessments, no paging."""

    year: int | None = Field(default=None, ge=2000, le=2100, description="年度")
    region: str | None = Field(default=None, pattern=REGION_PATTERN, description="区划代码（含下级）")
    sector: Sector | None = None
    status: AssessmentStatus | None = None


class ResultQuery(_SyncQuery):
    year: int | None = Field(default=None, ge=2000, le=2100, description="年度")
    region: str | None = Field(default=None, pattern=REGION_PATTERN, description="区划代码（含下级）")
    sector: Sector | None = None


class RankingQuery(_Query):
    CURSOR_KIND: ClassVar[str] = "k"

    year: int = Field(ge=2000, le=2100, description="年度（必填）")
    region: str | None = Field(
        default=None, pattern=REGION_PATTERN, description="排名范围（区划代码，含下级；默认令牌所属区划）"
    )
    sector: Sector | None = Field(default=None, description="只在该领域内排名")
    status: AssessmentStatus | None = Field(default=None, description="只排该状态的评定")
