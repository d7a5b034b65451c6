"""The report's charts: SVG strings drawn by app.rankings.charts from the report object (no new numbers)."""

from __future__ import annotations

from markupsafe import Markup

from app.rankings import charts
from app.reports.schemas import AnnualReport

BASIS = "已认定的按认定星级，未认定的按暂定星级；仅计已提交及以后的评定"


def charts_for(report: AnnualReport) -> dict[str, Markup]:
    """SVG charts (safe markup) keyed by section: years, sector, child, average."""
    label = f"{report.region.name}{report.year}年度"
    s = report.summary
    sectors = [g for g in report.by_sector if g.completed]
    kids = [g for g in report.by_child if g.completed]
    out = {
        "years": charts.stacked_bars(
            f"{report.region.name}星级分布：{s.prev_year}年与{report.year}年",
            [f"{s.prev_year}年（认定）", f"{report.year}年（{'暂定' if report.draft else '认定'}）"],
            charts.star_series(),
            charts.star_rows([s.prev_distribution, s.distribution]),
            note=BASIS,
        ),
        "sector": charts.stacked_bars(
            f"{label}星级分布（按领域）",
            [g.name for g in sectors],
            charts.star_series(),
            charts.star_rows([g.distribution for g in sectors]),
            note=BASIS,
        ),
        "child": charts.stacked_bars(
            f"{label}星级分布（按{report.child_label}）",
            [g.name for g in kids],
            charts.star_series(),
            charts.star_rows([g.distribution for g in kids]),
            note=BASIS,
        ),
        "average": charts.bar_chart(
            f"{label}平均分（按{report.child_label}）",
            [g.name for g in kids],
            [float(g.avg_total) if g.avg_total is not None else None for g in kids],
            unit="分",
            reference=float(s.avg_total) if s.avg_total is not None else None,
            reference_label="全域平均",
        ),
    }
    return {k: Markup(v) for k, v in out.items()}  # SVG built from escaped text
