"""The report's one-statement ranking of every sector (app.reports.ranking) equals rankings.rank() per
sector, row for row and field for field, at county and city level, in final and draft years, with a
scope narrower than the region (404) and with every status (not only the ranked ones)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from app.assessments.models import Assessment
from app.auth.scope import Scope
from app.errors import NotFound
from app.rankings import service as rankings
from app.regions.models import Region
from app.reports import ranking

A: Any = Assessment


def _scope(db: Session, code: str) -> Scope:
    region = db.execute(select(Region).where(Region.code == code)).scalars().one()
    return Scope(region_id=region.id or 0, region_path=region.path, region_name=region.name)


def _years(db: Session) -> list[int]:
    """The demo's two busiest years (one final, one in progress)."""
    stmt = select(A.year).group_by(A.year).order_by(func.count().desc()).limit(2)
    return [int(y) for y in db.execute(stmt).scalars()]


def _per_sector(db: Session, scope: Scope, year: int, path: str, statuses: Any) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for sector in rankings.sectors_present(db, scope=scope, year=year, region_path=path):
        rows, _m, _n, _c = rankings.rank(
            db,
            scope=scope,
            year=year,
            region_path=path,
            sector=sector,
            statuses=statuses,
            limit=rankings.MAX_LIMIT,
        )
        if rows:
            out[sector] = [r.model_dump() for r in rows]
    return out


@pytest.mark.parametrize(
    ("scope_code", "region_code"), [("990102", "990102"), ("9901", "9901"), ("99", "990106")]
)
@pytest.mark.parametrize("all_statuses", [False, True])
def test_every_sector_in_one_statement_equals_rank(
    rdb: Session, scope_code: str, region_code: str, all_statuses: bool
) -> None:
    scope = _scope(rdb, scope_code)
    path = _scope(rdb, region_code).region_path
    statuses = (
        rankings.COMPLETED_STATUSES
        if not all_statuses
        else ("draft", "scoring", *rankings.COMPLETED_STATUSES)
    )
    checked = 0
    for year in _years(rdb):
        expected = _per_sector(rdb, scope, year, path, statuses)
        got = ranking.by_sector(rdb, scope=scope, year=year, region_path=path, statuses=statuses)
        assert list(got) == list(expected)
        for sector, rows in got.items():
            assert [r.model_dump() for r in rows] == expected[sector], (year, sector)
            checked += len(rows)
            # ties share a rank and the next rank skips them (1, 2, 2, 4)
            assert rows[0].rank == 1 and all(
                b.rank == (a.rank if a.total == b.total else i + 2) for i, (a, b) in enumerate(pairwise(rows))
            )
    assert checked > 20


def test_outside_the_scope_is_not_found(rdb: Session) -> None:
    scope = _scope(rdb, "990102")
    other = _scope(rdb, "990106").region_path
    with pytest.raises(NotFound):
        ranking.by_sector(rdb, scope=scope, year=_years(rdb)[0], region_path=other)
