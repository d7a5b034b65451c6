"""County analysis pages (and their JSON twins and exports): rankings, comparisons, heat map, branch
history. Quota pressure, what-if and charts live in tools_router; shared helpers in pages.

Access: every role with a region (admin, county, inspector, viewer) sees its own subtree; a region
outside it is 404. Branch users (支部书记) get 403 on the analysis views and may open only their own
branch's history page.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlmodel import Session

from app.auth.deps import CurrentPrincipal, Principal
from app.db import SessionDep
from app.errors import ValidationFailed
from app.labels import SECTORS
from app.rankings import charts, comparisons, exports, heatmap, history, service
from app.rankings.pages import (
    CHANGE_LABELS,
    Ext,
    FilterBar,
    Filters,
    RankingParams,
    RankingQuery,
    RegionCode,
    SectorParam,
    Year,
    download,
    page_ctx,
    region_of,
    resolve_filters,
    resolve_sector,
    resolve_year,
)
from app.rankings.schemas import Comparison, YearsComparison
from app.regions.models import Region
from app.web.htmx import render

router = APIRouter(tags=["排名分析"])

# -- rankings ---------------------------------------------------------------------------------------


def _ranking(
    db: Session, principal: Principal, p: RankingQuery, *, page: int, per_page: int
) -> tuple[Any, Region, int, str | None]:
    reg, y, sec = resolve_filters(db, principal, p.filters, default_all=False)
    data = service.ranking_page(
        db,
        scope=principal.scope,
        year=y,
        region=reg,
        sector=sec,
        q=(p.q or "").strip() or None,
        stars=p.stars,
        sort=p.sort,
        page=page,
        per_page=per_page,
    )
    return data, reg, y, sec


@router.get("/rankings", include_in_schema=False)
def rankings_page(
    request: Request, db: SessionDep, principal: CurrentPrincipal, p: RankingParams
) -> Response:
    """A year's ranking in a region (one sector by default, all with sector=all); htmx: the results block."""
    data, reg, y, sec = _ranking(db, principal, p, page=p.page, per_page=p.per_page)
    ctx = page_ctx(db, principal, year=y, region=reg, sector=sec, tab="rankings")
    ctx.update({"q": p.q or "", "stars": p.stars, "sort": p.sort, "export_query": request.url.query})
    return render(request, "rankings/index.html", ctx, block="results", data=data)


@router.get("/rankings/export.{ext}", include_in_schema=False)
def rankings_export(db: SessionDep, principal: CurrentPrincipal, ext: Ext, p: RankingParams) -> Response:
    """The ranking with the screen's scope, filters and order; every matching row (not only one page)."""
    data, reg, y, _sec = _ranking(db, principal, p, page=1, per_page=service.MAX_LIMIT)
    what = f"{y}年度{exports.sector_part(data.sector)}星级排名"
    return download(ext, [exports.ranking_table(data)], reg.name, what, f"ranking-{reg.code}-{y}")


# -- comparisons -------------------------------------------------------------------------------------


# "child": the children of the region; "township": every township of it (a city's across its counties).
CompareBy = Annotated[comparisons.By, Query()]
# A chart of more bars than this is unreadable: the table alone then (a city has ~200 townships).
CHART_MAX_BARS = 40


def _compare(
    db: Session, principal: Principal, f: Filters, by: comparisons.By
) -> tuple[Comparison, dict[str, Any]]:
    reg, y, sec = resolve_filters(db, principal, f, default_all=True)
    data = comparisons.compare_children(db, scope=principal.scope, year=y, region=reg, sector=sec, by=by)
    return data, page_ctx(db, principal, year=y, region=reg, sector=sec, tab="compare")


@router.get("/rankings/compare", include_in_schema=False)
def compare_page(
    request: Request, db: SessionDep, principal: CurrentPrincipal, f: FilterBar, by: CompareBy = "child"
) -> Response:
    """The children of a region side by side (townships of a county, counties of a city), or with
    by=township every township of the region."""
    data, ctx = _compare(db, principal, f, by)
    rows = [c for c in data.children if c.completed]
    unit = "按乡镇（街道）" if data.by == "township" else "按下级区域"
    ctx["chart"] = (
        Markup(
            charts.stacked_bars(
                f"{data.region.name}{data.year}年度星级分布（{unit}）",
                [c.name for c in rows],
                charts.star_series(),
                charts.star_rows([c.distribution for c in rows]),
                note="已认定的按认定星级，未认定的按暂定星级；仅计已提交及以后的评定",
            )
        )
        if len(rows) <= CHART_MAX_BARS
        else None
    )
    ctx["CHART_MAX_BARS"] = CHART_MAX_BARS
    return render(request, "rankings/compare.html", ctx, block="results", data=data)


@router.get("/rankings/compare/export.{ext}", include_in_schema=False)
def compare_export(
    db: SessionDep, principal: CurrentPrincipal, ext: Ext, f: FilterBar, by: CompareBy = "child"
) -> Response:
    data, _c = _compare(db, principal, f, by)
    towns = data.by == "township"
    what = f"{data.year}年度{exports.sector_part(data.sector)}星级评定对比{'（按乡镇街道）' if towns else ''}"
    fallback = f"compare-{data.region.code}-{data.year}{'-townships' if towns else ''}"
    return download(ext, [exports.comparison_table(data)], data.region.name, what, fallback)


