"""Rankings and the shared queries of the county analysis: pure SQL, no FastAPI.

The product's ranking is ``rank()``: one year's assessments in a region (inside the caller's scope),
one sector or all sectors, ranked by total with ties (``RANK() OVER (ORDER BY total DESC)``: 1, 2, 2, 4),
a percentile from ``PERCENT_RANK()``, the change against the final stars of the previous year, and
search / star filters that never change a rank (they filter the ranked rows). Both window functions
exist on SQLite (>= 3.25) and PostgreSQL.

Only assessments at ``submitted`` or later take part by default (``RANKED_STATUSES``): a scoring still
in progress has a meaningless total. Stars shown are the final stars once an assessment is final, the
provisional stars (``stars``) before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, case, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.assessments.models import TALLY_DEPTH, Assessment, AssessmentTally
from app.auth.scope import Scope
from app.branches.models import Branch
from app.db import in_chunks
from app.errors import NotFound, ValidationFailed
from app.labels import SECTORS
from app.rankings.schemas import Change, RankedRow, RankingPage, RegionRef
from app.regions.models import Region
from app.regions.paths import LIKE_ESCAPE, in_subtree, in_subtree_bound, like_escaped, subtree_params

COMPLETED_STATUSES: tuple[str, ...] = ("submitted", "reviewed", "publicized", "final")
RANKED_STATUSES = COMPLETED_STATUSES
SORTS: dict[str, str] = {
    "rank": "名次",
    "-rank": "名次（倒序）",
    "change": "降星在前",
    "township": "乡镇/街道",
    "code": "支部编码",
}
MAX_LIMIT = 100_000

# Query aliases typed Any: SQLModel's instance-level attribute types (int, str …) fight SQLAlchemy's
# expression typing in select()/where().
A: Any = Assessment
B: Any = Branch
R: Any = Region
T: Any = AssessmentTally


def shown_stars(a: Any = A) -> Any:
    """SQL: the stars a person should see (final once final, else provisional)."""
    return case((a.status == "final", a.final_stars), else_=a.stars)


def prev_final(prev: Any) -> Any:
    """SQL: the previous year's final stars (NULL when that year is not final)."""
    return case((prev.status == "final", prev.final_stars), else_=None)


# Built once: an aliased entity adapts its columns on first use (5 ms per request when made per call).
PREV: Any = aliased(Assessment, name="prev")
SHOWN: Any = shown_stars()
BEFORE: Any = prev_final(PREV)


def change_of(now: int | None, before: int | None) -> Change:
    if before is None or now is None:
        return "new"
    return "up" if now > before else "down" if now < before else "same"


# -- regions --------------------------------------------------------------------------------------


def resolve_region(session: Session, *, scope: Scope, code: str | None) -> Region:
    """The region to analyse: the code given (inside the scope, else 404), or the scope's own region."""
    if not code:
        region = session.get(Region, scope.region_id)
    else:
        region = session.execute(select(R).where(R.code == code)).scalars().first()
        if region is not None and not scope.contains_path(region.path):
            region = None
    if region is None:
        raise NotFound("区域不存在或不在您的管辖范围内")
    return region  # type: ignore[no-any-return]


def region_ref(region: Region) -> RegionRef:
    return RegionRef(code=region.code, name=region.name, level=region.level, path=region.path)


def path_codes(path: str) -> list[str]:
    return [c for c in path.strip("/").split("/") if c]


def regions_by_code(session: Session, codes: Iterable[str]) -> dict[str, Region]:
    out: dict[str, Region] = {}
    for chunk in in_chunks(codes):
        for r in session.execute(select(R).where(R.code.in_(chunk))).scalars():
            out[r.code] = r
    return out


def township_of_path(path: str, regions: dict[str, Region]) -> Region | None:
    for code in path_codes(path):
        r = regions.get(code)
        if r is not None and r.level == "township":
            return r
    return None


def region_conditions(scope: Scope, region_path: str, a: Any = A, *, indexed: bool = True) -> list[Any]:
    """SQL: a row of `a` lies in `region_path` and in the scope. One range when the region is inside the
    scope (an index can serve only one range on a column; two overlapping ones made SQLite scan the scope's
    range and filter the region's); both otherwise, which matches nothing outside the scope."""
    conds: list[Any] = [in_subtree(col(a.region_path), region_path, indexed=indexed)]
    if not scope.contains_path(region_path):
        conds.append(scope.filter(col(a.region_path)))
    if scope.branch_id is not None:
        conds.append(a.branch_id == scope.branch_id)
    return conds


