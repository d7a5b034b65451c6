"""The tablet in a real browser: the list, a whole scoring with a photo, conflicts, a dead network."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from app.assessments import evidence as evidence_service
from app.assessments import scoring
from app.assessments.models import Assessment
from app.branches.models import Branch
from app.db import session_scope
from tests.assessments.helpers import actor, fresh_assessment, png_bytes

pytestmark = pytest.mark.browser


def _json(page, url: str):  # type: ignore[no-untyped-def]
    r = page.request.get(url, headers={"Accept": "application/json"})
    assert r.ok, r.status
    return r.json()


def _item(page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#item-{code}")


def test_inspector_logs_in_and_sees_the_township(new_page) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        mine = list(
            s.exec(
                select(Branch.name)
                .where(
                    col(Branch.region_path).startswith("/99/9901/990102/990102001/"),
                    Branch.status == "active",
                )
                .order_by(Branch.code)
            )
        )
        other = s.exec(
            select(Branch.name).where(col(Branch.region_path).startswith("/99/9901/990102/990102002/"))
        ).first()
    page = new_page("inspector_qs1")
    page.get_by_role("link", name="现场考评").first.click()
    expect(page.locator("h1")).to_have_text("2026 年度现场考评")
    names = page.locator(".branch-list .br-name").all_inner_texts()
    assert set(mine[:5]) <= set(names)
    assert other not in names
    page.select_option("#status-filter", "scoring")
    expect(page).to_have_url(re.compile(r"status=scoring"))
    expect(page.locator(".branch-row").first).to_contain_text("考评中")


def test_score_a_whole_branch_with_a_reasoned_deduction_and_a_photo(new_page) -> None:  # type: ignore[no-untyped-def]
    aid, _code = fresh_assessment()
    with session_scope() as s:  # the 台账 photos of every item but A1 were taken earlier
        a = s.get(Assessment, aid)
        assert a is not None
        who = actor(s, "inspector_qs1")
        for leaf in scoring.criteria_of(s, a).items():
            if leaf.section == "category" and leaf.item.evidence_required and leaf.item.code != "A1":
                evidence_service.add(
                    s, actor=who, assessment=a, item_code=leaf.item.code, filename="p.png",
                    declared_type="image/png", data=png_bytes((16, 16)),
                )  # fmt: skip
    page = new_page("inspector_qs1")
    page.goto(f"/assessments/{aid}/score")
    page.evaluate("window.__sameDocument = true")
    total = page.locator("#total-value")
    before = total.inner_text()

    a1 = _item(page, "A1")
    a1.get_by_role("button", name=re.compile("书记未参加年度轮训")).click()
    expect(a1.locator(".save-state")).to_have_text("已保存")
    expect(total).not_to_have_text(before)
    a1.locator('[data-act="add-disc"]').click()
    a1.locator(".disc-points").fill("1")
    a1.locator(".disc-points").dispatch_event("change")
    expect(a1.locator(".save-state")).to_contain_text("未保存")
    expect(a1.locator(".item-error")).to_have_text("酌情扣分须写明理由")
    a1.locator(".disc-reason").fill("述职材料未归档")
    a1.locator(".disc-reason").dispatch_event("change")
    expect(a1.locator(".save-state")).to_have_text("已保存")
    a1.locator(".ev-input").set_input_files(
        {"name": "现场.png", "mimeType": "image/png", "buffer": png_bytes((800, 600), (20, 120, 200))}
    )
    expect(a1.locator(".ev img")).to_have_count(1)
    expect(a1.locator(".ev-missing")).to_have_count(0)
    expect(a1.locator(".item-status .score")).to_have_text("2")  # 5 - 2 - 1

    codes = page.locator(".group:not(#bonus):not(#penalty) .item").evaluate_all(
        "els => els.map(e => [e.dataset.item, e.dataset.mode])"
    )
    for code, mode in codes:
        if code == "A1":
            continue
        item = _item(page, code)
        if mode == "points":
            item.locator(".quick .chip").last.click()
        else:
            item.locator('[data-act="clear"]').click()
    expect(page.locator("#outbox-banner")).to_be_hidden(timeout=30_000)
    expect(page.locator(".group .item .save-state[data-state=saved]")).to_have_count(len(codes))
    expect(page.locator(".tb-progress")).to_contain_text(f"已评 {len(codes)}/")
    assert page.evaluate("window.__sameDocument") is True  # no page load while scoring
    data = _json(page, f"/assessments/{aid}/totals")
    assert data["missing"] == 0 and data["total"] == 97  # 100 - 2 - 1
    expect(total).to_have_text("97")

    page.once("dialog", lambda d: d.accept())
    page.locator("#submit-btn").click()
    expect(page.locator(".card-head .badge").first).to_have_text("已提交")
    expect(page.locator("#submit-btn")).to_have_count(0)
    expect(_item(page, "A4").locator(".points")).to_be_disabled()


def test_two_devices_edit_the_same_item(new_page, watch) -> None:  # type: ignore[no-untyped-def]
    watch.allow("status of 409")  # Chromium logs the refused write; the card handles it
    aid, _code = fresh_assessment()
    mine, theirs = new_page("admin"), new_page("inspector_qs1")
    for p in (mine, theirs):
        p.goto(f"/assessments/{aid}/score")
    _item(theirs, "A4").locator('.chip[data-value="2"]').click()
    expect(_item(theirs, "A4").locator(".save-state")).to_have_text("已保存")

    a4 = _item(mine, "A4")
    a4.locator('.chip[data-value="3"]').click()
    expect(a4.locator(".save-state")).to_have_text("有冲突·未保存")
    box = a4.locator(".sc-conflict")
    expect(box).to_be_visible()
    expect(box).to_contain_text("评审员甲")
    expect(box).to_contain_text("得分 2")
    expect(mine.locator("#outbox-banner")).to_contain_text("冲突")
    box.get_by_role("button", name="保留我的修改").click()
    expect(a4.locator(".save-state")).to_have_text("已保存")
    assert _json(mine, f"/assessments/{aid}/items/A4")["entry"] == {"points": "3"}

    # the other device is now behind: its change conflicts and it takes the server's value
    t4 = _item(theirs, "A4")
    t4.locator('.chip[data-value="1"]').click()
    expect(t4.locator(".sc-conflict")).to_contain_text("系统管理员")
    t4.get_by_role("button", name="采用对方的修改").click()
    expect(_item(theirs, "A4").locator(".points")).to_have_value("3")
    expect(_item(theirs, "A4").locator(".save-state")).to_have_text("已采用对方的修改")
    expect(theirs.locator("#outbox-banner")).to_be_hidden()
    assert _json(theirs, f"/assessments/{aid}/items/A4")["version"] == 2


def test_nothing_typed_is_lost_when_the_network_dies(new_page, watch) -> None:  # type: ignore[no-untyped-def]
    watch.allow("ERR_INTERNET_DISCONNECTED")  # the requests this test aborts on purpose
    aid, _code = fresh_assessment()
    page = new_page("inspector_qs1")
    page.goto(f"/assessments/{aid}/score")

    def dead(route):  # type: ignore[no-untyped-def]
        if route.request.method == "PUT":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/assessments/*/items/*", dead)
    a4 = _item(page, "A4")
    a4.locator('.chip[data-value="2"]').click()
    _item(page, "B1").locator('.preset[data-code="B1a"] [data-act="inc"]').click()
    expect(a4.locator(".save-state")).to_contain_text("未保存")
    banner = page.locator("#outbox-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("A4 村级后备人才")
    expect(banner).to_contain_text("B1 三会一课")
    stored = json.loads(
        page.evaluate(
            "Object.keys(localStorage).filter(k => k.startsWith('xj-outbox')).map(k => localStorage.getItem(k))[0]"
        )
    )
    assert {op["key"] for op in stored["ops"]} == {"item:A4", "item:B1"}

    page.reload()  # still offline: what was typed comes back from the tablet's storage
    expect(_item(page, "A4").locator(".points")).to_have_value("2")
    expect(page.locator("#outbox-banner")).to_contain_text("A4 村级后备人才")
    expect(_item(page, "A4").locator(".save-state")).to_contain_text("未保存")
    _item(page, "A3").locator('[data-act="clear"]').click()  # the inspector keeps working

    page.unroute("**/assessments/*/items/*")
    page.locator("#outbox-banner").get_by_role("button", name="立即重试").click()
    expect(page.locator("#outbox-banner")).to_be_hidden()
    for code in ("A4", "B1", "A3"):
        expect(_item(page, code).locator(".save-state")).to_have_text("已保存")
    assert _json(page, f"/assessments/{aid}/items/A4")["entry"] == {"points": "2"}
    assert _json(page, f"/assessments/{aid}/items/B1")["entry"] == {
        "deductions": [{"code": "B1a", "count": "1"}]
    }
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('xj-outbox')).length") == 0


@pytest.mark.parametrize(
    "viewport",
    [{"width": 768, "height": 1024}, {"width": 1024, "height": 768}, {"width": 390, "height": 844}],
)
def test_pages_have_no_console_errors_or_csp_violations(new_page, watch, viewport) -> None:  # type: ignore[no-untyped-def]
    aid, _code = fresh_assessment()
    page = new_page("inspector_qs1", viewport=viewport)
    for url in ("/", "/inspect?year=2026", f"/assessments/{aid}/score", f"/assessments/{aid}/audit"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert watch.csp(page) == [], url
    page.goto(f"/assessments/{aid}/score")
    page.locator('[data-act="explain"]').first.click()
    expect(page.locator("#explain-body")).to_contain_text("评定结果")
    small = page.locator(
        ".scorecard button:visible, .scorecard .chip:visible, .scorecard summary:visible"
    ).evaluate_all(
        "els => els.filter(e => { const r = e.getBoundingClientRect(); return r.height < 44 || r.width < 44; })"
        ".map(e => e.outerHTML.slice(0, 80))"
    )
    assert small == [], small  # touch targets ≥ 44 px
    assert watch.csp(page) == []
    assert watch.errors == []
