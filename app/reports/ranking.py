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

from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.scope import Scope
from app.errors import NotFound
from app.labels import SECTORS
from app.rankings import service as rankings
from app.rankings.schemas import RankedRow

A: Any = rankings.A
B: Any = rankings.B


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
    stmt = (
        rankings.with_regions(select(*rankings.PAGE_COLUMNS).join(B, B.id == A.branch_id))
        .outerjoin(rankings.PREV, rankings.PREV_JOIN)
        .where(
            A.year == year,
            # `total + 0`: SQLite reads the region's rows through the region index, not the year in
            # total order (as rank() does for a ranking of this size)
            (col(A.total) + 0).is_not(None),
            col(A.status).in_(list(statuses)),
            *rankings.region_conditions(scope, region_path),
        )
    )
    raw = list(session.connection().execute(stmt, {"prev_year": year - 1}))
    order = {s: i for i, s in enumerate(SECTORS)}
    raw.sort(key=lambda x: (order.get(x.sector, len(order)), x.sector, -Decimal(x.total), x.branch_code))
    out: dict[str, list[RankedRow]] = {}
    for sector, group in groupby(raw, key=lambda x: x.sector):
        rows = list(group)
        n = len(rows)
        ranked: list[RankedRow] = []
        out[sector] = ranked
        above = 0  # rows of the sector with a higher total
        for total, tied in groupby(rows, key=lambda x: Decimal(x.total)):
            ties = list(tied)
            below = n - above - len(ties)  # rows with a lower total: PERCENT_RANK() ascending
            pct = below / (n - 1) if n > 1 else 0.0
            standing = rankings.Standing(rank=above + 1, pct=pct)
            ranked.extend(rankings.ranked_row(x, total, standing) for x in ties)
            above += len(ties)
    return out
