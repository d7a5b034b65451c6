"""The annual report (年度星级党支部评定结果) and the public-notice list (公示): pure services.

Every section's numbers come from the rankings services (app.rankings.*), the one source of truth of the
county analysis; this module only folds them into an ``AnnualReport``. The page, the PDF and the XLSX
render that one object, so the three formats cannot disagree.

Conventions the report follows (the same as the rankings views):
* an assessment counts once it is ``submitted`` or later (``COMPLETED_STATUSES``); earlier ones are
  listed as "not rated";
* stars shown are the final stars once final, else the provisional stars; when any assessment of the
  year in the region is not final, the report is a draft (草稿/未定稿) and says so on every page;
* "change from last year" compares with the previous year's final stars.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from app import clock
from app.assessments import quotas as assessment_quotas
from app.assessments import review_service
from app.assessments.models import Assessment, Publicity
from app.assessments.scoring import veto_reasons
from app.auth.scope import Scope
from app.db import in_chunks
from app.db_types import utcnow
from app.dynamic import service as dynamic_service
from app.dynamic.models import DemoSite, StarChange
from app.errors import NotFound, ValidationFailed
from app.gcpause import gc_paused
from app.labels import SECTORS, STARS
from app.rankings import comparisons, heatmap, history, quotas
from app.rankings import service as rankings
from app.rankings.schemas import GroupStats, Heatmap, QuotaLine, RankedRow
from app.regions.models import Region
from app.regions.paths import in_subtree
from app.reports import ranking as report_ranking
from app.reports.schemas import (
    AnnualReport,
    BranchLine,
    ChangeLine,
    DemoSiteLine,
    FiveStarGroup,
    LossCell,
    LossRow,
    LossTable,
    MidYearChange,
    Notice,
    NoticeGroup,
    NoticeRow,
    QuotaRow,
    RectLine,
    SectorRanking,
    SpecialLine,
    StarListLevel,
    StarListPlace,
    Summary,
)

A: Any = Assessment
REPORT_LEVELS = ("province", "city", "county")
# Above this many assessments a report (any format) is produced by a background job.
JOB_THRESHOLD = 400
PENDING = "尚未认定："
LOWEST = 3  # categories shown per row in "where points are lost"
CHILD_LABELS = {"county": "乡镇/街道", "city": "县（市、区）", "province": "市（州）"}
Progress = Callable[[int, str], None]


def _noop(_pct: int, _what: str) -> None:
    return None


# -- scope, size and the data stamp -------------------------------------------------------------------


def report_region(session: Session, *, scope: Scope, code: str | None) -> Region:
    """The region of a report: a county, city or province inside the scope (404 outside the scope)."""
    region = rankings.resolve_region(session, scope=scope, code=code)
    if region.level not in REPORT_LEVELS:
        raise ValidationFailed(
            "年度评定报告按县（市、区）或市编制，请选择县级或市级区域",
            field_errors={"region": "请选择县级或市级区域"},
        )
    return region


def report_regions(session: Session, *, scope: Scope) -> list[Region]:
    """The regions a principal may produce a report for, by official code."""
    stmt = (
        select(Region)
        .where(scope.filter(col(Region.path)), col(Region.level).in_(REPORT_LEVELS))
        .order_by(col(Region.code))
    )
    return list(session.execute(stmt).scalars())


def status_counts(session: Session, *, scope: Scope, region: Region, year: int) -> dict[str, int]:
    stmt = rankings.scoped(
        select(A.status, func.count()).where(A.year == year).group_by(A.status),
        scope=scope,
        region_path=region.path,
    )
    return {str(s): int(n) for s, n in session.execute(stmt)}


def is_large(session: Session, *, scope: Scope, region: Region, year: int) -> bool:
    """Whether the report is produced in the background (a city, or more than JOB_THRESHOLD branches)."""
    if region.level != "county":
        return True
    return sum(status_counts(session, scope=scope, region=region, year=year).values()) > JOB_THRESHOLD


def data_stamp(session: Session, *, scope: Scope, region: Region, year: int) -> str:
    """A short fingerprint of everything the report reads (assessments of the three years it compares,
    demo sites, star changes): a job made before a change is not reused after it."""
    parts: list[str] = []
    stmt = rankings.scoped(
        # `year IN (…)`, not BETWEEN: each year's region is one range of the (year, region_path) index
        # (SQLite read three province-years through the year index for BETWEEN: 0.34 s at 100,000 a year)
        select(func.count(), func.max(A.updated_at), func.sum(A.version)).where(
            col(A.year).in_([year - 2, year - 1, year])
        ),
        scope=scope,
        region_path=region.path,
    )
    parts.append(repr(tuple(session.execute(stmt).one())))
    ds: Any = DemoSite
    parts.append(
        repr(
            tuple(
                session.execute(
                    select(func.count(), func.max(ds.updated_at)).where(
                        ds.year == year, in_subtree(col(ds.region_path), region.path)
                    )
                ).one()
            )
        )
    )
    sc: Any = StarChange
    parts.append(
        repr(
            tuple(
                session.execute(
                    select(func.count(), func.max(sc.created_at))
                    .join(A, A.id == sc.assessment_id)
                    .where(col(A.year).in_([year - 1, year]))
                    .where(in_subtree(col(A.region_path), region.path))
                ).one()
            )
        )
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# -- helpers -------------------------------------------------------------------------------------------


def issuer_of(region: Region) -> str:
    """The issuing organisation department, as printed under the title."""
    return f"中共{region.name}委组织部"


def report_title(region: Region, year: int) -> str:
    return f"{region.name}{year}年度星级党支部评定结果"


def _q(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v is not None and v != ""})


class _Places:
    """Display places (county / township / 直属单位) of region paths, from one lookup."""

    def __init__(self, session: Session, report_region: Region, paths: Iterable[str]) -> None:
        codes = {c for p in paths for c in rankings.path_codes(p)}
        self.regions = rankings.regions_by_code(session, codes)
        self.report_region = report_region

    def _level(self, path: str, level: str) -> Region | None:
        for code in rankings.path_codes(path):
            r = self.regions.get(code)
            if r is not None and r.level == level:
                return r
        return None

    def township(self, path: str) -> str | None:
        town = self._level(path, "township")
        return town.name if town else None

    def place(self, path: str) -> str:
        town = self._level(path, "township")
        parts: list[str] = []
        if self.report_region.level != "county":
            county = self._level(path, "county")
            if county is not None:
                parts.append(county.name)
        if town is not None:
            parts.append(town.name)
        else:
            owner = self.regions.get(rankings.path_codes(path)[-1])
            label = {"county": "县直单位", "city": "市直单位", "province": "省直单位"}
            parts.append(label.get(owner.level, "直属单位") if owner else "直属单位")
        return " ".join(parts)


def _line(row: RankedRow, places: _Places) -> BranchLine:
    return BranchLine(
        assessment_id=row.assessment_id,
        branch_code=row.branch_code,
        branch_name=row.branch_name,
        sector=row.sector,
        place=places.place(row.region_path),
        township_name=row.township_name,
        region_path=row.region_path,
        status=row.status,
        total=row.total,
        stars=row.stars_shown,
        stars_basis=row.stars_basis,
        prev_stars=row.prev_final_stars,
    )


@dataclass(slots=True)
class Stored:
    """What the report's sections read of an assessment (history.causes, the change, special and
    rectification lists), from plain column rows: no ORM objects, and the JSON columns are read only for
    the assessments whose lines quote them (see ``_assessments``)."""

    id: int
    branch_id: int
    status: str
    total: Decimal | None
    band_stars: int | None
    stars: int | None
    final_stars: int | None
    vetoed: bool = False
    designated: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    explanation: list[Any] = field(default_factory=list)
    quota_explanation: list[Any] = field(default_factory=list)

    def quotes_json(self) -> bool:
        """Whether a line about it reads its JSON columns: veto and designation steps and details, a
        failed prerequisite (stars below the band), a quota adjustment (final stars other than stars)."""
        return (
            self.vetoed
            or self.designated
            or (self.stars is not None and self.band_stars is not None and self.stars < self.band_stars)
            or (self.final_stars is not None and self.stars is not None and self.final_stars != self.stars)
        )


# In the order of Stored's fields (rows are passed positionally).
_STARS_COLUMNS = (A.id, A.branch_id, A.status, A.total, A.band_stars, A.stars, A.final_stars)
_FLAG_COLUMNS = (*_STARS_COLUMNS, A.vetoed, A.designated)
_JSON_COLUMNS = (A.id, A.extras, A.explanation, A.quota_explanation)


def _assessments(session: Session, ids: Iterable[int]) -> dict[int, Stored]:
    """The assessments by id; the JSON columns (most of the bytes) only of those that quote them."""
    conn = session.connection()
    out: dict[int, Stored] = {}
    for chunk in in_chunks(ids):
        stmt = select(*_FLAG_COLUMNS).where(col(A.id).in_(chunk))
        out.update((row.id, Stored(*row)) for row in conn.execute(stmt))
    for chunk in in_chunks(a.id for a in out.values() if a.quotes_json()):
        for aid, extras, explanation, quota_explanation in conn.execute(
            select(*_JSON_COLUMNS).where(col(A.id).in_(chunk))
        ):
            a = out[aid]
            a.extras, a.explanation, a.quota_explanation = (
                extras or {},
                explanation or [],
                quota_explanation or [],
            )
    return out


def _by_branch(session: Session, branch_ids: Iterable[int], year: int) -> dict[int, Stored]:
    """Earlier years' assessments of these branches (only their stars, status and totals are read)."""
    conn = session.connection()
    out: dict[int, Stored] = {}
    for chunk in in_chunks(branch_ids):
        stmt = select(*_STARS_COLUMNS).where(A.year == year, col(A.branch_id).in_(chunk))
        out.update((row.branch_id, Stored(*row)) for row in conn.execute(stmt))
    return out


