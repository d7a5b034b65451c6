"""Input and public shapes of assessments and their item entries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

Source = Literal["self", "inspector"]


class ItemSave(BaseModel):
    """One item's entry, based on the version the client last saw (0 = never saved)."""

    entry: dict[str, Any] = Field(default_factory=dict)
    note: str | None = Field(default=None, max_length=2000)
    version: int = Field(ge=0, le=1_000_000)


class ExtrasSave(BaseModel):
    """Vetoes, prerequisites and appraisal (and, for county staff, a direct designation)."""

    vetoes: dict[str, str] = Field(default_factory=dict)
    prerequisites: list[str] = Field(default_factory=list, max_length=50)
    appraisal: Any = None
    designation: dict[str, Any] | None = None
    version: int = Field(ge=1)


class EntryPublic(BaseModel):
    item_code: str
    source: Source
    entry: dict[str, Any]
    score: Decimal | None
    note: str | None
    version: int
    updated_by: str | None = None
    updated_at: datetime


class AssessmentPublic(BaseModel):
    id: int
    branch_code: str
    branch_name: str
    year: int
    sector: str
    status: str
    criteria_set_id: int
    criteria_hash: str
    total: Decimal | None
    self_total: Decimal | None
    band_stars: int | None
    stars: int | None
    final_stars: int | None
    vetoed: bool
    designated: bool
    items_scored: int
    items_total: int
    version: int
    updated_at: datetime
