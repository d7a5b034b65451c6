"""Quota pressure (比例控制): per quota group (criteria set × the set's quota scope), the share of each
controlled band against its cap or minimum, the branches next to each quota line and what
``apply_quotas`` would do to them — computed, never saved.

The inputs are the totals and stars stored on each assessment: only branches tied on the total whose
order decides something shown (a quota line cuts between them, or they are listed next to one) are
re-scored from their entries (app.rankings.quota_inputs).

The pool is every assessment of the year in the group at ``submitted`` or later (finalizing uses
the publicized and final ones; counting the submitted and reviewed too shows the pressure before
publicity). A group whose quota scope is wider than the user's scope (a city-wide quota seen by a
county) is listed without figures: its pool would include branches the user may not see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.assessments.workflow import quota_group_key
from app.auth.scope import Scope
from app.rankings import quota_inputs, rescore, service
from app.rankings.schemas import QuotaGroup, QuotaLine, QuotaMove, QuotaPressure
from app.rankings.service import A, B
from app.regions.models import Region
from app.regions.paths import in_subtree
from app.scoring import CriteriaSet, QuotaCandidate, QuotaDecision, Result, apply_quotas
from app.scoring.quotas import quota_count

WINDOW = 3  # branches shown on each side of a quota line


def order_key(cs: CriteriaSet, code: str, res: Result) -> tuple:
    """The order quotas rank a band in: stars, then the set's tie-break keys, then the branch code
    (the same rule as app.scoring.quotas, restated here to show places)."""
    order = list(cs.quotas.tie_break) if cs.quotas else []
    if "key" not in order:
        order.append("key")
    parts: list[object] = [-res.stars]
    for name in order:
        if name == "total":
            parts.append(-res.total)
        elif name == "appraisal":
            parts.append((res.appraisal is None, -(res.appraisal or Decimal(0))))
        elif name == "deductions":
            parts.append(res.deducted)
        else:
            parts.append(code)
    return tuple(parts)


def _groups(
    session: Session, *, scope: Scope, year: int, region: Region, cache: rescore.SetCache
) -> dict[tuple[int, str], str]:
    """(set id, quota-scope prefix) → quota scope level, for the groups with assessments in the region."""
    stmt = service.scoped(
        select(A.criteria_set_id, A.region_path)
        .distinct()
        .where(A.year == year, A.status.in_(service.COMPLETED_STATUSES)),
        scope=scope,
        region_path=region.path,
    )
    out: dict[tuple[int, str], str] = {}
    for set_id, path in session.execute(stmt):
        cs = cache.get(set_id)
        level = cs.quotas.scope if cs.quotas else "county"
        out[quota_group_key(cache.record(set_id), level, path)] = level
    return out


def _pools(
    session: Session, *, year: int, groups: Iterable[tuple[int, str]], scope: Scope
) -> dict[tuple[int, str], list[quota_inputs.PoolRow]]:
    """Each group's assessments (by (set id, quota-scope prefix)): the stored columns quotas read, with the
    branch code and name. One statement per prefix for all its sets: the sets of a county share its index
    range, which a statement per set walked once for each (with a row lookup per entry for the set id)."""
    by_prefix: dict[str, set[int]] = defaultdict(set)
    for set_id, prefix in groups:
        by_prefix[prefix].add(set_id)
    columns = quota_inputs.pool_columns(session.get_bind().dialect.name)
    out: dict[tuple[int, str], list[quota_inputs.PoolRow]] = {}
    for prefix, set_ids in by_prefix.items():
        for set_id in set_ids:
            out[(set_id, prefix)] = []
        stmt = (
            select(A.criteria_set_id, *columns, B.code, B.name)
            .join(B, B.id == A.branch_id)
            .where(
                A.year == year,
                col(A.criteria_set_id).in_(sorted(set_ids)),
                A.status.in_(service.COMPLETED_STATUSES),
                in_subtree(A.region_path, prefix),
                scope.filter(A.region_path),
            )
            .order_by(A.id)
        )
        for set_id, *row in session.execute(stmt):
            out[(set_id, prefix)].append(quota_inputs.PoolRow(*row))
    return out


def _note(decision: QuotaDecision) -> str:
    return "；".join(decision.explanation)


def _lines(
    cs: CriteriaSet,
    results: dict[str, Result],
    names: dict[str, str],
    decisions: dict[str, QuotaDecision],
) -> list[QuotaLine]:
    n = len(results)
    lines: list[QuotaLine] = []
    assert cs.quotas is not None
    for rule in sorted(cs.quotas.rules, key=lambda r: -r.stars):
        if rule.max_share is not None:
            members = sorted(
                ((c, r) for c, r in results.items() if r.stars == rule.stars),
                key=lambda cr: order_key(cs, cr[0], cr[1]),
            )
            cap = quota_count(rule.max_share, n, minimum=False)
            fixed = sum(1 for _c, r in members if r.designated)
            room = max(cap - fixed, 0)
            moves: list[QuotaMove] = []
            place = 0
            for code, res in members:
                if res.designated:
                    continue
                place += 1
                if room - WINDOW < place <= room + WINDOW:
                    moves.append(_move(code, res, names, decisions, place, place <= room, rule.stars, "max"))
            lines.append(
                QuotaLine(
                    stars=rule.stars,
                    kind="max",
                    share_limit=float(rule.max_share),
                    limit_count=cap,
                    current=len(members),
                    current_share=round(len(members) / n, 4) if n else 0.0,
                    over_by=max(len(members) - cap, 0),
                    borderline=moves,
                )
            )
        if rule.min_share is not None:
            need = quota_count(rule.min_share, n, minimum=True)
            have = sum(1 for r in results.values() if r.stars <= rule.stars)
            above = sorted(
                ((c, r) for c, r in results.items() if r.stars > rule.stars and not r.designated),
                key=lambda cr: order_key(cs, cr[0], cr[1]),
            )
            short = max(need - have, 0)
            tail = above[-(short + WINDOW) :] if above else []
            moves = [
                _move(
                    code,
                    res,
                    names,
                    decisions,
                    len(above) - len(tail) + i + 1,
                    i < len(tail) - short,
                    rule.stars,
                    "min",
                )
                for i, (code, res) in enumerate(tail)
            ]
            lines.append(
                QuotaLine(
                    stars=rule.stars,
                    kind="min",
                    share_limit=float(rule.min_share),
                    limit_count=need,
                    current=have,
                    current_share=round(have / n, 4) if n else 0.0,
                    over_by=short,
                    borderline=moves,
                )
            )
    return lines


def _move(
    code: str,
    res: Result,
    names: dict[str, str],
    decisions: dict[str, QuotaDecision],
    place: int,
    inside: bool,
    stars: int,
    kind: str,
) -> QuotaMove:
    d = decisions[code]
    here = d.before == stars and d.stars < stars if kind == "max" else d.before > stars >= d.stars
    return QuotaMove(
        branch_code=code,
        branch_name=names.get(code, code),
        total=res.total,
        place=place,
        stars_before=d.before,
        stars_after=d.stars,
        inside=inside,
        moved_here=here,
        note=_note(d),
    )


def score_pool(
    session: Session,
    cs: CriteriaSet,
    pool: list[quota_inputs.PoolRow],
    names: dict[str, str],
    codes: dict[int, str],
    *,
    rescore_all: bool = False,
    ordered: bool = True,
) -> dict[int, Result]:
    """The quota inputs of a pool by assessment id: the stored totals and stars, re-scoring only the ties
    whose order shows (see app.rankings.quota_inputs); every assessment re-scored when ``rescore_all``.
    ``ordered=False``: no tie is re-scored (only rows without stored stars and weak-capped rows), for
    counts that do not depend on the order inside a tie (see ``pressure``)."""
    if rescore_all:
        return rescore.results(session, pool, lambda _a: cs)
    if not ordered:
        stored = {a.id or 0: r for a in pool if (r := quota_inputs.stored_result(cs, a)) is not None}
        exact = rescore.results(session, [a for a in pool if (a.id or 0) not in stored], lambda _a: cs)
        return {**stored, **exact}

    def shown(results: dict[str, Result], decisions: dict[str, QuotaDecision]) -> set[str]:
        lines = _lines(cs, results, names, decisions) if cs.quotas else []
        return {m.branch_code for line in lines for m in line.borderline}

    return quota_inputs.inputs(session, cs, pool, codes, shown)[0]


def pressure(
    session: Session,
    *,
    scope: Scope,
    year: int,
    region: Region,
    rescore_all: bool = False,
    borderline: bool = True,
) -> QuotaPressure:
    """Quota pressure of every quota group that has assessments in the region (from the stored totals and
    stars; ``rescore_all`` re-scores every assessment from its entries instead, for checking).

    ``borderline=False`` (the annual report): the lines without the branches next to them. Each line's
    counts (limit, current, over by) and a group's number of moves follow from the stars alone, not from
    the order inside a tie, so no tie is re-scored (the ties a quota line cuts were most of the work)."""
    cache = rescore.SetCache(session)
    groups = _groups(session, scope=scope, year=year, region=region, cache=cache)
    prefixes = {prefix for _sid, prefix in groups}
    regions = service.regions_by_code(session, (c for p in prefixes for c in service.path_codes(p)[-1:]))
    pools = _pools(session, year=year, groups=[g for g in groups if scope.contains_path(g[1])], scope=scope)
    out: list[QuotaGroup] = []
    for (set_id, prefix), level in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        record = cache.record(set_id)
        cs = cache.get(set_id)
        scope_region = regions.get(service.path_codes(prefix)[-1])
        head: dict[str, Any] = {
            "criteria_set_id": set_id,
            "title": record.title,
            "sector": record.sector,
            "scope_level": level,
            "scope_code": scope_region.code if scope_region else "",
            "scope_name": scope_region.name if scope_region else prefix,
        }
        if not scope.contains_path(prefix):
            out.append(
                QuotaGroup(
                    **head,
                    pool=0,
                    lines=[],
                    moves=0,
                    visible=False,
                    note="该标准按更大范围（如全市）控制比例，超出您的管辖范围，请由上级组织部门查看",
                )
            )
            continue
        pool = pools[(set_id, prefix)]
        codes = {a.id: a.code for a in pool}
        names = {a.code: a.name for a in pool}
        by_id = score_pool(session, cs, pool, names, codes, rescore_all=rescore_all, ordered=borderline)
        results = {a.code: by_id[a.id] for a in pool}
        decisions = apply_quotas(cs, [QuotaCandidate(code, res) for code, res in results.items()])
        lines = _lines(cs, results, names, decisions) if cs.quotas else []
        if not borderline:
            lines = [line.model_copy(update={"borderline": []}) for line in lines]
        out.append(
            QuotaGroup(
                **head,
                pool=len(pool),
                lines=lines,
                moves=sum(1 for d in decisions.values() if d.changed),
                note="" if cs.quotas else "本标准未设置比例控制",
            )
        )
    return QuotaPressure(
        year=year, region=service.region_ref(region), statuses=list(service.COMPLETED_STATUSES), groups=out
    )


def distribution(results: dict[str, int]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for stars in results.values():
        counts[stars] += 1
    return {s: counts.get(s, 0) for s in range(6)}