def _lowest(cells: Iterable[Any]) -> list[LossCell]:
    found = [LossCell(category=c.category, share=c.share) for c in cells if c.share is not None]
    return sorted(found, key=lambda c: (c.share, c.category))[:LOWEST]


def _loss_table(h: Heatmap, link: str) -> LossTable:
    return LossTable(
        by=h.by,
        sector=h.sector,
        rows=[LossRow(name=r.name, assessments=r.assessments, lowest=_lowest(r.cells)) for r in h.rows],
        overall=_lowest(h.averages),
        link=link,
    )


# -- sections ------------------------------------------------------------------------------------------


def _summary(
    year: int, counts: dict[str, int], overall: GroupStats, prev: GroupStats, rows: list[RankedRow]
) -> Summary:
    final = sum(1 for r in rows if r.status == "final")
    return Summary(
        assessments=overall.assessments,
        rated=overall.completed,
        not_rated=overall.assessments - overall.completed,
        final=final,
        provisional=overall.completed - final,
        distribution={s: overall.distribution.get(s, 0) for s in range(6)},
        share_3plus=overall.share_3plus,
        five_star=overall.five_star,
        avg_total=overall.avg_total,
        prev_year=year - 1,
        prev_rated=prev.completed,
        prev_distribution={s: prev.distribution.get(s, 0) for s in range(6)},
        prev_share_3plus=prev.share_3plus,
        prev_avg_total=prev.avg_total,
        delta_share_3plus=overall.delta_share_3plus,
        delta_avg_total=overall.delta_avg_total,
        upgrades=overall.upgrades,
        downgrades=overall.downgrades,
        same=overall.same,
        new=overall.new,
    )


