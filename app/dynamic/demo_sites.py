"""示范点: shortlisted from the year's five-star branches, named by a committee decision within a cap
per county, withdrawable with a reason.

Eligible: the assessment of that year is final with five final stars and no veto. The engine already
refuses five stars to a branch that misses a five-star prerequisite of its criteria set (创新项目,
廉洁证明 …), so five final stars means the prerequisites were met; a later withdrawal (摘星) that lowers
the final stars makes a site no longer eligible (shown on the page, and naming is refused)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, func, select

from app import clock
from app.assessments.models import Assessment
from app.audit import service as audit
from app.auth.scope import Scope
from app.branches.models import Branch
from app.dynamic.common import (
    branch_in_scope,
    branch_refs,
    check_version,
    county_prefix,
    jsonable,
    require_in_scope,
    save_change,
)
from app.dynamic.labels import DEMO_SITE_STATUSES
from app.dynamic.models import DemoSite
from app.dynamic.schemas import (
    CapInfo,
    DemoCandidate,
    DemoSiteDesignate,
    DemoSitePublic,
    DemoSiteShortlist,
    DemoSiteWithdraw,
)
from app.errors import Conflict, ValidationFailed
from app.regions.models import Region
from app.regions.paths import in_subtree


@dataclass(frozen=True)
class DemoSiteCap:
    """At most `max_share` of a county's five-star branches of the year (rounded up), and never more
    than `max_count`, may be named 示范点."""

    max_share: Decimal = Decimal("0.2")
    max_count: int = 10

    def allowed(self, five_star: int) -> int:
        return min(self.max_count, math.ceil(Decimal(five_star) * self.max_share))

    def rule(self) -> str:
        pct = (self.max_share * 100).normalize()
        return f"不超过本县五星支部的 {pct:f}%（向上取整），且最多 {self.max_count} 个"


DEFAULT_CAP = DemoSiteCap()
ACTIVE = ("shortlisted", "designated")


def _eligible_stmt(year: int) -> Any:
    return select(Assessment).where(
        Assessment.year == year,
        Assessment.status == "final",
        Assessment.final_stars == 5,
        col(Assessment.vetoed).is_(False),
    )


def eligible_assessment(session: Session, *, branch_id: int, year: int) -> Assessment | None:
    return session.exec(_eligible_stmt(year).where(Assessment.branch_id == branch_id)).first()


def candidates(session: Session, *, region_path: str, year: int) -> list[DemoCandidate]:
    """Five-star branches of the year under the path that are not on the 示范点 list yet."""
    taken = select(DemoSite.branch_id).where(DemoSite.year == year)
    stmt = (
        _eligible_stmt(year)
        .where(in_subtree(col(Assessment.region_path), region_path))
        .where(col(Assessment.branch_id).not_in(taken))
        .order_by(col(Assessment.total).desc(), col(Assessment.id))
    )
    rows = list(session.exec(stmt))
    refs = branch_refs(session, {a.branch_id for a in rows})
    return [DemoCandidate(branch=refs[a.branch_id], year=year, total=a.total, final_stars=5) for a in rows]


def _stars(session: Session, branch_ids: set[int], year: int) -> dict[int, Assessment]:
    if not branch_ids:
        return {}
    stmt = select(Assessment).where(Assessment.year == year, col(Assessment.branch_id).in_(branch_ids))
    return {a.branch_id: a for a in session.exec(stmt)}


def to_public(session: Session, rows: list[DemoSite]) -> list[DemoSitePublic]:
    refs = branch_refs(session, {r.branch_id for r in rows})
    by_year: dict[int, set[int]] = {}
    for r in rows:
        by_year.setdefault(r.year, set()).add(r.branch_id)
    found = {(y, bid): a for y, ids in by_year.items() for bid, a in _stars(session, ids, y).items()}
    out = []
    for r in rows:
        a = found.get((r.year, r.branch_id))
        out.append(
            DemoSitePublic(
                id=r.id or 0,
                branch=refs[r.branch_id],
                year=r.year,
                status=r.status,
                decided_on=r.decided_on,
                reason=r.reason,
                document_number=r.document_number,
                withdrawn_on=r.withdrawn_on,
                withdraw_reason=r.withdraw_reason,
                final_stars=a.final_stars if a else None,
                still_eligible=bool(a and a.status == "final" and a.final_stars == 5 and not a.vetoed),
                version=r.version,
                updated_at=r.updated_at,
            )
        )
    return out


def sites(
    session: Session, *, region_path: str, year: int, statuses: tuple[str, ...] | None = None
) -> list[DemoSitePublic]:
    """The 示范点 records of a year under a path (all statuses unless given)."""
    stmt = select(DemoSite).where(DemoSite.year == year, in_subtree(col(DemoSite.region_path), region_path))
    if statuses:
        stmt = stmt.where(col(DemoSite.status).in_(statuses))
    rows = list(session.exec(stmt.order_by(col(DemoSite.region_path), col(DemoSite.id))))
    return to_public(session, rows)


def demo_sites_for(session: Session, *, scope: Scope, year: int) -> list[DemoSitePublic]:
    """The designated 示范点 of a year inside the scope (for reports, the API and rankings)."""
    return sites(session, region_path=scope.region_path, year=year, statuses=("designated",))


def cap_info(
    session: Session, *, region_path: str, year: int, cap: DemoSiteCap = DEFAULT_CAP
) -> list[CapInfo]:
    """For each county under (or containing) the path: five-star count, allowed and designated sites."""
    prefix = county_prefix(region_path) if region_path.count("/") > 4 else region_path
    counties = list(
        session.exec(
            select(Region)
            .where(Region.level == "county", in_subtree(col(Region.path), prefix))
            .order_by(col(Region.code))
        )
    )
    out = []
    for county in counties:
        five, named = _counts(session, county_path=county.path, year=year)
        if five == 0 and named == 0:
            continue
        out.append(
            CapInfo(
                county_code=county.code,
                county_name=county.name,
                five_star=five,
                allowed=cap.allowed(five),
                designated=named,
                rule=cap.rule(),
            )
        )
    return out


def _counts(session: Session, *, county_path: str, year: int) -> tuple[int, int]:
    five = session.exec(
        select(func.count())
        .select_from(Assessment)
        .where(
            Assessment.year == year,
            Assessment.status == "final",
            Assessment.final_stars == 5,
            col(Assessment.vetoed).is_(False),
            in_subtree(col(Assessment.region_path), county_path),
        )
    ).one()
    named = session.exec(
        select(func.count())
        .select_from(DemoSite)
        .where(
            DemoSite.year == year,
            DemoSite.status == "designated",
            in_subtree(col(DemoSite.region_path), county_path),
        )
    ).one()
    return int(five), int(named)


def get(session: Session, *, scope: Scope, site_id: int) -> DemoSite:
    row = session.get(DemoSite, site_id)
    require_in_scope(scope, row)
    assert row is not None
    return row


def snapshot(row: DemoSite) -> dict[str, Any]:
    return jsonable(
        {
            "status": row.status,
            "decided_on": row.decided_on,
            "document_number": row.document_number,
            "withdrawn_on": row.withdrawn_on,
            "version": row.version,
        }
    )


def _current(session: Session, *, scope: Scope, site_id: int, version: int) -> DemoSite:
    """A site in the scope, as long as the user saw its current version (409 otherwise)."""
    row = get(session, scope=scope, site_id=site_id)
    check_version(row, version, what="示范点记录", current=snapshot(row))
    return row


def _save(session: Session, row: DemoSite, *, actor: audit.Actor, action: str, old: Any, reason: str) -> None:
    save_change(
        session,
        row,
        actor=actor,
        action=action,
        entity_type="demo_site",
        old=old,
        new=snapshot,
        reason=reason,
    )


def shortlist(session: Session, *, scope: Scope, actor: audit.Actor, data: DemoSiteShortlist) -> DemoSite:
    """Puts a five-star branch of the year on the 示范点 shortlist."""
    branch: Branch = branch_in_scope(session, scope=scope, code=data.branch)
    if eligible_assessment(session, branch_id=branch.id or 0, year=data.year) is None:
        raise ValidationFailed(
            f"{branch.name}{data.year}年度不是认定的五星支部（或触发了一票否决），不能列为示范点候选",
            field_errors={"branch": "仅限当年认定为五星且未被否决的支部"},
        )
    existing = session.exec(
        select(DemoSite).where(DemoSite.branch_id == branch.id, DemoSite.year == data.year)
    ).first()
    if existing is not None:
        raise Conflict(
            f"{branch.name}{data.year}年度已在示范点名单中（{DEMO_SITE_STATUSES[existing.status]}）",
            extra={"current": snapshot(existing)},
        )
    row = DemoSite(
        branch_id=branch.id or 0,
        year=data.year,
        region_path=branch.region_path,
        reason=data.reason,
        created_by_id=actor.id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="demo_site.shortlist",
        entity_type="demo_site",
        entity_id=row.id,
        new=snapshot(row) | {"branch": branch.code, "year": row.year},
        reason=data.reason,
    )
    return row


def designate(
    session: Session,
    *,
    scope: Scope,
    actor: audit.Actor,
    site_id: int,
    data: DemoSiteDesignate,
    cap: DemoSiteCap = DEFAULT_CAP,
) -> DemoSite:
    """Records the committee decision naming a shortlisted branch 示范点, within the county's cap."""
    row = _current(session, scope=scope, site_id=site_id, version=data.version)
    if row.status != "shortlisted":
        raise Conflict(f"该示范点记录当前为“{DEMO_SITE_STATUSES[row.status]}”，不能命名")
    if eligible_assessment(session, branch_id=row.branch_id, year=row.year) is None:
        raise ValidationFailed("该支部的认定星级已不是五星，不能命名为示范点")
    if data.decided_on > clock.today():
        raise ValidationFailed("决定日期不能晚于今天", field_errors={"decided_on": "决定日期不能晚于今天"})
    county_path = county_prefix(row.region_path)
    five, named = _counts(session, county_path=county_path, year=row.year)
    allowed = cap.allowed(five)
    if named >= allowed:
        county = session.exec(select(Region).where(Region.path == county_path)).first()
        name = county.name if county else "本县"
        raise ValidationFailed(
            f"{name}{row.year}年度示范点已达上限：五星支部 {five} 个，最多可命名 {allowed} 个"
            f"（{cap.rule()}），已命名 {named} 个，不能再命名",
            extra={"five_star": five, "allowed": allowed, "designated": named},
        )
    old = snapshot(row)
    row.status = "designated"
    row.decided_on = data.decided_on
    row.reason = data.reason
    row.document_number = data.document_number
    _save(session, row, actor=actor, action="demo_site.designate", old=old, reason=data.reason)
    return row


def withdraw(
    session: Session, *, scope: Scope, actor: audit.Actor, site_id: int, data: DemoSiteWithdraw
) -> DemoSite:
    """Withdraws a shortlisted or designated 示范点, with a reason."""
    row = _current(session, scope=scope, site_id=site_id, version=data.version)
    if row.status == "withdrawn":
        raise Conflict("该示范点已撤销")
    if data.withdrawn_on > clock.today():
        raise ValidationFailed("撤销日期不能晚于今天", field_errors={"withdrawn_on": "撤销日期不能晚于今天"})
    old = snapshot(row)
    row.status = "withdrawn"
    row.withdrawn_on = data.withdrawn_on
    row.withdraw_reason = data.withdraw_reason
    _save(session, row, actor=actor, action="demo_site.withdraw", old=old, reason=data.withdraw_reason)
    return row
