"""The visit planner: ordering and reasons; recording a visit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from app.assessments.models import ScoreEntry
from app.audit import service as audit
from app.db_types import utcnow
from app.dynamic import service as dynamic_service
from app.dynamic import weak
from app.dynamic.models import Visit
from app.dynamic.schemas import WeakDecision
from tests.dynamic.conftest import World, add_assessment, add_branch, add_scored, days_ago

ACTOR = audit.Actor(None, "测试")


def _scored_at(session: Session, world: World, when: datetime) -> None:
    """Branch S, with a 2036 assessment whose inspector last scored an item at `when`."""
    s = add_branch(session, world, "S")
    a = add_assessment(session, world, s, 2036, stars=3)
    entry = {"points": "40"}
    session.add(
        ScoreEntry(assessment_id=a.id or 0, source="inspector", item_code="A1", entry=entry, updated_at=when)
    )


def _build(session: Session, world: World) -> None:
    w = add_branch(session, world, "W")
    weak.list_manually(
        session,
        scope=world.scope,
        actor=ACTOR,
        data=WeakDecision(branch=w.code, year=2037, reason="书记不胜任"),
    )
    session.add(Visit(branch_id=w.id or 0, visited_on=days_ago(0)))
    _scored_at(session, world, utcnow() - timedelta(days=400))
    n = add_branch(session, world, "N")
    session.add(Visit(branch_id=n.id or 0, visited_on=days_ago(365), purpose="回访"))
    i = add_branch(session, world, "I")
    add_scored(session, world, i, 2037, {"A1": "20", "B1": "25"}, status="final")
    session.add(Visit(branch_id=i.id or 0, visited_on=days_ago(0)))
    r = add_branch(session, world, "R")
    session.add(Visit(branch_id=r.id or 0, visited_on=days_ago(0)))
    session.commit()


def test_priorities_order_and_reasons(session: Session, world: World) -> None:
    _build(session, world)
    items = dynamic_service.visit_priorities(session, scope=world.town_scope, year=2038)
    keys = [p.branch.code.rsplit("-", 1)[1] for p in items]
    assert keys == ["W", "S", "N", "I", "R"]
    by = {p.branch.code.rsplit("-", 1)[1]: p for p in items}
    assert by["W"].listed and "整顿中" in by["W"].reasons[0]
    assert by["S"].last_visit_source == "scoring" and by["S"].days_since == 400
    assert any("现场考评已 400 天" in r for r in by["S"].reasons)
    assert by["N"].last_visit_source == "visit" and by["N"].score == 50.0
    assert len(by["I"].weak_items) == 2 and "A1 三会一课（得 20/50 分）" in by["I"].weak_items
    assert any("2 项指标失分过半" in r for r in by["I"].reasons)
    assert by["R"].score == 0 and by["R"].reasons == []


def test_planner_page_and_recording_a_visit(session: Session, world: World, as_user, login) -> None:  # type: ignore[no-untyped-def]
    _build(session, world)
    insp = as_user(world.inspector_user)
    data = insp.json("/dynamic/planner?year=2038").json()
    assert [p["branch"]["code"].rsplit("-", 1)[1] for p in data["items"]] == ["W", "S", "N", "I", "R"]
    page = insp.get("/dynamic/planner?year=2038")
    assert page.status_code == 200 and "整顿中" in page.text
    frag = insp.get("/dynamic/planner?year=2038", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "<html" not in frag.text and 'id="priorities"' in frag.text
    code = world.branches["S"].code
    r = insp.post(
        "/dynamic/visits?year=2038",
        data={"branch": code, "visited_on": days_ago(-3).isoformat(), "purpose": "回访"},
    )
    assert r.status_code == 422 and "走访日期不能晚于今天" in r.text
    r = insp.post(
        "/dynamic/visits?year=2038",
        data={"branch": code, "visited_on": days_ago(0).isoformat(), "purpose": "回访", "note": "台账已补齐"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    data = insp.json("/dynamic/planner?year=2038").json()
    assert data["recent"][0]["branch_code"] == code and data["recent"][0]["note"] == "台账已补齐"
    assert [p["branch"]["code"].rsplit("-", 1)[1] for p in data["items"]][:2] == ["W", "N"]
    # Outside the inspector's township: 404.
    qs = login("county_qs")
    r = qs.post("/dynamic/visits", data={"branch": code, "visited_on": days_ago(0).isoformat()})
    assert r.status_code == 404


def test_days_since_a_scoring_counts_beijing_days(session: Session, world: World) -> None:
    """A score saved at 17:00 UTC was saved the next morning in Beijing; the count agrees at any hour."""
    _scored_at(session, world, datetime(2026, 3, 1, 17, 0, tzinfo=UTC))  # 2026-03-02 01:00 in Beijing
    session.commit()
    items = dynamic_service.visit_priorities(
        session, scope=world.town_scope, year=2038, today=date(2026, 3, 12)
    )
    (p,) = [p for p in items if p.branch.code.endswith("-S")]
    assert p.last_visit == date(2026, 3, 2) and p.days_since == 10
