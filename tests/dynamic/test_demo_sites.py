"""示范点: only five-star branches, the cap per county, withdrawal; the pages and their JSON twin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app import clock
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.dynamic import demo_sites
from app.dynamic import service as dynamic_service
from app.dynamic.schemas import DemoSiteDesignate, DemoSiteShortlist, DemoSiteWithdraw
from app.errors import Conflict, ValidationFailed
from tests.dynamic.conftest import World, add_assessment, add_branch

ACTOR = audit.Actor(None, "测试")
YEAR = 2037


def _build(session: Session, world: World) -> None:
    for key, stars, vetoed in (
        ("F1", 5, False),
        ("F2", 5, False),
        ("F3", 5, False),
        ("G4", 4, False),
        ("V5", 5, True),
    ):
        b = add_branch(session, world, key)
        add_assessment(session, world, b, YEAR, stars=stars, vetoed=vetoed, total="95")
    b = add_branch(session, world, "P5")
    add_assessment(session, world, b, YEAR, stars=5, status="publicized")
    session.commit()


def _decide(version: int = 1) -> DemoSiteDesignate:
    return DemoSiteDesignate(
        decided_on=clock.today(),
        reason="党建引领乡村振兴成效突出",
        document_number="动组发〔2037〕5号",
        version=version,
    )


def test_shortlist_only_from_five_stars(session: Session, world: World) -> None:
    _build(session, world)
    cands = demo_sites.candidates(session, region_path=world.county.path, year=YEAR)
    assert {c.branch.code.rsplit("-", 1)[1] for c in cands} == {"F1", "F2", "F3"}
    for key in ("G4", "V5", "P5"):
        with pytest.raises(ValidationFailed) as exc:
            demo_sites.shortlist(
                session,
                scope=world.scope,
                actor=ACTOR,
                data=DemoSiteShortlist(branch=world.branches[key].code, year=YEAR),
            )
        assert "branch" in exc.value.field_errors
    row = demo_sites.shortlist(
        session,
        scope=world.scope,
        actor=ACTOR,
        data=DemoSiteShortlist(branch=world.branches["F1"].code, year=YEAR),
    )
    assert row.status == "shortlisted"
    with pytest.raises(Conflict):
        demo_sites.shortlist(
            session,
            scope=world.scope,
            actor=ACTOR,
            data=DemoSiteShortlist(branch=world.branches["F1"].code, year=YEAR),
        )
    cands = demo_sites.candidates(session, region_path=world.county.path, year=YEAR)
    assert {c.branch.code.rsplit("-", 1)[1] for c in cands} == {"F2", "F3"}


def test_cap_is_enforced_and_withdrawal_frees_a_place(session: Session, world: World) -> None:
    _build(session, world)
    rows = [
        demo_sites.shortlist(
            session,
            scope=world.scope,
            actor=ACTOR,
            data=DemoSiteShortlist(branch=world.branches[k].code, year=YEAR),
        )
        for k in ("F1", "F2", "F3")
    ]
    # Default: 20 % of 3 five-star branches, rounded up = 1.
    assert demo_sites.DEFAULT_CAP.allowed(3) == 1
    first = demo_sites.designate(
        session, scope=world.scope, actor=ACTOR, site_id=rows[0].id or 0, data=_decide()
    )
    assert first.status == "designated" and first.version == 2
    with pytest.raises(ValidationFailed, match="已达上限") as exc:
        demo_sites.designate(session, scope=world.scope, actor=ACTOR, site_id=rows[1].id or 0, data=_decide())
    assert exc.value.extra == {"five_star": 3, "allowed": 1, "designated": 1}
    with pytest.raises(Conflict):  # stale version
        demo_sites.withdraw(
            session,
            scope=world.scope,
            actor=ACTOR,
            site_id=first.id or 0,
            data=DemoSiteWithdraw(withdrawn_on=clock.today(), withdraw_reason="x", version=1),
        )
    assert [s.branch.code for s in dynamic_service.demo_sites_for(session, scope=world.scope, year=YEAR)] == [
        world.branches["F1"].code
    ]
    demo_sites.withdraw(
        session,
        scope=world.scope,
        actor=ACTOR,
        site_id=first.id or 0,
        data=DemoSiteWithdraw(
            withdrawn_on=clock.today(), withdraw_reason="发生信访事件，不宜继续作为示范", version=2
        ),
    )
    assert dynamic_service.demo_sites_for(session, scope=world.scope, year=YEAR) == []
    second = demo_sites.designate(
        session, scope=world.scope, actor=ACTOR, site_id=rows[1].id or 0, data=_decide()
    )
    assert second.status == "designated"
    # A wider cap (a parameter) lets the county name more.
    wide = demo_sites.DemoSiteCap(max_share=Decimal(1), max_count=2)
    third = demo_sites.designate(
        session, scope=world.scope, actor=ACTOR, site_id=rows[2].id or 0, data=_decide(), cap=wide
    )
    assert third.status == "designated"
    session.commit()
    info = demo_sites.cap_info(session, region_path=world.county.path, year=YEAR)
    assert [(c.five_star, c.allowed, c.designated) for c in info] == [(3, 1, 2)]
    actions = list(
        session.exec(
            select(AuditEvent.action).where(
                AuditEvent.entity_type == "demo_site", AuditEvent.entity_id == str(first.id)
            )
        )
    )
    assert sorted(actions) == ["demo_site.designate", "demo_site.shortlist", "demo_site.withdraw"]


def test_pages_and_json_twin(session: Session, world: World, as_user, login) -> None:  # type: ignore[no-untyped-def]
    _build(session, world)
    c = as_user(world.county_user)
    r = c.post(
        "/dynamic/demo-sites",
        data={"branch": world.branches["F1"].code, "year": str(YEAR)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    site = session.exec(select(demo_sites.DemoSite).where(demo_sites.DemoSite.year == YEAR)).all()
    site_id = next(s.id for s in site if s.branch_id == world.branches["F1"].id)
    session.commit()  # end the read: on SQLite an open transaction holds the write lock
    r = c.post(
        f"/dynamic/demo-sites/{site_id}/designate",
        data={"version": "1", "decided_on": clock.today().isoformat()},
    )
    assert r.status_code == 422
    assert "请填写文号" in r.text and "请填写理由" in r.text
    r = c.post(
        f"/dynamic/demo-sites/{site_id}/designate",
        data={
            "version": "1",
            "decided_on": clock.today().isoformat(),
            "reason": "成效突出",
            "document_number": "动组〔2037〕1号",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(f"/dynamic/demo-sites?year={YEAR}")
    assert page.status_code == 200 and "已命名" in page.text and world.branches["F2"].name in page.text
    data = c.json(f"/dynamic/demo-sites?year={YEAR}").json()
    assert [s["status"] for s in data["sites"]] == ["designated"]
    assert {x["branch"]["code"] for x in data["candidates"]} == {
        world.branches["F2"].code,
        world.branches["F3"].code,
    }
    assert data["caps"][0]["allowed"] == 1
    # Another county's staff: 404; an inspector: 403.
    qs = login("county_qs")
    assert qs.post(f"/dynamic/demo-sites/{site_id}/withdraw", data={"version": "2"}).status_code == 404
    insp = as_user(world.inspector_user)
    assert insp.get(f"/dynamic/demo-sites?year={YEAR}").status_code == 200
    r = insp.post("/dynamic/demo-sites", data={"branch": world.branches["F2"].code, "year": str(YEAR)})
    assert r.status_code == 403
