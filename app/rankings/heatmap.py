"""Where points are lost: the average share of each category's maximum, per township (or per sector).

Computed from the stored item scores (``score_entry.score``, inspector source) of the assessments at
``submitted`` or later, mapped to categories through each assessment's pinned criteria set.

* Categories differ between sectors, so categories are matched by NAME (一级指标名称): by township the
  table is restricted to one sector (the sets of one sector share their category names from year to
  year and county to county); by sector each row is a sector and a sector without a category shows "—".
* share = Σ item scores of the category / (assessments × category maximum), clamped to 0..1 (a category
  cap can only lower the maximum; bonus and penalty items belong to no category and are left out).
* Branches attached directly to a county (县直单位) form their own row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlmodel import Session

from app.assessments.models import Assessment, ScoreEntry
from app.auth.scope import Scope
from app.branches.models import Branch
from app.errors import NotFound
from app.labels import SECTORS
from app.rankings import rescore, service
from app.rankings.schemas import BranchLoss, HeatCell, HeatCellDetail, Heatmap, HeatRow, ItemLoss
from app.regions.models import Region
from app.scoring import CriteriaSet
from app.scoring.document import dec_str

A: Any = Assessment
SE: Any = ScoreEntry
B: Any = Branch
TWO = Decimal("0.01")


def _cat_maps(cs: CriteriaSet) -> tuple[dict[str, str], dict[str, Decimal]]:
    """item code → category name, and category name → maximum (for one set)."""
    items: dict[str, str] = {}
    maxes: dict[str, Decimal] = {}
    for cat, _sheet in cs.all_categories():
        maxes[cat.name] = maxes.get(cat.name, Decimal(0)) + cat.max
        for item in cat.items:
            items[item.code] = cat.name
    return items, maxes


def _share(score: Decimal, top: Decimal) -> float | None:
    if top <= 0:
        return None
    return round(min(max(float(score / top), 0.0), 1.0), 4)


def _row_key(
    by: str, path: str, sector: str, regions: dict[str, Region]
) -> tuple[str, str, str | None, str | None, bool]:
    """(key, label, region code for the link, sector, direct) of the row an assessment falls in."""
    if by == "sector":
        return sector, SECTORS.get(sector, sector), None, sector, False
    town = service.township_of_path(path, regions)
    if town is not None:
        return town.code, town.name, town.code, None, False
    owner = regions.get(service.path_codes(path)[-1])
    code = owner.code if owner else path
    return f"direct:{code}", f"{owner.name if owner else code}（直属单位）", code, None, True


def build(
    session: Session,
    *,
    scope: Scope,
    year: int,
    region: Region,
    by: str,
    sector: str | None,
) -> Heatmap:
    """The heat map of category shares for the region (by township within one sector, or by sector)."""
    if by == "township" and not sector:
        raise ValueError("by township needs one sector")
    data = _Data(session, scope=scope, year=year, region=region, sector=sector if by == "township" else None)
    return data.heatmap(by=by, sector=sector)


def build_all(
    session: Session, *, scope: Scope, year: int, region: Region, sectors: Iterable[str]
) -> tuple[Heatmap, dict[str, Heatmap]]:
    """The heat map by sector and, for each of ``sectors``, the heat map by township of that sector, from
    one pair of queries (the same figures as ``build`` for each)."""
    data = _Data(session, scope=scope, year=year, region=region, sector=None)
    return data.heatmap(by="sector", sector=None), {s: data.heatmap(by="township", sector=s) for s in sectors}


class _Data:
    """The assessment counts and item-score sums of a region per (set, region path, sector[, item])."""

    def __init__(
        self, session: Session, *, scope: Scope, year: int, region: Region, sector: str | None
    ) -> None:
        filters = [
            A.year == year,
            A.status.in_(service.COMPLETED_STATUSES),
        ]
        if sector:
            filters.append(A.sector == sector)
        counts_stmt = service.scoped(
            select(A.criteria_set_id, A.region_path, A.sector, func.count().label("n"))
            .where(*filters)
            .group_by(A.criteria_set_id, A.region_path, A.sector),
            scope=scope,
            region_path=region.path,
        )
        sums_stmt = service.scoped(
            select(
                A.criteria_set_id,
                A.region_path,
                A.sector,
                SE.item_code,
                func.sum(SE.score).label("s"),
            )
            .join(SE, SE.assessment_id == A.id)
            .where(*filters, SE.source == "inspector")
            .group_by(A.criteria_set_id, A.region_path, A.sector, SE.item_code),
            scope=scope,
            region_path=region.path,
        )
        self.year = year
        self.region = region
        # Plain tuples (set id, region path, sector, n | item code, sum), by sector.
        self.counts: dict[str, list[tuple[int, str, str, int]]] = defaultdict(list)
        for sid, path, sec, n in session.execute(counts_stmt):
            self.counts[sec].append((sid, path, sec, int(n)))
        self.sums: dict[str, list[tuple[int, str, str, str, Any]]] = defaultdict(list)
        for sid, path, sec, code, total in session.execute(sums_stmt):
            self.sums[sec].append((sid, path, sec, code, total))
        self.regions = service.regions_by_code(
            session, (c for rows in self.counts.values() for r in rows for c in service.path_codes(r[1]))
        )
        self.cache = rescore.SetCache(session)
        self.maps = {sid: _cat_maps(self.cache.get(sid)) for rows in self.counts.values() for sid, *_ in rows}

    def heatmap(self, *, by: str, sector: str | None) -> Heatmap:
        """The heat map by sector (every row), or by township of one sector (that sector's rows)."""
        year, region, regions, maps, cache = self.year, self.region, self.regions, self.maps, self.cache
        if by == "township":
            counts = self.counts.get(sector or "", [])
            sums = self.sums.get(sector or "", [])
        else:
            counts = [r for rows in self.counts.values() for r in rows]
            sums = [r for rows in self.sums.values() for r in rows]
        row_keys: dict[tuple[str, str], tuple[str, str, str | None, str | None, bool]] = {}

        def row_key(path: str, sec: str) -> tuple[str, str, str | None, str | None, bool]:
            found = row_keys.get((path, sec))
            if found is None:
                found = row_keys[(path, sec)] = _row_key(by, path, sec, regions)
            return found

        set_ids = {r[0] for r in counts}
        categories: list[str] = []
        for sid in sorted(set_ids, key=lambda s: (list(SECTORS).index(cache.record(s).sector), s)):
            for name in maps[sid][1]:
                if name not in categories:
                    categories.append(name)
        rows: dict[str, dict] = {}
        got: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        top: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        all_got: dict[str, Decimal] = defaultdict(Decimal)
        all_top: dict[str, Decimal] = defaultdict(Decimal)
        all_n: dict[str, int] = defaultdict(int)
        for sid, path, row_sector, n in counts:
            key, label, code, sec, direct = row_key(path, row_sector)
            row = rows.setdefault(key, {"name": label, "code": code, "sector": sec, "direct": direct, "n": 0})
            row["n"] += n
            for name, m in maps[sid][1].items():
                top[(key, name)] += m * n
                all_top[name] += m * n
                all_n[name] += n
        for sid, path, row_sector, item_code, s in sums:
            cat_name = maps[sid][0].get(item_code)
            if cat_name is None or s is None:
                continue  # bonus / penalty items, or items of another version of the set
            key = row_key(path, row_sector)[0]
            got[(key, cat_name)] += Decimal(s)
            all_got[cat_name] += Decimal(s)

        quoted = {name: urlencode({"category": name}) for name in categories}

        def link(row: dict, category: str) -> str:
            # urlencode of year, region, category, sector[, direct] in that order, each part encoded once
            if "link" not in row:
                tail: dict[str, Any] = {"sector": row["sector"] or sector or ""}
                if row["direct"]:
                    tail["direct"] = 1
                head = urlencode({"year": year, "region": row["code"] or region.code})
                row["link"] = (f"/rankings/heatmap/cell?{head}&", f"&{urlencode(tail)}")
            head_part, tail_part = row["link"]
            return f"{head_part}{quoted[category]}{tail_part}"

        ordered = sorted(rows.items(), key=lambda kv: _order(by, kv[0]))
        out_rows = [
            HeatRow(
                key=key,
                name=row["name"],
                region_code=row["code"],
                sector=row["sector"],
                direct=row["direct"],
                assessments=row["n"],
                cells=[
                    HeatCell(
                        category=name,
                        share=_share(got[(key, name)], top[(key, name)]) if top[(key, name)] else None,
                        assessments=row["n"] if top[(key, name)] else 0,
                        link=link(row, name) if top[(key, name)] else None,
                    )
                    for name in categories
                ],
            )
            for key, row in ordered
        ]
        averages = [
            HeatCell(category=name, share=_share(all_got[name], all_top[name]), assessments=all_n[name])
            for name in categories
        ]
        return Heatmap(
            year=year,
            region=service.region_ref(region),
            by="sector" if by == "sector" else "township",
            sector=sector if by == "township" else None,
            categories=categories,
            rows=out_rows,
            averages=averages,
        )


def _order(by: str, key: str) -> tuple:
    if by == "sector":
        return (list(SECTORS).index(key) if key in SECTORS else 99, key)
    return (0 if key.startswith("direct:") else 1, key)


def cell(
    session: Session,
    *,
    scope: Scope,
    year: int,
    region: Region,
    sector: str,
    category: str,
    direct: bool,
) -> HeatCellDetail:
    """The branches behind one heat-map cell and the items of the category where they lost points."""
    stmt = select(A, B.code, B.name).join(B, B.id == A.branch_id)
    stmt = service.scoped(
        stmt.where(
            A.year == year,
            A.sector == sector,
            A.status.in_(service.COMPLETED_STATUSES),
        ),
        scope=scope,
        region_path=region.path,
    )
    if direct:
        stmt = stmt.where(A.region_path == region.path)
    found = list(session.execute(stmt.order_by(B.code)))
    cache = rescore.SetCache(session)
    entries = rescore.entry_rows(session, [a.id or 0 for a, _c, _n in found])
    items: dict[str, dict] = {}
    branches: list[BranchLoss] = []
    got_all = top_all = Decimal(0)
    for a, code, name in found:
        cs = cache.get(a.criteria_set_id)
        cats = [c for c, _s in cs.all_categories() if c.name == category]
        if not cats:
            continue
        scores = {e.item_code: e.score for e in entries.get(a.id or 0, [])}
        got = Decimal(0)
        top = sum((c.max for c in cats), Decimal(0))
        lost_items: list[str] = []
        for cat in cats:
            for item in cat.items:
                s = scores.get(item.code)
                value = Decimal(s) if s is not None else Decimal(0)
                got += value
                info = items.setdefault(
                    item.code,
                    {"name": item.name, "max": item.max, "sum": Decimal(0), "n": 0, "losing": 0},
                )
                info["sum"] += value
                info["n"] += 1
                if value < item.max:
                    info["losing"] += 1
                    lost_items.append(f"{item.code} {item.name} 失{dec_str(item.max - value)}分")
        got = min(got, top)
        got_all += got
        top_all += top
        branches.append(
            BranchLoss(
                branch_code=code,
                branch_name=name,
                total=a.total,
                category_score=got,
                category_max=top,
                share=_share(got, top),
                lost_items=lost_items,
            )
        )
    if not branches:
        raise NotFound("该单元格没有可分析的评定")
    item_rows = [
        ItemLoss(
            item_code=code,
            item_name=v["name"],
            max=v["max"],
            avg_score=(v["sum"] / v["n"]).quantize(TWO, rounding=ROUND_HALF_UP) if v["n"] else None,
            avg_lost=(v["max"] - v["sum"] / v["n"]).quantize(TWO, rounding=ROUND_HALF_UP) if v["n"] else None,
            losing=v["losing"],
            assessments=v["n"],
        )
        for code, v in items.items()
    ]
    item_rows.sort(key=lambda i: (-(i.avg_lost or 0), i.item_code))
    branches.sort(key=lambda b: (b.share if b.share is not None else 1.0, b.branch_code))
    return HeatCellDetail(
        year=year,
        region=service.region_ref(region),
        sector=sector,
        category=category,
        direct=direct,
        share=_share(got_all, top_all),
        items=item_rows,
        branches=branches,
    )
