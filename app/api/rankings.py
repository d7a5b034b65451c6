"""Rankings: one year's assessments ranked by total within a region scope (and optionally a sector).

Pure SQL (a window function), no FastAPI: ties share a rank and the next rank is skipped (1, 2, 2, 4);
rows are ordered by total descending, then branch code. A rankings service may later move here from
app/rankings/service.py without changing the contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session, col

from app.assessments.models import Assessment
from app.branches.models import Branch


@dataclass(frozen=True)
class RankedRow:
    rank: int
    assessment_id: int
    branch_code: str
    branch_name: str
    sector: str
    region_path: str
    status: str
    total: Decimal
    stars: int | None
    final_stars: int | None


def rank_assessments(
    session: Session,
    *,
    year: int,
    region_path: str,
    sector: str | None = None,
    status: str | None = None,
    after: tuple[Decimal, str] | None = None,
    limit: int = 100,
) -> tuple[list[RankedRow], int]:
    """One page of the ranking after (total, branch code), and the number of ranked assessments."""
    conditions: list[Any] = [
        Assessment.year == year,
        col(Assessment.total).is_not(None),
        col(Assessment.region_path).startswith(region_path, autoescape=True),
    ]
    if sector:
        conditions.append(Assessment.sector == sector)
    if status:
        conditions.append(Assessment.status == status)
    ranked = (
        select(
            col(Assessment.id).label("assessment_id"),
            col(Branch.code).label("branch_code"),
            col(Branch.name).label("branch_name"),
            col(Assessment.sector).label("sector"),
            col(Assessment.region_path).label("region_path"),
            col(Assessment.status).label("status"),
            col(Assessment.total).label("total"),
            col(Assessment.stars).label("stars"),
            col(Assessment.final_stars).label("final_stars"),
            func.rank().over(order_by=col(Assessment.total).desc()).label("rank"),
        )
        .join(Branch, col(Branch.id) == col(Assessment.branch_id))
        .where(*conditions)
        .subquery("ranked")
    )
    stmt = select(ranked)
    if after is not None:
        total, code = after
        stmt = stmt.where(
            or_(ranked.c.total < total, and_(ranked.c.total == total, ranked.c.branch_code > code))
        )
    stmt = stmt.order_by(ranked.c.total.desc(), ranked.c.branch_code).limit(limit)
    rows = [
        RankedRow(
            rank=int(r.rank),
            assessment_id=r.assessment_id,
            branch_code=r.branch_code,
            branch_name=r.branch_name,
            sector=r.sector,
            region_path=r.region_path,
            status=r.status,
            total=r.total,
            stars=r.stars,
            final_stars=r.final_stars,
        )
        for r in session.execute(stmt)
    ]
    count = session.execute(select(func.count()).select_from(Assessment).where(*conditions)).scalar_one()
    return rows, int(count)
