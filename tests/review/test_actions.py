"""One assessment: the read-only review page and its actions (approve, return, reopen, designation) with
every refusal: role, scope, CSRF, missing reason, stale version."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.db import get_engine
from tests.review.conftest import fresh


def _first(login, user: str, status: str) -> dict:  # type: ignore[no-untyped-def]
    c = login(user)
    items = c.json(f"/review?year=2026&status={status}").json()["items"]
    assert items
    return items[0]


def test_page_shows_scores_explanation_and_actions(login, area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=2)
    c = as_area(ar)
    r = c.get(f"/review/assessments/{ar.ids[0]}")
    assert r.status_code == 200
    text = r.text
    for needle in ("分项得分", "计分说明", "总分", "审核通过", "退回评审员", "直接定级", "流转记录", "自评"):
        assert needle in text, needle
    assert f'name="version" value="{fresh(ar.ids[0]).version}"' in text
    data = c.json(f"/review/assessments/{ar.ids[0]}").json()
    assert data["id"] == ar.ids[0] and data["status"] == "submitted" and data["self_total"] is not None
    assert "<" not in str(data)


def test_demo_pages_render_in_every_state(login) -> None:  # type: ignore[no-untyped-def]
    c = login("admin")
    for status in ("submitted", "returned", "scoring", "reviewed", "publicized", "final", "draft"):
        items = c.json(f"/review?year=2026&status={status}&per_page=1").json()["items"]
        assert items, status
        r = c.get(f"/review/assessments/{items[0]['id']}")
        assert r.status_code == 200, status
        assert ("重新打开" in r.text) == (status in ("submitted", "reviewed", "publicized", "final"))


def test_approve(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1)
    c = as_area(ar)
    before = fresh(ar.ids[0])
    r = c.post(
        f"/review/assessments/{ar.ids[0]}/approve",
        data={"version": before.version},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("done=approved")
    after = fresh(ar.ids[0])
    assert after.status == "reviewed" and after.version == before.version + 1 and after.reviewed_at
    with Session(get_engine()) as s:
        ev = s.exec(
            select(AuditEvent)
            .where(AuditEvent.assessment_id == ar.ids[0], AuditEvent.action == "assessment.transition")
            .order_by(col(AuditEvent.id).desc())
        ).first()
        assert ev is not None and ev.new == {"status": "reviewed"} and ev.actor_label.startswith("测试")
    assert "已审核通过" in c.get(r.headers["location"]).text


def test_htmx_approve_redirects(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1)
    c = as_area(ar)
    v = fresh(ar.ids[0]).version
    r = c.post(
        f"/review/assessments/{ar.ids[0]}/approve", data={"version": v}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 204 and r.headers["HX-Redirect"].startswith(f"/review/assessments/{ar.ids[0]}")


def test_stale_version_is_409_and_unchanged(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1)
    c = as_area(ar)
    before = fresh(ar.ids[0])
    for action, extra in (("approve", {}), ("return", {"reason": "请补充材料"})):
        r = c.post(f"/review/assessments/{ar.ids[0]}/{action}", data={"version": before.version - 1, **extra})
        assert r.status_code == 409
        assert "已被他人修改" in r.text and f'name="version" value="{before.version}"' in r.text
        after = fresh(ar.ids[0])
        assert (after.status, after.version) == ("submitted", before.version)
    r = c.client.post(
        f"/review/assessments/{ar.ids[0]}/approve",
        json={"version": before.version - 1},
        headers={"X-CSRF-Token": c.csrf, "Accept": "application/json"},
    )
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")


def test_return_needs_a_reason(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1)
    c = as_area(ar)
    v = fresh(ar.ids[0]).version
    r = c.post(f"/review/assessments/{ar.ids[0]}/return", data={"version": v, "reason": "   "})
    assert r.status_code == 422
    assert "请填写退回理由" in r.text and "has-error" in r.text
    assert fresh(ar.ids[0]).status == "submitted" and fresh(ar.ids[0]).version == v
    frag = c.post(
        f"/review/assessments/{ar.ids[0]}/return",
        data={"version": v, "reason": ""},
        headers={"HX-Request": "true"},
    )
    assert frag.status_code == 422 and "<html" not in frag.text and "请填写退回理由" in frag.text
    ok = c.post(
        f"/review/assessments/{ar.ids[0]}/return",
        data={"version": v, "reason": "第三项扣分缺少佐证"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    after = fresh(ar.ids[0])
    assert after.status == "returned" and after.returned_reason == "第三项扣分缺少佐证"


def test_reopen_locked_with_reason(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1, status="reviewed")
    c = as_area(ar)
    v = fresh(ar.ids[0]).version
    r = c.post(f"/review/assessments/{ar.ids[0]}/reopen", data={"version": v, "reason": ""})
    assert r.status_code == 422 and "请填写理由" in r.text
    assert fresh(ar.ids[0]).status == "reviewed"
    r = c.post(
        f"/review/assessments/{ar.ids[0]}/reopen",
        data={"version": v, "reason": "群众反映加分项材料不实"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and fresh(ar.ids[0]).status == "scoring"
    with Session(get_engine()) as s:
        ev = s.exec(
            select(AuditEvent)
            .where(AuditEvent.assessment_id == ar.ids[0], AuditEvent.action == "assessment.transition")
            .order_by(col(AuditEvent.id).desc())
        ).first()
        assert ev is not None and ev.reason == "群众反映加分项材料不实"
    # approve is refused outside 'submitted': 409, nothing changes
    v = fresh(ar.ids[0]).version
    assert c.post(f"/review/assessments/{ar.ids[0]}/approve", data={"version": v}).status_code == 409


def test_designation(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1, quality=0.7)
    c = as_area(ar)
    v = fresh(ar.ids[0]).version
    r = c.post(
        f"/review/assessments/{ar.ids[0]}/designation", data={"version": v, "stars": "5", "reason": ""}
    )
    assert r.status_code == 422 and "请填写理由" in r.text and "请填写文件依据" in r.text
    assert not fresh(ar.ids[0]).designated
    r = c.post(
        f"/review/assessments/{ar.ids[0]}/designation",
        data={
            "version": v,
            "stars": "5",
            "reason": "获评省级先进基层党组织",
            "document": "示组发〔2026〕12号",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    after = fresh(ar.ids[0])
    assert (
        after.designated
        and after.stars == 5
        and after.extras["designation"]["document"] == "示组发〔2026〕12号"
    )
    r = c.post(
        f"/review/assessments/{ar.ids[0]}/designation",
        data={"version": after.version, "clear": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and not fresh(ar.ids[0]).designated


def test_roles_scope_and_csrf(login, area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1)
    aid = ar.ids[0]
    v = fresh(aid).version
    # an inspector and a read-only viewer may not act
    qs_item = _first(login, "county_qs", "submitted")
    inspector = login("inspector_qs1")
    assert (
        inspector.post(
            f"/review/assessments/{qs_item['id']}/approve", data={"version": qs_item["version"]}
        ).status_code
        == 403
    )
    assert inspector.get(f"/review/assessments/{qs_item['id']}").status_code == 403
    viewer = login("city_viewer")
    assert viewer.get(f"/review/assessments/{aid}").status_code == 200
    assert "审核通过" not in viewer.get(f"/review/assessments/{aid}").text
    assert viewer.post(f"/review/assessments/{aid}/approve", data={"version": v}).status_code == 403
    # another county: 404 for reading and acting
    bh_item = _first(login, "county_bh", "submitted")
    qs = login("county_qs")
    assert qs.get(f"/review/assessments/{bh_item['id']}").status_code == 404
    for action in ("approve", "return", "reopen", "designation"):
        r = qs.post(
            f"/review/assessments/{bh_item['id']}/{action}",
            data={"version": bh_item["version"], "reason": "x"},
        )
        assert r.status_code == 404, action
    assert fresh(bh_item["id"]).status == "submitted" and fresh(bh_item["id"]).version == bh_item["version"]
    # no CSRF token: 403 and unchanged
    c = as_area(ar)
    assert c.post(f"/review/assessments/{aid}/approve", data={"version": v}, csrf=False).status_code == 403
    assert fresh(aid).status == "submitted" and fresh(aid).version == v
