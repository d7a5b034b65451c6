"""The ranking reads one page in index order and takes ranks from an aggregate of totals; here it is
checked against the textbook form (RANK() / PERCENT_RANK() over every row) on the demo data, for every
scope level, sector choice, status choice, filter and order, and for keyset and offset pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.assessments.models import Assessment
from app.auth.scope import Scope
from app.branches.models import Branch
from app.rankings import service
from app.regions.models import Region
from app.regions.paths import in_subtree

A: Any = Assessment
B: Any = Branch


def _scope(db: Session, code: str) -> Scope:
    region = db.exec(select(Region).where(Region.code == code)).scalars().one()  # type: ignore[call-overload]
    return Scope(region_id=region.id or 0, region_path=region.path, region_name=region.name)


def _reference(
    db: Session, *, path: str, year: int, sector: str | None, statuses: list[str] | None
) -> dict[str, tuple[int, float, Decimal]]:
    """branch code → (rank, percentile, total) by window functions over every ranked row."""
    stmt = (
        select(
            B.code,
            A.total,
            func.rank().over(order_by=col(A.total).desc()).label("rank"),
            func.percent_rank().over(order_by=col(A.total).asc()).label("pct"),
        )
        .join(B, B.id == A.branch_id)
        .where(A.year == year, col(A.total).is_not(None), in_subtree(col(A.region_path), path))
    )
    if sector:
        stmt = stmt.where(A.sector == sector)
    if statuses is not None:
        stmt = stmt.where(col(A.status).in_(statuses))
    return {
        code: (int(rank), round(float(pct or 0) * 100, 1), Decimal(total))
        for code, total, rank, pct in db.execute(stmt)
    }


def _latest_year(db: Session) -> int:
    """The demo's busiest final year (other tests add small years of their own)."""
    stmt = select(A.year).where(A.status == "final").group_by(A.year).order_by(func.count().desc()).limit(1)
    return int(db.execute(stmt).scalar_one())


CASES = [
    ("99", None, service.RANKED_STATUSES),
    ("9901", "rural", service.RANKED_STATUSES),
    ("990102", None, None),
    ("990102", "rural", service.RANKED_STATUSES),
    ("990103", "community", None),
]


@pytest.mark.parametrize(("code", "sector", "statuses"), CASES)
def test_every_row_has_the_window_functions_rank_and_percentile(
    db: Session, code: str, sector: str | None, statuses: Any
) -> None:
    scope = _scope(db, code)
    year = _latest_year(db)
    want = _reference(
        db, path=scope.region_path, year=year, sector=sector, statuses=list(statuses) if statuses else None
    )
    assert want, "the demo data must have ranked rows here"
    rows, matched, ranked, cursor = service.rank(
        db, scope=scope, year=year, sector=sector, statuses=statuses, limit=service.MAX_LIMIT
    )
    assert matched == ranked == len(want) == len(rows)
    assert cursor is None
    assert {r.branch_code: (r.rank, r.percentile, r.total) for r in rows} == want
    # Ordered by total, then branch code.
    assert [(-r.total, r.branch_code) for r in rows] == sorted((-r.total, r.branch_code) for r in rows)


@pytest.mark.parametrize("limit", [1, 7, 50])
def test_keyset_pages_walk_the_whole_ranking(db: Session, limit: int) -> None:
    scope = _scope(db, "990102")
    year = _latest_year(db)
    full, *_ = service.rank(db, scope=scope, year=year, sector=None, limit=service.MAX_LIMIT)
    walked: list[Any] = []
    after = None
    for _ in range(len(full) + 1):
        rows, _m, _n, after = service.rank(db, scope=scope, year=year, sector=None, after=after, limit=limit)
        walked.extend(rows)
        if after is None:
            break
    assert [(r.branch_code, r.rank, r.percentile) for r in walked] == [
        (r.branch_code, r.rank, r.percentile) for r in full
    ]


@pytest.mark.parametrize("sort", sorted(service.SORTS))
def test_offset_pages_of_every_order_are_slices_of_the_full_order(db: Session, sort: str) -> None:
    scope = _scope(db, "990102")
    year = _latest_year(db)
    full, *_ = service.rank(db, scope=scope, year=year, sort=sort, limit=service.MAX_LIMIT)
    page, *_ = service.rank(db, scope=scope, year=year, sort=sort, offset=20, limit=15)
    assert [r.assessment_id for r in page] == [r.assessment_id for r in full[20:35]]
    by_id = {r.assessment_id: r for r in full}
    assert all(by_id[r.assessment_id] == r for r in page)


def test_filters_keep_the_ranks_of_the_whole_ranking(db: Session) -> None:
    scope = _scope(db, "990102")
    year = _latest_year(db)
    full, _m, ranked, _c = service.rank(db, scope=scope, year=year, limit=service.MAX_LIMIT)
    by_code = {r.branch_code: r for r in full}
    three, matched, ranked_too, _c = service.rank(
        db, scope=scope, year=year, stars=3, limit=service.MAX_LIMIT
    )
    assert ranked_too == ranked
    assert matched == len(three) == sum(1 for r in full if r.stars_shown == 3) > 0
    assert all(by_code[r.branch_code] == r for r in three)
    name_part = full[len(full) // 2].branch_name[-3:]
    found, matched, _n, _c = service.rank(db, scope=scope, year=year, q=name_part, limit=service.MAX_LIMIT)
    assert matched == len(found) == sum(1 for r in full if name_part in r.branch_name) > 0
    assert all(by_code[r.branch_code] == r for r in found)
