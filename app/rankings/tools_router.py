"""County analysis tools (and their JSON twins and exports): quota pressure, what-if and charts.
Access as for the other analysis pages (see app.rankings.router)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlmodel import Session

from app.auth.deps import CurrentPrincipal, Principal
from app.db import SessionDep
from app.errors import ValidationFailed
from app.rankings import charts, comparisons, exports, quotas, service, whatif
from app.rankings.pages import (
    Ext,
    FilterBar,
    RegionCode,
    Year,
    download,
    page_ctx,
    region_of,
    resolve_filters,
    resolve_year,
)
from app.regions.models import Region
from app.web.htmx import render, wants_json

router = APIRouter(tags=["排名分析"])


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
    reg = region_of(db, principal, region)
    y = resolve_year(db, principal, year)
    data = quotas.pressure(db, scope=principal.scope, year=y, region=reg)
    ctx = page_ctx(db, principal, year=y, region=reg, sector=None, tab="quotas")
    return render(request, "rankings/quotas.html", ctx, block="results", data=data)


SetId = Annotated[int | None, Query(ge=1)]
FiveMax = Annotated[str | None, Query(max_length=10)]


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
    f: FilterBar,
    set: SetId = None,
    five_max: FiveMax = None,
    run: bool = False,
) -> Response:
    """Re-scores a year's entries under another criteria set and/or five-star cap; nothing is saved."""
    reg, y, sec = resolve_filters(db, principal, f, default_all=False)
    share = _share(five_max)
    ctx = page_ctx(db, principal, year=y, region=reg, sector=sec, tab="whatif")
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
    f: FilterBar,
    set: SetId = None,
    five_max: FiveMax = None,
) -> Response:
    reg, y, sec = resolve_filters(db, principal, f, default_all=False)
    data = whatif.run(
        db, scope=principal.scope, year=y, region=reg, sector=sec, set_id=set, five_max=_share(five_max)
    )
    table = exports.whatif_table(data)
    return download(ext, [table], reg.name, f"{y}年度星级模拟测算", f"whatif-{reg.code}-{y}")


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
def charts_page(request: Request, db: SessionDep, principal: CurrentPrincipal, f: FilterBar) -> Response:
    """Star distribution by township and by sector, trends over the years, township comparison."""
    reg, y, sec = resolve_filters(db, principal, f, default_all=True)
    svgs = build_charts(db, principal, year=y, region=reg, sector=sec)
    ctx = page_ctx(db, principal, year=y, region=reg, sector=sec, tab="charts")
    ctx["charts"] = {k: Markup(v) for k, v in svgs.items()}
    ctx["chart_query"] = request.url.query
    return render(request, "rankings/charts.html", ctx, block="results")


@router.get("/rankings/charts/{kind}.svg", include_in_schema=False)
def chart_svg(
    db: SessionDep,
    principal: CurrentPrincipal,
    kind: Literal["township", "sector", "trend", "share", "average"],
    f: FilterBar,
) -> Response:
    """One chart as an SVG file (for reports and slides)."""
    reg, y, sec = resolve_filters(db, principal, f, default_all=True)
    svg = build_charts(db, principal, year=y, region=reg, sector=sec)[kind]
    return Response(svg, media_type="image/svg+xml; charset=utf-8", headers={"Vary": "Accept"})
