"""Publicity notices and objections: open, list, print view, record and resolve, scope and roles."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app import clock
from app.assessments.models import Objection, Publicity
from app.db import get_engine
from tests.review.conftest import fresh, past_window, publicize


def _open(c, ar, **over):  # type: ignore[no-untyped-def]
    data = {
        "region": ar.township.code,
        "year": str(ar.year),
        "title": f"{ar.township.name}{ar.year}年度星级党支部评定结果公示",
        "starts_on": clock.today().isoformat(),
        "days": "5",
        "contact": "县委组织部组织科，电话 0000-2222222",
    } | over
    return c.post(f"/review/publicity?year={ar.year}", data=data, follow_redirects=False)


def test_open_publicity_and_notice_page(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=3, status="reviewed")
    c = as_area(ar)
    form = c.get(f"/review/publicity?year={ar.year}")
    assert form.status_code == 200
    assert f"{ar.county.name}{ar.year}年度星级党支部评定结果公示" in form.text  # prefilled title
    assert "已审核 3 个" in form.text and 'name="csrf_token"' in form.text
    r = _open(c, ar)
    assert r.status_code == 303, r.text
    pub_id = int(r.headers["location"].split("/")[-1].split("?")[0])
    assert all(fresh(i).status == "publicized" and fresh(i).publicity_id == pub_id for i in ar.ids)
    page = c.get(r.headers["location"])
    assert page.status_code == 200 and "公示已发布" in page.text and "notice-doc" in page.text
    assert "公示中" in page.text and (clock.today() + timedelta(days=4)).isoformat() in page.text
    data = c.json(f"/review/publicity/{pub_id}").json()
    assert data["state"] == "open" and len(data["entries"]) == 3
    listing = c.json(f"/review/publicity?year={ar.year}").json()["items"]
    assert [p["covered"] for p in listing if p["id"] == pub_id] == [3]


def test_open_publicity_refusals(login, area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1, status="reviewed")
    c = as_area(ar)
    r = _open(c, ar, contact="", days="40")
    assert r.status_code == 422
    assert "请填写异议受理方式" in r.text and "公示期须为 1–30 天" in r.text
    assert fresh(ar.ids[0]).status == "reviewed"
    assert _open(login("county_qs"), ar).status_code == 404
    assert _open(login("city_viewer"), ar).status_code == 403
    assert _open(login("inspector_qs1"), ar).status_code == 403
    assert c.post("/review/publicity", data={"region": ar.township.code}, csrf=False).status_code == 403
    empty = area(n=1, status="submitted")
    r = _open(as_area(empty), empty)
    assert r.status_code == 422 and "没有已审核的评定" in r.text


def test_objection_upheld_goes_back_to_review(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=3, status="reviewed")
    c = as_area(ar)
    pub_id = int(_open(c, ar).headers["location"].split("/")[-1].split("?")[0])
    url = f"/review/publicity/{pub_id}/objections"
    today = clock.today().isoformat()
    r = c.post(url, data={"assessment_id": ar.ids[0], "received_on": today, "content": ""})
    assert r.status_code == 422 and "请填写异议内容" in r.text
    r = c.post(url, data={"assessment_id": ar.ids[0], "received_on": "2020-01-01", "content": "x"})
    assert r.status_code == 422 and "须在" in r.text
    for aid in ar.ids[:2]:
        r = c.post(
            url,
            data={
                "assessment_id": aid,
                "received_on": today,
                "submitter": "村民张某",
                "content": "加分项材料不实",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
    with Session(get_engine()) as s:
        objs = list(s.exec(select(Objection).where(Objection.publicity_id == pub_id).order_by(Objection.id)))
    assert [o.status for o in objs] == ["pending", "pending"]
    resolve = f"/review/publicity/{pub_id}/objections/{objs[0].id}/resolve"
    r = c.post(resolve, data={"decision": "upheld", "resolution": ""})
    assert r.status_code == 422 and "请填写处理意见" in r.text
    r = c.post(
        resolve, data={"decision": "upheld", "resolution": "经核查属实，退回重新审核"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert fresh(ar.ids[0]).status == "submitted"
    r = c.post(
        f"/review/publicity/{pub_id}/objections/{objs[1].id}/resolve",
        data={"decision": "dismissed", "resolution": "经核查不属实"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and fresh(ar.ids[1]).status == "publicized"
    assert c.post(resolve, data={"decision": "dismissed", "resolution": "again"}).status_code == 409
    page = c.get(f"/review/publicity/{pub_id}").text
    assert "异议成立" in page and "异议不成立" in page and "已退回重审" in page


def test_objection_scope(login, area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1, status="reviewed")
    pub_id = publicize(ar, starts_on=clock.today())
    qs = login("county_qs")
    assert qs.get(f"/review/publicity/{pub_id}").status_code == 404
    r = qs.post(
        f"/review/publicity/{pub_id}/objections",
        data={"assessment_id": ar.ids[0], "received_on": clock.today().isoformat(), "content": "x"},
    )
    assert r.status_code == 404
    # another notice's objection id under this notice: 404
    assert (
        as_area(ar).post(f"/review/publicity/{pub_id}/objections/999999/resolve", data={}).status_code == 404
    )


def test_closed_window_is_shown(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1, status="reviewed")
    pub_id = publicize(ar, starts_on=past_window())
    page = as_area(ar).get(f"/review/publicity/{pub_id}")
    assert "公示期已结束" in page.text and "公示期满" in page.text
    with Session(get_engine()) as s:
        assert s.get(Publicity, pub_id) is not None