def scoped(stmt: Any, *, scope: Scope, region_path: str, a: Any = A) -> Any:
    return stmt.where(*region_conditions(scope, region_path, a))


def years_present(session: Session, *, scope: Scope) -> list[int]:
    """The years that have assessments in the scope, newest first.

    A loose index scan: the next lower year of the whole table (max(year) < y, one index seek), then
    whether the scope has a row in it (another seek on (year, region_path)). A year has ~100,000 rows at
    province scale; SELECT DISTINCT over the scope read them all."""
    years: list[int] = []
    year = session.execute(select(func.max(A.year))).scalar()
    while year is not None:
        probe = scoped(select(A.id).where(A.year == year), scope=scope, region_path=scope.region_path)
        if session.execute(probe.limit(1)).first() is not None:
            years.append(int(year))
        year = session.execute(select(func.max(A.year)).where(A.year < year)).scalar()
    return years


def latest_year(session: Session, *, scope: Scope) -> int | None:
    years = years_present(session, scope=scope)
    return years[0] if years else None


def sectors_present(session: Session, *, scope: Scope, year: int, region_path: str) -> list[str]:
    """Sectors with assessments in the year and region, in the product's sector order."""
    stmt = scoped(select(A.sector).distinct().where(A.year == year), scope=scope, region_path=region_path)
    found = set(session.execute(stmt).scalars())
    return [s for s in SECTORS if s in found]


def default_sector(session: Session, *, scope: Scope, year: int, region_path: str) -> str:
    """The first sector (in the product's order) present in the year and region: rankings compare like with
    like unless `sector=all` is asked for."""
    present = sectors_present(session, scope=scope, year=year, region_path=region_path)
    return present[0] if present else next(iter(SECTORS))


def check_sector(sector: str | None, *, allow_all: bool = True) -> str | None:
    """Validates a sector parameter: a code, 'all' (→ None) or empty (→ 'default')."""
    if sector in (None, ""):
        return "default"
    if sector == "all" and allow_all:
        return None
    if sector not in SECTORS:
        raise ValidationFailed("未知的领域", field_errors={"sector": "未知的领域"})
    return sector


# -- the ranking --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Keyset position for sort=rank: the last row's total and branch code."""

    total: Decimal
    code: str

    def encode(self) -> str:
        return f"{self.total}|{self.code}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            total, code = text.split("|", 1)
            return cls(Decimal(total), code)
        except Exception:
            raise ValidationFailed("分页游标无效", field_errors={"after": "分页游标无效"}) from None


@dataclass(frozen=True)
class _Shape:
    """What the SQL of a ranking depends on apart from its values. Each shape's statements are built
    once, with named parameters, and run with one parameter dict (`_Ranking.params`): building a
    statement (expressions, then SQLAlchemy's cache key) cost more than running it on a county's page."""

    large: bool  # read in total order, not through the region index (see LARGE_RANKING)
    sector: bool
    statuses: bool
    branch: bool  # the scope is one branch


@dataclass(frozen=True)
class _Ranking:
    shape: _Shape
    params: dict[str, Any]


def _ranking(
    *,
    scope: Scope,
    year: int,
    region_path: str,
    sector: str | None,
    statuses: Sequence[str] | None,
    large: bool = False,
) -> _Ranking:
    """The assessments that take part in a ranking (before search and star filters), as a shape and its
    values. `region_path` must lie in the scope (rank() checks it)."""
    shape = _Shape(
        large=large, sector=bool(sector), statuses=statuses is not None, branch=scope.branch_id is not None
    )
    params: dict[str, Any] = {"year": year, "prev_year": year - 1, **subtree_params("rp", region_path)}
    if sector:
        params["sector"] = sector
    if statuses is not None:
        params["statuses"] = list(statuses)
    if scope.branch_id is not None:
        params["branch"] = scope.branch_id
    return _Ranking(shape, params)


def _total(shape: _Shape) -> Any:
    # A small ranking is read through its region's index; `total + 0` keeps SQLite from reading the whole
    # year in total order instead because of a term on the total.
    return col(A.total) if shape.large else col(A.total) + 0


