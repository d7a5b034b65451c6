"""Signs of a weak and lax branch (软弱涣散情形) that the data can show (see RULES.md):

- below three stars (final stars once final, otherwise the provisional stars);
- a veto (一票否决);
- down two years running (the stars fell from year-2 to year-1 and again from year-1 to year);
- the secretary post vacant for more than three months (as of the end of the year, or today);
- public satisfaction below 60 %: (满意 + 基本满意) ÷ all votes of the appraisal (评议) in the extras.

Not shown by the data, so listed by hand with a reason: an unfit secretary, organisational life not held,
no admission candidate for two years, concentrated petitions, last place in the annual appraisal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select

from app import clock
from app.assessments.models import Assessment
from app.assessments.scoring import veto_reasons
from app.branches.models import Branch
from app.dynamic.common import effective_stars
from app.dynamic.schemas import Sign
from app.labels import STARS
from app.regions.paths import in_subtree

SATISFACTION_FLOOR = Decimal("0.6")
VACANCY_MONTHS = 3


def add_months(d: date, months: int) -> date:
    """The same day `months` later (clamped to the month's last day)."""
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def as_of(year: int, today: date | None = None) -> date:
    """The day the register of `year` looks at: the end of that year, or today if earlier."""
    today = today or clock.today()
    return min(today, date(year, 12, 31))


def satisfaction(extras: dict[str, Any]) -> tuple[Decimal, dict[str, int]] | None:
    """(rate, votes) from the appraisal votes in the extras, when there are any."""
    raw = extras.get("appraisal") if isinstance(extras, dict) else None
    if not isinstance(raw, dict):
        return None
    try:
        votes = {k: int(raw.get(k, 0)) for k in ("satisfied", "basic", "unsatisfied")}
    except (TypeError, ValueError):
        return None
    total = sum(votes.values())
    if total <= 0 or min(votes.values()) < 0:
        return None
    return Decimal(votes["satisfied"] + votes["basic"]) / Decimal(total), votes


def signs_of(
    branch: Branch,
    year: int,
    by_year: dict[int, Assessment],
    *,
    today: date | None = None,
) -> list[Sign]:
    """The signs one branch shows for `year`, given its assessments of year, year-1 and year-2."""
    out: list[Sign] = []
    a = by_year.get(year)
    if a is not None:
        stars = effective_stars(a)
        if stars is not None and stars < 3:
            which = "认定星级" if a.status == "final" else "初评星级"
            out.append(Sign(code="below_three", text=f"{year}年度{which}为{STARS[stars]}，低于三星"))
        if a.vetoed:
            reasons = veto_reasons(a.extras)
            text = f"{year}年度触发一票否决" + (f"：{'；'.join(reasons)}" if reasons else "")
            out.append(Sign(code="vetoed", text=text))
        rate = satisfaction(a.extras)
        if rate is not None and rate[0] < SATISFACTION_FLOOR:
            v = rate[1]
            pct = (rate[0] * 100).quantize(Decimal("0.1"))
            out.append(
                Sign(
                    code="low_satisfaction",
                    text=f"{year}年度群众满意度 {pct}%（满意 {v['satisfied']} 票、基本满意 {v['basic']} 票、"
                    f"不满意 {v['unsatisfied']} 票），低于 60%",
                )
            )
        s0 = effective_stars(a)
        p1, p2 = by_year.get(year - 1), by_year.get(year - 2)
        s1 = effective_stars(p1) if p1 else None
        s2 = effective_stars(p2) if p2 else None
        if s0 is not None and s1 is not None and s2 is not None and s0 < s1 < s2:
            out.append(
                Sign(
                    code="down_two_years",
                    text=f"连续两年降星：{year - 2}年{STARS[s2]} → {year - 1}年{STARS[s1]} → {year}年{STARS[s0]}",
                )
            )
    since = branch.secretary_vacant_since
    day = as_of(year, today)
    if since is not None and add_months(since, VACANCY_MONTHS) < day:
        out.append(
            Sign(
                code="secretary_vacant",
                text=f"书记自 {since.isoformat()} 起空缺，至 {day.isoformat()} 已超过三个月",
            )
        )
    return out


def assessments_by_branch(
    session: Session, *, branch_ids: Iterable[int] | None, region_path: str | None, year: int
) -> dict[int, dict[int, Assessment]]:
    """{branch_id: {year: assessment}} for year, year-1 and year-2 (by branch ids or a region path)."""
    # Only what the signs read: the explanation and the totals stay unloaded (this runs over a county).
    fields = ("branch_id", "year", "status", "stars", "final_stars", "vetoed", "extras")
    stmt = (
        select(Assessment)
        .options(load_only(*(getattr(Assessment, f) for f in fields)))
        .where(col(Assessment.year).in_((year, year - 1, year - 2)))
    )
    if branch_ids is not None:
        stmt = stmt.where(col(Assessment.branch_id).in_(list(branch_ids)))
    if region_path is not None:
        branches = select(Branch.id).where(in_subtree(col(Branch.region_path), region_path))
        stmt = stmt.where(col(Assessment.branch_id).in_(branches))
    out: dict[int, dict[int, Assessment]] = {}
    for a in session.exec(stmt):
        out.setdefault(a.branch_id, {})[a.year] = a
    return out


def branch_signs(session: Session, *, branch: Branch, year: int) -> list[Sign]:
    """The signs of one branch for a year."""
    by = assessments_by_branch(session, branch_ids=[branch.id or 0], region_path=None, year=year)
    return signs_of(branch, year, by.get(branch.id or 0, {}))
