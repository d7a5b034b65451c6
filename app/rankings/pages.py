"""Shared request helpers of the county analysis pages: who may see them, the filter bar (region, year,
sector), its template context and file downloads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, overload

from fastapi import Depends, Query
from fastapi.responses import Response
from sqlmodel import Session

from app import clock
from app.auth.deps import Principal
from app.errors import Forbidden
from app.rankings import exports, service
from app.regions import service as regions_service
from app.regions.models import Region

Year = Annotated[int | None, Query(ge=2000, le=2100)]
RegionCode = Annotated[str | None, Query(max_length=12, pattern=r"^\d*$")]
SectorParam = Annotated[str | None, Query(max_length=16)]
Ext = Literal["xlsx", "csv"]
T = TypeVar("T")
BAR_LEVELS = ("province", "city", "county", "township")  # villages would be thousands of options
CHANGE_LABELS = exports.CHANGE_LABELS
BASIS_LABELS = exports.BASIS_LABELS


@dataclass(frozen=True)
class Filters:
    """The filter bar of the analysis pages (query parameters, not yet resolved)."""

    year: int | None
    region: str | None
    sector: str | None


def _filters_query(year: Year = None, region: RegionCode = None, sector: SectorParam = None) -> Filters:
    return Filters(year, region, sector)


FilterBar = Annotated[Filters, Depends(_filters_query)]


@dataclass(frozen=True)
class RankingQuery:
    """The ranking's filters, search, order and page."""

    filters: Filters
    q: str | None
    stars: int | None
    sort: str
    page: int
    per_page: int


def _ranking_query(
    filters: FilterBar,
    q: Annotated[str | None, Query(max_length=64)] = None,
    stars: Annotated[int | None, Query(ge=0, le=5)] = None,
    sort: Annotated[str, Query(max_length=16)] = "rank",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> RankingQuery:
    return RankingQuery(filters, q, stars, sort, page, per_page)


RankingParams = Annotated[RankingQuery, Depends(_ranking_query)]


def require_analyst(principal: Principal) -> None:
    if principal.user.role == "branch" or principal.scope.branch_id is not None:
        raise Forbidden("支部书记账号不能查看排名分析，可在本支部星级页面查看本支部情况")


def resolve_year(db: Session, principal: Principal, year: int | None) -> int:
    if year is not None:
        return year
    latest = service.latest_year(db, scope=principal.scope)
    if latest is None:
        return clock.this_year()
    return latest


def resolve_sector(
    db: Session, principal: Principal, year: int, region: Region, sector: str | None, *, default_all: bool
) -> str | None:
    checked = service.check_sector(sector)
    if checked == "default":
        if default_all:
            return None
        return service.default_sector(db, scope=principal.scope, year=year, region_path=region.path)
    return checked


class Lazy(Sequence[T]):
    """A list computed on first use: the filter bar's choices cost queries that a fragment or JSON answer
    (which never renders the bar) should not pay. Templates render inside the request, so the session is
    still open when the page iterates it."""

    def __init__(self, compute: Callable[[], Iterable[T]]) -> None:
        self._compute = compute
        self._items: list[T] | None = None

    def _get(self) -> list[T]:
        if self._items is None:
            self._items = list(self._compute())
        return self._items

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[T]:
        return iter(self._get())

    def __contains__(self, value: object) -> bool:
        return value in self._get()


def page_ctx(
    db: Session, principal: Principal, *, year: int, region: Region, sector: str | None, tab: str
) -> dict[str, Any]:
    """What every analysis page's filter bar needs."""
    scope = principal.scope
    return {
        "tab": tab,
        "year": year,
        "years": Lazy(lambda: service.years_present(db, scope=scope) or [year]),
        "region": region,
        "regions": Lazy(lambda: regions_service.in_scope(db, scope=scope, levels=BAR_LEVELS)),
        "sector": sector or "all",
        "sectors": Lazy(lambda: service.sectors_present(db, scope=scope, year=year, region_path=region.path)),
        "SORTS": service.SORTS,
        "CHANGE_LABELS": CHANGE_LABELS,
        "BASIS_LABELS": BASIS_LABELS,
        "STAR_LEVELS": list(range(5, -1, -1)),
    }


def region_of(db: Session, principal: Principal, code: str | None) -> Region:
    """The region of an analysis page (analysts only; outside the scope: 404)."""
    require_analyst(principal)
    return service.resolve_region(db, scope=principal.scope, code=code)


def resolve_filters(
    db: Session, principal: Principal, q: Filters, *, default_all: bool
) -> tuple[Region, int, str | None]:
    """Region, year and sector of an analysis page, from its filter bar."""
    reg = region_of(db, principal, q.region)
    y = resolve_year(db, principal, q.year)
    return reg, y, resolve_sector(db, principal, y, reg, q.sector, default_all=default_all)


def download(ext: str, tables: list[Any], place: str, what: str, fallback: str) -> Response:
    """A download of tables: all of them as sheets of an xlsx file, or the first one as csv."""
    body = exports.to_xlsx(tables) if ext == "xlsx" else exports.to_csv(tables[0])
    name, ascii_name = exports.file_name(place, what, ext, fallback=fallback)
    return Response(
        body,
        media_type=exports.XLSX_TYPE if ext == "xlsx" else exports.CSV_TYPE,
        headers={"Content-Disposition": exports.content_disposition(name, fallback=ascii_name)},
    )
