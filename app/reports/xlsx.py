"""The annual report as a workbook: one sheet per section (frozen header, auto-filter, Chinese sheet names
≤ 31 characters), written by app.rankings.exports from the same report object as the page and the PDF."""

from __future__ import annotations

from typing import Any

from app.dynamic.labels import STAR_CHANGE_EVENTS
from app.gcpause import gc_paused
from app.labels import ASSESSMENT_STATUSES, SECTORS, STARS
from app.rankings.exports import CHANGE_LABELS, Col, Table, to_xlsx
from app.reports.documents import CHANGE_KINDS, SPECIAL_KINDS
from app.reports.schemas import AnnualReport, BranchLine, LossTable

LEVELS = list(range(5, -1, -1))
INVALID = set("[]:*?/\\")


def _stars(value: int | None) -> str:
    return STARS.get(value, "") if value is not None else ""


def _shown(line: BranchLine) -> str:
    text = _stars(line.stars)
    return f"{text}（暂定）" if text and line.stars_basis == "provisional" else text


def sheet_name(text: str) -> str:
    """A valid sheet name: no []:*?/\\ and at most 31 characters."""
    return "".join("-" if ch in INVALID else ch for ch in text)[:31]


def _branch_cols() -> list[Col]:
    return [
        Col("所在地", "text", 18),
        Col("领域", "text", 10),
        Col("支部编码", "text", 18),
        Col("支部名称", "text", 36),
        Col("总分", "score", 8),
        Col("星级", "text", 12),
    ]


def _branch_vals(line: BranchLine) -> list[Any]:
    return [
        line.place,
        SECTORS.get(line.sector, line.sector),
        line.branch_code,
        line.branch_name,
        line.total,
        _shown(line),
    ]


def _summary(r: AnnualReport) -> Table:
    s = r.summary
    cols = [
        Col("项目", "text", 26),
        Col(f"{r.year}年度", "int", 12),
        Col(f"{r.year}年度占比", "pct", 12),
        Col(f"{s.prev_year}年度", "int", 12),
        Col(f"{s.prev_year}年度占比", "pct", 12),
        Col("变化", "int", 10),
    ]
    rows: list[list[Any]] = [
        ["参评支部", s.assessments, None, None, None, None],
        ["已完成考评（计入统计）", s.rated, None, s.prev_rated, None, s.rated - s.prev_rated],
        ["其中已认定", s.final, None, None, None, None],
        ["其中暂定（未认定）", s.provisional, None, None, None, None],
    ]
    for lv in LEVELS:
        now, before = s.distribution.get(lv, 0), s.prev_distribution.get(lv, 0)
        rows.append(
            [
                STARS[lv],
                now,
                now / s.rated if s.rated else None,
                before,
                before / s.prev_rated if s.prev_rated else None,
                now - before,
            ]
        )
    three = sum(s.distribution.get(lv, 0) for lv in (3, 4, 5))
    three_before = sum(s.prev_distribution.get(lv, 0) for lv in (3, 4, 5))
    rows.append(["三星及以上", three, s.share_3plus, three_before, s.prev_share_3plus, three - three_before])
    rows.append(["升星", s.upgrades, None, None, None, None])
    rows.append(["降星", s.downgrades, None, None, None, None])
    rows.append(["持平", s.same, None, None, None, None])
    rows.append(["新参评", s.new, None, None, None, None])
    state = f"草稿/未定稿：{r.not_final} 个支部星级尚未认定，按暂定星级统计" if r.draft else "定稿：全部认定"
    rows.append([f"报告状态：{state}", None, None, None, None, None])
    return Table("概况", cols, rows)


def _groups(title: str, head: str, groups: list[Any], total: Any) -> Table:
    cols = [
        Col(head, "text", 16),
        Col("参评", "int", 8),
        Col("已考评", "int", 8),
        *[Col(STARS[lv], "int", 7) for lv in LEVELS],
        Col("三星及以上占比", "pct", 13),
        Col("平均分", "score2", 9),
        Col("升星", "int", 7),
        Col("降星", "int", 7),
    ]
    rows = [
        [
            g.name if g is not total else "合计",
            g.assessments,
            g.completed,
            *[g.distribution.get(lv, 0) for lv in LEVELS],
            g.share_3plus,
            g.avg_total,
            g.upgrades,
            g.downgrades,
        ]
        for g in [*groups, total]
    ]
    return Table(title, cols, rows)


def _losses(title: str, head: str, tables: list[LossTable]) -> Table:
    cols = [
        Col("领域", "text", 10),
        Col(head, "text", 18),
        Col("支部数", "int", 8),
        *[c for i in (1, 2, 3) for c in (Col(f"得分率第{i}低指标", "text", 16), Col(f"得分率{i}", "pct", 9))],
    ]
    rows = []
    for t in tables:
        for row in t.rows:
            cells: list[Any] = []
            for i in range(3):
                cell = row.lowest[i] if len(row.lowest) > i else None
                cells += [cell.category if cell else "", cell.share if cell else None]
            rows.append([SECTORS.get(t.sector or "", "全部"), row.name, row.assessments, *cells])
    return Table(title, cols, rows)