@lru_cache(maxsize=64)
def _conds(shape: _Shape) -> tuple[Any, ...]:
    conds: list[Any] = [
        A.year == bindparam("year"),
        _total(shape).is_not(None),
        in_subtree_bound(col(A.region_path), "rp", indexed=not shape.large),
    ]
    if shape.branch:
        conds.append(A.branch_id == bindparam("branch"))
    if shape.sector:
        conds.append(A.sector == bindparam("sector"))
    if shape.statuses:
        conds.append(col(A.status).in_(bindparam("statuses", expanding=True)))
    return tuple(conds)


def _order(sort: str, change: Any) -> list[Any]:
    return {
        "rank": [col(A.total).desc(), B.code],
        "-rank": [col(A.total).asc(), B.code.desc()],
        "code": [B.code],
        "township": [col(A.region_path), col(A.total).desc(), B.code],
        "change": [case((change.is_(None), 1), else_=0), change, col(A.total).desc(), B.code],
    }[sort]


@dataclass(frozen=True)
class Standing:
    """Where a total stands in a ranking: its rank (ties share it) and PERCENT_RANK() ascending (0..1)."""

    rank: int
    pct: float


# SQLite plans without statistics: given a region range and a total range it may pick either index. A
# large ranking (a province) is read in total order, so its region range must not take the index.
LARGE_RANKING = 20_000
PICK_THEN_LOAD = 500


@lru_cache(maxsize=8)
def _tally_stmt(sector: bool, statuses: bool) -> Any:
    stmt = select(func.coalesce(func.sum(T.n), 0)).where(
        T.year == bindparam("year"), in_subtree_bound(col(T.prefix), "rp")
    )
    if sector:
        stmt = stmt.where(T.sector == bindparam("sector"))
    if statuses:
        stmt = stmt.where(col(T.status).in_(bindparam("statuses", expanding=True)))
    return stmt


def ranked_count(
    session: Session,
    *,
    scope: Scope,
    year: int,
    region_path: str,
    sector: str | None,
    statuses: Sequence[str] | None,
) -> int | None:
    """How many assessments a ranking has, from the trigger-maintained tally (a sum over a few thousand
    rows for a whole province); None where the tally cannot say (a region below its depth, a branch's
    scope): count the rows then."""
    if scope.branch_id is not None or len(path_codes(region_path)) > TALLY_DEPTH:
        return None
    if not scope.contains_path(region_path):
        return 0
    r = _ranking(scope=scope, year=year, region_path=region_path, sector=sector, statuses=statuses)
    return _tally(session, r)


def _tally(session: Session, r: _Ranking) -> int:
    stmt = _tally_stmt(r.shape.sector, r.shape.statuses)
    return int(session.connection().execute(stmt, r.params).scalar_one())


@lru_cache(maxsize=64)
def _standing_stmts(shape: _Shape) -> tuple[Any, Any, Any, Any]:
    """(count, count and count above :top, count above :top, histogram of :bottom..:top) of a shape."""
    conds, total = _conds(shape), _total(shape)
    count = select(func.count()).select_from(A).where(*conds)
    both = select(func.count(), func.count().filter(total > bindparam("top"))).select_from(A).where(*conds)
    above = select(func.count()).select_from(A).where(*conds, total > bindparam("top"))
    hist = (
        select(col(A.total), func.count())
        .where(*conds, total >= bindparam("bottom"), total <= bindparam("top"))
        .group_by(col(A.total))
        .order_by(col(A.total).desc())
    )
    return count, both, above, hist


def _standings(
    session: Session, r: _Ranking, totals: set[Decimal], ranked: int | None
) -> tuple[dict[Decimal, Standing], int]:
    """The rank and percentile of each of `totals` (a page's), and how many assessments are ranked.

    rank(t) = 1 + #(total > t) and percent_rank(t) = #(total < t) / (n - 1), as RANK() / PERCENT_RANK()
    give, from small statements instead of a window over every row: the rows above the page's highest
    total are counted through the (year, total) index (none for the first page), n comes from the tally
    (`ranked`) or from the same scan, and a histogram of the totals within the page's range (about a page
    of rows) places each total inside it."""
    count, both, above_stmt, hist = _standing_stmts(r.shape)
    conn = session.connection()
    if not totals:
        if ranked is None:
            ranked = int(conn.execute(count, r.params).scalar_one())
        return {}, ranked
    top, bottom = max(totals), min(totals)
    params = {**r.params, "top": top, "bottom": bottom}
    if ranked is None:
        counts = conn.execute(both, params).one()
        ranked, above = int(counts[0]), int(counts[1])
    else:
        above = int(conn.execute(above_stmt, params).scalar_one())
    out: dict[Decimal, Standing] = {}
    for total, n in conn.execute(hist, params):
        at_or_above = above + int(n)
        out[Decimal(total)] = Standing(
            rank=above + 1, pct=(ranked - at_or_above) / (ranked - 1) if ranked > 1 else 0.0
        )
        above = at_or_above
    return out, ranked


