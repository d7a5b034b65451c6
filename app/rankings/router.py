"""County analysis pages (and their JSON twins and exports): rankings, comparisons, heat map, branch
history, quota pressure, what-if, charts.

Access: every role with a region (admin, county, inspector, viewer) sees its own subtree; a region
outside it is 404. Branch users (支部书记) get 403 on the analysis views and may open only their own
branch's history page.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlmodel import Session

from app.auth.deps import CurrentPrincipal, Principal
from app.db import SessionDep
from app.errors import Forbidden, ValidationFailed
from app.labels import SECTORS
from app.rankings import charts, comparisons, exports, heatmap, history, quotas, service, whatif
from app.rankings.schemas import Comparison, YearsComparison
from app.regions import service as regions_service
from app.regions.models import Region
from app.web.htmx import render, wants_json

router = APIRouter(tags=["排名分析"])

Year = Annotated[int | None, Query(ge=2000, le=2100)]
RegionCode = Annotated[str | None, Query(max_length=12, pattern=r"^\d*$")]
SectorParam = Annotated[str | None, Query(max_length=16)]
Ext = Literal["xlsx", "csv"]
CHANGE_LABELS = exports.CHANGE_LABELS
BASIS_LABELS = exports.BASIS_LABELS


def _analyst(principal: Principal) -> None:
    if principal.user.role == "branch" or principal.scope.branch_id is not None:
        raise Forbidden("支部书记账号不能查看排名分析，可在本支部星级页面查看本支部情况")


def _year(db: Session, principal: Principal, year: int | None) -> int:
    if year is not None:
        return year
    latest = service.latest_year(db, scope=principal.scope)
    if latest is None:
        from datetime import date

        return date.today().year
    return latest


def _sector(
    db: Session, principal: Principal, year: int, region: Region, sector: str | None, *, default_all: bool
) -> str | None:
    checked = service.check_sector(sector)
    if checked == "default":
        if default_all:
            return None
        return service.default_sector(db, scope=principal.scope, year=year, region_path=region.path)
    return checked


def _ctx(
    db: Session, principal: Principal, *, year: int, region: Region, sector: str | None, tab: str
) -> dict[str, Any]:
    """What every analysis page's filter bar needs."""
    regions = [
        r
        for r in regions_service.in_scope(db, scope=principal.scope)
        if r.level in ("province", "city", "county", "township")
    ]
    return {
        "tab": tab,
        "year": year,
        "years": service.years_present(db, scope=principal.scope) or [year],
        "region": region,
        "regions": regions,
        "sector": sector or "all",
        "sectors": service.sectors_present(db, scope=principal.scope, year=year, region_path=region.path),
        "SORTS": service.SORTS,
        "CHANGE_LABELS": CHANGE_LABELS,
        "BASIS_LABELS": BASIS_LABELS,
        "STAR_LEVELS": list(range(5, -1, -1)),
    }


def _download(body: bytes, ext: str, name: str, fallback: str) -> Response:
    return Response(
        body,
        media_type=exports.XLSX_TYPE if ext == "xlsx" else exports.CSV_TYPE,
        headers={"Content-Disposition": exports.content_disposition(name, fallback=fallback)},
    )


# -- rankings ---------------------------------------------------------------------------------------