def _years(
    db: Session, principal: Principal, region: str | None, a: int | None, b: int | None, sector: str | None
) -> tuple[YearsComparison, dict[str, Any]]:
    reg = region_of(db, principal, region)
    present = service.years_present(db, scope=principal.scope)
    yb = b or (present[0] if present else resolve_year(db, principal, None))
    ya = a or (yb - 1)
    sec = resolve_sector(db, principal, yb, reg, sector, default_all=True)
    data = comparisons.compare_years(db, scope=principal.scope, region=reg, a=ya, b=yb, sector=sec)
    ctx = page_ctx(db, principal, year=yb, region=reg, sector=sec, tab="years")
    ctx.update({"a": ya, "b": yb})
    return data, ctx


@router.get("/rankings/years", include_in_schema=False)
def years_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    region: RegionCode = None,
    a: Year = None,
    b: Year = None,
    sector: SectorParam = None,
) -> Response:
    """Two years of a region side by side, per child region, with the star transitions between them."""
    data, ctx = _years(db, principal, region, a, b, sector)
    return render(request, "rankings/years.html", ctx, block="results", data=data)


@router.get("/rankings/years/export.{ext}", include_in_schema=False)
def years_export(
    db: SessionDep,
    principal: CurrentPrincipal,
    ext: Ext,
    region: RegionCode = None,
    a: Year = None,
    b: Year = None,
    sector: SectorParam = None,
) -> Response:
    data, _c = _years(db, principal, region, a, b, sector)
    tables = [exports.years_table(data), exports.transitions_table(data)]
    what = f"{data.a}与{data.b}年度{exports.sector_part(data.sector)}星级评定对比"
    fallback = f"years-{data.region.code}-{data.a}-{data.b}"
    return download(ext, tables, data.region.name, what, fallback)


# -- where points are lost -------------------------------------------------------------------------------

By = Literal["township", "sector"]


def _heatmap(db: Session, principal: Principal, f: Filters, by: str) -> tuple[Any, dict[str, Any]]:
    reg = region_of(db, principal, f.region)
    y = resolve_year(db, principal, f.year)
    if by == "township":
        if f.sector == "all":
            raise ValidationFailed(
                "按乡镇查看时须选择一个领域（各领域的一级指标不同）",
                field_errors={"sector": "请选择一个领域"},
            )
        sec = resolve_sector(db, principal, y, reg, f.sector, default_all=False)
    else:
        sec = None
    data = heatmap.build(db, scope=principal.scope, year=y, region=reg, by=by, sector=sec)
    ctx = page_ctx(db, principal, year=y, region=reg, sector=sec, tab="heatmap")
    ctx["by"] = by
    return data, ctx


@router.get("/rankings/heatmap", include_in_schema=False)
def heatmap_page(
    request: Request, db: SessionDep, principal: CurrentPrincipal, f: FilterBar, by: By = "township"
) -> Response:
    """Average share of each category's maximum per township (one sector) or per sector."""
    data, ctx = _heatmap(db, principal, f, by)
    return render(request, "rankings/heatmap.html", ctx, block="results", data=data)


@router.get("/rankings/heatmap/export.{ext}", include_in_schema=False)
def heatmap_export(
    db: SessionDep, principal: CurrentPrincipal, ext: Ext, f: FilterBar, by: By = "township"
) -> Response:
    data, _c = _heatmap(db, principal, f, by)
    what = f"{data.year}年度{exports.sector_part(data.sector or 'all')}失分分析"
    fallback = f"heatmap-{data.region.code}-{data.year}"
    return download(ext, [exports.heatmap_table(data)], data.region.name, what, fallback)


@router.get("/rankings/heatmap/cell", include_in_schema=False)
def heatmap_cell_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    region: Annotated[str, Query(max_length=12, pattern=r"^\d+$")],
    sector: Annotated[str, Query(max_length=16)],
    category: Annotated[str, Query(min_length=1, max_length=200)],
    year: Year = None,
    direct: bool = False,
) -> Response:
    """The branches behind one heat-map cell and the items where they lost points."""
    reg = region_of(db, principal, region)
    if sector not in SECTORS:
        raise ValidationFailed("未知的领域", field_errors={"sector": "未知的领域"})
    y = resolve_year(db, principal, year)
    data = heatmap.cell(
        db, scope=principal.scope, year=y, region=reg, sector=sector, category=category, direct=direct
    )
    ctx = page_ctx(db, principal, year=y, region=reg, sector=sector, tab="heatmap")
    return render(request, "rankings/heatmap_cell.html", ctx, data=data)


# -- one branch ---------------------------------------------------------------------------------------


@router.get("/rankings/branches/{code}", include_in_schema=False)
def branch_history_page(request: Request, db: SessionDep, principal: CurrentPrincipal, code: str) -> Response:
    """A branch's stars over the years, the cause of each change and the latest explanation."""
    data = history.branch_history(db, scope=principal.scope, code=code)
    trend = [y for y in data.years if y.total is not None]
    chart = (
        charts.line_chart(
            f"{data.branch_name} 历年总分",
            [f"{y.year}年" for y in trend],
            [("总分", [float(y.total or 0) for y in trend])],
            y_min=0,
            unit="分",
            note="各年度星级及变化原因见上表；未认定年度为考评中的分数",
        )
        if trend
        else None
    )
    ctx = {"chart": Markup(chart) if chart else None, "CHANGE_LABELS": CHANGE_LABELS, "tab": "branch"}
    return render(request, "rankings/branch.html", ctx, data=data)
