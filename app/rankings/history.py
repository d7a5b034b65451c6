"""A branch's star history over the years, with the cause of each change.

Causes come from what the assessment stores: the explanation steps (band, prerequisite, designation,
veto), ``quota_explanation`` (比例控制), the ``vetoed`` / ``designated`` flags and the totals.
Stars compared are the final stars of the previous year against the stars shown this year (final once
final, else provisional).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from sqlmodel import Session, col, select

from app.assessments.models import Assessment
from app.auth.scope import Scope
from app.branches.models import Branch
from app.errors import NotFound
from app.labels import STARS
from app.rankings import service
from app.rankings.schemas import BranchHistory, ExplanationStep, HistoryYear
from app.regions.models import Region
from app.scoring.document import dec_str


class PastStars(Protocol):
    """What ``causes`` reads of last year's assessment (an ``Assessment`` or a row of these columns)."""

    @property
    def status(self) -> str: ...
    @property
    def total(self) -> Decimal | None: ...
    @property
    def band_stars(self) -> int | None: ...


class Causable(PastStars, Protocol):
    """What ``causes`` reads of this year's assessment."""

    @property
    def stars(self) -> int | None: ...
    @property
    def final_stars(self) -> int | None: ...
    @property
    def vetoed(self) -> bool: ...
    @property
    def designated(self) -> bool: ...
    @property
    def explanation(self) -> list[Any]: ...
    @property
    def quota_explanation(self) -> list[Any]: ...


def steps(a: Causable, kind: str) -> list[str]:
    """The texts of the explanation steps of one kind (band, prerequisite, designation, veto)."""
    return [str(s.get("text", "")) for s in a.explanation if isinstance(s, dict) and s.get("kind") == kind]


def _label(stars: int | None) -> str:
    return STARS.get(stars, "—") if stars is not None else "—"


def causes(a: Causable, prev: PastStars | None) -> list[str]:
    """Why the stars are what they are this year, and what changed since last year."""
    out: list[str] = []
    if prev is None:
        out.append("首次参评（上一年度无评定记录）")
    elif prev.status != "final":
        out.append("上一年度尚未认定星级")
    if a.total is not None:
        if prev is not None and prev.total is not None:
            delta = a.total - prev.total
            sign = "+" if delta >= 0 else "－"
            line = f"得分：总分 {dec_str(prev.total)} → {dec_str(a.total)}（{sign}{dec_str(abs(delta))}）"
            if prev.band_stars is not None and a.band_stars is not None and prev.band_stars != a.band_stars:
                line += f"，档次由{_label(prev.band_stars)}变为{_label(a.band_stars)}"
            out.append(line)
        else:
            out.append(f"得分：总分 {dec_str(a.total)}，对应{_label(a.band_stars)}档次")
    if a.designated:
        out.extend(f"直接定级：{t}" for t in steps(a, "designation") or ["按规定直接定级"])
    if a.vetoed:
        out.extend(steps(a, "veto") or ["一票否决"])
    elif a.stars is not None and a.band_stars is not None and a.stars < a.band_stars and not a.designated:
        out.extend(steps(a, "prerequisite") or ["必备条件未满足"])
    if a.status == "final" and a.final_stars is not None and a.stars is not None and a.final_stars != a.stars:
        moved = [str(t) for t in a.quota_explanation if "调整" in str(t)]
        out.extend(f"比例控制：{t}" for t in moved or [f"由{_label(a.stars)}调整为{_label(a.final_stars)}"])
    elif a.status != "final" and a.status in service.COMPLETED_STATUSES:
        out.append("尚未认定：显示暂定星级，比例控制在认定时执行")
    return out


def branch_history(session: Session, *, scope: Scope, code: str) -> BranchHistory:
    """The star history of a branch inside the scope (404 otherwise; a branch user: only their own)."""
    branch = session.exec(select(Branch).where(Branch.code == code)).first()
    if (
        branch is None
        or not scope.contains_path(branch.region_path)
        or (scope.branch_id is not None and branch.id != scope.branch_id)
    ):
        raise NotFound("支部不存在或不在您的管辖范围内")
    rows = list(
        session.exec(
            select(Assessment)
            .where(Assessment.branch_id == branch.id, scope.filter(col(Assessment.region_path)))
            .order_by(col(Assessment.year))
        )
    )
    region = session.exec(select(Region).where(Region.path == branch.region_path)).first()
    years: list[HistoryYear] = []
    by_year = {a.year: a for a in rows}
    for a in rows:
        prev = by_year.get(a.year - 1)
        shown = a.final_stars if a.status == "final" else a.stars
        before = prev.final_stars if prev is not None and prev.status == "final" else None
        years.append(
            HistoryYear(
                year=a.year,
                status=a.status,
                total=a.total,
                band_stars=a.band_stars,
                stars=a.stars,
                final_stars=a.final_stars,
                stars_shown=shown,
                stars_basis="final" if a.status == "final" else "provisional",
                vetoed=a.vetoed,
                designated=a.designated,
                change=service.change_of(shown, before),
                causes=causes(a, prev),
                quota_explanation=[str(t) for t in a.quota_explanation],
            )
        )
    latest = rows[-1] if rows else None
    explanation: list[Any] = latest.explanation if latest else []
    return BranchHistory(
        branch_code=branch.code,
        branch_name=branch.name,
        sector=branch.sector,
        region_path=branch.region_path,
        region_name=region.name if region else None,
        years=years,
        latest_year=latest.year if latest else None,
        latest_explanation=[
            ExplanationStep(kind=str(s.get("kind", "")), text=str(s.get("text", "")))
            for s in explanation
            if isinstance(s, dict)
        ],
        latest_quota_explanation=[str(t) for t in latest.quota_explanation] if latest else [],
    )