def _five_star(lines: list[BranchLine]) -> list[FiveStarGroup]:
    """Five-star branches grouped by place and sector, places in official-code order (县直单位 first)."""
    groups: dict[tuple[str, str], list[BranchLine]] = defaultdict(list)
    for line in lines:
        if line.stars == 5:
            groups[(line.place, line.sector)].append(line)
    order = list(SECTORS)
    out = [
        FiveStarGroup(
            place=place, sector=sector, rows=sorted(rows, key=lambda x: (-(x.total or 0), x.branch_code))
        )
        for (place, sector), rows in groups.items()
    ]
    first = {(g.place, g.sector): min(x.region_path for x in g.rows) for g in out}
    out.sort(key=lambda g: (_place_key(first[(g.place, g.sector)]), order.index(g.sector)))
    return out


def _star_list(lines: list[BranchLine]) -> list[StarListLevel]:
    """The 星级党支部名单: one to five stars, each level by place (official-code order), names by sector
    and branch code."""
    order = list(SECTORS)
    levels: dict[int, dict[str, list[BranchLine]]] = defaultdict(lambda: defaultdict(list))
    for line in lines:
        if line.stars:
            levels[line.stars][line.place].append(line)
    out: list[StarListLevel] = []
    for stars in sorted(levels, reverse=True):
        places = levels[stars]
        first = {place: min(_place_key(x.region_path) for x in rows) for place, rows in places.items()}
        out.append(
            StarListLevel(
                stars=stars,
                count=sum(len(rows) for rows in places.values()),
                places=[
                    StarListPlace(
                        place=place,
                        names=[
                            x.branch_name
                            for x in sorted(
                                places[place], key=lambda x: (order.index(x.sector), x.branch_code)
                            )
                        ],
                    )
                    for place in sorted(places, key=lambda p: (first[p], p))
                ],
            )
        )
    return out


