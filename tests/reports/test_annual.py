"""The annual report: numbers against the rankings service and direct SQL, the draft watermark, the links to
the views behind each figure, PDF (text, fonts, page numbers, file name) and XLSX read back."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import case, func, select
from sqlmodel import Session, col

from app.assessments.models import Assessment
from app.auth.scope import Scope
from app.db import get_read_engine
from app.labels import SECTORS, STARS
from app.rankings import comparisons
from app.rankings import service as rankings
from app.regions.models import Region
from app.reports import pdf
from app.reports.schemas import AnnualReport
from app.web.templating import fmt_score
from tests.reports.conftest import Pdf, download_name, flat, pdf_fonts, pdf_pages, pdf_text

COMPLETED = ("submitted", "reviewed", "publicized", "final")
HEADINGS = [
    "一、总体情况",
    "二、星级分布（按领域）",
    "三、星级分布（按乡镇/街道）",
    "五、星级变动情况",
    "六、比例控制执行情况",
    "七、一票否决与直接定级",
    "八、示范点选树",
    "九、需整顿提升的党支部",
    "十、失分较多的指标",
    "附件：",
]
PAGE_ONLY = ["附表：", "党支部星级排名（按领域）"]


def _sql_figures(rdb: Session, code: str, year: int) -> tuple[int, dict[int, int], int]:
    """(assessments, shown-star distribution of the completed ones, completed) straight from the table."""
    path = f"%/{code}/%"
    a: object = Assessment
    shown = case(
        (col(Assessment.status) == "final", col(Assessment.final_stars)), else_=col(Assessment.stars)
    )
    total = rdb.execute(
        select(func.count()).where(Assessment.year == year, col(Assessment.region_path).like(path))
    ).scalar_one()
    rows = rdb.execute(
        select(shown, func.count())
        .select_from(a)  # type: ignore[arg-type]
        .where(
            Assessment.year == year,
            col(Assessment.region_path).like(path),
            col(Assessment.status).in_(COMPLETED),
        )
        .group_by(shown)
    ).all()
    dist = {int(s): int(n) for s, n in rows if s is not None}
    return int(total), dist, sum(int(n) for _s, n in rows)


def _sql_dist(report: dict) -> tuple[int, dict[int, int], int]:
    """(branches of one to five stars, their distribution, completed) of the report's county and year."""
    with Session(get_read_engine()) as rdb:
        _total, dist, completed = _sql_figures(rdb, report["region"]["code"], report["year"])
    stars = {s: n for s, n in dist.items() if s >= 1}
    return sum(stars.values()), stars, completed


def _city_scope(rdb: Session) -> Scope:
    city = rdb.execute(select(Region).where(col(Region.code) == "9901")).scalars().one()
    return Scope(region_id=city.id or 0, region_path=city.path, region_name=city.name)


def test_summary_matches_sql_and_rankings_service(login, rdb: Session) -> None:  # type: ignore[no-untyped-def]
    c = login("county_qs")
    r = c.json("/reports/annual?year=2026&region=990102")
    assert r.status_code == 200
    data = r.json()
    total, dist, completed = _sql_figures(rdb, "990102", 2026)
    s = data["summary"]
    assert s["assessments"] == total and total >= 185  # 185 in the demo; other tests may add more
    assert s["rated"] == completed and s["not_rated"] == total - completed
    assert {int(k): v for k, v in s["distribution"].items() if v} == dist
    assert data["draft"] is True and data["not_final"] == total
    scope = _city_scope(rdb)
    region = rankings.resolve_region(rdb, scope=scope, code="990102")
    overall = comparisons.compare_children(rdb, scope=scope, year=2026, region=region, sector=None).overall
    assert s["upgrades"] == overall.upgrades and s["downgrades"] == overall.downgrades
    assert s["share_3plus"] == overall.share_3plus
    assert data["ranked_count"] == completed == sum(len(x["rows"]) for x in data["ranking"])
    assert data["five_star_count"] == dist.get(5, 0)
    assert sum(len(g["rows"]) for g in data["five_star"]) == dist.get(5, 0)
    # every branch below three stars, vetoed or down two years running is on the rectification list
    below = sum(n for stars, n in dist.items() if stars < 3)
    assert len(data["rectification"]) >= below
    kinds = {c["kind"] for c in data["changes"]}
    assert len(data["changes"]) == s["upgrades"] + s["downgrades"] and kinds <= {"up", "down", "withdrawn"}
    assert all(c["causes"] for c in data["changes"])
    # the sector and township tables add up to the summary
    assert sum(g["completed"] for g in data["by_sector"]) == completed
    assert sum(g["completed"] for g in data["by_child"]) == completed


