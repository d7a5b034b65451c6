"""Hand-made data for the analysis tests: a fresh township 990102901 测试镇 in 青山县 with its own criteria set
(bands 90/80/70/60/0, five stars ≤ 20 % and two stars or fewer ≥ 20 % within the township) and chosen
totals in 2034 and 2035, years the demo data does not use. Created once per run and committed (the test
database is shared by the run), so every test sees the same numbers.

2035 (total = A1 points + 40 from the deductive A2):
  T01 95 final 5★ · T02 92 final 4★ (quota) · T03 92 final 4★ (quota) · T04 85 publicized 4★
  T05 70 reviewed 3★ · T06 60 submitted 2★ · T07 50 scoring (not ranked)
2034 final stars: T01 4 · T02 5 · T03 4 · T05 3 · T06 3 (T04 and T07 are new)
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.assessments.models import Assessment, ScoreEntry
from app.audit import service as audit
from app.auth.scope import Scope
from app.branches.models import Branch
from app.criteria import service as criteria_service
from app.db import get_engine, get_read_engine
from app.regions import service as regions_service
from app.regions.models import Region
from app.scoring import Entries, ItemEntry, load_document, score

TOWN = "990102901"
VILLAGE = "990102901001"
YEAR = 2035
PREV = 2034
ACTOR = audit.Actor(None, "测试")

DOC: dict[str, Any] = {
    "title": "测试镇农村党支部星级评定细则",
    "year": YEAR,
    "sector": "rural",
    "categories": [
        {
            "code": "A",
            "name": "基础工作",
            "items": [
                {"code": "A1", "name": "得分项", "max": 60},
                {
                    "code": "A2",
                    "name": "扣分项",
                    "max": 40,
                    "mode": "deductive",
                    "deductions": [{"code": "A2f", "text": "未按期换届", "kind": "fixed", "points": 5}],
                },
            ],
        }
    ],
    "bands": [
        {"stars": 5, "min": 90},
        {"stars": 4, "min": 80},
        {"stars": 3, "min": 70},
        {"stars": 2, "min": 60},
        {"stars": 1, "min": 0},
    ],
    "quotas": {
        "scope": "township",
        "rules": [{"stars": 5, "max_share": 0.2}, {"stars": 2, "min_share": 0.2}],
        "tie_break": ["total", "appraisal", "deductions", "key"],
    },
}

# code → (A1 points in 2035, status in 2035, final stars in 2035 or None, final stars in 2034 or None)
PLAN: dict[str, tuple[int, str, int | None, int | None]] = {
    "990102901-T01": (55, "final", 5, 4),
    "990102901-T02": (52, "final", 4, 5),
    "990102901-T03": (52, "final", 4, 4),
    "990102901001-T04": (45, "publicized", None, None),
    "990102901001-T05": (30, "reviewed", None, 3),
    "990102901001-T06": (20, "submitted", None, 3),
    "990102901001-T07": (10, "scoring", None, None),
}


@dataclass(frozen=True)
class Fixture:
    town_code: str
    set_id: int
    draft_id: int
    codes: list[str]


def _assessment(
    session: Session, branch: Branch, *, year: int, set_id: int, a1: int, status: str, final: int | None
) -> Assessment:
    cs = load_document(DOC | {"year": year})
    entries = Entries({"A1": ItemEntry(points=Decimal(a1)), "A2": ItemEntry()})
    result = score(cs, entries)
    a = Assessment(
        branch_id=branch.id or 0,
        year=year,
        sector=branch.sector,
        region_path=branch.region_path,
        criteria_set_id=set_id,
        criteria_hash="test",
        status=status,
        total=result.total,
        band_stars=result.band_stars,
        stars=result.stars,
        final_stars=final,
        items_total=2,
        items_scored=2,
        explanation=result.to_json()["explanation"],
        quota_explanation=(
            [f"五星比例不超过 20%：超出名额，由五星调整为{'四星' if final == 4 else ''}"]
            if final is not None and final != result.stars
            else []
        ),
    )
    session.add(a)
    session.flush()
    for code, item in entries.items.items():
        session.add(
            ScoreEntry(
                assessment_id=a.id or 0,
                source="inspector",
                item_code=code,
                entry=item.to_json(),
                score=result.items[code].score,
            )
        )
    return a


def _build(session: Session) -> Fixture:
    existing = session.exec(select(Region).where(Region.code == TOWN)).first()
    if existing is None:
        county = regions_service.get_by_code(session, code="990102")
        town = regions_service.create(session, code=TOWN, name="测试镇", level="township", parent=county)
        village = regions_service.create(session, code=VILLAGE, name="测试村", level="village", parent=town)
        record = criteria_service.create_draft(
            session, document=copy.deepcopy(DOC), region_id=town.id or 0, actor=ACTOR
        )
        criteria_service.publish(session, record=record, actor=ACTOR)
        draft_doc = copy.deepcopy(DOC) | {"year": YEAR + 1, "title": "测试镇细则（征求意见稿）"}
        draft_doc["bands"] = [
            {"stars": 5, "min": 95},
            {"stars": 4, "min": 90},
            {"stars": 3, "min": 80},
            {"stars": 2, "min": 70},
            {"stars": 1, "min": 0},
        ]
        draft_doc.pop("quotas")
        criteria_service.create_draft(session, document=draft_doc, region_id=town.id or 0, actor=ACTOR)
        for code, (a1, status, final, prev) in PLAN.items():
            place = town if code.startswith("990102901-") else village
            branch = Branch(
                code=code,
                name=f"中共测试镇{code[-3:]}支部",
                sector="rural",
                region_id=place.id or 0,
                region_path=place.path,
            )
            session.add(branch)
            session.flush()
            _assessment(session, branch, year=YEAR, set_id=record.id or 0, a1=a1, status=status, final=final)
            if prev is not None:
                prev_a1 = {5: 55, 4: 45, 3: 35}[prev]
                _assessment(
                    session, branch, year=PREV, set_id=record.id or 0, a1=prev_a1, status="final", final=prev
                )
        session.commit()
    record_id = session.exec(
        select(Assessment.criteria_set_id).where(
            Assessment.year == YEAR, Assessment.region_path.startswith("/99/9901/990102/990102901/")
        )  # type: ignore[attr-defined]
    ).first()
    from app.criteria.models import CriteriaSetRecord

    draft_id = session.exec(
        select(CriteriaSetRecord.id).where(
            CriteriaSetRecord.status == "draft", CriteriaSetRecord.year == YEAR + 1
        )
    ).first()
    return Fixture(TOWN, record_id or 0, draft_id or 0, list(PLAN))


@pytest.fixture(scope="session")
def town(database: str) -> Fixture:
    """The hand-made township (created once per test run)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        return _build(session)


@pytest.fixture()
def rdb(database: str) -> Iterator[Session]:
    """A session on the read engine (what the analysis pages use), rolled back at the end."""
    with Session(get_read_engine(), expire_on_commit=False) as session:
        yield session
        session.rollback()


def province_scope(session: Session) -> Scope:
    """The scope of the whole province (the root region)."""
    root = session.execute(select(Region).where(col(Region.level) == "province")).scalars().first()
    assert root is not None
    return Scope(region_id=root.id or 0, region_path=root.path, region_name=root.name)
