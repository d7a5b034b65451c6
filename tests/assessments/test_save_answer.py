"""The item save answers from its own result: the same status line, totals bar and JSON a reload shows."""

from __future__ import annotations

import re

from sqlmodel import select

from app.assessments.models import Assessment
from app.branches.models import Branch
from app.db import session_scope
from tests.assessments.helpers import branch_user_for, fresh_assessment, png_bytes

HX = {"HX-Request": "true"}
JSON = {"Accept": "application/json"}


def _put(client, url, body, *, headers):  # type: ignore[no-untyped-def]
    return client.client.put(url, json=body, headers={**headers, "X-CSRF-Token": client.csrf})


def _div(html: str, div_id: str) -> str:
    found = re.search(rf'<div id="{div_id}".*?</div>', html, re.S)
    assert found, f"{div_id} not in the answer"
    return found.group(0).replace(' hx-swap-oob="true"', "")


def _branch_code(aid: int) -> str:
    with session_scope() as s:
        a = s.get(Assessment, aid)
        assert a is not None
        return s.exec(select(Branch.code).where(Branch.id == a.branch_id)).one()


def test_saved_fragment_equals_a_reload(login) -> None:  # type: ignore[no-untyped-def]
    aid, _code = fresh_assessment()
    sec = login(branch_user_for(_branch_code(aid)))
    assert (
        _put(
            sec, f"/assessments/{aid}/items/A4", {"entry": {"points": "3"}, "version": 0}, headers=JSON
        ).status_code
        == 200
    )
    c = login("inspector_qs1")
    up = c.post(
        f"/assessments/{aid}/items/A4/evidence", files={"file": ("照片.png", png_bytes(), "image/png")}
    )
    assert up.status_code == 201
    r = _put(
        c,
        f"/assessments/{aid}/items/A4",
        {"entry": {"points": "1"}, "note": "备注", "version": 0},
        headers=HX,
    )
    assert r.status_code == 200, r.text
    saved_status, saved_totals = _div(r.text, "status-A4"), _div(r.text, "totals-bar")
    assert "自评 3" in saved_status  # the self-assessment is on the inspector's line, as on the card
    reload_item = c.get(f"/assessments/{aid}/items/A4", headers=HX)
    assert _div(reload_item.text, "status-A4") == saved_status
    assert _div(c.get(f"/assessments/{aid}/totals", headers=HX).text, "totals-bar") == saved_totals
    page = c.get(f"/assessments/{aid}/score")
    assert _div(page.text, "status-A4") == saved_status


def test_saved_json_equals_a_reload(login) -> None:  # type: ignore[no-untyped-def]
    aid, _code = fresh_assessment()
    c = login("inspector_qs1")
    up = c.post(
        f"/assessments/{aid}/items/A1/evidence", files={"file": ("照片.png", png_bytes(), "image/png")}
    )
    assert up.status_code == 201
    url = f"/assessments/{aid}/items/A1"
    r = _put(c, url, {"entry": {}, "note": "已核查", "version": 0}, headers=JSON)
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["item"] == c.json(url).json()
    assert saved["totals"] == c.json(f"/assessments/{aid}/totals").json()
    card = c.json(f"/assessments/{aid}/score").json()
    assert next(i for i in card["items"] if i["item_code"] == "A1") == saved["item"]
    assert saved["item"]["version"] == 1 and saved["item"]["evidence"] and saved["item"]["updated_by"]
    # An unchanged retry answers the same, without a new version.
    again = _put(c, url, {"entry": {}, "note": "已核查", "version": 0}, headers=JSON)
    assert again.status_code == 200 and again.json() == saved
