"""The three-star block: a listed branch is capped at two stars until delisted or lifted."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.dynamic import rectification, weak
from app.dynamic import service as dynamic_service
from app.dynamic.models import WeakListing
from app.dynamic.schemas import Lift, WeakDecision
from tests.dynamic.conftest import World, add_assessment, add_branch, add_scored

ACTOR = audit.Actor(None, "测试")


def _listing(session: Session, world: World, key: str, year: int) -> WeakListing:
    b = world.branches[key]
    return weak.list_manually(
        session,
        scope=world.scope,
        actor=ACTOR,
        data=WeakDecision(branch=b.code, year=year, reason="书记不胜任"),
    )


def test_weak_star_cap_and_apply(session: Session, world: World) -> None:
    b = add_branch(session, world, "CAP")
    final = add_assessment(session, world, b, 2037, stars=4)
    assert dynamic_service.weak_star_cap(session, branch_id=b.id or 0, year=2037) == (None, None)
    assert dynamic_service.apply_weak_cap(session, final) is False

    _listing(session, world, "CAP", 2037)
    cap, why = dynamic_service.weak_star_cap(session, branch_id=b.id or 0, year=2037)
    assert cap == 2 and why is not None and "软弱涣散" in why and "二星" in why
    assert dynamic_service.weak_star_cap(session, branch_id=b.id or 0, year=2036) == (None, None)
    assert dynamic_service.weak_star_cap(session, branch_id=b.id or 0, year=2038)[0] == 2

    # A final assessment (the confirm left it alone) is capped when the finalize path calls the hook.
    assert final.final_stars == 4
    assert dynamic_service.apply_weak_cap(session, final) is True
    assert final.stars == 2 and final.final_stars == 2
    assert why in final.quota_explanation
    assert any(s.get("kind") == "weak_cap" for s in final.explanation)
    assert dynamic_service.apply_weak_cap(session, final) is False  # idempotent
    session.commit()
    events = list(
        session.exec(
            select(AuditEvent).where(
                AuditEvent.assessment_id == final.id, AuditEvent.action == "assessment.weak_cap"
            )
        )
    )
    assert len(events) == 1 and events[0].old == {"stars": 4, "final_stars": 4}
    assert events[0].new == {"stars": 2, "final_stars": 2}


def test_listing_caps_open_assessment_and_lifting_restores_it(session: Session, world: World) -> None:
    b = add_branch(session, world, "OPEN")
    a = add_scored(session, world, b, 2038, {"A1": "45", "B1": "40"})
    assert a.total is not None and a.stars == 4
    listing = _listing(session, world, "OPEN", 2038)
    assert a.stars == 2  # capped at once on listing
    session.commit()

    # The scoring recompute path applies the block itself (the engine alone would say four).
    from app.assessments import scoring

    scoring.recompute(session, a)
    assert a.band_stars == 4 and a.stars == 2
    assert dynamic_service.apply_weak_cap(session, a) is False and a.stars == 2

    rectification.lift(
        session,
        scope=world.scope,
        actor=ACTOR,
        listing_id=listing.id or 0,
        data=Lift(reason="支部已完成整改，县委组织部研究同意解除", version=listing.version),
    )
    assert dynamic_service.weak_star_cap(session, branch_id=b.id or 0, year=2038) == (None, None)
    assert a.stars == 4  # rescored without the cap
    assert dynamic_service.apply_weak_cap(session, a) is False
    session.commit()
    actions = list(
        session.exec(
            select(AuditEvent.action).where(AuditEvent.assessment_id == a.id).order_by(col(AuditEvent.id))
        )
    )
    assert "assessment.weak_cap" in actions and actions[-1] == "assessment.weak_cap_removed"