def _place_key(path: str) -> str:
    """The path down to the township (so the villages of one township sort together)."""
    return "/".join(path.split("/")[:5])


def _changes(
    rows: list[RankedRow],
    by_id: dict[int, Stored],
    lines: dict[int, BranchLine],
    prev: dict[int, Stored],
) -> list[ChangeLine]:
    """Upgrades and downgrades with their causes (``prev``: last year's rows by branch id)."""
    moved = [r for r in rows if r.change in ("up", "down")]
    out: list[ChangeLine] = []
    for r in moved:
        a = by_id[r.assessment_id]
        kind = "withdrawn" if r.change == "down" and r.stars_shown == 0 else r.change
        # "not final yet" is said once for the whole draft report, not on every line
        before = prev.get(a.branch_id)
        causes = [t for t in history.causes(a, before) if not t.startswith(PENDING)]
        if (
            before is not None
            and before.status == "final"
            and before.final_stars is not None
            and before.stars is not None
            and before.final_stars != before.stars
        ):
            causes.append(f"上年度因比例控制由{STARS[before.stars]}调整为{STARS[before.final_stars]}")
        out.append(ChangeLine(kind=kind, line=lines[r.assessment_id], causes=causes))
    rank = {"up": 0, "down": 1, "withdrawn": 2}
    out.sort(key=lambda c: (rank[c.kind], _place_key(c.line.region_path), c.line.branch_code))
    return out


def _mid_year(session: Session, region: Region, year: int, places: _Places) -> list[MidYearChange]:
    out: list[MidYearChange] = []
    for y in (year, year - 1):
        for c in dynamic_service.changes(session, region_path=region.path, year=y):
            if y == year - 1 and c.occurred_on.year != year:
                continue  # last year's stars changed last year: that year's report
            out.append(
                MidYearChange(
                    branch_code=c.branch.code,
                    branch_name=c.branch.name,
                    place=places.place(c.branch.region_path),
                    year=c.year,
                    event=c.event,
                    occurred_on=c.occurred_on,
                    stars_before=c.stars_before,
                    stars_after=c.stars_after,
                    reason=c.reason,
                    document_number=c.document_number,
                )
            )
    return out


def _shown_by_group(
    session: Session, *, scope: Scope, year: int, groups: set[tuple[int, str]]
) -> dict[tuple[int, str], tuple[dict[int, int], bool]]:
    """Per (criteria set, quota-scope path): shown stars → count, and whether all are final; one query."""
    if not groups:
        return {}
    shown = rankings.shown_stars()
    stmt = (
        select(A.criteria_set_id, A.region_path, A.status, shown.label("s"), func.count())
        .where(
            A.year == year,
            col(A.criteria_set_id).in_(sorted({sid for sid, _p in groups})),
            col(A.status).in_(rankings.COMPLETED_STATUSES),
            or_(*(in_subtree(col(A.region_path), p) for p in sorted({p for _s, p in groups}))),
            scope.filter(col(A.region_path)),
        )
        .group_by(A.criteria_set_id, A.region_path, A.status, shown)
    )
    out: dict[tuple[int, str], tuple[dict[int, int], bool]] = {g: (defaultdict(int), True) for g in groups}
    prefixes: dict[int, list[str]] = defaultdict(list)
    for sid, prefix in groups:
        prefixes[sid].append(prefix)
    for set_id, path, status, stars, n in session.execute(stmt):
        for prefix in prefixes[set_id]:
            if not path.startswith(prefix):
                continue
            by_stars, all_final = out[(set_id, prefix)]
            if stars is not None:
                by_stars[int(stars)] += int(n)
            out[(set_id, prefix)] = (by_stars, all_final and status == "final")
    return out


