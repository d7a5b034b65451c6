"""Bulk approval: all or nothing, with the list of those that cannot be approved."""

from __future__ import annotations

from sqlmodel import Session

from app.branches.models import Branch
from app.db import get_engine
from tests.review.conftest import fresh


def _picks(ids: list[int]) -> list[str]:
    return [f"{i}:{fresh(i).version}" for i in ids]


def test_bulk_approves_all(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=3)
    c = as_area(ar)
    r = c.post(
        f"/review/approve?year=2026&region={ar.township.code}",
        data={"pick": _picks(ar.ids)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert f"region={ar.township.code}" in r.headers["location"] and "done=bulk&n=3" in r.headers["location"]
    assert all(fresh(i).status == "reviewed" for i in ar.ids)
    assert "已批量审核通过" in c.get(r.headers["location"]).text


def test_bulk_is_all_or_nothing(area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=4)
    c = as_area(ar)
    picks = _picks(ar.ids)
    stale_id = ar.ids[1]
    picks[1] = f"{stale_id}:{fresh(stale_id).version - 1}"
    # one of them was already returned by a colleague
    v = fresh(ar.ids[2]).version
    assert (
        c.post(f"/review/assessments/{ar.ids[2]}/return", data={"version": v, "reason": "补材料"}).status_code
        == 200
    )
    picks[2] = f"{ar.ids[2]}:{fresh(ar.ids[2]).version}"
    versions = {i: fresh(i).version for i in ar.ids}
    r = c.post("/review/approve?year=2026", data={"pick": picks})
    assert r.status_code == 409
    assert "本次一条也未审核" in r.text and "bulk-problems" in r.text
    branch_ids = [fresh(i).branch_id for i in ar.ids]
    with Session(get_engine()) as s:
        names = [s.get(Branch, b).name for b in branch_ids]  # type: ignore[union-attr]
    assert names[1] in r.text and names[2] in r.text and "已退回" in r.text
    assert names[0] not in r.text
    assert [fresh(i).status for i in ar.ids] == ["submitted", "submitted", "returned", "submitted"]
    assert all(fresh(i).version == versions[i] for i in ar.ids)
    # htmx: just the problem list; JSON: problem+json with the list
    frag = c.post("/review/approve?year=2026", data={"pick": picks}, headers={"HX-Request": "true"})
    assert frag.status_code == 409 and "<html" not in frag.text and "bulk-problems" in frag.text
    js = c.client.post(
        "/review/approve",
        json={"pick": picks},
        headers={"X-CSRF-Token": c.csrf, "Accept": "application/json"},
    )
    assert js.status_code == 409
    assert {p["id"] for p in js.json()["problems"]} == {stale_id, ar.ids[2]}


def test_bulk_needs_a_selection_and_the_role(login, area, as_area) -> None:  # type: ignore[no-untyped-def]
    ar = area(n=1)
    c = as_area(ar)
    r = c.post("/review/approve?year=2026", data={})
    assert r.status_code == 422 and "请至少勾选" in r.text
    assert login("city_viewer").post("/review/approve", data={"pick": _picks(ar.ids)}).status_code == 403
    assert login("county_qs").post("/review/approve", data={"pick": _picks(ar.ids)}).status_code == 404
    assert c.post("/review/approve", data={"pick": _picks(ar.ids)}, csrf=False).status_code == 403
    assert fresh(ar.ids[0]).status == "submitted"
