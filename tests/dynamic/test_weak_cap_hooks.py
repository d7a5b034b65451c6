"""The three-star block is applied where stars are computed: on every recompute and at finalisation."""

from __future__ import annotations

from sqlmodel import Session, select

from app.assessments import scoring, service, workflow
from app.assessments.models import Assessment
from app.audit.models import AuditEvent
from app.auth.scope import Scope
from app.dynamic.models import WeakListing
from tests.dynamic.conftest import World, add_branch, add_scored


def _list(session: Session, branch_id: int, year: int, region_path: str) -> WeakListing:
    listing = WeakListing(
        branch_id=branch_id,
        year=year,
        region_path=region_path,
        status="listed",
        signs=[{"code": "manual"}],
        reason="测试列入",
    )
    session.add(listing)
    session.flush()
    return listing


def test_recompute_caps_a_listed_branch_and_says_why(session: Session, world: World) -> None:
    branch = add_branch(session, world, "hook1")
    _list(session, branch.id or 0, 2037, world.town.path)
    a = add_scored(session, world, branch, 2037, {"A1": "45", "B1": "45"})  # 90 → five stars by band
    assert a.band_stars == 5
    assert a.stars == 2
    assert any(step.get("kind") == "weak_cap" for step in a.explanation)
    listing = session.exec(select(WeakListing).where(WeakListing.branch_id == branch.id)).one()
    listing.lifted = True
    listing.lift_reason = "县委研究同意解除"
    session.add(listing)
    session.flush()
    scoring.recompute(session, a)
    assert a.stars == 5
    session.rollback()


def test_finalize_caps_final_stars_and_audits(session: Session, world: World) -> None:
    branch = add_branch(session, world, "hook2")
    a = add_scored(session, world, branch, 2038, {"A1": "45", "B1": "45"}, status="publicized")
    assert a.stars == 5
    _list(session, branch.id or 0, 2038, world.town.path)
    actor = service.Actor(
        None, "测试", "county", Scope(world.county.id or 0, world.county.path, world.county.name)
    )
    workflow.finalize_rows(session, actor=actor, rows=[a])
    fresh = session.get(Assessment, a.id)
    assert fresh is not None and fresh.status == "final" and fresh.final_stars == 2
    assert any("软弱涣散" in line for line in fresh.quota_explanation)
    events = session.exec(
        select(AuditEvent).where(AuditEvent.assessment_id == a.id, AuditEvent.action == "assessment.weak_cap")
    ).all()
    assert len(events) == 1
    session.rollback()
