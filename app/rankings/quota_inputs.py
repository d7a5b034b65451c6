"""The inputs of quota pressure from the stored rows: re-score only the ties whose order changes what is shown.

``apply_quotas`` orders the branches of a band by stars, then by the set's tie-break (total, appraisal,
deductions, branch code). Totals and stars are stored on each assessment in the same transaction as the
entries they come from (app.assessments.scoring.recompute); appraisal and deductions exist only in the
entries. Re-scoring every assessment of a county to get them back took seconds, so:

1. each row is read as stored (``stored_result``); a row without stored stars, or whose stars a
   weak-branch cap lowered after scoring, is re-scored (quotas run on the engine's stars);
2. branches of one total form a *block*: the order inside a block is the only thing the stored values
   leave open. Quotas are applied twice, the open blocks once in branch-code order and once reversed. A
   block whose members come out differently (stars, or the kind of quota note) is cut by a quota line;
   it is re-scored, and so is every block with a member listed next to a quota line (places shown);
3. until no block is left to re-score. The open blocks that remain are ordered by branch code: their
   members get the same stars and notes whatever their order.

Nothing is written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import String, case, cast, literal, null
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session

from app.assessments import scoring as assessment_scoring
from app.assessments.models import Assessment
from app.dynamic.weak_cap import STEP_KIND as WEAK_CAP_STEP
from app.rankings import rescore
from app.scoring import CriteriaSet, QuotaCandidate, QuotaDecision, Result, apply_quotas

ZERO = Decimal(0)
A: Any = Assessment


def explanation_if_capped(dialect: str) -> Any:
    """The explanation only where it holds a weak-cap step, else NULL: the explanations (the largest column)
    are not decoded for every row. SQLite: a LIKE on the stored text (a superset of the step being there;
    ``stored_result`` checks the decoded steps). PostgreSQL: JSONB containment — the text cast that LIKE
    needs converted every explanation of the pool (120 of 150 ms for a 3,000-branch county)."""
    if dialect == "postgresql":
        capped = A.explanation.op("@>")(literal([{"kind": WEAK_CAP_STEP}], JSONB))
    else:
        capped = cast(A.explanation, String).like(f"%{WEAK_CAP_STEP}%")
    return case((capped, A.explanation), else_=null())


def pool_columns(dialect: str) -> tuple[Any, ...]:
    """The stored columns quotas read of an assessment, in the order of ``PoolRow``'s first fields."""
    return (
        A.id,
        A.total,
        A.stars,
        A.band_stars,
        A.vetoed,
        A.designated,
        A.extras,
        explanation_if_capped(dialect),
    )


@dataclass(frozen=True)
class PoolRow:
    """One assessment of a quota group: the stored columns quotas read (``pool_columns``), then the
    branch code and name."""

    id: int
    total: Decimal | None
    stars: int | None
    band_stars: int | None
    vetoed: bool
    designated: bool
    extras: dict[str, Any]
    explanation: list[Any] | None  # None when it holds no weak-cap step (``explanation_if_capped``)
    code: str
    name: str


# Codes of the branches a view lists by place (next to a quota line), from results and decisions.
Shown = Callable[[dict[str, Result], dict[str, QuotaDecision]], set[str]]


def stored_result(cs: CriteriaSet, a: PoolRow | Assessment) -> Result | None:
    """What ``apply_quotas`` reads of the engine's result (stars, total, designation, the levels the
    branch may be moved down to), from the row; ``None`` when the row cannot say.

    Only those fields are filled: items, explanation, appraisal and deductions are left empty."""
    if a.total is None or a.stars is None or a.band_stars is None:
        return None
    if any(isinstance(s, dict) and s.get("kind") == WEAK_CAP_STEP for s in a.explanation or ()):
        return None
    met = frozenset(assessment_scoring.build_entries([], a.extras).prerequisites)
    eligible = tuple(lv for lv in cs.levels() if lv <= a.stars and all(p.code in met for p in cs.guarded(lv)))
    return Result(
        total=a.total,
        max_total=ZERO,
        band_stars=a.band_stars,
        stars=a.stars,
        items={},
        categories={},
        sheets={},
        components={},
        basic=ZERO,
        bonus=ZERO,
        penalty=ZERO,
        appraisal=None,
        deducted=ZERO,
        vetoed=bool(a.vetoed),
        veto_cap=None,
        designated=bool(a.designated),
        eligible_stars=eligible,
        complete=True,
        missing=[],
        problems=[],
        explanation=[],
    )


