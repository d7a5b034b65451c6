"""What-if: re-score a year's stored entries under another criteria set (e.g. next year's draft) and/or
another five-star maximum share, and show who would change stars. Nothing is saved.

* The assessments are those of the year in the region at ``submitted`` or later, of one sector
  (a criteria set belongs to one sector: choosing a set fixes the sector).
* Each is re-scored from its inspector entries (``build_entries`` + ``score``) under the chosen set,
  or under its own pinned set when none is chosen; then ``apply_quotas`` runs per quota group of that
  set (its quota scope within the selected region) with the five-star rule replaced when
  ``five_max`` is given (a ``model_copy`` of the set).
* "Before" is what the branch has now: final stars where final, else provisional.
* A quota scope wider than the selected region (e.g. city-wide) is simulated within the region only.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlmodel import Session, col, select

from app.assessments.models import Assessment
from app.auth.scope import Scope
from app.criteria.models import CriteriaSetRecord
from app.errors import NotFound, ValidationFailed
from app.labels import CRITERIA_STATUSES, SECTORS, STARS
from app.rankings import rescore, service
from app.rankings.schemas import WhatIf, WhatIfChange, WhatIfSet
from app.rankings.service import A
from app.regions.models import Region
from app.scoring import CriteriaSet, QuotaCandidate, Result, apply_quotas
from app.scoring.document import QuotaRule, Quotas, dec_str

MAX_ASSESSMENTS = 20_000
DEPTH = {"city": 2, "county": 3, "township": 4}


def set_visible(session: Session, scope: Scope, record: CriteriaSetRecord) -> bool:
    """A set is usable when its issuing region is the user's region, above it, or inside their scope."""
    region = session.get(Region, record.region_id)
    if region is None:
        return False
    return scope.region_path.startswith(region.path) or scope.contains_path(region.path)


def available_sets(session: Session, *, scope: Scope, sector: str | None) -> list[WhatIfSet]:
    """The criteria sets (drafts included, archived left out) a user may try, newest first."""
    stmt = select(CriteriaSetRecord).where(col(CriteriaSetRecord.status) != "archived")
    if sector:
        stmt = stmt.where(CriteriaSetRecord.sector == sector)
    stmt = stmt.order_by(
        col(CriteriaSetRecord.year).desc(),
        col(CriteriaSetRecord.sector),
        col(CriteriaSetRecord.revision).desc(),
    )
    return [_set_ref(r) for r in session.exec(stmt) if set_visible(session, scope, r)][:200]


def _set_ref(r: CriteriaSetRecord) -> WhatIfSet:
    return WhatIfSet(
        id=r.id or 0, title=r.title, year=r.year, sector=r.sector, status=r.status, revision=r.revision
    )


def with_five_max(cs: CriteriaSet, share: Decimal) -> CriteriaSet:
    """A copy of the set whose five-star rule allows at most `share` (added when the set had none)."""
    quotas = cs.quotas or Quotas(scope="county", rules=(QuotaRule(stars=5, max_share=share),))
    rules = list(quotas.rules)
    for i, rule in enumerate(rules):
        if rule.stars == 5 and rule.max_share is not None:
            rules[i] = rule.model_copy(update={"max_share": share})
            break
    else:
        rules.append(QuotaRule(stars=5, max_share=share))
    return cs.model_copy(update={"quotas": quotas.model_copy(update={"rules": tuple(rules)})})


def _prefix(cs: CriteriaSet, region: Region, path: str) -> str:
    level = cs.quotas.scope if cs.quotas else "county"
    parts = service.path_codes(path)[: DEPTH[level]]
    prefix = "/" + "/".join(parts) + "/"
    return prefix if prefix.startswith(region.path) else region.path


