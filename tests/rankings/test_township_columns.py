"""A ranking row's township comes from SQL (its region, or that region's parent) and agrees with the
path-walking definition (rankings.towns_of) for rows at a township, at a village and above any township."""

from __future__ import annotations

from sqlmodel import Session

from app.auth.scope import Scope
from app.branches.models import Branch
from app.db import get_engine
from app.rankings import service
from app.regions import service as regions_service
from tests.rankings.conftest import YEAR, Fixture, _assessment


def test_township_of_each_row(town: Fixture) -> None:
    with Session(get_engine(), expire_on_commit=False) as rdb:
        try:
            _check(rdb, town)
        finally:
            rdb.rollback()  # the county-level branch is this test's own


def _check(rdb: Session, town: Fixture) -> None:
    county = regions_service.get_by_code(rdb, code="990102")
    organ = Branch(
        code="990102-T99",
        name="中共测试县机关支部",
        sector="rural",
        region_id=county.id or 0,
        region_path=county.path,
    )
    rdb.add(organ)
    rdb.flush()
    _assessment(rdb, organ, year=YEAR, set_id=town.set_id, a1=40, status="submitted", final=None)
    rdb.flush()
    scope = Scope(region_id=county.id or 0, region_path=county.path, region_name=county.name)
    rows, *_ = service.rank(rdb, scope=scope, year=YEAR, sector="rural", statuses=None, limit=1000)
    light, *_ = service.rank(
        rdb,
        scope=scope,
        year=YEAR,
        sector="rural",
        statuses=None,
        limit=100,
        light=True,
        build=lambda x, t, s: x,
    )
    expected = service.towns_of(rdb, {r.region_path for r in rows})
    by_code = {r.branch_code: r for r in rows}
    assert by_code["990102901-T01"].township_code == "990102901"  # a branch at the township itself
    assert by_code["990102901001-T04"].township_name == "测试镇"  # at a village: its parent
    assert by_code["990102-T99"].township_code is None and by_code["990102-T99"].township_name is None
    for r in rows:
        assert (r.township_code, r.township_name) == expected[r.region_path], r.branch_code
    for x in light:
        assert (x.township_code, x.township_name) == expected[x.region_path], x.branch_code
