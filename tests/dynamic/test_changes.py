"""Mid-year star changes: final stars follow, a StarChange row and an audit event are written."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app import clock
from app.assessments.models import Assessment, Evidence
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.dynamic import changes
from app.dynamic.models import StarChange
from app.dynamic.schemas import StarChangeCreate
from app.errors import Conflict, ValidationFailed
from tests.dynamic.conftest import World, add_assessment, add_branch

ACTOR = audit.Actor(None, "测试")


def _data(code: str, **kw: object) -> StarChangeCreate:
    values: dict[str, object] = {
        "branch": code,
        "year": 2037,
        "event": "discipline",
        "occurred_on": clock.today(),
        "reason": "支部书记因违纪被立案审查",
        "document_number": "动纪发〔2037〕3号",
        "stars_after": 0,
        "version": 1,
    }
    values.update(kw)
    return StarChangeCreate.model_validate(values)


def _evidence(session: Session, a: Assessment) -> Evidence:
    ev = Evidence(
        assessment_id=a.id or 0,
        sha256="0" * 64,
        filename="通报.pdf",
        content_type="application/pdf",
        size=100,
    )
    session.add(ev)
    session.flush()
    return ev


def test_withdrawal_sets_final_stars_writes_change_and_audit(session: Session, world: World) -> None:
    b = add_branch(session, world, "S")
    a = add_assessment(session, world, b, 2037, stars=4)
    other = add_assessment(session, world, add_branch(session, world, "T"), 2037, stars=3)
    foreign = _evidence(session, other)
    own = _evidence(session, a)
    with pytest.raises(ValidationFailed) as exc:
        changes.change_stars(session, scope=world.scope, actor=ACTOR, data=_data(b.code, stars_after=4))
    assert "stars_after" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        changes.change_stars(
            session, scope=world.scope, actor=ACTOR, data=_data(b.code, evidence_id=foreign.id)
        )
    assert "evidence_id" in exc.value.field_errors
    with pytest.raises(Conflict):
        changes.change_stars(session, scope=world.scope, actor=ACTOR, data=_data(b.code, version=7))
    change = changes.change_stars(
        session, scope=world.scope, actor=ACTOR, data=_data(b.code, evidence_id=own.id)
    )
    session.commit()
    assert a.final_stars == 0 and a.version == 2 and a.stars == 4
    assert change.stars_before == 4 and change.stars_after == 0
    stored = session.exec(select(StarChange).where(StarChange.assessment_id == a.id)).one()
    assert stored.evidence_id == own.id and stored.document_number == "动纪发〔2037〕3号"
    event = session.exec(
        select(AuditEvent).where(
            AuditEvent.assessment_id == a.id, AuditEvent.action == "assessment.star_change"
        )
    ).one()
    assert event.old == {"final_stars": 4} and event.new["final_stars"] == 0
    assert event.reason is not None and event.reason.startswith("摘星")
    with pytest.raises(Conflict):  # already withdrawn
        changes.change_stars(session, scope=world.scope, actor=ACTOR, data=_data(b.code, version=2))
    listed = changes.changes(session, region_path=world.county.path, year=2037)
    assert [(c.branch.code, c.stars_after) for c in listed] == [(b.code, 0)]


def test_only_final_assessments_change(session: Session, world: World) -> None:
    b = add_branch(session, world, "U")
    add_assessment(session, world, b, 2038, stars=4, status="reviewed")
    with pytest.raises(ValidationFailed) as exc:
        changes.change_stars(session, scope=world.scope, actor=ACTOR, data=_data(b.code, year=2038))
    assert "year" in exc.value.field_errors


def test_withdrawal_page_form_and_json(session: Session, world: World, as_user) -> None:  # type: ignore[no-untyped-def]
    b = add_branch(session, world, "W")
    a = add_assessment(session, world, b, 2037, stars=5)
    session.commit()
    c = as_user(world.county_user)
    page = c.get(f"/dynamic/withdrawals?year=2037&branch={b.code}")
    assert page.status_code == 200 and 'name="version" value="1"' in page.text
    r = c.post(
        "/dynamic/withdrawals", data={"branch": b.code, "year": "2037", "version": "1", "event": "accident"}
    )
    assert r.status_code == 422 and "请填写发生日期" in r.text and "请填写理由" in r.text
    r = c.post(
        "/dynamic/withdrawals",
        data={
            "branch": b.code,
            "year": "2037",
            "version": "1",
            "event": "accident",
            "occurred_on": clock.today().isoformat(),
            "reason": "辖区发生较大安全生产事故",
            "stars_after": "3",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(a)
    assert a.final_stars == 3
    session.commit()  # end the read: on SQLite an open transaction holds the write lock
    data = c.json("/dynamic/withdrawals?year=2037").json()
    assert [(x["branch"]["code"], x["stars_before"], x["stars_after"]) for x in data["items"]] == [
        (b.code, 5, 3)
    ]
    r = c.client.post(
        "/dynamic/withdrawals",
        json={
            "branch": b.code,
            "year": 2037,
            "version": 1,
            "event": "other",
            "occurred_on": clock.today().isoformat(),
            "reason": "x",
            "stars_after": 1,
        },
        headers={"X-CSRF-Token": c.csrf, "Accept": "application/json"},
    )
    assert r.status_code == 409 and r.json()["current_version"] == 2