def test_page_has_every_section_the_watermark_and_links(login) -> None:  # type: ignore[no-untyped-def]
    c = login("county_qs")
    r = c.get("/reports/annual?year=2026&region=990102")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    html = r.text
    for heading in HEADINGS + PAGE_ONLY:
        assert heading in html, heading
    assert html.count('class="rp-table rp-ranking"') == len(
        c.json("/reports/annual?year=2026&region=990102").json()["ranking"]
    )
    assert "草稿 · 未定稿" in html and 'class="rp-watermark"' in html
    assert 'data-draft="true"' in html
    for link in (
        "/rankings/compare?year=2026&amp;region=990102",
        "/rankings?year=2026&amp;region=990102&amp;sector=all&amp;stars=5",
        "/rankings/heatmap?year=2026&amp;region=990102&amp;by=sector",
        "/rankings/quotas?year=2026&amp;region=990102",
        "/rankings/years?region=990102&amp;a=2025&amp;b=2026",
        "/rankings/branches/",
    ):
        assert link in html, link
    assert "<svg" in html and 'font-family=\'"Noto Sans CJK SC"' in html
    assert "<script>" not in html and " style=" not in html.split("<svg", 1)[0]  # CSP: nothing inline
    assert "/static/report.css" in html and "/reports/annual.pdf?year=2026&amp;region=990102" in html


def test_final_scopes_have_no_watermark(login) -> None:  # type: ignore[no-untyped-def]
    c = login("city_viewer")
    for query in ("year=2026&region=990106", "year=2025&region=990102"):
        data = c.json(f"/reports/annual?{query}").json()
        assert data["draft"] is False and data["not_final"] == 0
        assert data["summary"]["final"] == data["summary"]["rated"] == data["summary"]["assessments"]
        html = c.get(f"/reports/annual?{query}").text
        assert "草稿" not in html and "rp-watermark" not in html and 'data-draft="false"' in html
        assert "拟命名五星级党支部名单" in html


def test_quotas_are_met_once_final(login) -> None:  # type: ignore[no-untyped-def]
    data = login("city_viewer").json("/reports/annual?year=2026&region=990106").json()
    lines = [q for q in data["quotas"] if q["kind"]]
    assert lines and all(q["all_final"] and q["complies"] for q in lines)
    assert any(q["before_quota"] > q["shown"] for q in lines)  # the quota moved branches down
    draft = login("county_qs").json("/reports/annual?year=2026&region=990102").json()
    assert any(q["complies"] is False and "认定时" in q["note"] for q in draft["quotas"] if q["kind"])


def test_draft_pdf(qs_pdf: Pdf) -> None:
    text, report = qs_pdf.text, qs_pdf.report
    assert qs_pdf.name == "青山县2026年度星级党支部评定结果.pdf"
    assert "青山县2026年度星级党支部评定结果" in text and "中共青山县委组织部" in text
    for heading in HEADINGS:
        assert flat(heading) in text, heading
    assert not any(flat(heading) in text for heading in PAGE_ONLY)
    assert "草稿·未定稿" in text
    s = report["summary"]
    assert f"共有{s['assessments']}个党支部参加星级评定，已完成考评{s['rated']}个" in text
    assert f"五星{s['distribution']['5']}个" in text
    pages = pdf_pages(qs_pdf.body)
    assert pages >= 3
    assert f"第1页/共{pages}页" in text and f"第{pages}页/共{pages}页" in text
    fonts = pdf_fonts(qs_pdf.body)
    cjk = [line for line in fonts.splitlines() if "CJK-SC" in line.replace(" ", "-")]
    assert cjk, fonts
    assert all(" yes " in line for line in cjk)  # embedded
    assert "JP" not in fonts and "MS-" not in fonts  # Simplified Chinese glyphs, no fallback fonts
    # the printed report has the star list and points to the XLSX for the full ranking
    assert text.count("名次") == 1 and f"全部{report['ranked_count']}个已完成考评支部的领域内名次" in text
    assert "Excel版“全部排名”工作表" in text


