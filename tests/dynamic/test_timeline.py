"""The branch timeline: stars over the years with markers and every dynamic-management event."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app import clock
from app.audit import service as audit
from app.auth.models import User
from app.branches.models import Branch
from app.dynamic import changes, demo_sites, rectification, timeline, weak
from app.dynamic.models import Visit
from app.dynamic.schemas import (
    DemoSiteDesignate,
    DemoSiteShortlist,
    StarChangeCreate,
    TaskCreate,
    WeakDecision,
)
from tests.dynamic.conftest import World, add_assessment, add_branch

ACTOR = audit.Actor(None, "测试")


def _build(session: Session, world: World) -> Branch:
    b = add_branch(session, world, "TL")
    designation = {"stars": 5, "reason": "获评省级先进基层党组织", "document": "省委组〔2036〕1号"}
    a36 = add_assessment(session, world, b, 2036, stars=5, extras={"designation": designation})
    a36.designated = True
    add_assessment(
        session,
        world,
        b,
        2037,
        stars=5,
        final_stars=4,
        quota_explanation=["按五星比例控制，由五星调整为四星"],
    )
    add_assessment(
        session, world, b, 2038, stars=4, vetoed=True, extras={"vetoes": {"V02": "辖区发生较大安全事故"}}
    )
    site = demo_sites.shortlist(
        session, scope=world.scope, actor=ACTOR, data=DemoSiteShortlist(branch=b.code, year=2036)
    )
    demo_sites.designate(
        session,
        scope=world.scope,
        actor=ACTOR,
        site_id=site.id or 0,
        data=DemoSiteDesignate(
            decided_on=clock.today() - timedelta(days=10),
            reason="示范带动强",
            document_number="动组〔2036〕9号",
            version=1,
        ),
    )
    listing = weak.list_manually(
        session,
        scope=world.scope,
        actor=ACTOR,
        data=WeakDecision(branch=b.code, year=2038, reason="集中信访"),
    )
    rectification.add_task(
        session,
        scope=world.scope,
        actor=ACTOR,
        listing_id=listing.id or 0,
        data=TaskCreate(
            title="化解信访积案", owner="镇信访办", deadline=clock.today() + timedelta(days=30), version=1
        ),
    )
    changes.change_stars(
        session,
        scope=world.scope,
        actor=ACTOR,
        data=StarChangeCreate(
            branch=b.code,
            year=2038,
            event="mass_incident",
            occurred_on=clock.today() - timedelta(days=1),
            reason="发生群体性事件",
            stars_after=2,
            version=1,
        ),
    )
    session.add(
        Visit(
            branch_id=b.id or 0, visited_on=clock.today() - timedelta(days=2), purpose="督导", note="约谈书记"
        )
    )
    session.commit()
    return b


def test_timeline_contents(session: Session, world: World) -> None:
    b = _build(session, world)
    t = timeline.timeline(session, scope=world.scope, code=b.code)
    assert [y.year for y in t.years] == [2038, 2037, 2036]
    marks = {y.year: y.marks for y in t.years}
    assert "比例控制" in marks[2037]
    assert "一票否决" in marks[2038] and "年中调整" in marks[2038]
    assert "直接定级" in marks[2036]
    assert [y.final_stars for y in t.years] == [2, 4, 5]
    kinds = {e.kind for e in t.events}
    assert kinds >= {"rating", "veto", "designation", "demo_site", "weak", "task", "star_change", "visit"}
    days = [e.on for e in t.events]
    assert days == sorted(days, reverse=True)
    titles = " ".join(e.title for e in t.events)
    assert "2038年度星级降星：四星 → 二星" in titles
    assert "命名为2036年度示范点" in titles and "列入软弱涣散整顿名单（2038年度）" in titles


def test_timeline_page_scope_and_roles(session: Session, world: World, as_user, login) -> None:  # type: ignore[no-untyped-def]
    b = _build(session, world)
    c = as_user(world.county_user)
    page = c.get(f"/dynamic/branches/{b.code}/timeline")
    assert page.status_code == 200 and b.name in page.text and "比例控制" in page.text
    data = c.json(f"/dynamic/branches/{b.code}/timeline").json()
    assert data["branch"]["code"] == b.code and data["events"][0]["on"] >= data["events"][-1]["on"]
    assert as_user(world.inspector_user).get(f"/dynamic/branches/{b.code}/timeline").status_code == 200
    assert login("county_qs").get(f"/dynamic/branches/{b.code}/timeline").status_code == 404
    # A branch secretary sees their own branch only.
    user = session.exec(select(User).where(User.username == "branch_qs1")).one()
    own = session.get(Branch, user.branch_id)
    assert own is not None
    own_code = own.code
    session.commit()
    sec = login("branch_qs1")
    assert sec.get(f"/dynamic/branches/{own_code}/timeline").status_code == 200
    assert sec.get(f"/dynamic/branches/{b.code}/timeline").status_code == 404
    assert sec.get("/dynamic/weak").status_code == 403