def _ranking(
    db: Session,
    principal: Principal,
    *,
    year: int | None,
    region: str | None,
    sector: str | None,
    q: str | None,
    stars: int | None,
    sort: str,
    page: int,
    per_page: int,
) -> tuple[Any, Region, int, str | None]:
    _analyst(principal)
    reg = service.resolve_region(db, scope=principal.scope, code=region)
    y = _year(db, principal, year)
    sec = _sector(db, principal, y, reg, sector, default_all=False)
    data = service.ranking_page(
        db,
        scope=principal.scope,
        year=y,
        region=reg,
        sector=sec,
        q=(q or "").strip() or None,
        stars=stars,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    return data, reg, y, sec


@router.get("/rankings", include_in_schema=False)
def rankings_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    year: Year = None,
    region: RegionCode = None,
    sector: SectorParam = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    stars: Annotated[int | None, Query(ge=0, le=5)] = None,
    sort: Annotated[str, Query(max_length=16)] = "rank",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    """A year's ranking in a region (one sector by default, all with sector=all); htmx: the results block."""
    data, reg, y, sec = _ranking(
        db,
        principal,
        year=year,
        region=region,
        sector=sector,
        q=q,
        stars=stars,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    ctx = _ctx(db, principal, year=y, region=reg, sector=sec, tab="rankings")
    ctx.update({"q": q or "", "stars": stars, "sort": sort, "export_query": request.url.query})
    return render(request, "rankings/index.html", ctx, block="results", data=data)


@router.get("/rankings/export.{ext}", include_in_schema=False)
def rankings_export(
    db: SessionDep,
    principal: CurrentPrincipal,
    ext: Ext,
    year: Year = None,
    region: RegionCode = None,
    sector: SectorParam = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    stars: Annotated[int | None, Query(ge=0, le=5)] = None,
    sort: Annotated[str, Query(max_length=16)] = "rank",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    """The ranking with the screen's scope, filters and order; every matching row (not only one page)."""
    data, reg, y, _sec = _ranking(
        db,
        principal,
        year=year,
        region=region,
        sector=sector,
        q=q,
        stars=stars,
        sort=sort,
        page=1,
        per_page=service.MAX_LIMIT,
    )
    table = exports.ranking_table(data)
    body = exports.to_xlsx([table]) if ext == "xlsx" else exports.to_csv(table)
    what = f"{y}年度{exports.sector_part(data.sector)}星级排名"
    name, fallback = exports.file_name(reg.name, what, ext, fallback=f"ranking-{reg.code}-{y}")
    return _download(body, ext, name, fallback)


# -- comparisons -------------------------------------------------------------------------------------


def _compare(
    db: Session, principal: Principal, year: int | None, region: str | None, sector: str | None
) -> tuple[Comparison, dict[str, Any]]:
    _analyst(principal)
    reg = service.resolve_region(db, scope=principal.scope, code=region)
    y = _year(db, principal, year)
    sec = _sector(db, principal, y, reg, sector, default_all=True)
    data = comparisons.compare_children(db, scope=principal.scope, year=y, region=reg, sector=sec)
    return data, _ctx(db, principal, year=y, region=reg, sector=sec, tab="compare")


@router.get("/rankings/compare", include_in_schema=False)
def compare_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    year: Year = None,
    region: RegionCode = None,
    sector: SectorParam = None,
) -> Response:
    """The children of a region side by side (townships of a county, counties of a city)."""
    data, ctx = _compare(db, principal, year, region, sector)
    rows = [c for c in data.children if c.completed]
    ctx["chart"] = Markup(
        charts.stacked_bars(
            f"{data.region.name}{data.year}年度星级分布（按下级区域）",
            [c.name for c in rows],
            charts.star_series(),
            charts.star_rows([c.distribution for c in rows]),
            note="已认定的按认定星级，未认定的按暂定星级；仅计已提交及以后的评定",
        )
    )
    return render(request, "rankings/compare.html", ctx, block="results", data=data)


@router.get("/rankings/compare/export.{ext}", include_in_schema=False)
def compare_export(
    db: SessionDep,
    principal: CurrentPrincipal,
    ext: Ext,
    year: Year = None,
    region: RegionCode = None,
    sector: SectorParam = None,
) -> Response:
    data, _c = _compare(db, principal, year, region, sector)
    table = exports.comparison_table(data)
    body = exports.to_xlsx([table]) if ext == "xlsx" else exports.to_csv(table)
    what = f"{data.year}年度{exports.sector_part(data.sector)}星级评定对比"
    name, fallback = exports.file_name(
        data.region.name, what, ext, fallback=f"compare-{data.region.code}-{data.year}"
    )
    return _download(body, ext, name, fallback)


def _years(
    db: Session, principal: Principal, region: str | None, a: int | None, b: int | None, sector: str | None
) -> tuple[YearsComparison, dict[str, Any]]:
    _analyst(principal)
    reg = service.resolve_region(db, scope=principal.scope, code=region)
    present = service.years_present(db, scope=principal.scope)
    yb = b or (present[0] if present else _year(db, principal, None))
    ya = a or (yb - 1)
    sec = _sector(db, principal, yb, reg, sector, default_all=True)
    data = comparisons.compare_years(db, scope=principal.scope, region=reg, a=ya, b=yb, sector=sec)
    ctx = _ctx(db, principal, year=yb, region=reg, sector=sec, tab="years")
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
    body = exports.to_xlsx(tables) if ext == "xlsx" else exports.to_csv(tables[0])
    what = f"{data.a}与{data.b}年度{exports.sector_part(data.sector)}星级评定对比"
    name, fallback = exports.file_name(
        data.region.name, what, ext, fallback=f"years-{data.region.code}-{data.a}-{data.b}"
    )
    return _download(body, ext, name, fallback)


# -- where points are lost -------------------------------------------------------------------------------


def _heatmap(
    db: Session, principal: Principal, year: int | None, region: str | None, by: str, sector: str | None
) -> tuple[Any, dict[str, Any]]:
    _analyst(principal)
    reg = service.resolve_region(db, scope=principal.scope, code=region)
    y = _year(db, principal, year)
    if by == "township":
        if sector == "all":
            raise ValidationFailed(
                "按乡镇查看时须选择一个领域（各领域的一级指标不同）",
                field_errors={"sector": "请选择一个领域"},
            )
        sec = _sector(db, principal, y, reg, sector, default_all=False)
    else:
        sec = None
    data = heatmap.build(db, scope=principal.scope, year=y, region=reg, by=by, sector=sec)
    ctx = _ctx(db, principal, year=y, region=reg, sector=sec, tab="heatmap")
    ctx["by"] = by
    return data, ctx


@router.get("/rankings/heatmap", include_in_schema=False)
def heatmap_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    year: Year = None,
    region: RegionCode = None,
    by: Literal["township", "sector"] = "township",
    sector: SectorParam = None,
) -> Response:
    """Average share of each category's maximum per township (one sector) or per sector."""
    data, ctx = _heatmap(db, principal, year, region, by, sector)
    return render(request, "rankings/heatmap.html", ctx, block="results", data=data)


@router.get("/rankings/heatmap/export.{ext}", include_in_schema=False)
def heatmap_export(
    db: SessionDep,
    principal: CurrentPrincipal,
    ext: Ext,
    year: Year = None,
    region: RegionCode = None,
    by: Literal["township", "sector"] = "township",
    sector: SectorParam = None,
) -> Response:
    data, _c = _heatmap(db, principal, year, region, by, sector)
    table = exports.heatmap_table(data)
    body = exports.to_xlsx([table]) if ext == "xlsx" else exports.to_csv(table)
    what = f"{data.year}年度{exports.sector_part(data.sector or 'all')}失分分析"
    name, fallback = exports.file_name(
        data.region.name, what, ext, fallback=f"heatmap-{data.region.code}-{data.year}"
    )
    return _download(body, ext, name, fallback)


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
    _analyst(principal)
    reg = service.resolve_region(db, scope=principal.scope, code=region)
    if sector not in SECTORS:
        raise ValidationFailed("未知的领域", field_errors={"sector": "未知的领域"})
    y = _year(db, principal, year)
    data = heatmap.cell(
        db, scope=principal.scope, year=y, region=reg, sector=sector, category=category, direct=direct
    )
    ctx = _ctx(db, principal, year=y, region=reg, sector=sector, tab="heatmap")
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


# -- quotas and what-if ---------------------------------------------------------------------------------


@router.get("/rankings/quotas", include_in_schema=False)
def quotas_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    year: Year = None,
    region: RegionCode = None,
) -> Response:
    """Per quota group: each controlled band against its cap or minimum, and the branches at the line."""
    _analyst(principal)
    reg = service.resolve_region(db, scope=principal.scope, code=region)
    y = _year(db, principal, year)
    data = quotas.pressure(db, scope=principal.scope, year=y, region=reg)
    ctx = _ctx(db, principal, year=y, region=reg, sector=None, tab="quotas")
    return render(request, "rankings/quotas.html", ctx, block="results", data=data)