def _lists_are_printed(pdf: Pdf) -> None:
    """The star list (名单) by level, downgrades with their causes, upgrades by place, the rectification
    list: every branch printed (checked on a final report: the draft watermark breaks up the text)."""
    text, report = pdf.text, pdf.report
    total, dist, _completed = _sql_dist(report)
    assert sum(level["count"] for level in report["star_list"]) == total == sum(dist.values())
    for level in report["star_list"]:
        assert level["count"] == dist[int(level["stars"])]
        assert flat(f"{STARS[level['stars']]}级党支部（{level['count']} 个）") in text
        for place in level["places"]:
            assert all(flat(name) in text for name in place["names"]), place["place"]
    for c in report["changes"]:
        assert flat(c["line"]["branch_name"]) in text
        if c["kind"] != "up":
            assert flat(c["causes"][-1]) in text
    for x in report["rectification"]:
        assert flat(x["line"]["branch_name"]) in text and flat(x["reasons"][0]) in text
    assert text.count("名次") == 1  # only in the note that sends the reader to the XLSX


def test_long_tables_repeat_their_header(ty_pdf: Pdf) -> None:
    """A table that runs over pages (the five-star list, made long here) starts every page it runs over
    with its header again (the pages between its heading and the next section's)."""
    report = AnnualReport.model_validate(ty_pdf.report)
    assert report.five_star
    group = report.five_star[0]
    long = group.model_copy(update={"rows": group.rows * max(1, 120 // len(group.rows))})
    body = pdf.annual_pdf(report.model_copy(update={"five_star": [long]}))
    pages = [flat(p) for p in pdf_text(body, layout=True).split("\f")]

    def first_page(marker: str) -> int:
        return next(i for i, p in enumerate(pages) if flat(marker) in p)

    start, end = first_page("四、拟命名五星级党支部名单"), first_page("五、星级变动情况")
    assert end - start > 1  # it runs over a page break
    assert all("所在地领域支部名称支部编码总分" in pages[i] for i in range(start, end))


def _body(pdf: Pdf) -> str:
    """The flat text without the running title and page numbers (a paragraph may run over a page)."""
    title = flat(pdf.report["title"])
    return re.sub(r"第\d+页/共\d+页", "", pdf.text).replace(title, "")


def _stars(v: int | None) -> str:
    return "—" if v is None else STARS[v]


def test_printed_lists_one_paragraph_per_branch(ty_pdf: Pdf) -> None:
    """The printed report lists downgrades and withdrawals (with their causes) and the rectification list as
    one paragraph per branch under a line per place with its count, in the report's order; every branch
    of the star list is printed."""
    _lists_are_printed(ty_pdf)
    text, report = _body(ty_pdf), ty_pdf.report
    down = [c for c in report["changes"] if c["kind"] != "up"]
    rect = report["rectification"]
    assert down and rect
    for c in down:
        line = c["line"]
        prov = "，暂定" if line["stars_basis"] == "provisional" else ""
        move = f"{_stars(line['prev_stars'])}→{_stars(line['stars'])}{prov}"
        assert flat(f"{line['branch_name']}（{move}）：{'；'.join(c['causes'])}") in text, line["branch_name"]
    for x in rect:
        line = x["line"]
        prov = "（暂定）" if line["stars_basis"] == "provisional" else ""
        total = fmt_score(Decimal(line["total"])) if line["total"] is not None else "—"
        assert (
            flat(
                f"{line['branch_name']}，{_stars(line['stars'])}{prov}，{total}分：{'；'.join(x['reasons'])}"
            )
            in text
        )
    # a line per place with its count, places in the report's order, after the list's heading
    for heading, items in (
        (f"降星（{sum(c['kind'] == 'down' for c in down)}个）", down),
        ("九、需整顿提升", rect),
    ):
        at = text.find(flat(heading))
        assert at >= 0, heading
        for i, x in enumerate(items):
            place = x["line"]["place"]
            if i and items[i - 1]["line"]["place"] == place:
                continue
            n = next((j for j, y in enumerate(items[i:]) if y["line"]["place"] != place), len(items) - i)
            at = text.find(flat(f"{place}（{n}个）"), at)
            assert at >= 0, (heading, place, n)


def test_printed_losses_one_paragraph_per_township(ty_pdf: Pdf) -> None:
    """Each sector's lowest-scoring categories by township: one paragraph per township in the PDF (the
    page keeps the tables), in the report's order."""
    text, report = _body(ty_pdf), ty_pdf.report
    assert report["losses_by_child"]
    for t in report["losses_by_child"]:
        at = text.find(flat(f"{SECTORS[t['sector']]}领域：按乡镇（街道）"))
        assert at >= 0, t["sector"]
        for row in t["rows"]:
            cells = "、".join(f"{c['category']}{c['share'] * 100:.1f}%" for c in row["lowest"]) or "—"
            at = text.find(flat(f"{row['name']}（{row['assessments']}个支部）：{cells}"), at)
            assert at >= 0, (t["sector"], row["name"])


def test_xlsx_sheets_match_the_report(login) -> None:  # type: ignore[no-untyped-def]
    c = login("county_qs")
    query = "year=2026&region=990102"
    data = c.json(f"/reports/annual?{query}").json()
    r = c.get(f"/reports/annual.xlsx?{query}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert download_name(r) == "青山县2026年度星级党支部评定结果.xlsx"
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == [
        "概况",
        "星级分布（按领域）",
        "星级分布（按乡镇-街道）",
        "五星支部名单",
        "星级变动",
        "年度内摘星降星",
        "比例控制",
        "一票否决与直接定级",
        "示范点",
        "整顿提升名单",
        "失分指标（按领域）",
        "失分指标（按乡镇）",
        "全部排名",
    ]
    assert all(len(name) <= 31 for name in wb.sheetnames)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title

    def rows(name: str) -> list[tuple]:
        return list(wb[name].iter_rows(values_only=True))

    summary = {row[0]: row for row in rows("概况")[1:]}
    assert summary["已完成考评（计入统计）"][1] == data["summary"]["rated"]
    assert summary["五星"][1] == data["summary"]["distribution"]["5"]
    assert any(str(k).startswith("报告状态：草稿") for k in summary)
    ranking = rows("全部排名")
    assert ranking[0][:4] == ("领域", "领域内名次", "支部编码", "支部名称")
    assert len(ranking) - 1 == data["ranked_count"]
    assert len(rows("五星支部名单")) - 1 == data["five_star_count"]
    assert len(rows("星级变动")) - 1 == len(data["changes"])
    assert len(rows("整顿提升名单")) - 1 == len(data["rectification"])
    assert len(rows("比例控制")) - 1 == len(data["quotas"])
    assert len(rows("星级分布（按领域）")) - 1 == len(data["by_sector"]) + 1  # + 合计
    assert len(rows("失分指标（按乡镇）")) - 1 == sum(len(t["rows"]) for t in data["losses_by_child"])
    codes = [row[2] for row in ranking[1:]]
    assert codes == [row["branch_code"] for sr in data["ranking"] for row in sr["rows"]]


def test_final_xlsx_says_final(login) -> None:  # type: ignore[no-untyped-def]
    r = login("admin").get("/reports/annual.xlsx?year=2025&region=990103")
    wb = load_workbook(io.BytesIO(r.content))
    states = [row[0] for row in wb["概况"].iter_rows(values_only=True) if str(row[0]).startswith("报告状态")]
    assert states == ["报告状态：定稿：全部认定"]


def test_scope_and_roles(login) -> None:  # type: ignore[no-untyped-def]
    qs = login("county_qs")
    for url in (
        "/reports/annual?year=2026&region=990103",
        "/reports/annual.pdf?year=2026&region=990103",
        "/reports/annual.xlsx?year=2026&region=990103",
        "/reports/annual?year=2026&region=9901",
    ):
        assert qs.get(url, follow_redirects=False).status_code == 404, url
    # own county by default
    assert "青山县2026年度星级党支部评定结果" in qs.get("/reports/annual?year=2026").text
    # a township is not a report region
    assert qs.get("/reports/annual?year=2026&region=990102001").status_code == 422
    # inspectors and branch secretaries: 403 everywhere, even inside their own township
    insp = login("inspector_qs1")
    for url in ("/reports/annual", "/reports/annual?region=990102", "/reports/annual.pdf?region=990102"):
        assert insp.get(url, follow_redirects=False).status_code == 403, url
    assert login("branch_qs1").get("/reports/annual").status_code == 403
    # the nav link shows for readers only
    assert 'href="/reports/annual"' in qs.get("/").text
    assert 'href="/reports/annual"' not in insp.get("/").text


def test_city_report_runs_as_a_job(login) -> None:  # type: ignore[no-untyped-def]
    admin = login("admin")
    r = admin.get("/reports/annual?year=2026&region=9901")
    assert r.status_code == 200 and "需在后台生成" in r.text
    assert re.search(r'hx-post="/reports/jobs"', r.text)
    d = admin.get("/reports/annual.pdf?year=2026&region=9901", follow_redirects=False)
    assert d.status_code == 303 and d.headers["location"].startswith("/reports/annual?year=2026&region=9901")
