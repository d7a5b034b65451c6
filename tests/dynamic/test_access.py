"""Scope, roles and CSRF on every dynamic-management route; the pages on the demo data."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from app import clock
from app.branches.models import Branch
from app.dynamic.models import WeakListing
from tests.dynamic.conftest import World, add_assessment, add_branch


@pytest.fixture(scope="module")
def bh_branch() -> str:
    """A branch of 白河县 (990103), only read or refused: demo data stays untouched."""
    from app.db import get_engine

    with Session(get_engine()) as s:
        b = s.exec(
            select(Branch)
            .where(col(Branch.region_path).startswith("/99/9901/990103/"))
            .order_by(col(Branch.code))
        ).first()
        assert b is not None
        return b.code


WRITES = [
    ("/dynamic/weak/manual", {"branch": "{bh}", "year": "2025", "reason": "测试"}),
    ("/dynamic/weak/confirm", {"branch": "{bh}", "year": "2025"}),
    ("/dynamic/demo-sites", {"branch": "{bh}", "year": "2025"}),
    (
        "/dynamic/withdrawals",
        {
            "branch": "{bh}",
            "year": "2025",
            "version": "1",
            "event": "other",
            "occurred_on": clock.today().isoformat(),
            "reason": "测试",
            "stars_after": "0",
        },
    ),
    ("/dynamic/visits", {"branch": "{bh}", "visited_on": clock.today().isoformat()}),
]


def _fill(values: dict[str, str], bh: str) -> dict[str, str]:
    return {k: v.replace("{bh}", bh) for k, v in values.items()}


@pytest.mark.parametrize(("url", "values"), WRITES)
def test_county_user_cannot_act_on_another_county(
    login, bh_branch: str, url: str, values: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    qs = login("county_qs")
    r = qs.post(url, data=_fill(values, bh_branch))
    assert r.status_code == 404, r.text
    assert qs.get(f"/dynamic/branches/{bh_branch}/timeline").status_code == 404
    r = qs.client.get(f"/dynamic/withdrawals?branch={bh_branch}&year=2025")
    assert r.status_code == 404


@pytest.mark.parametrize(("url", "values"), WRITES[:4])
def test_inspector_and_viewer_cannot_take_county_actions(
    login, bh_branch: str, url: str, values: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    for who in ("inspector_qs1", "city_viewer"):
        r = login(who).post(url, data=_fill(values, bh_branch))
        assert r.status_code == 403, (who, r.text)
    assert (
        login("city_viewer").post("/dynamic/visits", data=_fill(WRITES[4][1], bh_branch)).status_code == 403
    )


def test_csrf_is_required(session: Session, world: World, as_user) -> None:  # type: ignore[no-untyped-def]
    b = add_branch(session, world, "C")
    add_assessment(session, world, b, 2038, stars=1)
    session.commit()
    c = as_user(world.county_user)
    r = c.post("/dynamic/weak/confirm", data={"branch": b.code, "year": "2038"}, csrf=False)
    assert r.status_code == 403 and "CSRF" in r.text
    r = c.post(
        "/dynamic/weak/confirm", data={"branch": b.code, "year": "2038", "csrf_token": "wrong"}, csrf=False
    )
    assert r.status_code == 403
    assert session.exec(select(WeakListing).where(WeakListing.branch_id == b.id)).first() is None
    session.commit()
    r = c.post(
        "/dynamic/weak/confirm",
        data={"branch": b.code, "year": "2038", "csrf_token": c.csrf},
        csrf=False,
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_weak_register_flow_over_http(session: Session, world: World, as_user, login) -> None:  # type: ignore[no-untyped-def]
    b = add_branch(session, world, "H")
    add_assessment(session, world, b, 2037, stars=2)
    session.commit()
    c = as_user(world.county_user)
    data = c.json("/dynamic/weak?year=2037").json()
    assert [s["branch"]["code"] for s in data["suggestions"]] == [b.code]
    r = c.post("/dynamic/weak/reject", data={"branch": b.code, "year": "2037"})
    assert r.status_code == 422
    assert 'class="field-error"' in r.text and "请填写不予列入的理由" in r.text
    r = c.post("/dynamic/weak/confirm", data={"branch": b.code, "year": "2037"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dynamic/weak?year=2037&done=listed"
    lid = session.exec(select(WeakListing.id).where(WeakListing.branch_id == b.id)).one()
    session.commit()
    assert c.get(f"/dynamic/weak/{lid}").status_code == 200
    r = c.post(f"/dynamic/weak/{lid}/tasks", data={"version": "1", "title": "", "owner": "镇党委"})
    assert r.status_code == 422 and "请填写任务" in r.text and "请填写完成时限" in r.text
    r = c.post(
        f"/dynamic/weak/{lid}/tasks",
        data={"version": "1", "title": "选优配强书记", "owner": "镇党委", "deadline": "2038-03-31"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = c.post(
        f"/dynamic/weak/{lid}/delist",
        data={"version": "2", "delisted_on": clock.today().isoformat(), "reason": "达标"},
    )
    assert r.status_code == 422 and "暂不能摘帽" in r.text
    r = c.post(f"/dynamic/weak/{lid}/lift", data={"version": "1", "reason": "x"})
    assert r.status_code == 409 and "已被他人修改" in r.text
    detail = c.json(f"/dynamic/weak/{lid}").json()
    assert detail["status"] == "listed" and detail["tasks"][0]["title"] == "选优配强书记"
    assert "尚未开展回头看" in detail["delist_problems"]
    # Another county's staff: 404; an inspector of the township: reads, but 403 on writes.
    assert login("county_qs").get(f"/dynamic/weak/{lid}").status_code == 404
    insp = as_user(world.inspector_user)
    assert insp.get(f"/dynamic/weak/{lid}").status_code == 200
    assert insp.post(f"/dynamic/weak/{lid}/lift", data={"version": "2", "reason": "x"}).status_code == 403
    task_id = detail["tasks"][0]["id"]
    assert (
        insp.post(f"/dynamic/weak/tasks/{task_id}", data={"version": "1", "status": "done"}).status_code
        == 403
    )
    assert (
        login("county_qs")
        .post(f"/dynamic/weak/tasks/{task_id}", data={"version": "1", "status": "done"})
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    "url",
    [
        "/dynamic/weak?year=2025",
        "/dynamic/demo-sites?year=2025",
        "/dynamic/withdrawals?year=2025",
        "/dynamic/planner?year=2026",
    ],
)
def test_pages_on_demo_data(login, url: str) -> None:  # type: ignore[no-untyped-def]
    qs = login("county_qs")
    page = qs.get(url)
    assert page.status_code == 200 and "动态管理" in page.text and 'href="/dynamic/weak"' in page.text
    assert page.headers["vary"] == "HX-Request, Accept"
    frag = qs.get(url, headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "<html" not in frag.text
    data = qs.json(url).json()
    assert isinstance(data, dict) and data["year"] in (2025, 2026)
    for item in data.get("suggestions", []) + data.get("items", []):
        assert item["branch"]["region_path"].startswith("/99/9901/990102/")
    assert login("branch_qs1").get(url).status_code == 403