def run(
    session: Session,
    *,
    scope: Scope,
    year: int,
    region: Region,
    sector: str | None,
    set_id: int | None,
    five_max: Decimal | None,
) -> WhatIf:
    """Re-scores and re-applies quotas in memory; returns the changes and both distributions."""
    cache = rescore.SetCache(session)
    notes: list[str] = []
    alt: CriteriaSet | None = None
    alt_ref: WhatIfSet | None = None
    if set_id is not None:
        record = session.get(CriteriaSetRecord, set_id)
        if record is None or not set_visible(session, scope, record):
            raise NotFound("评分标准不存在或不在您的管辖范围内")
        alt = cache.get(set_id)
        alt_ref = _set_ref(record)
        if sector and sector != record.sector:
            notes.append(f"所选评分标准属于{SECTORS[record.sector]}领域，只模拟该领域")
        sector = record.sector
        status = CRITERIA_STATUSES.get(record.status, record.status)
        notes.append(f"按“{record.title}”（第 {record.revision} 版，{status}）重新计分")
    if five_max is not None:
        if not Decimal(0) <= five_max <= Decimal(1):
            raise ValidationFailed("五星比例须在 0 到 1 之间", field_errors={"five_max": "须在 0 到 1 之间"})
        notes.append(f"五星比例上限按 {float(five_max) * 100:g}% 计算")
    stmt = service.scoped(
        select(A).where(A.year == year, A.status.in_(service.COMPLETED_STATUSES)),
        scope=scope,
        region_path=region.path,
    )
    if sector:
        stmt = stmt.where(A.sector == sector)
    rows: list[Assessment] = list(session.execute(stmt.order_by(A.id)).scalars())
    if len(rows) > MAX_ASSESSMENTS:
        raise ValidationFailed(
            f"模拟范围内有 {len(rows)} 个评定，超过 {MAX_ASSESSMENTS} 个上限，请缩小区域或选择领域"
        )

    def cs_of(a: Assessment) -> CriteriaSet:
        cs = alt if alt is not None else cache.get(a.criteria_set_id)
        return with_five_max(cs, five_max) if five_max is not None else cs

    variants: dict[int, CriteriaSet] = {}

    def variant(a: Assessment) -> tuple[int, CriteriaSet]:
        key = -1 if alt is not None else a.criteria_set_id
        if key not in variants:
            variants[key] = cs_of(a)
        return key, variants[key]

    by_id = rescore.results(session, rows, lambda a: variant(a)[1])
    names = rescore.branch_names(session, [a.branch_id for a in rows])
    groups: dict[tuple[int, str], list[Assessment]] = defaultdict(list)
    for a in rows:
        key, cs = variant(a)
        groups[(key, _prefix(cs, region, a.region_path))].append(a)
    depth = len(service.path_codes(region.path))
    if any(depth > DEPTH[cs.quotas.scope] for cs in variants.values() if cs.quotas):
        notes.append("比例控制范围大于所选区域，本次模拟只在所选区域内计算比例")
    after: dict[int, int] = {}
    quota_notes: dict[int, list[str]] = {}
    for (key, _where), members in groups.items():
        cs = variants[key]
        decisions = apply_quotas(
            cs, [QuotaCandidate(names[a.branch_id][0], by_id[a.id or 0]) for a in members]
        )
        for a in members:
            d = decisions[names[a.branch_id][0]]
            after[a.id or 0] = d.stars
            quota_notes[a.id or 0] = list(d.explanation)
    before_dist = dict.fromkeys(range(6), 0)
    after_dist = dict.fromkeys(range(6), 0)
    changes: list[WhatIfChange] = []
    regions = service.regions_by_code(session, (c for a in rows for c in service.path_codes(a.region_path)))
    up = down = 0
    for a in rows:
        now = a.final_stars if a.status == "final" else a.stars
        new = after[a.id or 0]
        if now is not None:
            before_dist[now] += 1
        after_dist[new] += 1
        if now == new:
            continue
        up += int(now is not None and new > now)
        down += int(now is not None and new < now)
        res = by_id[a.id or 0]
        town = service.township_of_path(a.region_path, regions)
        changes.append(
            WhatIfChange(
                branch_code=names[a.branch_id][0],
                branch_name=names[a.branch_id][1],
                sector=a.sector,
                township_name=town.name if town else None,
                total_before=a.total,
                total_after=res.total,
                stars_before=now,
                stars_after=new,
                reasons=_reasons(a, res, new, quota_notes.get(a.id or 0, [])),
            )
        )
    changes.sort(key=lambda c: (-(abs(c.stars_after - (c.stars_before or 0))), c.branch_code))
    return WhatIf(
        year=year,
        region=service.region_ref(region),
        sector=sector or "all",
        criteria_set=alt_ref,
        five_max=float(five_max) if five_max is not None else None,
        assessments=len(rows),
        before=before_dist,
        after=after_dist,
        up=up,
        down=down,
        changes=changes,
        notes=notes,
    )


def _reasons(a: Assessment, res: Result, new: int, quota: list[str]) -> list[str]:
    out: list[str] = []
    if a.total is not None and res.total != a.total:
        out.append(f"总分 {dec_str(a.total)} → {dec_str(res.total)}")
    if a.band_stars is not None and res.band_stars != a.band_stars:
        out.append(f"档次 {STARS.get(a.band_stars, '')} → {STARS.get(res.band_stars, '')}")
    if res.vetoed and not a.vetoed:
        out.append("一票否决")
    if res.stars < res.band_stars and not res.vetoed:
        out.append("必备条件未满足")
    if a.status == "final" and a.final_stars is not None and a.stars is not None and a.final_stars != a.stars:
        out.append(f"原认定时经比例控制由{STARS.get(a.stars, '')}调整为{STARS.get(a.final_stars, '')}")
    out.extend(f"比例控制（模拟）：{n}" for n in quota)
    return out or [f"星级 → {STARS.get(new, '')}"]
