"""Deterministic, fictional demo data: one city, its counties, townships, villages, branches and users.

Codes start with 99 (not a real province) so the demo can never be mistaken for real data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, func, select

from app.auth import service as auth_service
from app.branches.models import Branch
from app.regions import service as regions_service
from app.regions.models import Region

from .names import COMPANIES, COUNTY_ORGANS, SOCIAL_ORGS, person, place

DEMO_PASSWORD = "Xingji@2026"
SEED = 20261129
COUNTIES = [
    ("990102", "青山县"),
    ("990103", "白河县"),
    ("990104", "临江区"),
    ("990105", "石桥县"),
    ("990106", "桃源县"),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    region: str
    note: str


def is_seeded(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(Region)).one() > 0


def _branch(
    rng: random.Random, *, code: str, name: str, sector: str, region: Region, members: tuple[int, int]
) -> Branch:
    vacant = rng.random() < 0.03
    return Branch(
        code=code,
        name=name,
        sector=sector,
        region_id=region.id or 0,
        region_path=region.path,
        secretary_name=None if vacant else person(rng),
        secretary_phone=None if vacant else f"13{rng.randint(100000000, 999999999)}",
        secretary_vacant_since=date(2026, rng.randint(1, 8), 1) if vacant else None,
        member_count=rng.randint(*members),
        founded_on=date(rng.randint(1978, 2024), rng.randint(1, 12), rng.randint(1, 28)),
    )


def seed_regions_and_branches(session: Session, *, progress: Callable[[int], None] = lambda n: None) -> int:
    """Creates the demo city with 5 counties, ~55 townships, villages/communities and 1,000+ branches."""
    rng = random.Random(SEED)
    province = regions_service.create(session, code="99", name="示范省", level="province", parent=None)
    city = regions_service.create(session, code="9901", name="星城市", level="city", parent=province)
    used: set[str] = set()
    n_branches = 0
    for c_index, (c_code, c_name) in enumerate(COUNTIES):
        county = regions_service.create(session, code=c_code, name=c_name, level="county", parent=city)
        for o_index, organ in enumerate(COUNTY_ORGANS[: 12 + c_index % 4]):
            session.add(
                _branch(
                    rng,
                    code=f"{c_code}-J{o_index + 1:02d}",
                    name=f"中共{c_name}{organ[1:]}机关支部委员会",
                    sector="organ",
                    region=county,
                    members=(8, 40),
                )
            )
            n_branches += 1
        n_town = 10 + (c_index % 3)
        for t in range(n_town):
            urban = (c_name.endswith("区") and t < 4) or t == 0
            t_name = place(rng, used) + ("街道" if urban else rng.choice(("镇", "镇", "乡")))
            t_code = f"{c_code}{t + 1:03d}"
            town = regions_service.create(session, code=t_code, name=t_name, level="township", parent=county)
            n_vil = rng.randint(10, 14)
            for v in range(n_vil):
                community = urban or v == 0
                v_name = place(rng, used) + ("社区" if community else "村")
                v_code = f"{t_code}{v + 1:03d}"
                village = regions_service.create(
                    session, code=v_code, name=v_name, level="village", parent=town
                )
                count = 2 if rng.random() < 0.12 else 1
                for k in range(count):
                    suffix = ("第一" if k == 0 else "第二") if count > 1 else ""
                    kind = "委员会" if rng.random() < 0.3 else ""
                    session.add(
                        _branch(
                            rng,
                            code=f"{v_code}-{k + 1:02d}",
                            name=f"中共{t_name}{v_name}{suffix}支部{kind or ''}".replace(
                                "支部委员会", "支部委员会"
                            ),
                            sector="community" if community else "rural",
                            region=village,
                            members=(15, 90),
                        )
                    )
                    n_branches += 1
            extras = [
                ("organ", f"中共{t_name}机关支部委员会", (20, 60)),
                ("school", f"中共{t_name}中心学校支部委员会", (8, 35)),
                ("hospital", f"中共{t_name}卫生院支部委员会", (6, 25)),
                (
                    "nonpublic",
                    f"中共{c_name[:-1]}{place(rng, used)}{rng.choice(COMPANIES)}有限公司支部委员会",
                    (3, 15),
                ),
            ]
            if rng.random() < 0.6:
                extras.append(("social_org", f"中共{t_name}{rng.choice(SOCIAL_ORGS)}支部委员会", (3, 12)))
            if rng.random() < 0.35:
                extras.append(("soe", f"中共{c_name}{place(rng, used)}供电所支部委员会", (5, 20)))
            for e_index, (sector, name, members) in enumerate(extras):
                session.add(
                    _branch(
                        rng,
                        code=f"{t_code}-Z{e_index + 1:02d}",
                        name=name,
                        sector=sector,
                        region=town,
                        members=members,
                    )
                )
                n_branches += 1
            progress(1)
        session.flush()
    return n_branches


def demo_logins() -> list[DemoLogin]:
    return [
        DemoLogin("admin", "admin", "9901", "系统管理员（星城市）"),
        DemoLogin("city_viewer", "viewer", "9901", "市委组织部（只读）"),
        DemoLogin("county_qs", "county", "990102", "青山县委组织部"),
        DemoLogin("county_bh", "county", "990103", "白河县委组织部"),
        DemoLogin("inspector_qs1", "inspector", "990102001", "青山县第一个乡镇的评审员"),
        DemoLogin("inspector_qs2", "inspector", "990102002", "青山县第二个乡镇的评审员"),
        DemoLogin("inspector_bh1", "inspector", "990103001", "白河县第一个乡镇的评审员"),
        DemoLogin("branch_qs1", "branch", "990102001", "青山县第一个村的支部书记"),
    ]


def seed_users(session: Session) -> list[DemoLogin]:
    """Creates one demo user per login in `demo_logins()` (all with DEMO_PASSWORD)."""
    names = {
        "admin": "系统管理员",
        "city_viewer": "市委组织部",
        "county_qs": "青山县委组织部",
        "county_bh": "白河县委组织部",
        "inspector_qs1": "评审员甲",
        "inspector_qs2": "评审员乙",
        "inspector_bh1": "评审员丙",
        "branch_qs1": "支部书记",
    }
    for login in demo_logins():
        branch_code = None
        if login.role == "branch":
            branch_code = session.exec(
                select(Branch.code)
                .where(col(Branch.region_path).startswith("/99/9901/990102/990102001/"))
                .where(col(Branch.sector).in_(("rural", "community")))
                .order_by(col(Branch.code))
            ).first()
        auth_service.create_user(
            session,
            username=login.username,
            display_name=names[login.username],
            role=login.role,
            region_code=login.region,
            password=DEMO_PASSWORD,
            branch_code=branch_code,
        )
    return demo_logins()


def seed_assessments(session: Session) -> int:
    """Criteria sets for every demo year and assessments in every workflow state."""
    from app.demo.assessments import seed_assessments as _seed

    return _seed(session)
