"""Quota pressure from the stored totals and stars equals the pressure re-scored from every entry (the demo
counties and the hand-made township), and only the rows the stored values cannot order are re-scored."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from app.assessments.models import Assessment
from app.branches.models import Branch
from app.dynamic.weak_cap import STEP_KIND
from app.rankings import quota_inputs, quotas, rescore, whatif
from app.rankings import service as rankings
from app.scoring import CriteriaSet, QuotaCandidate, apply_quotas
from tests.rankings.conftest import YEAR, province_scope

COMPLETED = ("submitted", "reviewed", "publicized", "final")


@pytest.mark.parametrize(
    ("code", "year"),
    [("990102", 2026), ("990102", 2025), ("990103", 2026), ("990106", 2026), ("9901", 2026)],
)
def test_stored_pressure_equals_rescored_pressure(rdb: Session, code: str, year: int) -> None:
    scope = province_scope(rdb)
    region = rankings.resolve_region(rdb, scope=scope, code=code)
    stored = quotas.pressure(rdb, scope=scope, year=year, region=region)
    again = quotas.pressure(rdb, scope=scope, year=year, region=region, rescore_all=True)
    assert stored.groups and any(g.lines for g in stored.groups)
    assert stored.model_dump() == again.model_dump()


def test_hand_made_township_with_ties(rdb: Session, town) -> None:  # type: ignore[no-untyped-def]
    """T02 and T03 tie on 92 points (their order needs appraisal and deductions): re-scored only when a
    quota line cuts between them or a view lists them by place."""
    scope = province_scope(rdb)
    region = rankings.resolve_region(rdb, scope=scope, code=town.town_code)
    stored = quotas.pressure(rdb, scope=scope, year=YEAR, region=region)
    again = quotas.pressure(rdb, scope=scope, year=YEAR, region=region, rescore_all=True)
    assert stored.model_dump() == again.model_dump()
    rows, codes = _pool(rdb, town.set_id)
    cs = rescore.SetCache(rdb).get(town.set_id)
    tied = {r.id for r in rows if r.total == 92}
    assert len(rows) == 6 and len(tied) == 2
    # one five-star place for six: both tied branches go down whatever their order
    results, rescored = quota_inputs.inputs(rdb, cs, rows, codes, lambda _r, _d: set())
    assert rescored == 0 and not any(r.items for r in results.values())
    _same_decisions(rdb, cs, rows, codes, results)
    # listed next to the quota line: their places are shown, so they are re-scored
    results, rescored = quota_inputs.inputs(rdb, cs, rows, codes, lambda _r, _d: {"990102901-T02"})
    assert rescored == 2 and all(results[i].items for i in tied)
    # two places: the line cuts the tie
    two = whatif.with_five_max(cs, Decimal("0.34"))
    results, rescored = quota_inputs.inputs(rdb, two, rows, codes, lambda _r, _d: set())
    assert rescored == 2 and all(results[i].items for i in tied)
    _same_decisions(rdb, two, rows, codes, results)


def test_weak_capped_rows_are_rescored(rdb: Session, town) -> None:  # type: ignore[no-untyped-def]
    """A weak-branch cap lowers the stored stars after scoring; quotas run on the engine's stars."""
    rows, codes = _pool(rdb, town.set_id)
    cs = rescore.SetCache(rdb).get(town.set_id)
    top = max(rows, key=lambda r: r.total or 0)
    assert quota_inputs.stored_result(cs, top) is not None
    step = {"kind": STEP_KIND, "code": None, "text": "软弱涣散", "value": "2"}
    capped = replace(top, stars=2, explanation=[*(top.explanation or []), step])
    assert quota_inputs.stored_result(cs, capped) is None
    rows = [capped if r.id == top.id else r for r in rows]
    results, rescored = quota_inputs.inputs(rdb, cs, rows, codes, lambda _r, _d: set())
    assert rescored == 1 and results[top.id].stars == 5