@lru_cache(maxsize=64)
def _one_standing_stmt(shape: _Shape) -> Any:
    t: Any = bindparam("t")
    counts = (func.count().filter(col(A.total) > t), func.count().filter(col(A.total) < t), func.count())
    return select(*counts).where(*_conds(shape))


def _standing(session: Session, r: _Ranking, total: Decimal) -> Standing:
    """One total's standing by two counts: for a total written between the page and the aggregate
    (READ COMMITTED on PostgreSQL runs each statement on its own snapshot)."""
    counts = session.connection().execute(_one_standing_stmt(r.shape), {**r.params, "t": total}).one()
    above, below, ranked = (int(v) for v in counts)
    return Standing(rank=above + 1, pct=below / (ranked - 1) if ranked > 1 else 0.0)


# A row's township: its own region when that is a township, else the region's parent when that is one.
# Levels strictly descend along a path (regions.service refuses a region under one of its own level or
# lower), so a village's township can only be its parent, and a county's or a city's row has none.
TOWN_PARENT: Any = aliased(Region, name="town_parent")
TOWN_CODE: Any = case(
    (R.level == "township", R.code), (TOWN_PARENT.level == "township", TOWN_PARENT.code), else_=None
)
TOWN_NAME: Any = case(
    (R.level == "township", R.name), (TOWN_PARENT.level == "township", TOWN_PARENT.name), else_=None
)


def with_regions(stmt: Any) -> Any:
    """`stmt` joined to each row's region (R) and that region's parent: what TOWN_CODE/TOWN_NAME read."""
    return stmt.outerjoin(R, R.path == A.region_path).outerjoin(TOWN_PARENT, TOWN_PARENT.id == R.parent_id)


PAGE_COLUMNS: tuple[Any, ...] = (
    col(A.id).label("assessment_id"),
    B.code.label("branch_code"),
    B.name.label("branch_name"),
    col(A.sector).label("sector"),
    col(A.region_path).label("region_path"),
    R.name.label("region_name"),
    col(A.status).label("status"),
    col(A.total).label("total"),
    col(A.band_stars).label("band_stars"),
    col(A.stars).label("stars"),
    col(A.final_stars).label("final_stars"),
    col(A.vetoed).label("vetoed"),
    col(A.designated).label("designated"),
    SHOWN.label("stars_shown"),
    BEFORE.label("prev_final_stars"),
    TOWN_CODE.label("township_code"),
    TOWN_NAME.label("township_name"),
)
# The previous year's assessment of a page row's branch (`:prev_year`).
PREV_JOIN = and_(col(PREV.branch_id) == col(A.branch_id), col(PREV.year) == bindparam("prev_year"))


@lru_cache(maxsize=256)
def _filters(q: bool, stars: bool) -> tuple[Any, ...]:
    out: list[Any] = []
    if q:  # `:q` is '%' + the escaped search text + '%'
        out.append(
            or_(
                B.name.like(bindparam("q"), escape=LIKE_ESCAPE),
                B.code.like(bindparam("q"), escape=LIKE_ESCAPE),
            )
        )
    if stars:
        out.append(SHOWN == bindparam("stars"))  # noqa: SIM300 (SHOWN is an SQL expression)
    return tuple(out)


