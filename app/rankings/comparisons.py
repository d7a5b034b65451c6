"""Side by side: the children of a region for one year, and any two years of a region.

Figures per group (see ``fold``):
* assessments — assessments of the year (one per branch);
* completion — share of them at ``submitted`` or later;
* average total, star distribution, share at three stars or above, five-star count — over the
  completed ones only; stars are final stars where final, else provisional (``stars_basis`` says which);
* change from last year — against the previous year's final stars (升星/降星/持平/新参评), and the
  deltas of the average total and of the three-star share.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.assessments.models import Assessment
from app.auth.scope import Scope
from app.labels import SECTORS
from app.rankings import service
from app.rankings.schemas import Comparison, GroupStats, YearPair, YearsComparison
from app.regions.models import Region
from app.regions.paths import in_subtree

TWO = Decimal("0.01")
By = Literal["child", "township"]


def _avg(total: Decimal, n: int) -> Decimal | None:
    return (total / n).quantize(TWO, rounding=ROUND_HALF_UP) if n else None


def fold(key: str, name: str, counts: Iterable[service.PathCount], *, level: str | None = None) -> GroupStats:
    g = GroupStats(key=key, name=name, level=level)
    total_sum = Decimal(0)
    total_n = 0
    finals = provisional = 0
    for c in counts:
        g.assessments += c.count
        if c.status not in service.COMPLETED_STATUSES:
            continue
        g.completed += c.count
        total_sum += c.total_sum
        total_n += c.total_count
        if c.stars is not None:
            g.distribution[c.stars] = g.distribution.get(c.stars, 0) + c.count
        if c.status == "final":
            finals += c.count
        else:
            provisional += c.count
        if c.change == "up":
            g.upgrades += c.count
        elif c.change == "down":
            g.downgrades += c.count
        elif c.change == "same":
            g.same += c.count
        else:
            g.new += c.count
    g.completion = round(g.completed / g.assessments, 4) if g.assessments else None
    g.avg_total = _avg(total_sum, total_n)
    rated = sum(g.distribution.values())
    g.share_3plus = round(sum(v for k, v in g.distribution.items() if k >= 3) / rated, 4) if rated else None
    g.five_star = g.distribution.get(5, 0)
    g.stars_basis = (
        "none"
        if not g.completed
        else "final"
        if not provisional
        else "provisional"
        if not finals
        else "mixed"
    )
    return g


def _with_previous(g: GroupStats, prev: GroupStats | None) -> GroupStats:
    if prev is None:
        return g
    g.prev_avg_total = prev.avg_total
    g.prev_share_3plus = prev.share_3plus
    if g.avg_total is not None and prev.avg_total is not None:
        g.delta_avg_total = g.avg_total - prev.avg_total
    if g.share_3plus is not None and prev.share_3plus is not None:
        g.delta_share_3plus = round(g.share_3plus - prev.share_3plus, 4)
    return g


def grouped(
    session: Session,
    *,
    region: Region,
    counts: list[service.PathCount],
) -> tuple[list[GroupStats], GroupStats]:
    """Folds path counts into one group per child region (plus the directly attached units) and overall."""
    by_child: dict[str | None, list[service.PathCount]] = defaultdict(list)
    for c in counts:
        by_child[service.child_key(region, c.region_path)].append(c)
    out: list[GroupStats] = []
    if by_child.get(None):
        out.append(fold("direct", service.direct_label(region), by_child[None]))
    for child in service.children_of(session, region=region):
        out.append(fold(child.code, child.name, by_child.get(child.code, []), level=child.level))
    return out, fold(region.code, region.name, counts, level=region.level)


def compare_children(
    session: Session, *, scope: Scope, year: int, region: Region, sector: str | None, by: By = "child"
) -> Comparison:
    """The children of a region side by side for one year, with the change from the year before
    (``by="township"``: every township of the region instead, e.g. a city's across its counties; for a
    township or a village, whose children are not townships, the children as without it)."""
    now = service.path_counts(session, scope=scope, year=year, region_path=region.path, sector=sector)
    before = service.path_counts(session, scope=scope, year=year - 1, region_path=region.path, sector=sector)
    if by == "township" and region.level in TOWNSHIP_VIEW_LEVELS:
        return townships_of_counts(session, year=year, region=region, sector=sector, now=now, before=before)
    return children_of_counts(session, year=year, region=region, sector=sector, now=now, before=before)


TOWNSHIP_VIEW_LEVELS = ("province", "city", "county")  # regions whose townships can be listed side by side
_OWNER_LEVELS = ("county", "city", "province")


@dataclass(frozen=True)
class _Row:
    key: str  # the township's code, or "direct:<code>" for the units hanging directly under a region
    name: str
    level: str
    order: tuple[str, int]  # the owner's path, then its direct units before its townships


def townships_of_counts(
    session: Session,
    *,
    year: int,
    region: Region,
    sector: str | None,
    now: list[service.PathCount],
    before: list[service.PathCount],
) -> Comparison:
    """One row per township of the region (named with its county when the region holds several counties),
    and one per county or city whose own units hang above township level (县直单位, 市直单位), from the path
    counts of the year and of the year before. Every township has a row, also one without assessments."""
    towns = session.execute(
        select(col(Region.path)).where(
            col(Region.level) == "township", in_subtree(col(Region.path), region.path)
        )
    ).scalars()
    paths = {*towns, *(c.region_path for c in (*now, *before))}
    regions = service.regions_by_code(session, (code for p in paths for code in service.path_codes(p)))
    several = region.level != "county"  # several counties: name each row's county
    rows: dict[str, _Row] = {}  # by path

    def row_of(path: str) -> _Row:
        found = rows.get(path)
        if found is None:
            found = rows[path] = _row(path, regions, region, several)
        return found

    def groups(counts: list[service.PathCount]) -> dict[str, GroupStats]:
        by_key: dict[str, list[service.PathCount]] = defaultdict(list)
        named: dict[str, _Row] = {}
        for c in counts:
            r = row_of(c.region_path)
            by_key[r.key].append(c)
            named[r.key] = r
        return {k: fold(k, named[k].name, v, level=named[k].level) for k, v in by_key.items()}

    current, previous = groups(now), groups(before)
    order: dict[str, tuple[str, int]] = {}
    for r in map(row_of, paths):
        order[r.key] = r.order
        if r.key not in current and r.level == "township":
            current[r.key] = GroupStats(key=r.key, name=r.name, level=r.level)
    children = [
        _with_previous(g, previous.get(k)) for k, g in sorted(current.items(), key=lambda kv: order[kv[0]])
    ]
    overall = _with_previous(
        fold(region.code, region.name, now, level=region.level),
        fold(region.code, region.name, before, level=region.level),
    )
    return Comparison(
        year=year,
        region=service.region_ref(region),
        sector=sector or "all",
        by="township",
        children=children,
        overall=overall,
    )


def _row(path: str, regions: dict[str, Region], region: Region, several: bool) -> _Row:
    """The row of a region path: its township (below it, villages roll up), else the nearest county, city
    or province above it (its directly attached units)."""
    codes = service.path_codes(path)
    town = service.township_of_path(path, regions)
    if town is not None:
        county = regions.get(service.path_codes(town.path)[-2]) if several else None
        name = f"{town.name}（{county.name}）" if county is not None else town.name
        return _Row(town.code, name, "township", (town.path, 1))
    owner = next((r for c in reversed(codes) if (r := regions.get(c)) and r.level in _OWNER_LEVELS), None)
    if owner is None:  # a path of regions that no longer exist
        return _Row(f"direct:{codes[-1] if codes else path}", path, "unknown", (path, 0))
    name = service.direct_label(owner)
    if owner.id != region.id:
        name = f"{name}（{owner.name}）"
    return _Row(f"direct:{owner.code}", name, owner.level, (owner.path, 0))


def children_of_counts(
    session: Session,
    *,
    year: int,
    region: Region,
    sector: str | None,
    now: list[service.PathCount],
    before: list[service.PathCount],
) -> Comparison:
    """``compare_children`` from the path counts of the year (``now``) and of the year before."""
    children, overall = grouped(session, region=region, counts=now)
    prev_children, prev_overall = grouped(session, region=region, counts=before)
    prev_by_key = {p.key: p for p in prev_children}
    children = [
        _with_previous(c, prev_by_key.get(c.key)) for c in children if c.assessments or c.key != "direct"
    ]
    return Comparison(
        year=year,
        region=service.region_ref(region),
        sector=sector or "all",
        children=children,
        overall=_with_previous(overall, prev_overall),
    )


def _pair(a: GroupStats, b: GroupStats) -> YearPair:
    return YearPair(
        key=b.key,
        name=b.name,
        a=a,
        b=b,
        delta_avg_total=(b.avg_total - a.avg_total)
        if a.avg_total is not None and b.avg_total is not None
        else None,
        delta_share_3plus=round(b.share_3plus - a.share_3plus, 4)
        if a.share_3plus is not None and b.share_3plus is not None
        else None,
    )


def transitions(
    session: Session, *, scope: Scope, region: Region, a: int, b: int, sector: str | None
) -> dict[int, dict[int, int]]:
    """Branches completed in both years: stars in year a → stars in year b → count."""
    ya = aliased(Assessment, name="ya")
    yb = aliased(Assessment, name="yb")
    sa = service.shown_stars(ya)
    sb = service.shown_stars(yb)
    stmt = (
        select(sa.label("sa"), sb.label("sb"), func.count().label("n"))
        .select_from(ya)
        .join(yb, and_(col(yb.branch_id) == col(ya.branch_id), col(yb.year) == b))
        .where(
            col(ya.year) == a,
            col(ya.status).in_(service.COMPLETED_STATUSES),
            col(yb.status).in_(service.COMPLETED_STATUSES),
            scope.filter(col(ya.region_path)),
            scope.filter(col(yb.region_path)),
            in_subtree(col(yb.region_path), region.path),
        )
        .group_by(sa, sb)
    )
    if sector:
        stmt = stmt.where(col(yb.sector) == sector)
    if scope.branch_id is not None:
        stmt = stmt.where(col(yb.branch_id) == scope.branch_id)
    out: dict[int, dict[int, int]] = {s: dict.fromkeys(range(6), 0) for s in range(6)}
    for row in session.execute(stmt):
        if row.sa is not None and row.sb is not None:
            out[int(row.sa)][int(row.sb)] += int(row.n)
    return out


def compare_years(
    session: Session, *, scope: Scope, region: Region, a: int, b: int, sector: str | None
) -> YearsComparison:
    """Two years of a region side by side (per child and overall) with the star transitions."""
    counts_a = service.path_counts(session, scope=scope, year=a, region_path=region.path, sector=sector)
    counts_b = service.path_counts(session, scope=scope, year=b, region_path=region.path, sector=sector)
    ca, oa = grouped(session, region=region, counts=counts_a)
    cb, ob = grouped(session, region=region, counts=counts_b)
    by_a = {g.key: g for g in ca}
    pairs = []
    for g in cb:
        other = by_a.get(g.key) or GroupStats(key=g.key, name=g.name, level=g.level)
        if g.assessments or other.assessments:
            pairs.append(_pair(other, g))
    for g in ca:
        if g.key not in {p.key for p in pairs} and g.assessments:
            pairs.append(_pair(g, GroupStats(key=g.key, name=g.name, level=g.level)))
    matrix = transitions(session, scope=scope, region=region, a=a, b=b, sector=sector)
    up = sum(n for x, row in matrix.items() for y, n in row.items() if y > x)
    down = sum(n for x, row in matrix.items() for y, n in row.items() if y < x)
    same = sum(matrix[x][x] for x in matrix)
    return YearsComparison(
        region=service.region_ref(region),
        sector=sector or "all",
        a=a,
        b=b,
        children=pairs,
        overall=_pair(oa, ob),
        transitions=matrix,
        up=up,
        down=down,
        same=same,
    )


def trend(
    session: Session, *, scope: Scope, region: Region, years: list[int], sector: str | None
) -> list[tuple[int, GroupStats]]:
    """The region's overall figures for each year (oldest first), for the trend charts."""
    out = []
    for year in sorted(years):
        counts = service.path_counts(session, scope=scope, year=year, region_path=region.path, sector=sector)
        out.append((year, fold(region.code, region.name, counts, level=region.level)))
    return out


def by_sector(session: Session, *, scope: Scope, year: int, region: Region) -> list[GroupStats]:
    """The region's figures per sector (product order), for the sector chart."""
    return sectors_of_counts(service.path_counts(session, scope=scope, year=year, region_path=region.path))


def sectors_of_counts(counts: list[service.PathCount]) -> list[GroupStats]:
    """``by_sector`` from the region's path counts of the year (every sector)."""
    groups: dict[str, list[service.PathCount]] = defaultdict(list)
    for c in counts:
        groups[c.sector].append(c)
    return [fold(s, SECTORS[s], groups[s]) for s in SECTORS if s in groups]
