"""assessment_tally is kept by triggers (migration 0004): after any insert, update or delete of
assessments it equals a recount, on SQLite and on PostgreSQL; ranking sizes read from it equal counts."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session, col

from app.assessments.models import TALLY_DEPTH, Assessment, AssessmentTally
from app.auth.scope import Scope
from app.rankings import service
from app.regions.models import Region

A: Any = Assessment
T: Any = AssessmentTally


def _prefix(path: str) -> str:
    codes = [c for c in path.split("/") if c]
    return "/" + "".join(c + "/" for c in codes[:TALLY_DEPTH])


def _recount(db: Session) -> Counter[tuple[int, str, str, str]]:
    rows = db.execute(
        select(A.year, A.region_path, A.sector, A.status, func.count())
        .where(col(A.total).is_not(None))
        .group_by(A.year, A.region_path, A.sector, A.status)
    )
    out: Counter[tuple[int, str, str, str]] = Counter()
    for year, path, sector, status, n in rows:
        out[(year, _prefix(path), sector, status)] += n
    return out


def _tally(db: Session) -> Counter[tuple[int, str, str, str]]:
    rows = db.execute(select(T.year, T.prefix, T.sector, T.status, T.n).where(T.n != 0))
    return Counter({(y, p, s, st): n for y, p, s, st, n in rows})


def test_the_seeded_tally_equals_a_recount(db: Session) -> None:
    assert _tally(db) == _recount(db)
    assert sum(_tally(db).values()) > 1000


def test_every_kind_of_write_keeps_the_tally_exact(db: Session) -> None:
    """Inside one transaction, rolled back at the end: moves between every key column and NULL totals."""
    try:
        ids = list(
            db.execute(select(A.id).where(col(A.total).is_not(None)).order_by(A.id).limit(6)).scalars()
        )
        assert len(ids) == 6
        db.execute(update(A).where(A.id == ids[0]).values(status="final", final_stars=3))
        db.execute(update(A).where(A.id == ids[1]).values(total=None))
        db.execute(update(A).where(A.id == ids[2]).values(sector="community"))
        db.execute(update(A).where(A.id == ids[3]).values(year=2099))
        db.execute(update(A).where(A.id == ids[4]).values(region_path="/99/"))
        db.execute(update(A).where(A.id == ids[5]).values(total=Decimal("12.50")))  # no key change
        assert _tally(db) == _recount(db)
        db.execute(update(A).where(A.id == ids[1]).values(total=Decimal("88.00")))  # NULL → a total
        assert _tally(db) == _recount(db)
        source = db.execute(select(A).where(A.id == ids[0])).scalars().one()
        values = {
            c.name: getattr(source, c.name)
            for c in Assessment.__table__.columns  # type: ignore[attr-defined]
            if c.name not in ("id", "branch_id", "year")
        }
        db.execute(Assessment.__table__.insert().values(**values, branch_id=source.branch_id, year=2098))  # type: ignore[attr-defined]
        assert _tally(db) == _recount(db)
        db.execute(delete(A).where(A.year == 2098))  # the only row nothing refers to
        assert _tally(db) == _recount(db)
    finally:
        db.rollback()


def test_ranking_sizes_from_the_tally_equal_counts(db: Session) -> None:
    province = db.execute(select(Region).where(Region.level == "province")).scalars().first()
    assert province is not None
    scope = Scope(region_id=province.id or 0, region_path=province.path, region_name=province.name)
    regions = db.execute(
        select(Region).where(col(Region.level).in_(["province", "city", "county"])).order_by(Region.code)
    ).scalars()
    years = sorted(set(db.execute(select(A.year).distinct()).scalars()))
    checked = 0
    for region in regions:
        for year in years:
            for sector in (None, "rural"):
                for statuses in (None, service.RANKED_STATUSES):
                    got = service.ranked_count(
                        db, scope=scope, year=year, region_path=region.path, sector=sector, statuses=statuses
                    )
                    stmt = select(func.count()).where(
                        A.year == year,
                        col(A.total).is_not(None),
                        col(A.region_path).startswith(region.path),
                    )
                    if sector:
                        stmt = stmt.where(A.sector == sector)
                    if statuses:
                        stmt = stmt.where(col(A.status).in_(statuses))
                    assert got == db.execute(stmt).scalar_one(), (region.code, year, sector, statuses)
                    checked += 1
    assert checked >= 40