def _quotas(session: Session, *, scope: Scope, region: Region, year: int) -> list[QuotaRow]:
    # the report prints each line's counts, not the branches next to it: no tie is re-scored
    data = quotas.pressure(session, scope=scope, year=year, region=region, borderline=False)
    regions = rankings.regions_by_code(session, (g.scope_code for g in data.groups if g.scope_code))
    prefixes = {
        (g.criteria_set_id, g.scope_code): regions[g.scope_code].path
        if g.scope_code in regions
        else region.path
        for g in data.groups
        if g.visible and g.lines
    }
    shown = _shown_by_group(
        session, scope=scope, year=year, groups={(sid, p) for (sid, _code), p in prefixes.items()}
    )
    out: list[QuotaRow] = []
    for g in data.groups:
        head: dict[str, Any] = {
            "criteria_set_id": g.criteria_set_id,
            "title": g.title,
            "sector": g.sector,
            "scope_name": g.scope_name,
            "pool": g.pool,
            "visible": g.visible,
            "moves": g.moves,
        }
        if not g.visible or not g.lines:
            out.append(QuotaRow(**head, note=g.note))
            continue
        by_stars, all_final = shown[(g.criteria_set_id, prefixes[(g.criteria_set_id, g.scope_code)])]
        out.extend(_quota_row(head, line, by_stars, all_final, g.pool) for line in g.lines)
    return out


def _quota_row(
    head: dict[str, Any], line: QuotaLine, by_stars: dict[int, int], all_final: bool, pool: int
) -> QuotaRow:
    count = (
        by_stars.get(line.stars, 0)
        if line.kind == "max"
        else sum(n for s, n in by_stars.items() if s <= line.stars)
    )
    complies = count <= line.limit_count if line.kind == "max" else count >= line.limit_count
    if all_final:
        note = "符合比例要求" if complies else "认定结果不符合比例要求，请核查"
    elif complies:
        note = "按暂定星级符合比例要求"
    else:
        note = f"按暂定星级{'超出' if line.kind == 'max' else '不足'} {line.over_by} 个，认定时按比例控制调整"
    return QuotaRow(
        **head,
        stars=line.stars,
        kind=line.kind,
        share_limit=line.share_limit,
        limit_count=line.limit_count,
        before_quota=line.current,
        shown=count,
        shown_share=round(count / pool, 4) if pool else None,
        all_final=all_final,
        complies=complies,
        note=note,
    )


def _special(
    rows: list[RankedRow], by_id: dict[int, Stored], lines: dict[int, BranchLine]
) -> list[SpecialLine]:
    out: list[SpecialLine] = []
    for r in rows:
        if not (r.vetoed or r.designated):
            continue
        a = by_id[r.assessment_id]
        if r.vetoed:
            reasons = history.steps(a, "veto") or [f"一票否决：{v}" for v in veto_reasons(a.extras)]
            out.append(SpecialLine(kind="veto", line=lines[r.assessment_id], reasons=reasons or ["一票否决"]))
        if r.designated:
            reasons = history.steps(a, "designation")
            d = a.extras.get("designation") or {}
            if not reasons and isinstance(d, dict):
                reasons = [str(d.get("reason") or "按规定直接定级")]
            if (
                isinstance(d, dict)
                and d.get("document")
                and not any(str(d["document"]) in t for t in reasons)
            ):
                reasons.append(f"依据：{d['document']}")
            out.append(SpecialLine(kind="designation", line=lines[r.assessment_id], reasons=reasons))
    out.sort(key=lambda s: (s.kind != "veto", _place_key(s.line.region_path), s.line.branch_code))
    return out


