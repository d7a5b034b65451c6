"""Quota groups: which assessments share a quota (a criteria set within its quota scope), and what the
quotas decide for them. One function serves finalisation, the finalize preview and the public notice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.assessments import scoring
from app.assessments.models import Assessment
from app.branches.models import Branch
from app.criteria.models import CriteriaSetRecord
from app.regions.paths import in_subtree
from app.scoring import CriteriaSet, QuotaCandidate, QuotaDecision, apply_quotas

POOL_STATUSES = ("publicized", "final")


@dataclass
class QuotaGroupOutcome:
    """One quota group: the pool the shares are computed over, and the decision for each branch code."""

    record: CriteriaSetRecord
    prefix: str  # region path of the quota scope
    cs: CriteriaSet
    members: list[Assessment]  # the assessments asked about (a subset of the pool)
    pool: list[tuple[Assessment, Branch]]
    decisions: dict[str, QuotaDecision]


def group_key(record: CriteriaSetRecord, quota_scope: str, region_path: str) -> tuple[int, str]:
    """Quotas apply per criteria set within the set's quota scope (city / county / township prefix)."""
    depth = {"city": 2, "county": 3, "township": 4}[quota_scope]
    parts = region_path.strip("/").split("/")
    return record.id or 0, "/" + "/".join(parts[:depth]) + "/"


def outcomes(
    session: Session, rows: Sequence[Assessment], *, pool_statuses: Sequence[str] = POOL_STATUSES
) -> list[QuotaGroupOutcome]:
    """Groups the rows by quota group and applies the quotas over each group's whole pool: every
    assessment of the year under that set in that scope whose status is in `pool_statuses` (so a county
    finalised township by township gets the same result as in one go)."""
    groups: dict[tuple[int, str], list[Assessment]] = defaultdict(list)
    records: dict[int, CriteriaSetRecord] = {}
    for a in rows:
        record = records.get(a.criteria_set_id) or session.get(CriteriaSetRecord, a.criteria_set_id)
        assert record is not None
        records[a.criteria_set_id] = record
        cs = scoring.criteria_of(session, a)
        groups[group_key(record, cs.quotas.scope if cs.quotas else "county", a.region_path)].append(a)
    out = []
    for (set_id, prefix), members in sorted(groups.items()):
        pool = list(
            session.exec(
                select(Assessment, Branch)
                .join(Branch, col(Branch.id) == Assessment.branch_id)
                .where(
                    Assessment.criteria_set_id == set_id,
                    col(Assessment.status).in_(list(pool_statuses)),
                    in_subtree(col(Assessment.region_path), prefix),
                    Assessment.year == members[0].year,
                )
                .order_by(col(Branch.code))
            ).all()
        )
        # Members not yet in a pool status (a preview before publicity) still compete for the quota.
        in_pool = {a.id for a, _b in pool}
        extra = [m for m in members if m.id not in in_pool]
        if extra:
            branches = {
                b.id: b
                for b in session.exec(select(Branch).where(col(Branch.id).in_([m.branch_id for m in extra])))
            }
            pool += [(m, branches[m.branch_id]) for m in extra]
        cs = scoring.criteria_of(session, members[0])
        results = scoring.results_for(session, cs, [a for a, _b in pool])
        decisions = apply_quotas(cs, [QuotaCandidate(b.code, results[a.id or 0]) for a, b in pool])
        out.append(QuotaGroupOutcome(records[set_id], prefix, cs, members, pool, decisions))
    return out


def proposed_stars(session: Session, rows: Sequence[Assessment]) -> dict[int, int]:
    """The stars finalisation would give these assessments now (quotas, then the weak-branch block),
    without writing anything: what a public notice proposes."""
    from app.dynamic.weak_cap import weak_star_cap

    out: dict[int, int] = {}
    for group in outcomes(session, rows):
        codes = {a.id: b.code for a, b in group.pool}
        for a in group.members:
            stars = group.decisions[codes[a.id]].stars
            cap, _why = weak_star_cap(session, branch_id=a.branch_id, year=a.year)
            out[a.id or 0] = min(stars, cap) if cap is not None else stars
    return out
