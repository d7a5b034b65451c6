"""Exports of the ranking and comparison views: XLSX (frozen header, auto-filter, number formats) and CSV
(UTF-8 with BOM, so Excel opens the Chinese), built from the same public models the pages and JSON show.
Chinese file names go out as RFC 5987 ``filename*`` with an ASCII fallback."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from app.labels import ASSESSMENT_STATUSES, SECTORS, STARS
from app.rankings.schemas import Comparison, Heatmap, RankingPage, WhatIf, YearsComparison

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
CHANGE_LABELS = {"up": "升星", "down": "降星", "same": "持平", "new": "新参评"}
BASIS_LABELS = {"final": "认定星级", "provisional": "暂定星级", "mixed": "部分认定", "none": "—"}
FORMATS = {"int": "0", "score": "0.0", "score2": "0.00", "pct": "0.0%", "text": "@"}


@dataclass(frozen=True)
class Col:
    header: str
    kind: str = "text"  # text | int | score | score2 | pct
    width: int = 12


@dataclass
class Table:
    title: str
    columns: list[Col]
    rows: list[list[Any]] = field(default_factory=list)


def content_disposition(name: str, *, fallback: str) -> str:
    """attachment with an ASCII fallback and the UTF-8 name (RFC 5987 / RFC 6266)."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _stars(value: int | None) -> str:
    return STARS.get(value, "") if value is not None else ""