def _demo_sites(
    session: Session, *, scope: Scope, region: Region, year: int, places: _Places, rows: list[RankedRow]
) -> tuple[list[DemoSiteLine], int, str]:
    totals = {r.branch_code: r.total for r in rows}
    sites = [
        s
        for s in dynamic_service.demo_sites_for(session, scope=scope, year=year)
        if s.branch.region_path.startswith(region.path)
    ]
    eligible = sum(1 for r in rows if r.status == "final" and r.stars_shown == 5 and not r.vetoed)
    out = [
        DemoSiteLine(
            branch_code=s.branch.code,
            branch_name=s.branch.name,
            sector=s.branch.sector,
            place=places.place(s.branch.region_path),
            total=totals.get(s.branch.code),
            decided_on=s.decided_on,
            document_number=s.document_number,
            reason=s.reason,
        )
        for s in sites
    ]
    out.sort(key=lambda d: (d.place, d.branch_code))
    if out:
        note = f"本年度已命名示范点 {len(out)} 个（从认定为五星且无一票否决的 {eligible} 个支部中选树）。"
    elif eligible:
        note = f"本年度尚未命名示范点；认定为五星且无一票否决、可作为示范点候选的支部 {eligible} 个。"
    else:
        note = "本年度尚未命名示范点；五星星级认定后方可选树。"
    return out, eligible, note


def _rectification(
    session: Session,
    year: int,
    rows: list[RankedRow],
    by_id: dict[int, Stored],
    lines: dict[int, BranchLine],
    prev_rows: dict[int, Stored],
) -> list[RectLine]:
    down = [r for r in rows if r.change == "down"]
    ids = [by_id[r.assessment_id].branch_id for r in down]
    before = prev_rows
    before2 = _by_branch(session, ids, year - 2)
    out: list[RectLine] = []
    for r in rows:
        reasons: list[str] = []
        if r.stars_shown is not None and r.stars_shown < 3:
            reasons.append(f"星级为{STARS.get(r.stars_shown, '')}（低于三星）")
        if r.vetoed:
            reasons.append("触发一票否决")
        if r.change == "down":
            bid = by_id[r.assessment_id].branch_id
            p1, p2 = before.get(bid), before2.get(bid)
            if (
                p1 is not None
                and p2 is not None
                and p1.status == "final"
                and p2.status == "final"
                and p1.final_stars is not None
                and p2.final_stars is not None
                and p1.final_stars < p2.final_stars
            ):
                reasons.append(
                    f"连续两年降星（{year - 2}年{STARS[p2.final_stars]}→{year - 1}年{STARS[p1.final_stars]}"
                    f"→{year}年{STARS.get(r.stars_shown or 0, '')}）"
                )
        if reasons:
            out.append(RectLine(line=lines[r.assessment_id], reasons=reasons))
    out.sort(
        key=lambda x: (
            _place_key(x.line.region_path),
            x.line.stars if x.line.stars is not None else -1,
            x.line.branch_code,
        )
    )
    return out


# -- the report ----------------------------------------------------------------------------------------


def build(
    session: Session,
    *,
    scope: Scope,
    region: Region,
    year: int,
    progress: Progress | None = None,
) -> AnnualReport:
    """Gathers every section of the annual report for a region (inside the scope) and year (with the
    garbage collector paused: app.gcpause)."""
    with gc_paused():
        return _build(session, scope=scope, region=region, year=year, step=progress or _noop)


