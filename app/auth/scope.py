"""Region scope: every user and token sees and touches only a subtree of regions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement

from app.regions.paths import in_subtree


@dataclass(frozen=True)
class Scope:
    """The subtree a principal may see: a region path prefix (and, for a branch user, one branch)."""

    region_id: int
    region_path: str
    region_name: str
    branch_id: int | None = None

    def contains_path(self, path: str) -> bool:
        return path.startswith(self.region_path)

    def filter(self, path_column: Any) -> ColumnElement[bool]:
        """A SQL condition: the row's region path is inside this scope."""
        return in_subtree(path_column, self.region_path)
