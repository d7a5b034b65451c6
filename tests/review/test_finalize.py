"""Finalization: the quota preview equals what finalize writes; refusals during the window and with
pending objections; forcing is for administrators, with a reason, audited; stale previews are 409."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app import clock
from app.assessments.models import Assessment, Objection, Publicity
from app.audit.models import AuditEvent
from app.db import get_engine
from tests.review.conftest import fresh, past_window, publicize


def _preview(c, region: str, year: int = 2026) -> dict:  # type: ignore[no-untyped-def]
    r = c.json(f"/review/finalize?year={year}&region={region}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _confirm(c, region: str, fingerprint: str, year: int = 2026, **extra):  # type: ignore[no-untyped-def]
    data = {"year": str(year), "region": region, "fingerprint": fingerprint} | extra
    return c.post("/review/finalize", data=data, follow_redirects=False)


def test_preview_equals_what_finalize_writes(area, as_area) -> None:  # type: ignore[no-untyped-def]
    # 8 strong rural branches: five stars is capped at 10 % of 8 = 0, so the quota moves every 五星 down
    ar = area(n=8, status="reviewed", quality=0.97, seed=5)
    pub_id = publicize(ar, starts_on=past_window())
    c = as_area(ar)
    page = c.get(f"/review/finalize?year={ar.year}&region={ar.township.code}")
    assert page.status_code == 200 and "比例控制前" in page.text and "确认认定 8 个支部的星级" in page.text
    preview = _preview(c, ar.township.code, ar.year)
    assert preview["count"] == 8 and not preview["blockers"]
    (group,) = preview["groups"]
    assert group["pool"] == group["members"] == 8
    assert sum(group["before"].values()) == sum(group["after"].values()) == 8
    before_five = group["before"].get("5", 0)
    assert before_five > 0, "the generator should give some five-star branches"
    assert group["after"].get("5", 0) == 0
    assert len(group["moved"]) == before_five
    assert all(m["before"] == 5 and m["after"] == 4 and m["explanation"] for m in group["moved"])
    assert "排第" in page.text and "超出名额" in page.text

    r = _confirm(c, ar.township.code, preview["fingerprint"], ar.year)
    assert r.status_code == 303, r.text
    written = {str(i): fresh(i).final_stars for i in ar.ids}
    assert written == preview["decisions"]
    assert all(fresh(i).status == "final" for i in ar.ids)
    moved = {m["assessment_id"] for m in group["moved"]}
    assert all(fresh(i).quota_explanation for i in moved)
    with Session(get_engine()) as s:
        pub = s.get(Publicity, pub_id)
        assert pub is not None and pub.status == "closed"
    done = c.get(r.headers["location"])
    assert "星级已认定" in done.text and "已认定星级（8 个）" in done.text
    after = _preview(c, ar.township.code, ar.year)
    assert after["count"] == 0 and len(after["final"]) == 8


def test_refused_during_the_window_and_with_pending_objections(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=3, status="reviewed", seed=2)
    publicize(ar, starts_on=clock.today())
    c = as_area(ar)
    preview = _preview(c, ar.township.code, ar.year)
    assert any("公示期满后才能认定" in b for b in preview["blockers"])
    page = c.get(f"/review/finalize?year={ar.year}&region={ar.township.code}")
    assert "暂不能认定" in page.text and "disabled" in page.text and "强制认定" not in page.text
    versions = {i: fresh(i).version for i in ar.ids}
    r = _confirm(c, ar.township.code, preview["fingerprint"], ar.year)
    assert r.status_code == 409 and "公示期满后才能认定" in r.text
    # a county user cannot force
    r = _confirm(c, ar.township.code, preview["fingerprint"], ar.year, force="1", force_reason="赶进度")
    assert r.status_code == 403
    assert all(fresh(i).status == "publicized" and fresh(i).version == versions[i] for i in ar.ids)


def test_pending_objection_blocks_after_the_window(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=2, status="reviewed", seed=3)
    pub_id = publicize(ar, starts_on=past_window())
    with Session(get_engine()) as s:
        s.add(
            Objection(
                publicity_id=pub_id, assessment_id=ar.ids[0], received_on=past_window(), content="有异议"
            )
        )
        s.commit()
    c = as_area(ar)
    preview = _preview(c, ar.township.code, ar.year)
    assert preview["blockers"] == ["尚有 1 件异议未处理"]
    r = _confirm(c, ar.township.code, preview["fingerprint"], ar.year)
    assert r.status_code == 409 and "尚有未处理的异议" in r.text
    assert fresh(ar.ids[0]).status == "publicized"


def test_admin_may_force_with_a_reason(login, area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=2, status="reviewed", seed=4)
    publicize(ar, starts_on=clock.today())
    admin = login("admin")
    preview = _preview(admin, ar.township.code, ar.year)
    assert "强制认定" in admin.get(f"/review/finalize?year={ar.year}&region={ar.township.code}").text
    r = _confirm(admin, ar.township.code, preview["fingerprint"], ar.year, force="1", force_reason="")
    assert r.status_code == 422 and "请填写强制认定的理由" in r.text
    assert fresh(ar.ids[0]).status == "publicized"
    r = _confirm(
        admin,
        ar.township.code,
        preview["fingerprint"],
        ar.year,
        force="1",
        force_reason="市委统一部署提前认定",
    )
    assert r.status_code == 303
    assert {str(i): fresh(i).final_stars for i in ar.ids} == preview["decisions"]
    with Session(get_engine()) as s:
        ev = s.exec(
            select(AuditEvent).where(
                AuditEvent.action == "finalize.force", AuditEvent.entity_id == ar.township.code
            )
        ).one()
        assert ev.reason == "市委统一部署提前认定" and ev.actor_label


def test_stale_preview_is_409(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=2, status="reviewed", seed=6)
    publicize(ar, starts_on=past_window())
    c = as_area(ar)
    preview = _preview(c, ar.township.code, ar.year)
    with Session(get_engine()) as s:
        a = s.get(Assessment, ar.ids[0])
        assert a is not None
        a.version += 1
        s.add(a)
        s.commit()
    r = _confirm(c, ar.township.code, preview["fingerprint"], ar.year)
    assert r.status_code == 409 and "请重新预览" in r.text
    assert fresh(ar.ids[1]).status == "publicized"


def test_demo_publicity_window_refuses_and_scope(login) -> None:  # type: ignore[no-untyped-def]
    admin = login("admin")
    preview = _preview(admin, "990105")
    assert preview["count"] > 0 and preview["blockers"]
    with Session(get_engine()) as s:
        before = s.exec(
            select(col(Assessment.status)).where(col(Assessment.region_path).startswith("/99/9901/990105/"))
        ).all()
    assert _confirm(admin, "990105", preview["fingerprint"]).status_code == 409
    with Session(get_engine()) as s:
        after = s.exec(
            select(col(Assessment.status)).where(col(Assessment.region_path).startswith("/99/9901/990105/"))
        ).all()
    assert sorted(before) == sorted(after)
    assert login("county_qs").get("/review/finalize?year=2026&region=990105").status_code == 404
    assert (
        login("county_qs").post("/review/finalize", data={"year": "2026", "region": "990105"}).status_code
        == 404
    )
    assert login("city_viewer").get("/review/finalize").status_code == 403
    assert (
        login("inspector_qs1").post("/review/finalize", data={"year": "2026", "region": "990102"}).status_code
        == 403
    )
    assert (
        admin.post("/review/finalize", data={"year": "2026", "region": "990105"}, csrf=False).status_code
        == 403
    )