def test_pool_reads_the_explanation_only_with_a_weak_cap_step(db: Session, town) -> None:  # type: ignore[no-untyped-def]
    """The pool columns decode a row's explanation only when its stored text holds the weak-cap step."""
    rows = list(
        db.execute(
            select(Assessment)
            .where(Assessment.year == YEAR, Assessment.criteria_set_id == town.set_id)
            .order_by(col(Assessment.id))
        ).scalars()
    )
    capped, plain = rows[0], rows[1]
    step = {"kind": STEP_KIND, "code": None, "text": "软弱涣散", "value": "2"}
    capped.explanation = [*capped.explanation, step]
    plain.explanation = [*plain.explanation, {"kind": "note", "code": None, "text": "无", "value": None}]
    db.add_all([capped, plain])
    db.flush()
    columns = quota_inputs.pool_columns(db.get_bind().dialect.name)
    stmt = select(*columns, Branch.code, Branch.name).join(Branch, col(Branch.id) == Assessment.branch_id)
    got = {
        r.id: r
        for r in (
            quota_inputs.PoolRow(*row)
            for row in db.execute(stmt.where(col(Assessment.id).in_([capped.id, plain.id])))
        )
    }
    assert got[capped.id or 0].explanation == capped.explanation
    assert got[plain.id or 0].explanation is None
    cs = rescore.SetCache(db).get(town.set_id)
    assert quota_inputs.stored_result(cs, got[capped.id or 0]) is None
    assert quota_inputs.stored_result(cs, got[plain.id or 0]) == quota_inputs.stored_result(cs, plain)


def _same_decisions(
    rdb: Session, cs: CriteriaSet, rows: list[quota_inputs.PoolRow], codes: dict[int, str], got: dict
) -> None:
    want = rescore.results(rdb, rows, lambda _a: cs)

    def decide(results: dict) -> dict:
        out = apply_quotas(cs, [QuotaCandidate(codes[i], r) for i, r in results.items()])
        return {k: (d.stars, d.changed) for k, d in out.items()}

    assert decide(got) == decide(want)


def test_stored_result_levels_follow_prerequisites(rdb: Session) -> None:
    """The levels a branch may be moved down to come from the set and the prerequisites met (extras)."""
    scope = province_scope(rdb)
    rows = list(
        rdb.execute(
            select(Assessment)
            .where(Assessment.year == 2026, col(Assessment.status).in_(COMPLETED))
            .where(scope.filter(col(Assessment.region_path)))
            .order_by(col(Assessment.id))
            .limit(300)
        ).scalars()
    )
    cache = rescore.SetCache(rdb)
    engine = {a.id: r for a, r in _rescored(rdb, cache, rows)}
    for a in rows:
        got = quota_inputs.stored_result(cache.get(a.criteria_set_id), a)
        assert got is not None
        want = engine[a.id]
        assert (got.stars, got.total, got.designated, got.eligible_stars) == (
            want.stars,
            want.total,
            want.designated,
            want.eligible_stars,
        ), a.id


def _rescored(rdb: Session, cache: rescore.SetCache, rows: list[Assessment]) -> list:
    by_id = rescore.results(rdb, rows, lambda a: cache.get(a.criteria_set_id))
    return [(a, by_id[a.id or 0]) for a in rows]


def _pool(rdb: Session, set_id: int) -> tuple[list[quota_inputs.PoolRow], dict[int, str]]:
    stmt = (
        select(*quota_inputs.pool_columns(rdb.get_bind().dialect.name), Branch.code, Branch.name)
        .join(Branch, col(Branch.id) == Assessment.branch_id)
        .where(
            Assessment.year == YEAR,
            Assessment.criteria_set_id == set_id,
            col(Assessment.status).in_(COMPLETED),
        )
    )
    rows = [quota_inputs.PoolRow(*r) for r in rdb.execute(stmt)]
    return rows, {r.id: r.code for r in rows}
