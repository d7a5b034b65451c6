"""Regions of the county review pages, inside the principal's scope."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from app.assessments.models import Assessment
from app.auth.scope import Scope
from app.errors import NotFound
from app.regions.models import Region

NOT_IN_SCOPE = "不存在或不在您的管辖范围内"


def region_in_scope(session: Session, *, scope: Scope, code: str) -> Region:
    """A region by code inside the scope (404 otherwise)."""
    region = session.exec(select(Region).where(Region.code == code)).first()
    if region is None or not scope.contains_path(region.path):
        raise NotFound("区域" + NOT_IN_SCOPE)
    return region


def regions_with_counts(
    session: Session, *, scope: Scope, year: int, status: str
) -> list[tuple[Region, int]]:
    """Counties and townships of the scope with how many assessments of the year are in `status`."""
    paths = session.exec(
        select(Assessment.region_path, func.count())
        .where(
            Assessment.year == year, Assessment.status == status, scope.filter(col(Assessment.region_path))
        )
        .group_by(Assessment.region_path)
    ).all()
    regions = session.exec(
        select(Region)
        .where(scope.filter(col(Region.path)), col(Region.level).in_(("county", "township")))
        .order_by(col(Region.code))
    ).all()
    return [(r, sum(n for p, n in paths if p.startswith(r.path))) for r in regions]