def _share(value: str | None) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        share = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        raise ValidationFailed(
            "五星比例上限格式有误", field_errors={"five_max": "请填写 0–1 之间的小数，如 0.15"}
        ) from None
    if share > 1:
        share = share / 100  # "15" or "15%" means 15 %
    if not share.is_finite() or not Decimal(0) <= share <= Decimal(1):
        raise ValidationFailed("五星比例上限须在 0–100% 之间", field_errors={"five_max": "须在 0–100% 之间"})
    return share


@router.get("/rankings/whatif", include_in_schema=False)
def whatif_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    year: Year = None,
    region: RegionCode = None,
    sector: SectorParam = None,
    set: Annotated[int | None, Query(ge=1)] = None,
    five_max: Annotated[str | None, Query(max_length=10)] = None,
    run: bool = False,
) -> Response:
    """Re-scores a year's entries under another criteria set and/or five-star cap; nothing is saved."""
    _analyst(principal)
    reg = service.resolve_region(db, scope=principal.scope, code=region)
    y = _year(db, principal, year)
    sec = _sector(db, principal, y, reg, sector, default_all=False)
    share = _share(five_max)
    ctx = _ctx(db, principal, year=y, region=reg, sector=sec, tab="whatif")
    ctx.update(
        {
            "sets": whatif.available_sets(db, scope=principal.scope, sector=None),
            "set_id": set,
            "five_max": five_max or "",
        }
    )
    data = None
    if set is not None or share is not None or run or wants_json(request):
        data = whatif.run(
            db, scope=principal.scope, year=y, region=reg, sector=sec, set_id=set, five_max=share
        )
        ctx["chart"] = Markup(
            charts.stacked_bars(
                f"{reg.name}{y}年度星级分布：现状与模拟",
                ["现状", "模拟"],
                charts.star_series(),
                charts.star_rows([data.before, data.after]),
                note="现状：已认定的按认定星级，其余按暂定星级；模拟结果不保存",
            )
        )
    return render(request, "rankings/whatif.html", ctx, block="results", data=data)


