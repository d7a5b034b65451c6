"""Quota control (比例控制) over the results of one scope (a county, a township ...).

* A max-share rule for S stars allows floor(share × n) branches at exactly S stars
  (n = all candidates in the scope). Rules run from the highest S down; the branches
  ranked beyond the cap drop to the next level they qualify for, so they may push the
  next band over its own cap (cascade).
* A min-share rule for S stars requires ceil(share × n) branches at S stars or fewer; the
  lowest-ranked branches above S are moved down to the highest level <= S they qualify for.
* Ranking: current stars (high first), then the set's ``tie_break`` keys, always ending with
  the branch key ascending, so the outcome never depends on the input order.
* Designated branches (直接定级) are never moved but count toward every share; vetoed
  branches keep their (capped) stars and may still be moved down.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from app.scoring.document import CriteriaSet, QuotaRule
from app.scoring.explain import fmt, pct, stars_label
from app.scoring.result import Result


@dataclass(frozen=True)
class QuotaCandidate:
    key: str  # branch code
    result: Result


@dataclass(frozen=True)
class QuotaDecision:
    stars: int
    before: int
    changed: bool
    explanation: list[str] = field(default_factory=list)


def quota_count(share: Decimal, n: int, *, minimum: bool) -> int:
    """max shares: floor(share × n); min shares: ceil(share × n); never below 0."""
    value = (share * n).to_integral_value(rounding=ROUND_CEILING if minimum else ROUND_FLOOR)
    return max(int(value), 0)


def _rank_key(cs: CriteriaSet, cand: QuotaCandidate, stars: int) -> tuple:
    order = list(cs.quotas.tie_break) if cs.quotas else []
    if "key" not in order:
        order.append("key")
    parts: list[object] = [-stars]
    res = cand.result
    for name in order:
        if name == "total":
            parts.append(-res.total)
        elif name == "appraisal":
            parts.append((res.appraisal is None, -(res.appraisal or Decimal(0))))
        elif name == "deductions":
            parts.append(res.deducted)
        else:
            parts.append(cand.key)
    return tuple(parts)


def _below(res: Result, ceiling: int) -> int:
    """Highest level <= ceiling this branch qualifies for (0 when none)."""
    return next((lv for lv in res.eligible_stars if lv <= ceiling), 0)


def apply_quotas(cs: CriteriaSet, candidates: Sequence[QuotaCandidate]) -> dict[str, QuotaDecision]:
    keys = [c.key for c in candidates]
    if len(set(keys)) != len(keys):
        raise ValueError("候选支部编码重复")
    before = {c.key: c.result.stars for c in candidates}
    notes: dict[str, list[str]] = {c.key: [] for c in candidates}
    stars = dict(before)
    if cs.quotas is None or not candidates:
        for key in notes:
            notes[key].append("本标准未设置比例控制" if cs.quotas is None else "")
        return {k: QuotaDecision(stars[k], before[k], False, [n for n in notes[k] if n]) for k in keys}
    n = len(candidates)
    for cand in candidates:
        if cand.result.designated:
            notes[cand.key].append("直接定级，不受比例控制，但计入比例")

    def ranked(pool: list[QuotaCandidate]) -> list[QuotaCandidate]:
        return sorted(pool, key=lambda c: _rank_key(cs, c, stars[c.key]))

    max_rules = sorted((r for r in cs.quotas.rules if r.max_share is not None), key=lambda r: -r.stars)
    min_rules = sorted((r for r in cs.quotas.rules if r.min_share is not None), key=lambda r: r.stars)
    for rule in max_rules:
        _apply_max(rule, n, ranked([c for c in candidates if stars[c.key] == rule.stars]), stars, notes)
    for rule in min_rules:
        _apply_min(rule, n, candidates, ranked, stars, notes)
    return {k: QuotaDecision(stars[k], before[k], stars[k] != before[k], notes[k]) for k in sorted(keys)}


def _apply_max(
    rule: QuotaRule,
    n: int,
    members: list[QuotaCandidate],
    stars: dict[str, int],
    notes: dict[str, list[str]],
) -> None:
    assert rule.max_share is not None
    cap = quota_count(rule.max_share, n, minimum=False)
    head = f"{stars_label(rule.stars)}比例不超过 {pct(rule.max_share)}（{n} 个支部，最多 {cap} 个）"
    fixed = sum(1 for m in members if m.result.designated)
    room = max(cap - fixed, 0)
    place = 0
    for cand in members:
        if cand.result.designated:
            continue
        place += 1
        if place <= room:
            if len(members) > cap:
                notes[cand.key].append(f"{head}：排第 {place} 名，在名额内")
            continue
        new = _below(cand.result, rule.stars - 1)
        notes[cand.key].append(
            f"{head}：排第 {place} 名，超出名额，由{stars_label(rule.stars)}调整为{stars_label(new)}"
        )
        stars[cand.key] = new


def _apply_min(
    rule: QuotaRule,
    n: int,
    candidates: Sequence[QuotaCandidate],
    ranked: Callable[[list[QuotaCandidate]], list[QuotaCandidate]],
    stars: dict[str, int],
    notes: dict[str, list[str]],
) -> None:
    assert rule.min_share is not None
    need = quota_count(rule.min_share, n, minimum=True)
    have = sum(1 for c in candidates if stars[c.key] <= rule.stars)
    if have >= need:
        return
    head = f"{stars_label(rule.stars)}及以下比例不低于 {pct(rule.min_share)}（{n} 个支部，至少 {need} 个）"
    pool = [c for c in candidates if stars[c.key] > rule.stars and not c.result.designated]
    for cand in reversed(ranked(pool)):
        if have >= need:
            break
        old = stars[cand.key]
        new = _below(cand.result, rule.stars)
        notes[cand.key].append(
            f"{head}：现有 {have} 个，本支部排名靠后（总分 {fmt(cand.result.total)} 分），"
            f"由{stars_label(old)}调整为{stars_label(new)}"
        )
        stars[cand.key] = new
        have += 1
