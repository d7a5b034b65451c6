"""Regions: lookups, subtree queries and creation with a materialized path."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, func, select

from app.auth.scope import Scope
from app.errors import NotFound, ValidationFailed
from app.labels import LEVEL_ORDER, REGION_LEVELS
from app.regions.models import Region


def get_by_code(session: Session, *, code: str, scope: Scope | None = None) -> Region:
    """Gets a region by its official code, inside the scope (else 404: existence does not leak)."""
    region = session.exec(select(Region).where(Region.code == code)).first()
    if region is None or (scope is not None and not scope.contains_path(region.path)):
        raise NotFound("区域不存在或不在您的管辖范围内")
    return region


def children(session: Session, *, parent: Region) -> list[Region]:
    """Lists the direct children of a region, by official code."""
    return list(session.exec(select(Region).where(Region.parent_id == parent.id).order_by(col(Region.code))))


def ancestors(session: Session, *, region: Region) -> list[Region]:
    """Lists the region's ancestors from the root down (excluding itself)."""
    codes = [c for c in region.path.strip("/").split("/")][:-1]
    if not codes:
        return []
    rows = {r.code: r for r in session.exec(select(Region).where(col(Region.code).in_(codes)))}
    return [rows[c] for c in codes if c in rows]


def in_scope(
    session: Session, *, scope: Scope, level: str | None = None, levels: Sequence[str] | None = None
) -> list[Region]:
    """Lists the regions of a scope (optionally of one level, or of some levels), by code."""
    stmt = select(Region).where(scope.filter(col(Region.path)))
    if level:
        stmt = stmt.where(Region.level == level)
    if levels is not None:
        stmt = stmt.where(col(Region.level).in_(list(levels)))
    return list(session.exec(stmt.order_by(col(Region.code))))


def count_by_level(session: Session, *, scope: Scope) -> dict[str, int]:
    """Counts the regions of each level inside a scope."""
    stmt = select(Region.level, func.count()).where(scope.filter(col(Region.path))).group_by(Region.level)
    return {level: n for level, n in session.exec(stmt)}


def create(session: Session, *, code: str, name: str, level: str, parent: Region | None) -> Region:
    """Creates a region under a parent, checking the level order and the code."""
    errors: dict[str, str] = {}
    code = code.strip()
    if not code.isdigit() or not 2 <= len(code) <= 12:
        errors["code"] = "区划代码须为 2–12 位数字"
    elif session.exec(select(Region).where(Region.code == code)).first() is not None:
        errors["code"] = "区划代码已存在"
    if not name.strip() or len(name) > 64:
        errors["name"] = "名称须为 1–64 个字符"
    if level not in REGION_LEVELS:
        errors["level"] = "未知的区划级别"
    elif parent is not None and LEVEL_ORDER.index(level) <= LEVEL_ORDER.index(parent.level):
        errors["level"] = f"{REGION_LEVELS[level]}不能隶属于{REGION_LEVELS[parent.level]}"
    if errors:
        raise ValidationFailed("区划信息有误", field_errors=errors)
    path = (parent.path if parent else "/") + code + "/"
    region = Region(
        code=code, name=name.strip(), level=level, parent_id=parent.id if parent else None, path=path
    )
    session.add(region)
    session.flush()
    return region


def township_of(session: Session, *, path: str) -> Region | None:
    """The township (乡镇/街道) that contains a path, if any."""
    codes = path.strip("/").split("/")
    rows = list(session.exec(select(Region).where(col(Region.code).in_(codes), Region.level == "township")))
    return rows[0] if rows else None
