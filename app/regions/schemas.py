"""Public shapes of regions (JSON contract and template data)."""

from __future__ import annotations

from pydantic import BaseModel


class RegionPublic(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None = None
    path: str
