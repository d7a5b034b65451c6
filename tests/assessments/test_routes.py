"""The tablet's routes: JSON and fragment renderings of the same calls, scope (403/404), CSRF."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from app.assessments.models import Assessment
from app.branches.models import Branch
from app.db import session_scope
from tests.assessments.helpers import PDF_BYTES, branch_user_for, fresh_assessment, new_branch, png_bytes

HX = {"HX-Request": "true"}
JSON = {"Accept": "application/json"}


@pytest.fixture()
def fresh() -> int:
    aid, _code = fresh_assessment()
    return aid


def _put(client, url, body, *, headers=None, csrf=True):  # type: ignore[no-untyped-def]
    h = dict(headers or {})
    if csrf:
        h["X-CSRF-Token"] = client.csrf
    return client.client.put(url, json=body, headers=h)


def test_inspector_list_in_three_renderings(login) -> None:  # type: ignore[no-untyped-def]
    c = login("inspector_qs1")
    page = c.get("/inspect?year=2026")
    assert page.status_code == 200 and "现场考评" in page.text and 'class="branch-list"' in page.text
    assert page.headers["vary"] == "HX-Request, Accept"
    frag = c.get("/inspect?year=2026&status=draft", headers=HX)
    assert frag.status_code == 200 and "<html" not in frag.text and 'id="branch-list"' in frag.text
    data = c.json("/inspect?year=2026").json()
    assert data["year"] == 2026 and data["items"]
    assert all(i["branch_code"].startswith("990102001") for i in data["items"])
    ranks = [
        {None: 0, "draft": 0, "self_submitted": 0, "returned": 1, "scoring": 2}.get(i["status"], 3)
        for i in data["items"]
    ]
    assert ranks == sorted(ranks)  # not yet visited first
    other = login("inspector_qs2").json("/inspect?year=2026").json()
    assert not {i["branch_code"] for i in other["items"]} & {i["branch_code"] for i in data["items"]}


def test_start_an_assessment_for_a_new_branch(login) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        code = new_branch(s).code
    c = login("inspector_qs1")
    item = next(i for i in c.json(f"/inspect?year=2026&q={code}").json()["items"])
    assert item["assessment_id"] is None and item["can_start"]
    assert (
        login("inspector_qs2").post("/inspect/start", data={"branch_code": code, "year": "2026"}).status_code
        == 404
    )
    r = c.post("/inspect/start", data={"branch_code": code, "year": "2026"}, follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/assessments/\d+/score", r.headers["location"])
    assert c.get(r.headers["location"]).status_code == 200


def test_scorecard_page_and_json_share_one_answer(login, fresh) -> None:  # type: ignore[no-untyped-def]
    c = login("inspector_qs1")
    page = c.get(f"/assessments/{fresh}/score")
    assert page.status_code == 200
    assert 'id="item-A1"' in page.text and 'id="totals-bar"' in page.text and "评分说明" in page.text
    assert 'capture="environment"' in page.text and "scorecard.js" in page.text
    assert "<script>" not in page.text  # CSP: no inline scripts
    data = c.json(f"/assessments/{fresh}/score").json()
    assert data["source"] == "inspector" and data["editable"] is True
    codes = [i["item_code"] for i in data["items"]]
    assert codes[:4] == ["A1", "A2", "A3", "A4"] and "J1" in codes and "K1" in codes
    assert data["totals"]["items_scored"] == 0 and data["extras"] == {}


def test_scope_on_every_route(login, fresh) -> None:  # type: ignore[no-untyped-def]
    outsider = login("inspector_qs2")
    for url in (f"/assessments/{fresh}/score", f"/assessments/{fresh}/audit", f"/assessments/{fresh}/totals"):
        assert outsider.get(url).status_code == 404
        assert outsider.json(url).status_code == 404
    assert (
        _put(outsider, f"/assessments/{fresh}/items/A4", {"entry": {"points": "1"}, "version": 0}).status_code
        == 404
    )
    demo_secretary = login("branch_qs1")
    assert demo_secretary.get(f"/assessments/{fresh}/score").status_code == 404
    county = login("county_qs")  # may look, may not score
    assert county.get(f"/assessments/{fresh}/score").status_code == 200
    assert county.json(f"/assessments/{fresh}/score").json()["editable"] is False
    r = _put(county, f"/assessments/{fresh}/items/A4", {"entry": {"points": "1"}, "version": 0}, headers=JSON)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert login("inspector_bh1").get(f"/assessments/{fresh}/score").status_code == 404


def test_item_save_json_and_fragment(login, fresh) -> None:  # type: ignore[no-untyped-def]
    c = login("inspector_qs1")
    url = f"/assessments/{fresh}/items/A4"
    r = _put(c, url, {"entry": {"points": "2"}, "note": "两名后备", "version": 0}, headers=JSON)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["item"]["version"] == 1 and body["item"]["score"] == 2 and body["item"]["note"] == "两名后备"
    assert body["totals"]["status"] == "scoring" and body["totals"]["items_scored"] == 1
    assert "score-saved" in r.headers["hx-trigger"]
    r = _put(c, url, {"entry": {"points": "3"}, "version": 1}, headers=HX)
    assert r.status_code == 200 and "<html" not in r.text
    assert 'id="status-A4"' in r.text and 'data-version="2"' in r.text
    assert 'id="totals-bar"' in r.text and r.text.count('hx-swap-oob="true"') == 2
    assert c.json(f"/assessments/{fresh}/items/A4").json()["entry"] == {"points": "3"}
    frag = c.get(f"/assessments/{fresh}/items/A4", headers=HX)
    assert frag.text.lstrip().startswith("{#") is False and 'id="item-A4"' in frag.text


def test_conflict_json_and_fragment(login, fresh) -> None:  # type: ignore[no-untyped-def]
    first, second = login("inspector_qs1"), login("admin")
    url = f"/assessments/{fresh}/items/B1"
    assert (
        _put(first, url, {"entry": {"deductions": [{"code": "B1a", "count": "1"}]}, "version": 0}).status_code
        == 200
    )
    r = _put(second, url, {"entry": {}, "version": 0}, headers=JSON)
    assert r.status_code == 409
    problem = r.json()
    assert problem["current"]["version"] == 1 and problem["current"]["updated_by"] == "评审员甲"
    assert problem["current"]["entry"] == {"deductions": [{"code": "B1a", "count": "1"}]}
    r = _put(second, url, {"entry": {}, "version": 0}, headers=HX)
    assert r.status_code == 409
    assert 'id="conflict-B1"' in r.text and "评审员甲" in r.text and "少召开支部党员大会 1 次" in r.text
    assert 'data-act="keep-mine"' in r.text and 'data-act="take-theirs"' in r.text
    assert (
        _put(second, url, {"entry": {}, "version": 1}).status_code == 200
    )  # keep mine → resend on version 1


def test_invalid_entry_json_and_fragment(login, fresh) -> None:  # type: ignore[no-untyped-def]
    c = login("inspector_qs1")
    url = f"/assessments/{fresh}/items/A1"
    body = {"entry": {"discretionary": [{"points": "1", "reason": ""}]}, "version": 0}
    r = _put(c, url, body, headers=JSON)
    assert r.status_code == 422 and "须写明理由" in r.text
    r = _put(c, url, body, headers=HX)
    assert r.status_code == 422 and 'id="error-A1"' in r.text and "须写明理由" in r.text
    assert _put(c, url, {"entry": {}, "version": "x"}, headers=JSON).status_code == 422


def test_writes_need_the_csrf_token(login, fresh) -> None:  # type: ignore[no-untyped-def]
    c = login("inspector_qs1")
    r = _put(c, f"/assessments/{fresh}/items/A4", {"entry": {"points": "1"}, "version": 0}, csrf=False)
    assert r.status_code == 403 and "CSRF" in r.text
    r = c.client.put(
        f"/assessments/{fresh}/items/A4", json={"entry": {}, "version": 0}, headers={"X-CSRF-Token": "forged"}
    )
    assert r.status_code == 403
    files = {"file": ("a.png", png_bytes(), "image/png")}
    assert c.client.post(f"/assessments/{fresh}/items/A1/evidence", files=files).status_code == 403
    assert c.post(f"/assessments/{fresh}/submit", csrf=False).status_code == 403


def test_extras_route(login, fresh) -> None:  # type: ignore[no-untyped-def]
    c = login("inspector_qs1")
    url = f"/assessments/{fresh}/extras"
    r = _put(
        c,
        url,
        {"vetoes": {"V01": "书记受留党察看处分"}, "prerequisites": [], "version": 1, "base": {}},
        headers=JSON,
    )
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["vetoed"] is True and r.json()["totals"]["stars"] == 0
    r = _put(c, url, {"vetoes": {}, "version": 1, "base": {}}, headers=HX)
    assert r.status_code == 409 and 'id="conflict-extras"' in r.text and "书记严重违纪违法" in r.text
    r = _put(
        c, url, {"vetoes": {}, "version": 1, "base": {"vetoes": {"V01": "书记受留党察看处分"}}}, headers=HX
    )
    assert r.status_code == 200 and 'id="extras-status"' in r.text and 'id="totals-bar"' in r.text


def test_submit_blocked_then_read_only(login, fresh) -> None:  # type: ignore[no-untyped-def]
    c = login("inspector_qs1")
    _put(c, f"/assessments/{fresh}/items/A4", {"entry": {"points": "3"}, "version": 0})
    r = c.post(f"/assessments/{fresh}/submit", headers=HX)
    assert r.status_code == 422 and "还不能提交" in r.text and "尚未评分" in r.text and "<html" not in r.text
    r = c.client.post(f"/assessments/{fresh}/submit", headers={**JSON, "X-CSRF-Token": c.csrf})
    assert r.status_code == 422 and r.json()["problems"]
    from tests.assessments.helpers import actor, score_everything

    with session_scope() as s:
        a = s.get(Assessment, fresh)
        assert a is not None
        score_everything(s, who=actor(s, "inspector_qs1"), a=a)
    r = c.post(f"/assessments/{fresh}/submit", headers=HX)
    assert r.status_code == 204 and r.headers["hx-redirect"] == f"/assessments/{fresh}/score"
    page = c.get(f"/assessments/{fresh}/score")
    assert "已提交" in page.text and "submit-btn" not in page.text and "disabled" in page.text
    assert (
        _put(c, f"/assessments/{fresh}/items/A4", {"entry": {"points": "1"}, "version": 2}).status_code == 423
    )


def test_returned_reason_is_shown(login, fresh) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        a = s.get(Assessment, fresh)
        assert a is not None
        a.status, a.returned_reason = "returned", "A1 扣分缺少会议记录照片"
    page = login("inspector_qs1").get(f"/assessments/{fresh}/score")
    assert "已退回" in page.text and "A1 扣分缺少会议记录照片" in page.text


def test_branch_secretary_self_assessment(login, fresh) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        a = s.get(Assessment, fresh)
        assert a is not None
        code = s.exec(select(Branch.code).where(Branch.id == a.branch_id)).one()
    sec = login(branch_user_for(code))
    data = sec.json(f"/assessments/{fresh}/score").json()
    assert data["source"] == "self" and data["editable"] is True
    r = _put(sec, f"/assessments/{fresh}/items/A4", {"entry": {"points": "3"}, "version": 0}, headers=JSON)
    assert r.status_code == 200 and r.json()["item"]["score"] == 3 and r.json()["totals"]["source"] == "self"
    page = sec.get(f"/assessments/{fresh}/score")
    assert "提交自评" in page.text and "支部自评" in page.text
    r = sec.post(f"/assessments/{fresh}/self-submit", headers=HX)
    assert r.status_code == 204
    assert sec.json(f"/assessments/{fresh}/score").json()["editable"] is False
    insp = login("inspector_qs1").json(f"/assessments/{fresh}/score").json()
    assert next(i for i in insp["items"] if i["item_code"] == "A4")["self_score"] == 3
    assert sec.get("/inspect").status_code == 200


def test_evidence_routes(login, fresh) -> None:  # type: ignore[no-untyped-def]
    c = login("inspector_qs1")
    up = f"/assessments/{fresh}/items/A1/evidence"
    r = c.post(up, files={"file": ("现场照片.png", png_bytes(), "image/png")}, headers=HX)
    assert r.status_code == 201 and 'id="evidence-A1"' in r.text and 'id="status-A1"' in r.text
    r = c.post(up, files={"file": ("台账.pdf", PDF_BYTES, "application/pdf")}, headers=JSON)
    assert r.status_code == 201
    listed = r.json()["evidence"]
    photo, pdf = listed[0], listed[1]
    img = c.get(photo["url"])
    assert img.status_code == 200 and img.headers["content-type"] == "image/png"
    assert img.headers["x-content-type-options"] == "nosniff"
    thumb = c.get(photo["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    doc = c.get(pdf["url"])
    assert doc.headers["content-type"] == "application/pdf"
    assert doc.headers["content-disposition"].startswith("attachment;")
    assert login("inspector_qs2").get(photo["url"]).status_code == 404
    assert login("county_qs").get(photo["url"]).status_code == 200
    r = c.post(up, files={"file": ("x.png", b"GIF89a....", "image/png")}, headers=JSON)
    assert r.status_code == 422 and "JPG" in r.json()["detail"]
    r = c.post(
        up, files={"file": ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "application/pdf")}, headers=JSON
    )
    assert r.status_code == 413 and "10 MB" in r.json()["detail"]
    r = c.client.delete(photo["url"], headers={**HX, "X-CSRF-Token": c.csrf})
    assert r.status_code == 200 and 'id="evidence-A1"' in r.text
    assert c.get(photo["url"]).status_code == 404


def test_audit_trail_oldest_first(login, fresh) -> None:  # type: ignore[no-untyped-def]
    c = login("inspector_qs1")
    _put(
        c,
        f"/assessments/{fresh}/items/A1",
        {"entry": {"deductions": [{"code": "A1b", "count": "1"}]}, "version": 0},
    )
    _put(c, f"/assessments/{fresh}/items/A1", {"entry": {}, "version": 1})
    data = c.json(f"/assessments/{fresh}/audit").json()
    actions = [e["action"] for e in data["events"]]
    assert actions[:4] == ["assessment.create", "assessment.transition", "score.inspector", "score.inspector"]
    assert [e["id"] for e in data["events"]] == sorted(e["id"] for e in data["events"])
    change = data["events"][3]
    assert change["old_text"] == "书记未参加年度轮训（－2）" and change["new_text"] == "已核查，无扣分"
    page = c.get(f"/assessments/{fresh}/audit")
    assert (
        page.status_code == 200
        and "评审员甲" in page.text
        and "未开始" in page.text
        and "考评中" in page.text
    )


def test_totals_and_explanation(login, fresh) -> None:  # type: ignore[no-untyped-def]
    c = login("inspector_qs1")
    totals = c.json(f"/assessments/{fresh}/totals").json()
    assert totals["source"] == "inspector" and totals["stars"] is not None
    frag = c.get(f"/assessments/{fresh}/totals", headers=HX)
    assert 'id="totals-bar"' in frag.text and "<html" not in frag.text
    steps = c.json(f"/assessments/{fresh}/explanation").json()["steps"]
    assert steps[0]["kind"] == "item" and steps[-1]["kind"] == "stars"
    assert "评定结果" in c.get(f"/assessments/{fresh}/explanation", headers=HX).text
