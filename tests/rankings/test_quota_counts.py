"""Quota pressure without the borderline branches (``borderline=False``, the annual report) re-scores no tie
and still gives every line's counts and every group's moves exactly (the demo counties, a city, and the
hand-made township whose tie a quota line cuts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session

from app.rankings import quotas, rescore, whatif
from app.rankings import service as rankings
from app.scoring import QuotaCandidate, apply_quotas
from tests.rankings.conftest import YEAR, province_scope


def _without_borderline(p: Any) -> dict:
    out = p.model_dump()
    for g in out["groups"]:
        for line in g["lines"]:
            line["borderline"] = []
    return out


@pytest.mark.parametrize(
    ("code", "year"),
    [("990102", 2026), ("990102", 2025), ("990103", 2026), ("990106", 2026), ("9901", 2026)],
)
def test_counts_without_borderline_equal_the_full_pressure(rdb: Session, code: str, year: int) -> None:
    scope = province_scope(rdb)
    region = rankings.resolve_region(rdb, scope=scope, code=code)
    full = quotas.pressure(rdb, scope=scope, year=year, region=region)
    counts = quotas.pressure(rdb, scope=scope, year=year, region=region, borderline=False)
    assert any(g.lines for g in counts.groups)
    assert all(not line.borderline for g in counts.groups for line in g.lines)
    assert counts.model_dump() == _without_borderline(full)


def test_a_tie_cut_by_a_quota_line_is_not_rescored_and_counts_hold(rdb: Session, town, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    scope = province_scope(rdb)
    region = rankings.resolve_region(rdb, scope=scope, code=town.town_code)
    full = quotas.pressure(rdb, scope=scope, year=YEAR, region=region)
    counts = quotas.pressure(rdb, scope=scope, year=YEAR, region=region, borderline=False)
    assert counts.model_dump() == _without_borderline(full)
    # two five-star places for six: the line cuts the 92-point tie; the ordered inputs re-score it, the
    # counts-only inputs do not, and the decisions move as many branches to the same stars
    group = (town.set_id, region.path)
    pool = quotas._pools(rdb, year=YEAR, groups=[group], scope=scope)[group]
    codes = {a.id: a.code for a in pool}
    names = {a.code: a.name for a in pool}
    cs = whatif.with_five_max(rescore.SetCache(rdb).get(town.set_id), Decimal("0.34"))
    rescored: list[int] = []
    real = rescore.results

    def counting(session, rows, sets):  # type: ignore[no-untyped-def]
        rescored.extend(r.id for r in rows)
        return real(session, rows, sets)

    monkeypatch.setattr(rescore, "results", counting)
    ordered = quotas.score_pool(rdb, cs, pool, names, codes)
    assert any(ordered[i].items for i in ordered)  # the tie was re-scored
    rescored.clear()
    unordered = quotas.score_pool(rdb, cs, pool, names, codes, ordered=False)
    assert rescored == []

    def summary(by_id: dict) -> tuple:
        results = {codes[i]: r for i, r in by_id.items()}
        decisions = apply_quotas(cs, [QuotaCandidate(c, r) for c, r in results.items()])
        lines = [
            (x.stars, x.kind, x.limit_count, x.current, x.over_by)
            for x in quotas._lines(cs, results, names, decisions)
        ]
        moved = sorted((d.before, d.stars) for d in decisions.values() if d.changed)
        return lines, moved

    assert summary(unordered) == summary(ordered)
