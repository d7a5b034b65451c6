"""Every sector's ranking of one region in one statement, for the annual report.

``rankings.service.rank`` is built for a page of one ranking (a page picked in index order, ranks counted
from the rows above it); the report wants every row of every sector of a county, which took one
``rank()`` per sector (eight sectors: a tally lookup, the page, its columns, the counts above and a
histogram each). Here the region's ranked rows are read once, in (sector, total, code) order, and each
row's rank and percentile are counted within its sector in Python, with the same meaning:
``RANK() OVER (PARTITION BY sector ORDER BY total DESC)`` and ``PERCENT_RANK()`` ascending.
``tests/reports/test_ranking.py`` checks every row against ``rank()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session, col

from app.auth.scope import Scope
from app.errors import NotFound
from app.labels import SECTORS
from app.rankings import service as rankings
from app.rankings.schemas import RankedRow

A: Any = rankings.A
B: Any = rankings.B
R: Any = rankings.R


def by_sector(
    session: Session,
    *,
    scope: Scope,
    year: int,
    region_path: str,
    statuses: Sequence[str] = rankings.RANKED_STATUSES,
) -> dict[str, list[RankedRow]]:
    """sector → its ranked rows (rank order: total descending, then branch code), sectors in the product's
    order; the rows are those ``rankings.rank(sector=…, limit=MAX_LIMIT)`` returns for each sector."""
    if not scope.contains_path(region_path):
        raise NotFound("区域不存在或不在您的管辖范围内")
    prev = rankings.PREV
    stmt = (
        select(
            col(A.id).label("assessment_id"),
            B.code.label("branch_code"),
            B.name.label("branch_name"),
            col(A.sector).label("sector"),
            col(A.region_path).label("region_path"),
            R.name.label("region_name"),
            col(A.status).label("status"),
            col(A.total).label("total"),
            col(A.band_stars).label("band_stars"),
            col(A.stars).label("stars"),
            col(A.final_stars).label("final_stars"),
            col(A.vetoed).label("vetoed"),
            col(A.designated).label("designated"),
            rankings.SHOWN.label("stars_shown"),
            rankings.BEFORE.label("prev_final_stars"),
        )
        .join(B, B.id == A.branch_id)
        .outerjoin(R, R.path == A.region_path)
        .outerjoin(prev, and_(col(prev.branch_id) == col(A.branch_id), col(prev.year) == year - 1))
        .where(
            A.year == year,
            # `total + 0`: SQLite reads the region's rows through the region index, not the year in
            # total order (as rank() does for a ranking of this size)
            (col(A.total) + 0).is_not(None),
            col(A.status).in_(list(statuses)),
            *rankings.region_conditions(scope, region_path),
        )
    )
    raw = list(session.connection().execute(stmt))
    order = {s: i for i, s in enumerate(SECTORS)}
    raw.sort(key=lambda x: (order.get(x.sector, len(order)), x.sector, -Decimal(x.total), x.branch_code))
    towns = rankings.township_names(session, (c for x in raw for c in rankings.path_codes(x.region_path)))
    out: dict[str, list[RankedRow]] = {}
    for sector, group in groupby(raw, key=lambda x: x.sector):
        rows = list(group)
        n = len(rows)
        ranked: list[RankedRow] = []
        out[sector] = ranked
        above = 0  # rows of the sector with a higher total
        for _total, tied in groupby(rows, key=lambda x: Decimal(x.total)):
            ties = list(tied)
            below = n - above - len(ties)  # rows with a lower total: PERCENT_RANK() ascending
            pct = below / (n - 1) if n > 1 else 0.0
            ranked.extend(_row(x, above + 1, pct, towns) for x in ties)
            above += len(ties)
    return out


def _row(x: Any, rank: int, pct: float, towns: dict[str, str]) -> RankedRow:
    """As rankings.service builds a ranked row (trusted database values, no re-validation)."""
    town = next((c for c in rankings.path_codes(x.region_path) if c in towns), None)
    return RankedRow.model_construct(
        rank=rank,
        percentile=round(pct * 100, 1),
        assessment_id=x.assessment_id,
        branch_code=x.branch_code,
        branch_name=x.branch_name,
        sector=x.sector,
        region_path=x.region_path,
        township_code=town,
        township_name=towns[town] if town else None,
        region_name=x.region_name,
        status=x.status,
        total=Decimal(x.total),
        band_stars=x.band_stars,
        stars=x.stars,
        final_stars=x.final_stars,
        stars_shown=x.stars_shown,
        stars_basis="final" if x.status == "final" else "provisional",
        prev_final_stars=x.prev_final_stars,
        change=rankings.change_of(x.stars_shown, x.prev_final_stars),
        vetoed=bool(x.vetoed),
        designated=bool(x.designated),
    )