def _build(session: Session, *, scope: Scope, region: Region, year: int, step: Progress) -> AnnualReport:
    """The body of ``build``."""
    if not scope.contains_path(region.path):
        raise NotFound("区域不存在或不在您的管辖范围内")
    counts = status_counts(session, scope=scope, region=region, year=year)
    total = sum(counts.values())
    if total == 0:
        raise NotFound(f"{region.name}{year}年度没有评定数据")
    step(5, "汇总星级分布")
    # Each year's path counts once: the comparison, last year's overall figures and the sector table
    # all fold them (read three times, they were a tenth of a large county's build).
    now = rankings.path_counts(session, scope=scope, year=year, region_path=region.path)
    before = rankings.path_counts(session, scope=scope, year=year - 1, region_path=region.path)
    comp = comparisons.children_of_counts(
        session, year=year, region=region, sector=None, now=now, before=before
    )
    prev = comparisons.fold(region.code, region.name, before, level=region.level)
    by_sector = comparisons.sectors_of_counts(now)

    step(15, "生成排名")
    ranking: list[SectorRanking] = []
    rows: list[RankedRow] = []
    # every sector's ranking from one statement (one rankings.rank() per sector cost ~20 ms each)
    for sector, ranked in report_ranking.by_sector(
        session, scope=scope, year=year, region_path=region.path
    ).items():
        rows.extend(ranked)
        link = "/rankings?" + _q(year=year, region=region.code, sector=sector)
        ranking.append(SectorRanking(sector=sector, rows=ranked, link=link))
    places = _Places(session, region, (r.region_path for r in rows))
    lines = {r.assessment_id: _line(r, places) for r in rows}
    all_lines = [lines[r.assessment_id] for r in rows]
    needed = [r.assessment_id for r in rows if r.change in ("up", "down") or r.vetoed or r.designated]
    by_id = _assessments(session, needed)

    step(30, "整理升降星及原因")
    moved = [by_id[r.assessment_id].branch_id for r in rows if r.change in ("up", "down")]
    prev_rows = _by_branch(session, moved, year - 1)  # read by the changes and the rectification list
    changes = _changes(rows, by_id, lines, prev_rows)
    mid_year = _mid_year(session, region, year, places)
    step(40, "核对比例控制")
    quota_rows = _quotas(session, scope=scope, region=region, year=year)
    step(60, "整理否决、定级与示范点")
    special = _special(rows, by_id, lines)
    demo_sites, eligible, demo_note = _demo_sites(
        session, scope=scope, region=region, year=year, places=places, rows=rows
    )
    rect = _rectification(session, year, rows, by_id, lines, prev_rows)

    step(70, "分析失分情况")
    losses_by_sector = None
    losses_by_child: list[LossTable] = []
    if rows:
        # One pair of queries for the table by sector and every sector's table by township.
        hs, by_town = heatmap.build_all(
            session, scope=scope, year=year, region=region, sectors=[sr.sector for sr in ranking]
        )
        losses_by_sector = _loss_table(
            hs, "/rankings/heatmap?" + _q(year=year, region=region.code, by="sector")
        )
        for sr in ranking:
            link = "/rankings/heatmap?" + _q(year=year, region=region.code, by="township", sector=sr.sector)
            losses_by_child.append(_loss_table(by_town[sr.sector], link))
    step(85, "汇总完成")

    base = {"year": year, "region": region.code}
    links = {
        "compare": "/rankings/compare?" + _q(**base, sector="all"),
        "years": "/rankings/years?" + _q(region=region.code, a=year - 1, b=year, sector="all"),
        "charts": "/rankings/charts?" + _q(**base),
        "ranking": "/rankings?" + _q(**base, sector="all"),
        "five_star": "/rankings?" + _q(**base, sector="all", stars=5),
        "changes": "/rankings?" + _q(**base, sector="all", sort="change"),
        "quotas": "/rankings/quotas?" + _q(**base),
        "heatmap": "/rankings/heatmap?" + _q(**base, by="sector"),
        "demo_sites": "/dynamic/demo-sites?" + _q(year=year),
        "weak": "/dynamic/weak?" + _q(year=year),
    }
    children = [c for c in comp.children if c.assessments]
    return AnnualReport(
        year=year,
        region=rankings.region_ref(region),
        title=report_title(region, year),
        issuer=issuer_of(region),
        generated_at=utcnow(),
        draft=counts.get("final", 0) < total,
        status_counts=counts,
        not_final=total - counts.get("final", 0),
        child_label=CHILD_LABELS.get(region.level, "下级区域"),
        summary=_summary(year, counts, comp.overall, prev, rows),
        by_sector=by_sector,
        by_child=children,
        child_total=comp.overall,
        five_star=_five_star(all_lines),
        five_star_count=sum(1 for x in all_lines if x.stars == 5),
        star_list=_star_list(all_lines),
        changes=changes,
        mid_year=mid_year,
        quotas=quota_rows,
        special=special,
        demo_sites=demo_sites,
        demo_eligible=eligible,
        demo_note=demo_note,
        rectification=rect,
        losses_by_sector=losses_by_sector,
        losses_by_child=losses_by_child,
        ranking=ranking,
        ranked_count=len(rows),
        links=links,
    )


