"""The weak-branch register: suggestions for each sign, decisions, rectification, delisting."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.dynamic import rectification, weak
from app.dynamic import service as dynamic_service
from app.dynamic.models import WeakListing
from app.dynamic.schemas import Delist, FollowupSave, TaskCreate, TaskUpdate, WeakDecision
from app.errors import Conflict, ValidationFailed
from tests.dynamic.conftest import World, add_assessment, add_branch, days_ago

ACTOR = audit.Actor(None, "测试")


def _signs(world: World, session: Session, year: int = 2038) -> dict[str, set[str]]:
    found = weak.suggestions(session, region_path=world.town.path, year=year)
    return {s.branch.code.rsplit("-", 1)[1]: {x.code for x in s.signs} for s in found}


def _build(session: Session, world: World) -> None:
    b = add_branch(session, world, "LOW")
    add_assessment(session, world, b, 2038, stars=2)
    b = add_branch(session, world, "VETO")
    add_assessment(
        session, world, b, 2038, stars=0, vetoed=True, extras={"vetoes": {"V01": "书记受到党内严重警告处分"}}
    )
    b = add_branch(session, world, "DOWN")
    add_assessment(session, world, b, 2036, stars=5)
    add_assessment(session, world, b, 2037, stars=4)
    add_assessment(session, world, b, 2038, stars=3)
    b = add_branch(session, world, "VAC", vacant_since=days_ago(120))
    add_assessment(session, world, b, 2038, stars=4)
    b = add_branch(session, world, "VACNEW", vacant_since=days_ago(30))
    add_assessment(session, world, b, 2038, stars=4)
    b = add_branch(session, world, "SAT")
    votes = {"appraisal": {"satisfied": 20, "basic": 5, "unsatisfied": 25}}
    add_assessment(session, world, b, 2038, stars=4, extras=votes)
    b = add_branch(session, world, "PROV")
    add_assessment(session, world, b, 2038, stars=1, status="scoring")
    b = add_branch(session, world, "OK")
    add_assessment(session, world, b, 2036, stars=3)
    add_assessment(session, world, b, 2037, stars=4)
    add_assessment(
        session,
        world,
        b,
        2038,
        stars=4,
        extras={"appraisal": {"satisfied": 40, "basic": 10, "unsatisfied": 5}},
    )
    session.commit()


def test_suggestions_show_each_sign(session: Session, world: World) -> None:
    _build(session, world)
    signs = _signs(world, session)
    assert signs["LOW"] == {"below_three"}
    assert signs["VETO"] == {"below_three", "vetoed"}
    assert signs["DOWN"] == {"down_two_years"}
    assert signs["VAC"] == {"secretary_vacant"}
    assert signs["SAT"] == {"low_satisfaction"}
    assert signs["PROV"] == {"below_three"}
    assert "VACNEW" not in signs and "OK" not in signs
    found = {
        s.branch.code.rsplit("-", 1)[1]: s
        for s in weak.suggestions(session, region_path=world.town.path, year=2038)
    }
    assert "初评星级为一星" in found["PROV"].signs[0].text
    assert "认定星级为二星" in found["LOW"].signs[0].text
    assert "50.0%" in found["SAT"].signs[0].text
    assert "书记受到党内严重警告处分" in next(s.text for s in found["VETO"].signs if s.code == "vetoed")
    assert "2036年五星 → 2037年四星 → 2038年三星" in found["DOWN"].signs[0].text


def test_a_veto_stored_in_another_shape_still_shows_the_sign(session: Session, world: World) -> None:
    """Extras written by hand (or by an old import) with vetoes as a list: the engine ignores them, and the
    register still shows the veto without its reasons instead of failing the page."""
    b = add_branch(session, world, "VLIST")
    extras = {"vetoes": [{"code": "V01", "reason": "书记受到处分"}]}
    add_assessment(session, world, b, 2038, stars=0, vetoed=True, extras=extras)
    session.commit()
    found = {
        s.branch.code.rsplit("-", 1)[1]: s
        for s in weak.suggestions(session, region_path=world.town.path, year=2038)
    }
    veto = next(s for s in found["VLIST"].signs if s.code == "vetoed")
    assert veto.text == "2038年度触发一票否决"


def test_confirm_reject_and_manual(session: Session, world: World) -> None:
    _build(session, world)
    low = world.branches["LOW"]
    row = weak.confirm(session, scope=world.scope, actor=ACTOR, data=WeakDecision(branch=low.code, year=2038))
    assert row.status == "listed" and [s["code"] for s in row.signs] == ["below_three"]
    with pytest.raises(Conflict):
        weak.confirm(session, scope=world.scope, actor=ACTOR, data=WeakDecision(branch=low.code, year=2038))

    sat = world.branches["SAT"]
    with pytest.raises(ValidationFailed) as exc:
        weak.reject(session, scope=world.scope, actor=ACTOR, data=WeakDecision(branch=sat.code, year=2038))
    assert "reason" in exc.value.field_errors
    rejected = weak.reject(
        session,
        scope=world.scope,
        actor=ACTOR,
        data=WeakDecision(branch=sat.code, year=2038, reason="测评样本不足，经核实群众评价总体良好"),
    )
    assert rejected.status == "rejected"

    ok = world.branches["OK"]
    with pytest.raises(ValidationFailed):
        weak.confirm(session, scope=world.scope, actor=ACTOR, data=WeakDecision(branch=ok.code, year=2038))
    manual = weak.list_manually(
        session,
        scope=world.scope,
        actor=ACTOR,
        data=WeakDecision(branch=ok.code, year=2038, reason="集中信访问题突出"),
    )
    assert manual.status == "listed" and manual.signs[-1]["code"] == "manual"
    session.commit()

    remaining = _signs(world, session)
    assert "LOW" not in remaining and "SAT" not in remaining
    actions = set(
        session.exec(
            select(AuditEvent.action).where(
                AuditEvent.entity_type == "weak_listing",
                AuditEvent.entity_id.in_([str(row.id), str(rejected.id), str(manual.id)]),  # type: ignore[attr-defined]
            )
        )
    )
    assert actions == {"weak.list", "weak.reject"}
    listed = weak.listings(session, region_path=world.town.path, year=2038)
    assert {w.status for w in listed} == {"listed", "rejected"}
    report = dynamic_service.weak_listings_for(session, scope=world.scope, year=2038)
    assert sorted(w.branch.code for w in report) == sorted([low.code, ok.code])


def test_rectification_followup_makeup_and_delisting(session: Session, world: World) -> None:
    b = add_branch(session, world, "R")
    add_assessment(session, world, b, 2036, stars=1)
    row = weak.confirm(session, scope=world.scope, actor=ACTOR, data=WeakDecision(branch=b.code, year=2036))
    lid = row.id or 0
    session.commit()

    def delist() -> WeakListing:
        return rectification.delist(
            session,
            scope=world.scope,
            actor=ACTOR,
            listing_id=lid,
            data=Delist(delisted_on=days_ago(0), reason="整顿达标", version=row.version),
        )

    with pytest.raises(ValidationFailed, match="尚未布置整顿任务"):
        delist()
    t1 = rectification.add_task(
        session,
        scope=world.scope,
        actor=ACTOR,
        listing_id=lid,
        data=TaskCreate(
            title="配齐支部委员", owner="镇党委副书记", deadline=days_ago(-30), version=row.version
        ),
    )
    t2 = rectification.add_task(
        session,
        scope=world.scope,
        actor=ACTOR,
        listing_id=lid,
        data=TaskCreate(title="规范三会一课", owner="支部书记", deadline=days_ago(-60), version=row.version),
    )
    rectification.update_task(
        session,
        scope=world.scope,
        actor=ACTOR,
        task_id=t1.id or 0,
        data=TaskUpdate(status="done", version=t1.version),
    )
    with pytest.raises(ValidationFailed, match="还有 1 项整顿任务未完成"):
        delist()
    with pytest.raises(Conflict):  # stale task version
        rectification.update_task(
            session,
            scope=world.scope,
            actor=ACTOR,
            task_id=t1.id or 0,
            data=TaskUpdate(status="open", version=1),
        )
    rectification.update_task(
        session,
        scope=world.scope,
        actor=ACTOR,
        task_id=t2.id or 0,
        data=TaskUpdate(status="done", version=t2.version),
    )
    with pytest.raises(ValidationFailed, match="尚未开展回头看"):
        delist()
    with pytest.raises(ValidationFailed) as exc:
        rectification.record_followup(
            session,
            scope=world.scope,
            actor=ACTOR,
            listing_id=lid,
            data=FollowupSave(followup_year=2036, passed=True, result="良好", version=row.version),
        )
    assert "followup_year" in exc.value.field_errors
    rectification.record_followup(
        session,
        scope=world.scope,
        actor=ACTOR,
        listing_id=lid,
        data=FollowupSave(followup_year=2037, passed=False, result="组织生活仍不规范", version=row.version),
    )
    assert weak.followup_passed(row) is False
    with pytest.raises(ValidationFailed, match="不合格"):
        delist()
    makeup = rectification.add_task(
        session,
        scope=world.scope,
        actor=ACTOR,
        listing_id=lid,
        data=TaskCreate(
            title="补开组织生活会", owner="支部书记", deadline=days_ago(-20), version=row.version
        ),
    )
    assert makeup.title.startswith("【补课】")
    rectification.update_task(
        session,
        scope=world.scope,
        actor=ACTOR,
        task_id=makeup.id or 0,
        data=TaskUpdate(status="done", version=makeup.version),
    )
    with pytest.raises(Conflict):  # stale listing version
        rectification.record_followup(
            session,
            scope=world.scope,
            actor=ACTOR,
            listing_id=lid,
            data=FollowupSave(followup_year=2037, passed=True, result="已整改", version=1),
        )
    rectification.record_followup(
        session,
        scope=world.scope,
        actor=ACTOR,
        listing_id=lid,
        data=FollowupSave(followup_year=2037, passed=True, result="补课后组织生活规范", version=row.version),
    )
    assert rectification.delist_problems(session, row) == []
    done = delist()
    assert done.status == "delisted" and done.delisted_on is not None
    session.commit()
    events = audit.for_entity(session, entity_type="weak_listing", entity_id=lid)
    assert [e.action for e in events][:2] == ["weak.delist", "weak.followup"]
    with pytest.raises(Conflict):
        rectification.add_task(
            session,
            scope=world.scope,
            actor=ACTOR,
            listing_id=lid,
            data=TaskCreate(title="x", owner="y", deadline=days_ago(0), version=row.version),
        )