def open_key(cs: CriteriaSet) -> str | None:
    """The tie-break key that orders branches of equal stars and total ("appraisal" or "deductions"),
    "all" when a key the rows do not store comes before the total, ``None`` when the rows settle it."""
    order = list(cs.quotas.tie_break) if cs.quotas else []
    order = order[: order.index("key")] if "key" in order else order
    if not order:
        return None
    if order[0] != "total":
        return "all"
    return order[1] if len(order) > 1 else None


def _placeholder(res: Result, key: str, index: int) -> Result:
    """A stored result ordered at ``index`` inside its block (lower first) by the open key."""
    if key == "appraisal":
        return replace(res, appraisal=Decimal(-index))
    return replace(res, deducted=Decimal(index))


def _signature(d: QuotaDecision) -> tuple[int, tuple[str, ...]]:
    """Stars and the kind of each quota note (places and counts left out: they follow the order)."""
    return d.stars, tuple(re.sub(r"\d+", "#", n) for n in d.explanation)


def inputs(
    session: Session,
    cs: CriteriaSet,
    pool: Sequence[PoolRow],
    codes: dict[int, str],
    shown: Shown,
) -> tuple[dict[int, Result], int]:
    """The quota inputs of a pool by assessment id (``codes``: assessment id → branch code), and how many
    assessments were re-scored from their entries."""
    key = open_key(cs)
    if key == "all":
        return rescore.results(session, pool, lambda _a: cs), len(pool)
    stored = {a.id or 0: r for a in pool if (r := stored_result(cs, a)) is not None}
    exact = rescore.results(session, [a for a in pool if (a.id or 0) not in stored], lambda _a: cs)
    if key is None:
        return {**stored, **exact}, len(exact)
    by_id = {a.id or 0: a for a in pool}
    memo: dict[tuple[int, int], Result] = {}  # the placeholders of each round (a block keeps its order)
    blocks = _blocks({**stored, **exact}, codes)
    pending = {t for t, ids in blocks.items() if any(i in exact for i in ids)}
    while True:
        again = [by_id[i] for t in pending for i in blocks.pop(t) if i not in exact]
        exact.update(rescore.results(session, again, lambda _a: cs))
        pending = _cut_or_shown(cs, key, stored, exact, blocks, codes, shown, memo) if blocks else set()
        if not pending:
            return {**_ordered(key, stored, blocks, memo), **exact}, len(exact)


def _blocks(results: dict[int, Result], codes: dict[int, str]) -> dict[Decimal, list[int]]:
    """Assessment ids of equal total (two or more), each block in branch-code order."""
    out: dict[Decimal, list[int]] = defaultdict(list)
    for aid, res in results.items():
        out[res.total].append(aid)
    return {t: sorted(ids, key=lambda i: codes[i]) for t, ids in out.items() if len(ids) > 1}


def _ordered(
    key: str,
    stored: dict[int, Result],
    blocks: dict[Decimal, list[int]],
    memo: dict[tuple[int, int], Result],
    *,
    reverse: bool = False,
) -> dict[int, Result]:
    """The stored results with each open block ordered by branch code (or reversed); ``memo`` keeps the
    placeholders made in earlier rounds by (assessment id, index)."""
    out = dict(stored)
    for ids in blocks.values():
        for i, aid in enumerate(ids):
            index = -i if reverse else i
            found = memo.get((aid, index))
            if found is None:
                found = memo[(aid, index)] = _placeholder(stored[aid], key, index)
            out[aid] = found
    return out


def _cut_or_shown(
    cs: CriteriaSet,
    key: str,
    stored: dict[int, Result],
    exact: dict[int, Result],
    blocks: dict[Decimal, list[int]],
    codes: dict[int, str],
    shown: Shown,
    memo: dict[tuple[int, int], Result],
) -> set[Decimal]:
    """The open blocks a quota line cuts through or a view lists by place."""
    runs = []
    for reverse in (False, True):
        results = {
            codes[i]: r for i, r in {**_ordered(key, stored, blocks, memo, reverse=reverse), **exact}.items()
        }
        runs.append((results, apply_quotas(cs, [QuotaCandidate(c, r) for c, r in results.items()])))
    (fwd_results, fwd), (_rev_results, rev) = runs
    listed = shown(fwd_results, fwd)
    return {
        t
        for t, ids in blocks.items()
        if any(_signature(fwd[codes[i]]) != _signature(rev[codes[i]]) or codes[i] in listed for i in ids)
    }