@lru_cache(maxsize=256)
def _page_stmt(shape: _Shape, sort: str, step: str, q: bool, stars: bool, after: bool, offset: bool) -> Any:
    """The page in `sort` order, :limit rows of it: `step` "ids" picks their ids (loaded next by _LOAD),
    "full" reads PAGE_COLUMNS, "light" reads _LIGHT_COLUMNS (no previous year)."""
    if step == "ids":
        stmt: Any = select(col(A.id).label("assessment_id"))
    else:
        stmt = select(*(_LIGHT_COLUMNS if step == "light" else PAGE_COLUMNS))
    stmt = stmt.join(B, B.id == A.branch_id)
    if step != "ids":
        stmt = with_regions(stmt)
    if step == "full" or sort == "change":
        stmt = stmt.outerjoin(PREV, PREV_JOIN)
    stmt = stmt.where(*_conds(shape), *_filters(q, stars))
    if after:
        # The redundant `total <= t` lets the index range start at the cursor.
        at: Any = bindparam("after_total")
        stmt = stmt.where(col(A.total) <= at, or_(col(A.total) < at, B.code > bindparam("after_code")))
    stmt = stmt.order_by(*_order(sort, SHOWN - BEFORE)).limit(bindparam("limit"))
    if offset:
        stmt = stmt.offset(bindparam("offset"))
    return stmt


# What a light page (`light=True`: the API's) reads: no previous year, no flags.
_LIGHT_COLUMNS: tuple[Any, ...] = tuple(
    c
    for c in PAGE_COLUMNS
    if c.name
    in {
        "assessment_id",
        "branch_code",
        "branch_name",
        "sector",
        "region_path",
        "status",
        "total",
        "stars",
        "final_stars",
        "township_code",
        "township_name",
    }
)
# The columns of a picked page, by id.
_LOAD = (
    with_regions(select(*PAGE_COLUMNS).join(B, B.id == A.branch_id))
    .outerjoin(PREV, PREV_JOIN)
    .where(col(A.id).in_(bindparam("ids", expanding=True)))
)


@lru_cache(maxsize=256)
def _matched_stmt(shape: _Shape, q: bool, stars: bool) -> Any:
    return (
        select(func.count())
        .select_from(A)
        .join(B, B.id == A.branch_id)
        .where(*_conds(shape), *_filters(q, stars))
    )


Town = tuple[str | None, str | None]  # (township code, township name) of a row's region path
_NO_TOWN: Town = (None, None)
# (a page row's values, its total as Decimal, its standing) → the row rank() returns.
RowBuilder = Callable[[Any, Decimal, Standing], Any]