def _pct_text(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _cell_text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "pct":
        return _pct_text(float(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    text = str(value)
    if kind == "text" and text[:1] in ("=", "+", "-", "@"):
        return "'" + text  # a spreadsheet must never run a cell as a formula
    return text


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell_text(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(tables: Sequence[Table]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="F0F2F5")
    for table in tables:
        ws = wb.create_sheet(title=table.title[:31])
        for i, c in enumerate(table.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = c.width
        ws.freeze_panes = "A2"
        last = get_column_letter(max(len(table.columns), 1))
        ws.auto_filter.ref = f"A1:{last}{len(table.rows) + 1}"
        header = []
        for c in table.columns:
            cell = WriteOnlyCell(ws, value=c.header)
            cell.font = bold
            cell.fill = fill
            cell.alignment = Alignment(vertical="center")
            header.append(cell)
        ws.append(header)
        for row in table.rows:
            cells = []
            for value, c in zip(row, table.columns, strict=True):
                v = value
                if isinstance(v, Decimal):
                    v = float(v)
                if isinstance(v, bool):
                    v = "是" if v else "否"
                cell = WriteOnlyCell(ws, value=v)
                if isinstance(v, str):
                    cell.data_type = "s"  # text stays text, even "=…"
                elif v is not None:
                    cell.number_format = FORMATS.get(c.kind, "General")
                cells.append(cell)
            ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- the views as tables ----------------------------------------------------------------------------


def ranking_table(page: RankingPage) -> Table:
    cols = [
        Col("名次", "int", 7),
        Col("百分位（超过%）", "score", 12),
        Col("支部编码", "text", 18),
        Col("支部名称", "text", 40),
        Col("领域", "text", 10),
        Col("乡镇/街道", "text", 14),
        Col("村/社区/单位", "text", 14),
        Col("状态", "text", 9),
        Col("总分", "score", 8),
        Col("档次星级", "text", 9),
        Col("暂定星级", "text", 9),
        Col("认定星级", "text", 9),
        Col("上年认定星级", "text", 11),
        Col("较上年", "text", 8),
        Col("一票否决", "text", 8),
        Col("直接定级", "text", 8),
    ]
    rows = [
        [
            r.rank,
            r.percentile,
            r.branch_code,
            r.branch_name,
            SECTORS.get(r.sector, r.sector),
            r.township_name or "",
            r.region_name or "",
            ASSESSMENT_STATUSES.get(r.status, r.status),
            r.total,
            _stars(r.band_stars),
            _stars(r.stars),
            _stars(r.final_stars),
            _stars(r.prev_final_stars),
            CHANGE_LABELS[r.change],
            r.vetoed,
            r.designated,
        ]
        for r in page.rows
    ]
    return Table(f"{page.year}年度星级排名", cols, rows)


def _group_cols(prefix: str = "") -> list[Col]:
    return [
        Col(f"{prefix}评定数", "int", 9),
        Col(f"{prefix}完成率", "pct", 9),
        Col(f"{prefix}平均分", "score2", 9),
        *[Col(f"{prefix}{STARS[s]}", "int", 7) for s in range(5, -1, -1)],
        Col(f"{prefix}三星及以上占比", "pct", 13),
        Col(f"{prefix}星级口径", "text", 10),
    ]


def _group_vals(g: Any) -> list[Any]:
    return [
        g.assessments,
        g.completion,
        g.avg_total,
        *[g.distribution.get(s, 0) for s in range(5, -1, -1)],
        g.share_3plus,
        BASIS_LABELS[g.stars_basis],
    ]


def comparison_table(c: Comparison) -> Table:
    cols = [
        Col("区划代码", "text", 12),
        Col("名称", "text", 16),
        *_group_cols(),
        Col("升星", "int", 7),
        Col("降星", "int", 7),
        Col("持平", "int", 7),
        Col("新参评", "int", 7),
        Col("上年平均分", "score2", 10),
        Col("平均分变化", "score2", 10),
        Col("上年三星及以上占比", "pct", 15),
        Col("三星及以上占比变化", "pct", 15),
    ]
    rows = []
    for g in [*c.children, c.overall]:
        name = g.name if g is not c.overall else f"{g.name}（合计）"
        rows.append(
            [
                "" if g.key == "direct" or g.key.startswith("direct:") else g.key,
                name,
                *_group_vals(g),
                g.upgrades,
                g.downgrades,
                g.same,
                g.new,
                g.prev_avg_total,
                g.delta_avg_total,
                g.prev_share_3plus,
                g.delta_share_3plus,
            ]
        )
    return Table(f"{c.year}年度{'乡镇（街道）' if c.by == 'township' else '下级'}对比", cols, rows)


def years_table(y: YearsComparison) -> Table:
    cols = [
        Col("区划代码", "text", 12),
        Col("名称", "text", 16),
        *_group_cols(f"{y.a}年"),
        *_group_cols(f"{y.b}年"),
        Col("平均分变化", "score2", 10),
        Col("三星及以上占比变化", "pct", 15),
    ]
    rows = []
    for p in [*y.children, y.overall]:
        name = p.name if p is not y.overall else f"{p.name}（合计）"
        rows.append(
            [
                p.key if p.key != "direct" else "",
                name,
                *_group_vals(p.a),
                *_group_vals(p.b),
                p.delta_avg_total,
                p.delta_share_3plus,
            ]
        )
    return Table(f"{y.a}与{y.b}年度对比", cols, rows)


def transitions_table(y: YearsComparison) -> Table:
    cols = [
        Col(f"{y.a}年星级 \\ {y.b}年星级", "text", 18),
        *[Col(STARS[s], "int", 8) for s in range(5, -1, -1)],
    ]
    rows = [[STARS[a], *[y.transitions[a][b] for b in range(5, -1, -1)]] for a in range(5, -1, -1)]
    return Table("星级变动矩阵", cols, rows)


def heatmap_table(h: Heatmap) -> Table:
    head = "领域" if h.by == "sector" else "乡镇/街道"
    cols = [Col(head, "text", 18), Col("评定数", "int", 8), *[Col(c, "pct", 12) for c in h.categories]]
    rows = [[r.name, r.assessments, *[cell.share for cell in r.cells]] for r in h.rows]
    rows.append(["合计", sum(r.assessments for r in h.rows), *[cell.share for cell in h.averages]])
    return Table(f"{h.year}年度失分热力图", cols, rows)


def whatif_table(w: WhatIf) -> Table:
    cols = [
        Col("支部编码", "text", 18),
        Col("支部名称", "text", 40),
        Col("领域", "text", 10),
        Col("乡镇/街道", "text", 14),
        Col("原总分", "score", 9),
        Col("模拟总分", "score", 9),
        Col("原星级", "text", 9),
        Col("模拟星级", "text", 9),
        Col("原因", "text", 60),
    ]
    rows = [
        [
            c.branch_code,
            c.branch_name,
            SECTORS.get(c.sector, c.sector),
            c.township_name or "",
            c.total_before,
            c.total_after,
            _stars(c.stars_before),
            _stars(c.stars_after),
            "；".join(c.reasons),
        ]
        for c in w.changes
    ]
    return Table(f"{w.year}年度模拟测算", cols, rows)


def sector_part(sector: str) -> str:
    return "" if sector in ("all", "") else SECTORS.get(sector, sector)


def file_name(region_name: str, what: str, ext: str, *, fallback: str) -> tuple[str, str]:
    """(Chinese name, ASCII fallback) for a download."""
    return f"{region_name}{what}.{ext}", f"{fallback}.{ext}"
