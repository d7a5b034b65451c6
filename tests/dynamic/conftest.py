"""Hand-made data for the dynamic-management tests: a county of our own (never a demo county), with a
township, branches, criteria sets and assessments for 2036–2038, a county user and an inspector.

The test database is shared by the whole run and commits persist, so each `make_world()` builds a new
county; nothing here touches the demo data other tests read."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, select

from app import clock
from app.assessments import scoring
from app.assessments.models import Assessment, ScoreEntry
from app.auth import service as auth_service
from app.auth.scope import Scope
from app.branches.models import Branch
from app.criteria.models import CriteriaSetRecord
from app.db import get_engine
from app.db_types import utcnow
from app.regions import service as regions_service
from app.regions.models import Region

PASSWORD = "Dynamic@2036x"
YEARS = (2036, 2037, 2038)
_codes = itertools.count(50)


def document(year: int) -> dict[str, Any]:
    """A small rural criteria set: two items of 50 points, bands 90/80/70/60, a five-star prerequisite."""
    return {
        "title": f"{year}年度测试细则",
        "year": year,
        "sector": "rural",
        "categories": [
            {"code": "A", "name": "组织建设", "items": [{"code": "A1", "name": "三会一课", "max": "50"}]},
            {"code": "B", "name": "作用发挥", "items": [{"code": "B1", "name": "为民服务", "max": "50"}]},
        ],
        "bands": [
            {"stars": 5, "min": "90"},
            {"stars": 4, "min": "80"},
            {"stars": 3, "min": "70"},
            {"stars": 2, "min": "60"},
            {"stars": 1, "min": "0"},
        ],
    }


@dataclass
class World:
    county: Region
    town: Region
    county_user: str
    inspector_user: str
    sets: dict[int, int]
    branches: dict[str, Branch] = field(default_factory=dict)

    @property
    def scope(self) -> Scope:
        return Scope(
            region_id=self.county.id or 0, region_path=self.county.path, region_name=self.county.name
        )

    @property
    def town_scope(self) -> Scope:
        return Scope(region_id=self.town.id or 0, region_path=self.town.path, region_name=self.town.name)


def _free_code(session: Session) -> str:
    while True:
        code = f"9901{next(_codes):02d}"
        if session.exec(select(Region).where(Region.code == code)).first() is None:
            return code


def make_world() -> World:
    """A fresh county + township, criteria sets for 2036–2038, a county user and an inspector."""
    with Session(get_engine(), expire_on_commit=False) as session:
        city = regions_service.get_by_code(session, code="9901")
        code = _free_code(session)
        county = regions_service.create(
            session, code=code, name=f"动态{code[-2:]}县", level="county", parent=city
        )
        town = regions_service.create(
            session, code=f"{code}001", name=f"动态{code[-2:]}镇", level="township", parent=county
        )
        sets = {}
        for year in YEARS:
            doc = document(year)
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
            record = CriteriaSetRecord(
                year=year,
                sector="rural",
                region_id=county.id or 0,
                title=doc["title"],
                status="published",
                document=doc,
                content_hash=digest,
                published_at=utcnow(),
            )
            session.add(record)
            session.flush()
            sets[year] = record.id or 0
        county_user = f"county_dyn{code[-2:]}"
        inspector_user = f"insp_dyn{code[-2:]}"
        auth_service.create_user(
            session,
            username=county_user,
            display_name=f"动态{code[-2:]}县委组织部",
            role="county",
            region_code=county.code,
            password=PASSWORD,
        )
        auth_service.create_user(
            session,
            username=inspector_user,
            display_name=f"动态{code[-2:]}镇评审员",
            role="inspector",
            region_code=town.code,
            password=PASSWORD,
        )
        session.commit()
        return World(county, town, county_user, inspector_user, sets)


def add_branch(session: Session, world: World, key: str, *, vacant_since: date | None = None) -> Branch:
    branch = Branch(
        code=f"{world.town.code}-{key}",
        name=f"中共{world.town.name}{key}村支部委员会",
        sector="rural",
        region_id=world.town.id or 0,
        region_path=world.town.path,
        member_count=25,
        secretary_vacant_since=vacant_since,
    )
    session.add(branch)
    session.flush()
    world.branches[key] = branch
    return branch


def add_assessment(
    session: Session,
    world: World,
    branch: Branch,
    year: int,
    *,
    stars: int | None,
    final_stars: int | None = None,
    status: str = "final",
    vetoed: bool = False,
    extras: dict[str, Any] | None = None,
    total: str = "80",
    quota_explanation: list[str] | None = None,
) -> Assessment:
    """An assessment with stars set directly (no entries); final ones default final_stars to stars."""
    if status == "final" and final_stars is None:
        final_stars = stars
    a = Assessment(
        branch_id=branch.id or 0,
        year=year,
        sector=branch.sector,
        region_path=branch.region_path,
        criteria_set_id=world.sets[year],
        criteria_hash="test",
        status=status,
        total=Decimal(total),
        band_stars=stars,
        stars=stars,
        final_stars=final_stars,
        vetoed=vetoed,
        extras=extras or {},
        quota_explanation=quota_explanation or [],
        finalized_at=utcnow() if status == "final" else None,
    )
    session.add(a)
    session.flush()
    return a


def add_scored(
    session: Session,
    world: World,
    branch: Branch,
    year: int,
    points: dict[str, str],
    *,
    status: str = "scoring",
) -> Assessment:
    """An assessment scored by the engine from inspector entries (points per item)."""
    a = add_assessment(session, world, branch, year, stars=None, status="scoring")
    for item_code, value in points.items():
        session.add(
            ScoreEntry(
                assessment_id=a.id or 0, source="inspector", item_code=item_code, entry={"points": value}
            )
        )
    session.flush()
    scoring.recompute(session, a)
    if status == "final":
        a.final_stars = a.stars
        a.finalized_at = utcnow()
    a.status = status
    session.add(a)
    session.flush()
    return a


def days_ago(n: int) -> date:
    return clock.today() - timedelta(days=n)


@pytest.fixture()
def session() -> Iterator[Session]:
    """A session whose work the test commits (the data is unique to the test's own county)."""
    with Session(get_engine(), expire_on_commit=False) as s:
        yield s
        s.rollback()


@pytest.fixture()
def world() -> World:
    return make_world()


@pytest.fixture()
def as_user(login):  # type: ignore[no-untyped-def]
    """as_user(username) → a LoggedIn client for a user of a test world."""

    def _as(username: str):  # type: ignore[no-untyped-def]
        return login(username, PASSWORD)

    return _as