@router.get("/rankings/whatif/export.{ext}", include_in_schema=False)
def whatif_export(
    db: SessionDep,
    principal: CurrentPrincipal,
    ext: Ext,
    year: Year = None,
    region: RegionCode = None,
    sector: SectorParam = None,
    set: Annotated[int | None, Query(ge=1)] = None,
    five_max: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    _analyst(principal)
    reg = service.resolve_region(db, scope=principal.scope, code=region)
    y = _year(db, principal, year)
    sec = _sector(db, principal, y, reg, sector, default_all=False)
    data = whatif.run(
        db, scope=principal.scope, year=y, region=reg, sector=sec, set_id=set, five_max=_share(five_max)
    )
    table = exports.whatif_table(data)
    body = exports.to_xlsx([table]) if ext == "xlsx" else exports.to_csv(table)
    name, fallback = exports.file_name(
        reg.name, f"{y}年度星级模拟测算", ext, fallback=f"whatif-{reg.code}-{y}"
    )
    return _download(body, ext, name, fallback)


# -- charts --------------------------------------------------------------------------------------------

CHART_KINDS = ("township", "sector", "trend", "share", "average")


def build_charts(
    db: Session, principal: Principal, *, year: int, region: Region, sector: str | None
) -> dict[str, str]:
    """Every chart of the charts page, as SVG strings (pure data → SVG in app.rankings.charts)."""
    scope = principal.scope
    comp = comparisons.compare_children(db, scope=scope, year=year, region=region, sector=sector)
    kids = [c for c in comp.children if c.completed]
    per_sector = comparisons.by_sector(db, scope=scope, year=year, region=region)
    years = service.years_present(db, scope=scope)
    trend = comparisons.trend(
        db, scope=scope, region=region, years=[y for y in years if y <= year][:8], sector=sector
    )
    label = f"{region.name}{year}年度"
    part = exports.sector_part(sector or "all")
    basis = "已认定的按认定星级，未认定的按暂定星级；仅计已提交及以后的评定"
    return {
        "township": charts.stacked_bars(
            f"{label}{part}星级分布（按下级区域）",
            [c.name for c in kids],
            charts.star_series(),
            charts.star_rows([c.distribution for c in kids]),
            note=basis,
        ),
        "sector": charts.stacked_bars(
            f"{label}星级分布（按领域）",
            [g.name for g in per_sector if g.completed],
            charts.star_series(),
            charts.star_rows([g.distribution for g in per_sector if g.completed]),
            note=basis,
        ),
        "trend": charts.line_chart(
            f"{region.name}{part}历年平均分",
            [f"{y}年" for y, _g in trend],
            [("平均分", [float(g.avg_total) if g.avg_total is not None else None for _y, g in trend])],
            y_min=0,
            unit="分",
        ),
        "share": charts.line_chart(
            f"{region.name}{part}历年星级结构",
            [f"{y}年" for y, _g in trend],
            [
                (
                    "三星及以上占比",
                    [g.share_3plus * 100 if g.share_3plus is not None else None for _y, g in trend],
                ),
                (
                    "五星占比",
                    [
                        100 * g.five_star / sum(g.distribution.values())
                        if sum(g.distribution.values())
                        else None
                        for _y, g in trend
                    ],
                ),
            ],
            y_min=0,
            y_max=100,
            unit="%",
        ),
        "average": charts.bar_chart(
            f"{label}{part}平均分（按下级区域）",
            [c.name for c in kids],
            [float(c.avg_total) if c.avg_total is not None else None for c in kids],
            unit="分",
            reference=float(comp.overall.avg_total) if comp.overall.avg_total is not None else None,
            reference_label="全区域平均",
        ),
    }


@router.get("/rankings/charts", include_in_schema=False)
def charts_page(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    year: Year = None,
    region: RegionCode = None,
    sector: SectorParam = None,
) -> Response:
    """Star distribution by township and by sector, trends over the years, township comparison."""
    _analyst(principal)
    reg = service.resolve_region(db, scope=principal.scope, code=region)
    y = _year(db, principal, year)
    sec = _sector(db, principal, y, reg, sector, default_all=True)
    svgs = build_charts(db, principal, year=y, region=reg, sector=sec)
    ctx = _ctx(db, principal, year=y, region=reg, sector=sec, tab="charts")
    ctx["charts"] = {k: Markup(v) for k, v in svgs.items()}
    ctx["chart_query"] = request.url.query
    return render(request, "rankings/charts.html", ctx, block="results")


@router.get("/rankings/charts/{kind}.svg", include_in_schema=False)
def chart_svg(
    db: SessionDep,
    principal: CurrentPrincipal,
    kind: Literal["township", "sector", "trend", "share", "average"],
    year: Year = None,
    region: RegionCode = None,
    sector: SectorParam = None,
) -> Response:
    """One chart as an SVG file (for reports and slides)."""
    _analyst(principal)
    reg = service.resolve_region(db, scope=principal.scope, code=region)
    y = _year(db, principal, year)
    sec = _sector(db, principal, y, reg, sector, default_all=True)
    svg = build_charts(db, principal, year=y, region=reg, sector=sec)[kind]
    return Response(svg, media_type="image/svg+xml; charset=utf-8", headers={"Vary": "Accept"})