def rank(
    session: Session,
    *,
    scope: Scope,
    year: int,
    region_path: str | None = None,
    sector: str | None = None,
    statuses: Sequence[str] | None = RANKED_STATUSES,
    q: str | None = None,
    stars: int | None = None,
    sort: str = "rank",
    after: Cursor | None = None,
    offset: int = 0,
    limit: int = 50,
    build: RowBuilder | None = None,
    light: bool = False,
) -> tuple[list[Any], int, int, Cursor | None]:
    """One page of a year's ranking and (rows, rows matching the filters, branches ranked, next cursor).

    * ``region_path``: a subtree inside ``scope`` (default: the scope's region); outside → NotFound.
    * ``sector``: one sector, or None for a ranking across sectors.
    * ``statuses``: which assessments take part (default: submitted or later; None: every status).
    * ``q`` (branch name or code contains), ``stars`` (shown stars) filter the ranked rows; ranks and
      percentiles are those of the whole ranking.
    * ``sort``: one of ``SORTS``; ``after`` (keyset, sort="rank" only) or ``offset`` paginate.
    * rows are ``RankedRow``; ``build`` makes another row from the page's values instead (the API makes
      its own schema's rows directly), and ``light`` loads only ``_LIGHT_COLUMNS`` for it.

    The page is read in index order (year, total) and stops after ``limit`` rows; ranks and percentiles
    come from an aggregate of the ranked totals (``_standings``). Ranking 100,000 assessments with window
    functions on every request cost 1.5 s on SQLite; this costs one index scan.
    """
    region_path = region_path or scope.region_path
    if not scope.contains_path(region_path):
        raise NotFound("区域不存在或不在您的管辖范围内")
    if sort not in SORTS:
        raise ValidationFailed("未知的排序方式", field_errors={"sort": "未知的排序方式"})
    if after is not None and sort != "rank":
        raise ValidationFailed("游标分页只适用于按名次排序")
    limit = max(1, min(limit, MAX_LIMIT))
    tally = ranked_count(
        session, scope=scope, year=year, region_path=region_path, sector=sector, statuses=statuses
    )
    r = _ranking(
        scope=scope,
        year=year,
        region_path=region_path,
        sector=sector,
        statuses=statuses,
        large=tally is not None and tally > LARGE_RANKING,
    )
    q = q.strip() if q else None
    params: dict[str, Any] = {**r.params, "limit": limit + 1}
    if q:
        params["q"] = f"%{like_escaped(q)}%"
    if stars is not None:
        params["stars"] = stars
    if after is not None:
        params["after_total"], params["after_code"] = after.total, after.code
    use_offset = after is None and offset > 0
    if use_offset:
        params["offset"] = offset
    # A page (up to PICK_THEN_LOAD rows) is picked by id first, joining only what the order and filters
    # need, then its columns are loaded for those ids: the region and previous-year joins run for the
    # page, not for every row of a county that the sort reads. Longer pages (exports) load in one go.
    # A light page (no previous year) is read in one statement: in (year, total) order the region joins run
    # only for the rows the LIMIT keeps, so there is nothing for a pick-then-load to spare.
    step = "light" if light else "ids" if limit <= PICK_THEN_LOAD else "full"
    stmt = _page_stmt(r.shape, sort, step, bool(q), stars is not None, after is not None, use_offset)
    # Core rows through the session's connection: no ORM loading machinery for a page of plain columns.
    conn = session.connection()
    raw: list[Any] = list(conn.execute(stmt, params))
    more = len(raw) > limit
    raw = raw[:limit]
    if step == "ids" and raw:
        ids = [x.assessment_id for x in raw]
        by_id = {x.assessment_id: x for x in conn.execute(_LOAD, {"ids": ids, "prev_year": year - 1})}
        raw = [by_id[i] for i in ids]
    standings, ranked = _standings(session, r, {Decimal(x.total) for x in raw}, tally)
    if q or stars is not None:
        matched = int(conn.execute(_matched_stmt(r.shape, bool(q), stars is not None), params).scalar_one())
    else:
        matched = ranked
    make = build or ranked_row
    rows = []
    for x in raw:
        total = Decimal(x.total)
        standing = standings.get(total) or _standing(session, r, total)
        rows.append(make(x, total, standing))
    last = raw[-1] if raw else None
    cursor = Cursor(Decimal(last.total), last.branch_code) if more and last and sort == "rank" else None
    return rows, matched, ranked, cursor


def towns_of(session: Session, paths: Iterable[str]) -> dict[str, Town]:
    """path → its township (code, name), by the rule of TOWN_CODE/TOWN_NAME (the one a ranking page joins),
    for callers that have paths rather than rows; each path is looked up once."""
    wanted = sorted(set(paths))
    out: dict[str, Town] = dict.fromkeys(wanted, _NO_TOWN)
    for chunk in in_chunks(wanted):
        rows = session.connection().execute(_TOWNS, {"paths": chunk})
        out.update((path, (code, name)) for path, code, name in rows)
    return out


_TOWNS = (
    select(R.path, TOWN_CODE, TOWN_NAME)
    .select_from(R)
    .outerjoin(TOWN_PARENT, TOWN_PARENT.id == R.parent_id)
    .where(R.path.in_(bindparam("paths", expanding=True)))
)


def ranked_row(x: Any, total: Decimal, standing: Standing) -> RankedRow:
    """A ranking row from a row of PAGE_COLUMNS, its total and standing."""
    # Validated from a dict in pydantic's core: 2.4 µs a row, less than model_construct's Python loop
    # (5.7 µs; a large county's report builds 3,000 of these).
    return RankedRow.model_validate(
        {
            "rank": standing.rank,
            "percentile": round(standing.pct * 100, 1),
            "assessment_id": x.assessment_id,
            "branch_code": x.branch_code,
            "branch_name": x.branch_name,
            "sector": x.sector,
            "region_path": x.region_path,
            "township_code": x.township_code,
            "township_name": x.township_name,
            "region_name": x.region_name,
            "status": x.status,
            "total": total,
            "band_stars": x.band_stars,
            "stars": x.stars,
            "final_stars": x.final_stars,
            "stars_shown": x.stars_shown,
            "stars_basis": "final" if x.status == "final" else "provisional",
            "prev_final_stars": x.prev_final_stars,
            "change": change_of(x.stars_shown, x.prev_final_stars),
            "vetoed": bool(x.vetoed),
            "designated": bool(x.designated),
        }
    )


