"""Security fixtures: a "world" of rows created for these tests only (the demo data is shared by the whole
run and stays untouched), one set in each of three places:

* ``qs``  — 青山县 990102, township 990102001 (inspector_qs1's township; branch_qs1's township)
* ``qs2`` — 青山县 990102, township 990102002 (same county, another township)
* ``bh``  — 白河县 990103, township 990103001 (inspector_bh1's township)

Each place gets a branch whose name is a unique *canary* string, its 2026 assessment with one scored
item, an evidence photo, a weak-branch listing, a county-owned draft criteria set and a (failed) report
job. A canary seen in a response of a user who must not see that place is a leak.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from PIL import Image
from sqlmodel import Session, col, select

from app.assessments import evidence as evidence_service
from app.assessments import scoring
from app.assessments import service as assessments_service
from app.assessments.schemas import ItemSave
from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.models import User
from app.branches.models import Branch
from app.criteria import service as criteria_service
from app.criteria.models import CriteriaSetRecord
from app.db import session_scope
from app.dynamic.models import WeakListing
from app.jobs.models import Job
from app.regions.models import Region

RUN = os.getpid() % 10000
PLACES = {
    # key: (township code, county code, an inspector of that township)
    "qs": ("990102001", "990102", "inspector_qs1"),
    "qs2": ("990102002", "990102", "inspector_qs2"),
    "bh": ("990103001", "990103", "inspector_bh1"),
}
CRITERIA_YEAR = 2041  # a year no other test uses: drafts there change nothing anyone relies on


@dataclass(frozen=True)
class Place:
    key: str
    township: str
    county: str
    county_path: str
    branch_code: str
    branch_name: str  # the canary
    assessment_id: int
    item_code: str
    evidence_id: int
    criteria_set_id: int  # a draft owned by the county
    criteria_title: str  # a second canary
    listing_id: int
    job_id: int

    @property
    def canaries(self) -> tuple[str, ...]:
        return (self.branch_name, self.criteria_title)


@dataclass
class World:
    places: dict[str, Place] = field(default_factory=dict)
    demo_branch_code: str = ""  # branch_qs1's own branch (demo data; only read)
    demo_assessment_id: int = 0  # its 2026 assessment
    demo_item_code: str = ""
    published_criteria_id: int = 0  # a city-wide published set every role may read
    publicity_shiqiao: int = 0  # 石桥县's publicity (demo)

    def __getitem__(self, key: str) -> Place:
        return self.places[key]


def png_bytes(size: tuple[int, int] = (48, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def _actor(session: Session, username: str) -> assessments_service.Actor:
    user = session.exec(select(User).where(User.username == username)).one()
    scope = auth_service.scope_for_user(session, user)
    return assessments_service.Actor(user.id, user.display_name, user.role, scope)


def _make_place(session: Session, key: str, n: int, template: CriteriaSetRecord) -> Place:
    township, county, inspector = PLACES[key]
    village = session.exec(
        select(Region)
        .where(col(Region.code).startswith(township), Region.level == "village")
        .order_by(Region.code)
    ).first()
    county_region = session.exec(select(Region).where(Region.code == county)).one()
    assert village is not None
    name = f"探针{key}{RUN}号党支部"
    branch = Branch(
        code=f"{village.code}-S{RUN:04d}{n}",
        name=name,
        sector="rural",
        region_id=village.id or 0,
        region_path=village.path,
        member_count=12,
    )
    session.add(branch)
    session.flush()
    actor = _actor(session, inspector)
    a = assessments_service.ensure_for_year(session, branch=branch, year=2026, actor=actor.audit)
    cs = scoring.criteria_of(session, a)
    leaf = next(leaf for leaf in cs.items() if leaf.section == "category")
    item_code = leaf.item.code
    assessments_service.save_item(
        session,
        actor=actor,
        assessment=a,
        item_code=item_code,
        source="inspector",
        data=ItemSave(entry={}, note=f"{name}的备注", version=0),
    )
    ev = evidence_service.add(
        session,
        actor=actor,
        assessment=a,
        item_code=item_code,
        filename=f"{key}-photo.png",
        declared_type="image/png",
        data=png_bytes(),
    )
    doc = dict(template.document)
    doc["year"] = CRITERIA_YEAR
    title = f"探针{key}{RUN}细则"
    doc["title"] = title
    record = criteria_service.create_draft(
        session, document=doc, region_id=county_region.id or 0, actor=audit.SYSTEM
    )
    listing = WeakListing(
        branch_id=branch.id or 0,
        year=2026,
        region_path=branch.region_path,
        status="listed",
        reason=f"{name}整顿",
    )
    session.add(listing)
    job = Job(
        kind="annual_report",
        params_key=f"security-test-{key}-{RUN}",
        params={"kind": "annual_report", "year": 2026, "region": county, "scope": county_region.path},
        status="failed",
        message="安全测试：未生成",
    )
    session.add(job)
    session.flush()
    return Place(
        key=key,
        township=township,
        county=county,
        county_path=county_region.path,
        branch_code=branch.code,
        branch_name=name,
        assessment_id=a.id or 0,
        item_code=item_code,
        evidence_id=ev.id or 0,
        criteria_set_id=record.id or 0,
        criteria_title=title,
        listing_id=listing.id or 0,
        job_id=job.id or 0,
    )


@pytest.fixture(scope="session")
def world(database: str) -> World:
    """Created once per run (and committed): every security test reads the same rows."""
    w = World()
    with session_scope() as s:
        template = s.exec(
            select(CriteriaSetRecord)
            .where(CriteriaSetRecord.year == 2026, CriteriaSetRecord.sector == "rural")
            .where(CriteriaSetRecord.status == "published")
        ).first()
        assert template is not None
        w.published_criteria_id = template.id or 0
        for n, key in enumerate(PLACES, start=1):
            w.places[key] = _make_place(s, key, n, template)
        user = s.exec(select(User).where(User.username == "branch_qs1")).one()
        own = s.get(Branch, user.branch_id)
        assert own is not None
        w.demo_branch_code = own.code
        mine = assessments_service.get_for_branch(s, branch=own, year=2026)
        assert mine is not None
        w.demo_assessment_id = mine.id or 0
        cs = scoring.criteria_of(s, mine)
        w.demo_item_code = next(leaf.item.code for leaf in cs.items() if leaf.section == "category")
        from app.assessments.models import Publicity

        pub = s.exec(select(Publicity).order_by(col(Publicity.id))).first()
        w.publicity_shiqiao = pub.id if pub and pub.id else 1
    return w


@pytest.fixture()
def anon(app) -> Iterator:  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


# The browser harness fixtures (live_server, browser, new_page, watch) come from the tests.browser_harness
# plugin registered in tests/conftest.py.
