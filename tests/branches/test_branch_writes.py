"""Create, edit, dissolve, merge: validation, versions, roles, scope, CSRF, audit (HTML forms and JSON)."""

from __future__ import annotations

import re

import pytest

from tests.branches.conftest import (
    BH_VILLAGE,
    QS_VILLAGE,
    QS_VILLAGE_2,
    count_branches,
    events_of,
    read_branch,
    unique_code,
)

FIELD_ERROR = re.compile(r'<p class="field-error" id="err-([a-z_]+)" role="alert">([^<]*)</p>')


def form(code: str | None = None, **changes: str) -> dict[str, str]:
    values = {
        "code": unique_code() if code is None else code,
        "name": "中共测试社区支部委员会",
        "sector": "community",
        "region_code": QS_VILLAGE,
        "secretary_name": "李四",
        "secretary_phone": "0731-1234567",
        "member_count": "35",
        "founded_on": "2010-05-04",
    }
    values.update(changes)
    return values


def field_errors(html: str) -> dict[str, str]:
    return dict(FIELD_ERROR.findall(html))


def test_create_by_form_then_detail_and_audit(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    page = a.get("/branches/new")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    data = form()
    r = a.post("/branches", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/branches/{data['code']}?done=created"
    branch = read_branch(data["code"])
    assert branch is not None and branch.version == 1 and branch.member_count == 35
    assert branch.region_path.endswith(f"/{QS_VILLAGE}/")
    detail = a.get(r.headers["location"])
    assert "支部已新建" in detail.text and "中共测试社区支部委员会" in detail.text
    [event] = events_of(data["code"])
    assert event.action == "branch.create" and event.actor_label == "青山县委组织部"
    assert event.new["name"] == "中共测试社区支部委员会"


BAD_FIELDS = [
    ("code", "a", "支部编码须为 2–32 位字母、数字或短横线"),
    ("code", "含中文", "支部编码须为 2–32 位字母、数字或短横线"),
    ("code", "", "请填写支部编码"),
    ("name", "x", "支部名称须为 2–128 个字符"),
    ("name", "=HYPERLINK()", "支部名称不能以 = + - @ 开头"),
    ("name", "   ", "请填写支部名称"),
    ("sector", "martian", "领域须为"),
    ("region_code", "abc", "所在区划代码须为 2–12 位数字"),
    ("region_code", "", "请填写所在区划代码"),
    ("secretary_name", "长" * 33, "书记姓名不能超过 32 个字符"),
    ("secretary_phone", "call me", "书记电话只能包含数字、+、- 和空格"),
    ("member_count", "-1", "党员人数不能小于 0"),
    ("member_count", "100001", "党员人数不能大于 100000"),
    ("member_count", "many", "党员人数须为 0–100000 的整数"),
    ("founded_on", "2020-13-45", "成立日期格式应为 YYYY-MM-DD"),
    ("founded_on", "2999-01-01", "成立日期不能晚于今天"),
    ("founded_on", "1900-01-01", "成立日期不能早于 1921 年"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS)
def test_create_bad_field_is_422_at_the_field(as_user, field: str, value: str, message: str) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    data = form(**{field: value})
    before = count_branches()
    r = a.post("/branches", data=data)
    assert r.status_code == 422
    errors = field_errors(r.text)
    assert message in errors[field], errors
    assert set(errors) == {field}
    # The typed values are kept.
    if field != "code" and value.strip():
        assert f'value="{data["name"]}"' in r.text or field == "name"
    assert f'value="{data["code"]}"' in r.text or field == "code"
    assert count_branches() == before


def test_create_json_twin(as_user) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    code = unique_code()
    r = a.post("/branches", json=form(code), headers={"Accept": "application/json"})
    assert r.status_code == 201 and r.json()["code"] == code and r.json()["version"] == 1
    r = a.post(
        "/branches", json=form(unique_code(), member_count="x"), headers={"Accept": "application/json"}
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [{"field": "member_count", "message": "党员人数须为 0–100000 的整数"}]


def test_create_duplicate_code_and_out_of_scope_region(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    a = as_user("county_qs")
    existing = make_branch()
    r = a.post("/branches", data=form(existing))
    assert r.status_code == 422 and "支部编码已存在" in field_errors(r.text)["code"]
    code = unique_code()
    r = a.post("/branches", data=form(code, region_code=BH_VILLAGE))
    assert r.status_code == 404 and "不在您的管辖范围内" in field_errors(r.text)["region_code"]
    assert read_branch(code) is None


def test_edit_saves_increments_version_and_audits(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    code = make_branch()
    a = as_user("county_qs")
    page = a.get(f"/branches/{code}/edit")
    assert page.status_code == 200 and 'name="version" value="1"' in page.text
    data = form(code, name="中共测试村第二支部委员会", member_count="40", version="1")
    r = a.post(f"/branches/{code}/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
    branch = read_branch(code)
    assert branch is not None and branch.version == 2 and branch.name == "中共测试村第二支部委员会"
    event = events_of(code)[0]
    assert event.action == "branch.update"
    assert event.old["name"] == "中共测试村支部委员会" and event.new["name"] == "中共测试村第二支部委员会"
    assert event.old["version"] == 1 and event.new["version"] == 2
    # Saving the same values again is not a change: no new version.
    r = a.post(f"/branches/{code}/edit", data=data | {"version": "2"}, follow_redirects=False)
    assert r.status_code == 303 and read_branch(code).version == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(("field", "value", "message"), [b for b in BAD_FIELDS if b[0] != "code"])
def test_edit_bad_field_is_422_and_unchanged(
    as_user, make_branch, field: str, value: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    code = make_branch()
    a = as_user("county_qs")
    r = a.post(f"/branches/{code}/edit", data=form(code, version="1", **{field: value}))
    assert r.status_code == 422
    assert message in field_errors(r.text)[field]
    branch = read_branch(code)
    assert branch is not None and branch.version == 1 and branch.name == "中共测试村支部委员会"


def test_stale_version_is_409_with_current_values_and_who(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    code = make_branch()
    first, second = as_user("county_qs"), as_user("admin")
    r = second.post(f"/branches/{code}/edit", data=form(code, name="管理员改的名称", version="1"))
    assert r.status_code == 200  # followed the redirect to the detail page
    r = first.post(f"/branches/{code}/edit", data=form(code, name="县里改的名称", version="1"))
    assert r.status_code == 409
    assert "系统管理员" in r.text and "管理员改的名称" in r.text and "县里改的名称" in r.text
    assert 'name="version" value="2"' in r.text
    branch = read_branch(code)
    assert branch is not None and branch.name == "管理员改的名称" and branch.version == 2
    r = first.post(
        f"/branches/{code}/edit",
        json=form(code, name="县里改的名称", version=1),
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 409
    body = r.json()
    assert body["current"]["name"] == "管理员改的名称" and body["current"]["version"] == 2
    assert body["changed_by"] == "系统管理员"
    assert read_branch(code).name == "管理员改的名称"  # type: ignore[union-attr]


def test_edit_can_move_within_scope_only(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    code = make_branch()
    a = as_user("county_qs")
    r = a.post(f"/branches/{code}/edit", data=form(code, region_code=BH_VILLAGE, version="1"))
    assert r.status_code == 404 and "不在您的管辖范围内" in field_errors(r.text)["region_code"]
    r = a.post(f"/branches/{code}/edit", data=form(code, region_code=QS_VILLAGE_2, version="1"))
    assert r.status_code == 200
    assert read_branch(code).region_path.endswith(f"/{QS_VILLAGE_2}/")  # type: ignore[union-attr]


def test_county_cannot_touch_another_county(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    code = make_branch(region=BH_VILLAGE)
    a = as_user("county_qs")
    assert a.get(f"/branches/{code}/edit").status_code == 404
    r = a.post(f"/branches/{code}/edit", data=form(code, version="1"))
    assert r.status_code == 404
    r = a.post(
        f"/branches/{code}/dissolve", data={"dissolved_on": "2026-01-01", "reason": "撤并", "version": "1"}
    )
    assert r.status_code == 404
    mine = make_branch()
    r = a.post(f"/branches/{mine}/merge", data={"target_code": code, "reason": "合并", "version": "1"})
    assert r.status_code == 404 and "不在您的管辖范围内" in r.text
    assert read_branch(code).version == 1 and read_branch(mine).status == "active"  # type: ignore[union-attr]


@pytest.mark.parametrize("username", ["inspector_qs1", "city_viewer", "branch_qs1"])
def test_other_roles_get_403_on_every_write(as_user, make_branch, username: str) -> None:  # type: ignore[no-untyped-def]
    code = make_branch()
    a = as_user(username)
    assert a.get("/branches/new").status_code == 403
    assert a.get(f"/branches/{code}/edit").status_code == 403
    assert a.get("/branches/import").status_code == 403
    assert a.post("/branches", data=form()).status_code == 403
    assert a.post(f"/branches/{code}/edit", data=form(code, version="1")).status_code == 403
    dissolve = {"dissolved_on": "2026-01-01", "reason": "撤并", "version": "1"}
    assert a.post(f"/branches/{code}/dissolve", data=dissolve).status_code == 403
    merge = {"target_code": "990102001001-01", "reason": "合并", "version": "1"}
    assert a.post(f"/branches/{code}/merge", data=merge).status_code == 403
    files = {"file": ("b.csv", "支部编码,支部名称,领域,所在区划代码\n".encode(), "text/csv")}
    assert a.post("/branches/import", files=files).status_code == 403
    assert a.post("/regions/import", files=files).status_code == 403
    branch = read_branch(code)
    assert branch is not None and branch.version == 1 and branch.status == "active"


def test_edit_buttons_only_for_managers(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    code = make_branch()
    county, viewer = as_user("county_qs"), as_user("city_viewer")
    page = county.get(f"/branches/{code}")
    assert 'id="edit-link"' in page.text and 'id="dissolve"' in page.text and 'id="merge"' in page.text
    assert "13800000000" in page.text
    assert 'id="manage-actions"' in county.get("/branches").text
    page = viewer.get(f"/branches/{code}")
    assert page.status_code == 200
    assert 'id="edit-link"' not in page.text and 'id="dissolve"' not in page.text
    assert "13800000000" not in page.text
    assert 'id="manage-actions"' not in viewer.get("/branches").text


def test_csrf_missing_is_403_and_nothing_changes(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    code = make_branch()
    a = as_user("county_qs")
    new = form()
    assert a.post("/branches", data=new, csrf=False).status_code == 403
    assert read_branch(new["code"]) is None
    r = a.post(f"/branches/{code}/edit", data=form(code, name="不应保存", version="1"), csrf=False)
    assert r.status_code == 403
    dissolve = {"dissolved_on": "2026-01-01", "reason": "撤并", "version": "1", "csrf_token": "wrong"}
    assert a.post(f"/branches/{code}/dissolve", data=dissolve, csrf=False).status_code == 403
    branch = read_branch(code)
    assert branch is not None and branch.version == 1 and branch.status == "active"


def test_dissolve_rules(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    code = make_branch()
    a = as_user("county_qs")
    r = a.post(f"/branches/{code}/dissolve", data={"version": "1"})
    assert r.status_code == 422 and "请填写撤销日期" in r.text and "请填写原因" in r.text
    r = a.post(
        f"/branches/{code}/dissolve", data={"dissolved_on": "1999-01-01", "reason": "撤并", "version": "1"}
    )
    assert r.status_code == 422 and "撤销日期不能早于成立日期" in r.text
    assert 'value="1999-01-01"' in r.text  # typed value kept
    ok = {"dissolved_on": "2026-03-01", "reason": "村党组织合并调整", "version": "1"}
    r = a.post(f"/branches/{code}/dissolve", data=ok | {"version": "0"})
    assert r.status_code == 422
    r = a.post(f"/branches/{code}/dissolve", data=ok, follow_redirects=False)
    assert r.status_code == 303
    branch = read_branch(code)
    assert branch is not None and branch.status == "dissolved" and branch.version == 2
    assert str(branch.dissolved_on) == "2026-03-01" and branch.status_reason == "村党组织合并调整"
    event = events_of(code)[0]
    assert event.action == "branch.dissolve" and event.old["status"] == "active"
    assert event.new["status"] == "dissolved" and event.reason == "村党组织合并调整"
    page = a.get(f"/branches/{code}")
    assert "已撤销" in page.text and 'id="edit-link"' not in page.text
    data = a.json(f"/branches?status=dissolved&q={code}").json()
    assert data["total"] == 1 and data["items"][0]["status"] == "dissolved"
    # A dissolved branch cannot be edited or dissolved again.
    assert a.post(f"/branches/{code}/edit", data=form(code, version="2")).status_code == 409
    assert a.post(f"/branches/{code}/dissolve", data=ok | {"version": "2"}).status_code == 409


def test_merge_rules(as_user, make_branch) -> None:  # type: ignore[no-untyped-def]
    source, target, gone = make_branch(), make_branch(), make_branch()
    a = as_user("county_qs")
    a.post(
        f"/branches/{gone}/dissolve", data={"dissolved_on": "2026-01-01", "reason": "撤销", "version": "1"}
    )
    r = a.post(f"/branches/{source}/merge", data={"target_code": source, "reason": "合并", "version": "1"})
    assert r.status_code == 422 and "不能并入支部自身" in r.text
    r = a.post(f"/branches/{source}/merge", data={"target_code": gone, "reason": "合并", "version": "1"})
    assert r.status_code == 422 and "只能并入正常状态的支部" in r.text
    r = a.post(
        f"/branches/{source}/merge", data={"target_code": "NOPE-404", "reason": "合并", "version": "1"}
    )
    assert r.status_code == 404
    r = a.post(f"/branches/{source}/merge", data={"target_code": target, "version": "1"})
    assert r.status_code == 422 and "请填写原因" in r.text
    r = a.post(
        f"/branches/{source}/merge",
        json={"target_code": target, "reason": "两村合并", "version": 1},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "merged" and body["merged_into_code"] == target and body["version"] == 2
    assert events_of(source)[0].new["merged_into"] == target
    page = a.get(f"/branches/{source}")
    assert "已合并" in page.text and f'href="/branches/{target}"' in page.text
    # Nothing can be merged into a merged branch.
    other = make_branch()
    r = a.post(f"/branches/{other}/merge", data={"target_code": source, "reason": "合并", "version": "1"})
    assert r.status_code == 422