@lru_cache(maxsize=8)
def _all_count_stmt(shape: _Shape) -> Any:
    """Every assessment of the ranking's year, region and sector, with a total or not."""
    conds = [A.year == bindparam("year"), in_subtree_bound(col(A.region_path), "rp")]
    if shape.branch:
        conds.append(A.branch_id == bindparam("branch"))
    if shape.sector:
        conds.append(A.sector == bindparam("sector"))
    return select(func.count()).select_from(A).where(*conds)


def ranking_page(
    session: Session,
    *,
    scope: Scope,
    year: int,
    region: Region,
    sector: str | None,
    q: str | None = None,
    stars: int | None = None,
    sort: str = "rank",
    page: int = 1,
    per_page: int = 50,
) -> RankingPage:
    """The ranking as the pages show it: one offset page plus the counts around it."""
    rows, matched, ranked, cursor = rank(
        session,
        scope=scope,
        year=year,
        region_path=region.path,
        sector=sector,
        q=q,
        stars=stars,
        sort=sort,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    r = _ranking(scope=scope, year=year, region_path=region.path, sector=sector, statuses=None)
    total_all = int(session.connection().execute(_all_count_stmt(r.shape), r.params).scalar_one())
    return RankingPage(
        year=year,
        region=region_ref(region),
        sector=sector or "all",
        statuses=list(RANKED_STATUSES),
        q=q,
        stars=stars,
        sort=sort,
        ranked=ranked,
        not_ranked=max(total_all - ranked, 0),
        total=matched,
        page=page,
        per_page=per_page,
        pages=max(1, -(-matched // per_page)),
        next_after=cursor.encode() if cursor else None,
        rows=rows,
    )


# -- grouped figures (comparisons, charts) -------------------------------------------------------------


@dataclass(frozen=True)
class PathCount:
    """Assessments sharing a region path, status, shown stars and change against last year."""

    region_path: str
    sector: str
    status: str
    stars: int | None
    change: Change
    count: int
    total_sum: Decimal
    total_count: int


def path_counts(
    session: Session,
    *,
    scope: Scope,
    year: int,
    region_path: str,
    sector: str | None = None,
) -> list[PathCount]:
    """Assessments of a year in a region grouped by (path, sector, status, shown stars, change): one small
    aggregate that comparisons, year pairs and charts fold into any grouping."""
    prev, shown, before = PREV, SHOWN, BEFORE
    change = case(
        (or_(before.is_(None), shown.is_(None)), literal("new")),
        (shown > before, literal("up")),
        (shown < before, literal("down")),
        else_=literal("same"),
    )
    stmt = (
        select(
            col(A.region_path),
            col(A.sector),
            col(A.status),
            shown.label("shown"),
            change.label("change"),
            func.count().label("n"),
            func.sum(A.total).label("total_sum"),
            func.count(A.total).label("total_count"),
        )
        .outerjoin(prev, and_(col(prev.branch_id) == col(A.branch_id), col(prev.year) == year - 1))
        .where(A.year == year)
        .group_by(col(A.region_path), col(A.sector), col(A.status), shown, change)
    )
    stmt = scoped(stmt, scope=scope, region_path=region_path)
    if sector:
        stmt = stmt.where(A.sector == sector)
    return [
        PathCount(
            region_path=r.region_path,
            sector=r.sector,
            status=r.status,
            stars=r.shown,
            change=r.change,
            count=int(r.n),
            total_sum=Decimal(r.total_sum or 0),
            total_count=int(r.total_count),
        )
        for r in session.execute(stmt)
    ]


def child_key(region: Region, path: str) -> str | None:
    """The code of the child of `region` that contains `path`; None when the path is the region itself
    (branches directly under it: 县直/市直 units)."""
    mine = path_codes(region.path)
    codes = path_codes(path)
    return codes[len(mine)] if len(codes) > len(mine) else None


def children_of(session: Session, *, region: Region) -> list[Region]:
    return list(session.execute(select(R).where(R.parent_id == region.id).order_by(R.code)).scalars())


def direct_label(region: Region) -> str:
    return {"county": "县直单位", "city": "市直单位", "province": "省直单位"}.get(
        region.level, f"{region.name}直属"
    )
