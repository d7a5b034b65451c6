"""Input and public shapes of branches."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Sector = Literal["rural", "community", "organ", "soe", "school", "nonpublic", "social_org", "hospital"]
BranchStatus = Literal["active", "merged", "dissolved"]


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


class BranchCreate(BaseModel):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9-]+$")
    name: str = Field(min_length=2, max_length=128)
    sector: Sector
    region_code: str = Field(pattern=r"^\d{2,12}$")
    secretary_name: str | None = Field(default=None, max_length=32)
    secretary_phone: str | None = Field(default=None, max_length=32, pattern=r"^[0-9+\- ]*$")
    member_count: int = Field(default=0, ge=0, le=100000)
    founded_on: date | None = None


class BranchUpdate(BaseModel):
    name: str = Field(min_length=2, max_length=128)
    sector: Sector
    region_code: str = Field(pattern=r"^\d{2,12}$")
    secretary_name: str | None = Field(default=None, max_length=32)
    secretary_phone: str | None = Field(default=None, max_length=32, pattern=r"^[0-9+\- ]*$")
    member_count: int = Field(default=0, ge=0, le=100000)
    founded_on: date | None = None
    version: int = Field(ge=1)
