"""One branch over the years: final stars with their markers, vetoes, designations, 示范点 decisions,
weak-branch listing and delisting, rectification tasks, star changes and visits, newest first."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from app import clock
from app.assessments.models import Assessment
from app.assessments.scoring import veto_reasons
from app.audit import service as audit
from app.auth.scope import Scope
from app.dynamic import visits as visits_service
from app.dynamic.common import branch_in_scope, ref_of
from app.dynamic.labels import STAR_CHANGE_EVENTS
from app.dynamic.models import DemoSite, RectificationTask, StarChange, WeakListing
from app.dynamic.schemas import Timeline, TimelineEvent, TimelineYear
from app.dynamic.weak_cap import STEP_KIND
from app.labels import ASSESSMENT_STATUSES, STARS
from app.regions.models import Region

WEAK_ACTIONS = {
    "weak.list": "列入软弱涣散整顿名单",
    "weak.reject": "经研究不予列入软弱涣散名单",
    "weak.followup": "回头看",
    "weak.lift": "解除三星限制",
    "weak.delist": "摘帽（整顿销号）",
}


def _day(value: datetime | date | None, year: int | None = None) -> date:
    if isinstance(value, datetime):
        return clock.local_date(value)
    if isinstance(value, date):
        return value
    return date(year or 2000, 12, 31)


def year_marks(a: Assessment, changed: bool) -> list[str]:
    marks = []
    if a.final_stars is not None and a.stars is not None and a.final_stars < a.stars and a.quota_explanation:
        marks.append("比例控制")
    if a.vetoed:
        marks.append("一票否决")
    if a.designated:
        marks.append("直接定级")
    if any(isinstance(s, dict) and s.get("kind") == STEP_KIND for s in a.explanation):
        marks.append("整顿限星")
    if changed:
        marks.append("年中调整")
    return marks


def timeline(session: Session, *, scope: Scope, code: str) -> Timeline:
    """The branch's history (404 outside the scope)."""
    branch = branch_in_scope(session, scope=scope, code=code)
    bid = branch.id or 0
    region = session.get(Region, branch.region_id)
    assessments = list(
        session.exec(
            select(Assessment).where(Assessment.branch_id == bid).order_by(col(Assessment.year).desc())
        )
    )
    by_id = {a.id: a for a in assessments}
    changes = list(
        session.exec(select(StarChange).where(col(StarChange.assessment_id).in_(list(by_id) or [0])))
    )
    changed = {c.assessment_id for c in changes}
    events: list[tuple[date, int, TimelineEvent]] = []

    def add(
        on: date, order: int, kind: str, title: str, detail: str | None = None, marks: list[str] | None = None
    ) -> None:
        events.append(
            (on, order, TimelineEvent(on=on, kind=kind, title=title, detail=detail, marks=marks or []))
        )

    years = []
    for a in assessments:
        marks = year_marks(a, a.id in changed)
        years.append(
            TimelineYear(
                year=a.year,
                status=a.status,
                total=a.total,
                stars=a.stars,
                final_stars=a.final_stars,
                marks=marks,
            )
        )
        on = _day(a.finalized_at, a.year) if a.status == "final" else _day(a.updated_at)
        if a.status == "final" and a.final_stars is not None:
            detail: str | None = "；".join(str(t) for t in a.quota_explanation) or None
            add(on, 1, "rating", f"{a.year}年度认定为{STARS[a.final_stars]}", detail, marks)
        else:
            stars = STARS.get(a.stars, "—") if a.stars is not None else "—"
            add(
                on,
                1,
                "rating",
                f"{a.year}年度评定{ASSESSMENT_STATUSES[a.status]}（初评{stars}）",
                None,
                marks,
            )
        if a.vetoed:
            reasons = "；".join(veto_reasons(a.extras))
            add(on, 2, "veto", f"{a.year}年度一票否决", reasons or None)
        designation = a.extras.get("designation") if isinstance(a.extras, dict) else None
        if a.designated and isinstance(designation, dict):
            stars_d = designation.get("stars")
            title = f"{a.year}年度直接定级" + (
                f"为{STARS.get(stars_d, '')}" if isinstance(stars_d, int) else ""
            )
            detail = "；".join(str(designation.get(k)) for k in ("reason", "document") if designation.get(k))
            add(on, 2, "designation", title, detail or None)

    for c in changes:
        a = by_id[c.assessment_id]
        verb = "摘星" if c.stars_after == 0 else "降星"
        add(
            c.occurred_on,
            0,
            "star_change",
            f"{a.year}年度星级{verb}：{STARS[c.stars_before]} → {STARS[c.stars_after]}",
            f"{STAR_CHANGE_EVENTS.get(c.event, c.event)}：{c.reason}"
            + (f"（{c.document_number}）" if c.document_number else ""),
        )

    for s in session.exec(select(DemoSite).where(DemoSite.branch_id == bid)):
        add(_day(s.created_at), 3, "demo_site", f"列为{s.year}年度示范点候选")
        if s.decided_on:
            detail = "；".join(x for x in (s.reason, s.document_number) if x) or None
            add(s.decided_on, 2, "demo_site", f"命名为{s.year}年度示范点", detail)
        if s.withdrawn_on:
            add(s.withdrawn_on, 1, "demo_site", f"撤销{s.year}年度示范点", s.withdraw_reason)

    listings = list(session.exec(select(WeakListing).where(WeakListing.branch_id == bid)))
    for w in listings:
        for ev in audit.for_entity(session, entity_type="weak_listing", entity_id=w.id):
            action = WEAK_ACTIONS.get(ev.action)
            if action is None:
                continue
            note: str | None = ev.reason
            if ev.action == "weak.list":
                signs = [str(s.get("text")) for s in w.signs if isinstance(s, dict)]
                note = "；".join(signs) or ev.reason
            elif ev.action == "weak.followup" and isinstance(ev.new, dict):
                note = f"{ev.new.get('followup_year')}年：{ev.new.get('followup_result')}"
            add(_day(ev.at), 2, "weak", f"{action}（{w.year}年度）", note)
    if listings:
        tasks = session.exec(
            select(RectificationTask).where(col(RectificationTask.listing_id).in_([w.id for w in listings]))
        )
        for t in tasks:
            add(
                _day(t.created_at),
                4,
                "task",
                f"布置整顿任务：{t.title}",
                f"责任人 {t.owner}，时限 {t.deadline}",
            )
            if t.done_on:
                add(t.done_on, 3, "task", f"完成整顿任务：{t.title}", t.note)

    for v in visits_service.recent(session, region_path=branch.region_path, branch_id=bid, limit=200):
        who = f"（{v.inspector}）" if v.inspector else ""
        add(v.visited_on, 5, "visit", f"{v.purpose}走访{who}", v.note)

    events.sort(key=lambda e: (e[0], -e[1]), reverse=True)
    return Timeline(
        branch=ref_of(branch, region.name if region else None),
        years=years,
        events=[e for _, _, e in events],
    )