def tables(r: AnnualReport) -> list[Table]:
    """Every section as a table, in the report's order."""
    out = [_summary(r)]
    out.append(_groups("星级分布（按领域）", "领域", r.by_sector, r.child_total))
    out.append(
        _groups(sheet_name(f"星级分布（按{r.child_label}）"), r.child_label, r.by_child, r.child_total)
    )
    out.append(
        Table(
            "五星支部名单",
            _branch_cols(),
            [_branch_vals(line) for g in r.five_star for line in g.rows],
        )
    )
    out.append(
        Table(
            "星级变动",
            [
                Col("类别", "text", 8),
                *_branch_cols(),
                Col("上年认定星级", "text", 12),
                Col("变动原因", "text", 80),
            ],
            [
                [CHANGE_KINDS[c.kind], *_branch_vals(c.line), _stars(c.line.prev_stars), "；".join(c.causes)]
                for c in r.changes
            ],
        )
    )
    out.append(
        Table(
            "年度内摘星降星",
            [
                Col("支部编码", "text", 18),
                Col("支部名称", "text", 36),
                Col("所在地", "text", 16),
                Col("评定年度", "int", 9),
                Col("事由", "text", 14),
                Col("日期", "text", 12),
                Col("原星级", "text", 8),
                Col("调整后", "text", 8),
                Col("理由", "text", 50),
                Col("文号", "text", 20),
            ],
            [
                [
                    c.branch_code,
                    c.branch_name,
                    c.place,
                    c.year,
                    STAR_CHANGE_EVENTS.get(c.event, c.event),
                    c.occurred_on.isoformat(),
                    _stars(c.stars_before),
                    _stars(c.stars_after),
                    c.reason,
                    c.document_number or "",
                ]
                for c in r.mid_year
            ],
        )
    )
    out.append(
        Table(
            "比例控制",
            [
                Col("评分标准", "text", 34),
                Col("领域", "text", 10),
                Col("控制范围", "text", 12),
                Col("支部数", "int", 8),
                Col("星级", "text", 8),
                Col("控制方式", "text", 10),
                Col("比例", "pct", 8),
                Col("名额", "int", 8),
                Col("按得分", "int", 8),
                Col("现星级人数", "int", 10),
                Col("是否符合", "text", 9),
                Col("说明", "text", 50),
            ],
            [
                [
                    q.title,
                    SECTORS.get(q.sector, q.sector),
                    q.scope_name,
                    q.pool if q.visible else None,
                    _stars(q.stars),
                    {"max": "上限", "min": "下限"}.get(q.kind or "", ""),
                    q.share_limit,
                    q.limit_count,
                    q.before_quota,
                    q.shown,
                    "" if q.complies is None else ("是" if q.complies else "否"),
                    q.note,
                ]
                for q in r.quotas
            ],
        )
    )
    out.append(
        Table(
            "一票否决与直接定级",
            [Col("类别", "text", 10), *_branch_cols(), Col("事由", "text", 80)],
            [[SPECIAL_KINDS[x.kind], *_branch_vals(x.line), "；".join(x.reasons)] for x in r.special],
        )
    )
    out.append(
        Table(
            "示范点",
            [
                Col("支部编码", "text", 18),
                Col("支部名称", "text", 36),
                Col("所在地", "text", 16),
                Col("领域", "text", 10),
                Col("总分", "score", 8),
                Col("命名日期", "text", 12),
                Col("文号", "text", 20),
                Col("选树理由", "text", 50),
            ],
            [
                [
                    d.branch_code,
                    d.branch_name,
                    d.place,
                    SECTORS.get(d.sector, d.sector),
                    d.total,
                    d.decided_on.isoformat() if d.decided_on else "",
                    d.document_number or "",
                    d.reason or "",
                ]
                for d in r.demo_sites
            ],
        )
    )
    out.append(
        Table(
            "整顿提升名单",
            [*_branch_cols(), Col("列入原因", "text", 60)],
            [[*_branch_vals(x.line), "；".join(x.reasons)] for x in r.rectification],
        )
    )
    out.append(_losses("失分指标（按领域）", "领域", [r.losses_by_sector] if r.losses_by_sector else []))
    out.append(_losses("失分指标（按乡镇）", "乡镇（街道）", r.losses_by_child))
    out.append(
        Table(
            "全部排名",
            [
                Col("领域", "text", 10),
                Col("领域内名次", "int", 10),
                Col("支部编码", "text", 18),
                Col("支部名称", "text", 36),
                Col("乡镇（街道）", "text", 14),
                Col("状态", "text", 8),
                Col("总分", "score", 8),
                Col("星级", "text", 8),
                Col("星级口径", "text", 9),
                Col("上年认定星级", "text", 11),
                Col("较上年", "text", 8),
                Col("一票否决", "text", 8),
                Col("直接定级", "text", 8),
            ],
            [
                [
                    SECTORS.get(sr.sector, sr.sector),
                    row.rank,
                    row.branch_code,
                    row.branch_name,
                    row.township_name or "直属单位",
                    ASSESSMENT_STATUSES.get(row.status, row.status),
                    row.total,
                    _stars(row.stars_shown),
                    "认定" if row.stars_basis == "final" else "暂定",
                    _stars(row.prev_final_stars),
                    CHANGE_LABELS[row.change],
                    row.vetoed,
                    row.designated,
                ]
                for sr in r.ranking
                for row in sr.rows
            ],
        )
    )
    for t in out:
        t.title = sheet_name(t.title)
    return out


def annual_xlsx(report: AnnualReport) -> bytes:
    with gc_paused():  # a large county's workbook is ~100,000 cells (app.gcpause)
        return to_xlsx(tables(report))
