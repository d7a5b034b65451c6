"""Shared pieces of the API queries: the region filter, region names for a batch, keyset paging."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import and_, or_
from sqlmodel import Session, col, func, select

from app.api import cursor as cursors
from app.auth.scope import Scope
from app.errors import Forbidden
from app.regions.models import Region

NOT_FOUND = "记录不存在或不在令牌的管辖范围内"
T = TypeVar("T")


def region_filter_path(session: Session, *, scope: Scope, code: str | None) -> str:
    """The region path a `region` filter selects (the token's own region by default); 403 outside it."""
    if code is None:
        return scope.region_path
    region = session.exec(select(Region).where(Region.code == code)).first()
    if region is None or not scope.contains_path(region.path):
        # Unknown and out-of-scope codes get the same answer, so codes outside the scope do not leak.
        raise Forbidden("区域不存在或不在令牌的管辖范围内", field_errors={"region": "超出令牌的管辖范围"})
    return region.path


def path_codes(path: str) -> list[str]:
    return path.strip("/").split("/")


@dataclass(frozen=True)
class Places:
    """Regions named by a batch of paths (one query), to fill in region and township names."""

    by_code: dict[str, Region]

    @classmethod
    def load(cls, session: Session, paths: Iterable[str]) -> Places:
        codes = {c for p in paths for c in path_codes(p)}
        if not codes:
            return cls({})
        rows = session.exec(select(Region).where(col(Region.code).in_(codes)))
        return cls({r.code: r for r in rows})

    def township(self, path: str) -> Region | None:
        for code in path_codes(path):
            region = self.by_code.get(code)
            if region is not None and region.level == "township":
                return region
        return None

    def name(self, code: str) -> str:
        region = self.by_code.get(code)
        return region.name if region else ""


def after(updated_col: Any, id_col: Any, key: cursors.SyncKey) -> Any:
    return or_(updated_col > key.updated_at, and_(updated_col == key.updated_at, id_col > key.id))


def split(rows: list[T], limit: int) -> tuple[list[T], bool]:
    return rows[:limit], len(rows) > limit


def count(session: Session, stmt: Any) -> int:
    """COUNT(*) over the same FROM and WHERE as a list query (no subquery, no row columns)."""
    counted = stmt.order_by(None).with_only_columns(func.count(), maintain_column_froms=True)
    return int(session.execute(counted).scalar_one())
