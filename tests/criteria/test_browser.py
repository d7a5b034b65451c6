"""The criteria editor and sheet in a real browser: htmx section saves, errors at the field, no CSP violations."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.criteria.helpers import as_yaml, lib_doc

pytestmark = pytest.mark.browser


def _create(page, year: int) -> str:  # type: ignore[no-untyped-def]
    page.goto("/criteria/new")
    page.fill("#upload-text", as_yaml(lib_doc("example-shape-a", year)))
    page.click("#upload-card button[type=submit]")
    page.wait_for_url("**/criteria/*?done=created")
    return page.url.split("/criteria/")[1].split("?")[0]


def test_edit_sections_in_place(new_page, watch) -> None:  # type: ignore[no-untyped-def]
    watch.allow("status of 422")  # Chromium logs the refused save; the section shows the errors
    page = new_page("county_qs", viewport={"width": 1280, "height": 1000})
    set_id = _create(page, 2095)
    expect(page.locator("#done")).to_contain_text("草稿已创建")
    page.click("#edit-link")
    bands = page.locator("#sec-bands")
    bands.locator("input[name='bands[0].min']").fill("92")
    bands.locator("button[type=submit]").click()
    expect(page.locator("#sec-bands .notice")).to_contain_text("已保存（第 2 版）")
    # The other sections got the new version: saving one of them is not a conflict.
    expect(page.locator("#version-vetoes")).to_have_value("2")
    bands = page.locator("#sec-bands")
    bands.locator("input[name='bands[1].min']").fill("95")
    bands.locator("button[type=submit]").click()
    expect(page.locator("#sec-bands .error-box")).to_contain_text("分数线须随星级降低而严格递减")
    expect(page.locator("#sec-bands input[name='bands[1].min']")).to_have_value("95")
    expect(page.locator("#sec-bands [data-for='bands[1].min']")).to_be_visible()
    vetoes = page.locator("#sec-vetoes")
    vetoes.locator("input[name='vetoes[0].name']").fill("书记受到党纪处分")
    vetoes.locator("button[type=submit]").click()
    expect(page.locator("#sec-vetoes .notice")).to_contain_text("已保存（第 3 版）")
    page.goto(f"/criteria/{set_id}")
    expect(page.locator("#sec-vetoes")).to_contain_text("书记受到党纪处分")
    expect(page.locator("#sec-bands")).to_contain_text("92")
    page.once("dialog", lambda d: d.accept())
    page.click("#publish-btn")
    page.wait_for_url("**?done=published")
    expect(page.locator("#status")).to_have_text("已发布")
    expect(page.locator("#content-hash")).to_be_visible()