def child_link(report: AnnualReport, g: GroupStats) -> str | None:
    """The ranking of one child region (township of a county, county of a city)."""
    if g.key in ("direct", report.region.code):
        return None
    return "/rankings?" + _q(year=report.year, region=g.key, sector="all")


def sector_link(report: AnnualReport, sector: str) -> str:
    return "/rankings?" + _q(year=report.year, region=report.region.code, sector=sector)


def branch_link(code: str) -> str:
    return f"/rankings/branches/{code}"


# -- the public notice ---------------------------------------------------------------------------------


def notice(
    session: Session,
    *,
    scope: Scope,
    publicity_id: int | None = None,
    year: int | None = None,
    region_code: str | None = None,
) -> Notice:
    """The 公示 list of a publicity notice (by id, or the latest of a year and region) inside the scope."""
    if publicity_id is None:
        if year is None:
            raise ValidationFailed("请指定公示，或指定年度和区域", field_errors={"publicity": "请指定公示"})
        region = rankings.resolve_region(session, scope=scope, code=region_code)
        pub_id = session.execute(
            select(col(Publicity.id))
            .where(col(Publicity.year) == year, col(Publicity.region_id) == region.id)
            .order_by(col(Publicity.id).desc())
        ).scalar()
        if pub_id is None:
            raise NotFound(f"{region.name}{year}年度尚无评定结果公示")
        publicity_id = int(pub_id)
    pub, region = review_service.get_publicity(session, scope=scope, publicity_id=publicity_id)
    pairs = review_service.publicity_entries(session, publicity=pub)
    places = _Places(session, region, (b.region_path for _a, b in pairs))
    groups: dict[int, list[NoticeRow]] = defaultdict(list)
    # Proposed stars are what finalisation would write now: after quotas and the weak-branch block.
    proposed = assessment_quotas.proposed_stars(session, [a for a, _b in pairs if a.final_stars is None])
    for a, b in pairs:
        stars = a.final_stars if a.final_stars is not None else proposed.get(a.id or 0, a.stars)
        groups[stars if stars is not None else 0].append(
            NoticeRow(
                branch_code=b.code,
                branch_name=b.name,
                sector=a.sector,
                place=places.place(a.region_path),
                region_path=a.region_path,
                total=a.total,
                stars=stars,
            )
        )
    order = list(SECTORS)
    return Notice(
        publicity_id=pub.id or 0,
        year=pub.year,
        region=rankings.region_ref(region),
        title=pub.title,
        issuer=issuer_of(region),
        starts_on=pub.starts_on,
        ends_on=pub.ends_on,
        contact=pub.contact,
        state=review_service.publicity_state(pub),
        groups=[
            NoticeGroup(
                stars=s,
                rows=sorted(
                    groups[s], key=lambda r: (_place_key(r.region_path), order.index(r.sector), r.branch_code)
                ),
            )
            for s in sorted(groups, reverse=True)
        ],
        count=len(pairs),
    )


def publicities(session: Session, *, scope: Scope, year: int) -> list[Publicity]:
    """The notices of a year whose region is in the scope, newest first: the links on the report page
    (title and dates). ``review_service.publicity_list`` also counts each notice's assessments and
    objections, which the page does not show (and which read every assessment: 0.35 s at 300,000)."""
    stmt = (
        select(Publicity)
        .join(Region, col(Region.id) == col(Publicity.region_id))
        .where(col(Publicity.year) == year, scope.filter(col(Region.path)))
        .order_by(col(Publicity.id).desc())
    )
    return list(session.execute(stmt).scalars())


def default_year(session: Session, *, scope: Scope) -> int:
    latest = rankings.latest_year(session, scope=scope)
    return latest if latest is not None else clock.this_year()
