"""Input and public shapes of branches."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from app import clock, labels

Sector = Literal["rural", "community", "organ", "soe", "school", "nonpublic", "social_org", "hospital"]
BranchStatus = Literal["active", "merged", "dissolved"]

# The Communist Party of China was founded in 1921: an earlier founding date is a typo.
EARLIEST_FOUNDING = date(1921, 1, 1)
# Text a spreadsheet would run as a formula (CSV/XLSX injection) may not start a name.
FORMULA_START = ("=", "+", "-", "@")
_SECTOR_BY_LABEL = {v: k for k, v in labels.SECTORS.items()}
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class BranchPublic(BaseModel):
    code: str
    name: str
    sector: Sector
    region_code: str
    region_name: str
    township_code: str | None = None
    township_name: str | None = None
    secretary_name: str | None = None
    member_count: int
    founded_on: date | None = None
    status: BranchStatus
    merged_into_code: str | None = None
    dissolved_on: date | None = None
    version: int
    updated_at: datetime


class BranchFilters(BaseModel):
    """The list filters shared by the page, the JSON twin and exports."""

    q: str | None = Field(default=None, max_length=64)
    sector: Sector | None = None
    region: str | None = Field(default=None, max_length=12, pattern=r"^\d{2,12}$")
    status: BranchStatus | None = "active"


def parse_date(value: Any) -> Any:
    """Accepts 2024-05-01, 2024/5/1, 2024.5.1, 2024年5月1日 and datetimes (from spreadsheets)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        m = _DATE_RE.match(value.strip())
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return value
    return value


class _Input(BaseModel):
    """Form-friendly input: strings are trimmed; an empty value counts as not given."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if value == "":
                    continue
            out[key] = value
        return out

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        # NUL and other control characters never belong in a name or a reason (PostgreSQL refuses NUL).
        if isinstance(value, str) and any(
            (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127 for c in value
        ):
            raise ValueError("不能包含控制字符")
        return value


class _BranchFields(_Input):
    name: str = Field(min_length=2, max_length=128)
    sector: Sector
    region_code: str = Field(pattern=r"^\d{2,12}$")
    secretary_name: str | None = Field(default=None, max_length=32)
    secretary_phone: str | None = Field(default=None, max_length=32, pattern=r"^[0-9+\- ]*$")
    member_count: int = Field(default=0, ge=0, le=100000)
    founded_on: date | None = None

    @field_validator("sector", mode="before")
    @classmethod
    def _sector_label(cls, value: Any) -> Any:
        return _SECTOR_BY_LABEL.get(value, value) if isinstance(value, str) else value

    @field_validator("founded_on", mode="before")
    @classmethod
    def _date_formats(cls, value: Any) -> Any:
        return parse_date(value)

    @field_validator("name", "secretary_name")
    @classmethod
    def _no_formula(cls, value: str | None) -> str | None:
        if value and value.startswith(FORMULA_START):
            raise ValueError("不能以 = + - @ 开头")
        return value

    @field_validator("founded_on")
    @classmethod
    def _plausible_date(cls, value: date | None) -> date | None:
        if value is not None and value > clock.today():
            raise ValueError("成立日期不能晚于今天")
        if value is not None and value < EARLIEST_FOUNDING:
            raise ValueError("成立日期不能早于 1921 年")
        return value


class BranchCreate(_BranchFields):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9-]+$")


class BranchUpdate(_BranchFields):
    version: int = Field(ge=1)


class BranchDissolve(_Input):
    dissolved_on: date
    reason: str = Field(min_length=2, max_length=500)
    version: int = Field(ge=1)

    @field_validator("dissolved_on", mode="before")
    @classmethod
    def _date_formats(cls, value: Any) -> Any:
        return parse_date(value)

    @field_validator("dissolved_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > clock.today():
            raise ValueError("撤销日期不能晚于今天")
        return value


class BranchMerge(_Input):
    target_code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9-]+$")
    reason: str = Field(min_length=2, max_length=500)
    version: int = Field(ge=1)


class ImportResult(BaseModel):
    """What an import did (nothing is written unless every row is valid)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


class RowError(BaseModel):
    """One problem of an import file: row number (as the spreadsheet shows it), column, message."""

    row: int
    column: str
    message: str


# Chinese messages per field; "*" is the field's fallback for any pydantic error type.
_FIELD_MESSAGES: dict[str, dict[str, str]] = {
    "code": {"missing": "请填写支部编码", "*": "支部编码须为 2–32 位字母、数字或短横线"},
    "name": {"missing": "请填写支部名称", "*": "支部名称须为 2–128 个字符"},
    "sector": {"missing": "请选择领域", "*": "领域须为：" + "、".join(labels.SECTORS.values())},
    "region_code": {"missing": "请填写所在区划代码", "*": "所在区划代码须为 2–12 位数字"},
    "secretary_name": {"*": "书记姓名不能超过 32 个字符"},
    "secretary_phone": {
        "string_too_long": "书记电话不能超过 32 个字符",
        "*": "书记电话只能包含数字、+、- 和空格",
    },
    "member_count": {
        "greater_than_equal": "党员人数不能小于 0",
        "less_than_equal": "党员人数不能大于 100000",
        "*": "党员人数须为 0–100000 的整数",
    },
    "founded_on": {"*": "成立日期格式应为 YYYY-MM-DD"},
    "dissolved_on": {"missing": "请填写撤销日期", "*": "撤销日期格式应为 YYYY-MM-DD"},
    "reason": {"missing": "请填写原因", "*": "原因须为 2–500 个字"},
    "target_code": {"missing": "请选择并入的支部", "*": "请选择并入的支部"},
    "version": {"*": "版本号缺失或无效，请刷新页面后重试"},
}


def zh_errors(exc: ValidationError) -> dict[str, str]:
    """Maps a pydantic error to {field: Chinese message} (the first problem of each field)."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc") or ("",)
        field = str(loc[0])
        if field in out:
            continue
        kind = err.get("type", "")
        if kind == "value_error":
            ctx_error = (err.get("ctx") or {}).get("error")
            label = _LABELS.get(field, "")
            text = str(ctx_error) if ctx_error else "取值无效"
            out[field] = text if text.startswith(label) else f"{label}{text}"
            continue
        messages = _FIELD_MESSAGES.get(field, {})
        out[field] = messages.get(kind) or messages.get("*") or "取值无效"
    return out


_LABELS = {"name": "支部名称", "secretary_name": "书记姓名"}
