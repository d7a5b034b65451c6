"""The 公示 notice: the publicized branches of 石桥县 by proposed stars, the window and the contact, as a page
and as a PDF; scope."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.assessments.models import Assessment, Publicity
from app.branches.models import Branch
from app.regions.models import Region
from tests.reports.conftest import download_name, flat, pdf_fonts, pdf_text


def _publicity(rdb: Session, code: str) -> Publicity:
    region = rdb.execute(select(Region).where(col(Region.code) == code)).scalars().one()
    return (
        rdb.execute(select(Publicity).where(Publicity.region_id == region.id, Publicity.year == 2026))
        .scalars()
        .one()
    )


def test_notice_lists_the_publicized_branches(login, rdb: Session) -> None:  # type: ignore[no-untyped-def]
    pub = _publicity(rdb, "990105")
    publicized = rdb.execute(
        select(func.count()).where(Assessment.publicity_id == pub.id, Assessment.status == "publicized")
    ).scalar_one()
    provisional_five = rdb.execute(
        select(func.count()).where(Assessment.publicity_id == pub.id, Assessment.stars == 5)
    ).scalar_one()
    # The notice proposes stars after the quotas (five stars ≤ 10 % per sector in the county).
    per_sector = rdb.execute(
        select(Assessment.sector, func.count())
        .where(Assessment.publicity_id == pub.id)
        .group_by(Assessment.sector)
    ).all()
    five_cap = sum(n // 10 for _sector, n in per_sector)
    c = login("city_viewer")
    data = c.json(f"/reports/notice?publicity={pub.id}").json()
    assert data["count"] == publicized > 0
    assert data["starts_on"] == pub.starts_on.isoformat() and data["ends_on"] == pub.ends_on.isoformat()
    assert data["contact"] == pub.contact and data["state"] == "open"
    assert [g["stars"] for g in data["groups"]] == sorted((g["stars"] for g in data["groups"]), reverse=True)
    five = len(next(g for g in data["groups"] if g["stars"] == 5)["rows"])
    assert 0 < five <= five_cap < provisional_five
    # by year and region: the same notice
    assert c.json("/reports/notice?year=2026&region=990105").json() == data
    html = c.get(f"/reports/notice?publicity={pub.id}").text
    window = f"{pub.starts_on.year}年{pub.starts_on.month}月{pub.starts_on.day}日至{pub.ends_on.year}年{pub.ends_on.month}月{pub.ends_on.day}日"
    assert pub.title in html and window in html and pub.contact in html
    assert "拟评定为五星级党支部" in html
    name = (
        rdb.execute(
            select(Branch.name)
            .join(Assessment, col(Assessment.branch_id) == Branch.id)
            .where(Assessment.publicity_id == pub.id)
        )
        .scalars()
        .first()
    )
    assert name and name in html
    assert f"/reports/notice.pdf?publicity={pub.id}" in html
    # the report page of the year links the county's notice
    assert f"/reports/notice?publicity={pub.id}" in c.get("/reports/annual?year=2026&region=990106").text


def test_notice_pdf(login, rdb: Session) -> None:  # type: ignore[no-untyped-def]
    pub = _publicity(rdb, "990105")
    r = login("admin").get(f"/reports/notice.pdf?publicity={pub.id}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert download_name(r) == "石桥县2026年度星级党支部评定结果公示.pdf"
    text = flat(pdf_text(r.content))
    assert pub.title in text and "中共石桥县委组织部" in text
    assert f"{pub.starts_on.year}年{pub.starts_on.month}月{pub.starts_on.day}日至" in text
    assert "石桥县委组织部组织科" in text and "0000-1234567" in text
    assert "拟评定为五星级党支部" in text and "第1页/共" in text
    names = (
        rdb.execute(
            select(Branch.name)
            .join(Assessment, col(Assessment.branch_id) == Branch.id)
            .where(Assessment.publicity_id == pub.id)
        )
        .scalars()
        .all()
    )
    assert sum(1 for n in names if flat(n) in text) == len(names)
    assert "NotoSansCJK" in pdf_fonts(r.content).replace("-", "")


def test_notice_scope(login, rdb: Session) -> None:  # type: ignore[no-untyped-def]
    pub = _publicity(rdb, "990105")
    qs = login("county_qs")
    assert qs.get(f"/reports/notice?publicity={pub.id}").status_code == 404
    assert qs.get(f"/reports/notice.pdf?publicity={pub.id}").status_code == 404
    assert qs.get("/reports/notice?year=2026&region=990105").status_code == 404
    assert qs.get("/reports/notice?year=2026").status_code == 404  # 青山县 has no notice in 2026
    assert qs.get("/reports/notice").status_code == 422
    assert login("inspector_qs1").get(f"/reports/notice?publicity={pub.id}").status_code == 403
