"""Fresh, isolated data for the review tests. Each area gets its own YEAR (2030 onwards, scored under the
demo's 2026 criteria sets) in one township of our own in 临江区: quota pools, publicity windows and
finalization are per year, so the areas never touch each other or the demo data of 2026 that other tests
read, and the only shared rows added are that township, one county user and the areas' branches.
Everything is committed (the request under test commits too)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from app import clock
from app.assessments import scoring
from app.assessments.models import Assessment, Publicity, ScoreEntry
from app.auth import service as auth_service
from app.auth.models import User
from app.branches.models import Branch
from app.criteria import service as criteria_service
from app.db import get_engine
from app.db_types import utcnow
from app.demo.assessments import demo_entries
from app.regions import service as regions_service
from app.regions.models import Region

PASSWORD = "Review@2026x"
USERNAME = "county_lj_review"
COUNTY = "990104"
TOWNSHIP = "990104977"
CRITERIA_YEAR = 2026
_years = itertools.count(2030)
_branches = itertools.count(1)


@dataclass
class Area:
    county: Region
    township: Region
    username: str
    year: int
    ids: list[int]


def _setup(session: Session) -> tuple[Region, Region]:
    county = regions_service.get_by_code(session, code=COUNTY)
    town = session.exec(select(Region).where(Region.code == TOWNSHIP)).first()
    if town is None:
        town = regions_service.create(
            session, code=TOWNSHIP, name="审核测试镇", level="township", parent=county
        )
    if session.exec(select(User).where(User.username == USERNAME)).first() is None:
        auth_service.create_user(
            session,
            username=USERNAME,
            display_name="测试临江区委组织部",
            role="county",
            region_code=COUNTY,
            password=PASSWORD,
        )
    return county, town


def make_area(
    *,
    n: int = 5,
    status: str = "submitted",
    quality: float = 0.95,
    sector: str = "rural",
    seed: int = 1,
) -> Area:
    """`n` new branches in our township, each with a complete, scored assessment of a year of its own in
    `status` (inspector entries from the demo generator, no vetoes; a self-assessment for the first two)."""
    rng = random.Random(seed)
    year = next(_years)
    with Session(get_engine(), expire_on_commit=False) as session:
        county, town = _setup(session)
        record = criteria_service.published_for(
            session, year=CRITERIA_YEAR, sector=sector, region_path=town.path
        )
        assert record is not None
        ids = []
        for _ in range(n):
            k = next(_branches)
            branch = Branch(
                code=f"{town.code}-R{k:03d}",
                name=f"中共审核测试镇第{k}村支部委员会",
                sector=sector,
                region_id=town.id or 0,
                region_path=town.path,
                member_count=20,
            )
            session.add(branch)
            session.flush()
            a = Assessment(
                branch_id=branch.id or 0,
                year=year,
                sector=sector,
                region_path=town.path,
                criteria_set_id=record.id or 0,
                criteria_hash=record.content_hash or "",
            )
            session.add(a)
            session.flush()
            cs = scoring.criteria_of(session, a)
            entries = demo_entries(cs, rng, quality)
            entries = type(entries)(entries.items, {}, entries.prerequisites, entries.appraisal)  # no vetoes
            for item_code, entry in entries.items.items():
                session.add(
                    ScoreEntry(
                        assessment_id=a.id or 0,
                        source="inspector",
                        item_code=item_code,
                        entry=entry.to_json(),
                    )
                )
            if len(ids) < 2:
                for item_code, entry in demo_entries(cs, rng, min(quality + 0.03, 0.99)).items.items():
                    session.add(
                        ScoreEntry(
                            assessment_id=a.id or 0, source="self", item_code=item_code, entry=entry.to_json()
                        )
                    )
            session.flush()
            a.extras = {key: v for key, v in entries.to_json().items() if key != "items"}
            scoring.recompute(session, a, cs)
            scoring.recompute_self(session, a, cs)
            a.status = status
            a.submitted_at = utcnow()
            if status in ("reviewed", "publicized"):
                a.reviewed_at = utcnow()
            session.add(a)
            ids.append(a.id or 0)
        session.commit()
        return Area(county, town, USERNAME, year, ids)


def publicize(area: Area, *, starts_on: date, days: int = 5) -> int:
    """Puts the area's reviewed assessments under a publicity window (e.g. one already over)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        pub = Publicity(
            year=area.year,
            region_id=area.township.id or 0,
            title=f"{area.township.name}{area.year}年度星级党支部评定结果公示",
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=days - 1),
            contact="组织科 0000-1111111",
        )
        session.add(pub)
        session.flush()
        for aid in area.ids:
            a = session.get(Assessment, aid)
            assert a is not None
            if a.status == "reviewed":
                a.status = "publicized"
                a.publicity_id = pub.id
                a.version += 1
                session.add(a)
        session.commit()
        return pub.id or 0


@pytest.fixture()
def area() -> Callable[..., Area]:
    return make_area


@pytest.fixture()
def as_area(login):  # type: ignore[no-untyped-def]
    """as_area(area) → a LoggedIn client for the area's county user."""

    def _as(a: Area):  # type: ignore[no-untyped-def]
        return login(a.username, PASSWORD)

    return _as


def fresh(aid: int) -> Assessment:
    """The assessment as stored now (a new session)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        a = session.get(Assessment, aid)
        assert a is not None
        return a


def past_window() -> date:
    return clock.today() - timedelta(days=10)
