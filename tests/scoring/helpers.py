"""Small builders shared by the scoring tests."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from app.scoring import CriteriaSet, DeductionHit, Discretionary, Entries, ItemEntry, load_document

BANDS = [
    {"stars": 5, "min": 90},
    {"stars": 4, "min": 80},
    {"stars": 3, "min": 70},
    {"stars": 2, "min": 60},
    {"stars": 1, "min": 0},
]

# A1: points 0..60; A2: deductive 40 with three kinds of presets and discretionary (≤ 3).
BASE: dict[str, Any] = {
    "title": "测试细则",
    "year": 2026,
    "sector": "rural",
    "categories": [
        {
            "code": "A",
            "name": "基础工作",
            "items": [
                {"code": "A1", "name": "得分项", "max": 60},
                {
                    "code": "A2",
                    "name": "扣分项",
                    "max": 40,
                    "mode": "deductive",
                    "discretionary": True,
                    "discretionary_max": 3,
                    "deductions": [
                        {"code": "A2f", "text": "未按期换届", "kind": "fixed", "points": 5},
                        {
                            "code": "A2o",
                            "text": "少开支委会",
                            "kind": "per_occurrence",
                            "points": 1,
                            "cap": 3,
                        },
                        {
                            "code": "A2u",
                            "text": "村务未公开",
                            "kind": "per_unit",
                            "points": 0.5,
                            "unit": "季度",
                        },
                    ],
                },
            ],
        }
    ],
    "bands": BANDS,
}


def doc(**overrides: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def cs(**overrides: Any) -> CriteriaSet:
    return load_document(doc(**overrides))


def D(value: str | int) -> Decimal:
    return Decimal(str(value))


def pts(value: str | int) -> ItemEntry:
    return ItemEntry(points=D(value))


def hits(*pairs: tuple[str, str | int], disc: tuple[tuple[str | int, str], ...] = ()) -> ItemEntry:
    return ItemEntry(
        deductions=tuple(DeductionHit(code, D(count)) for code, count in pairs),
        discretionary=tuple(Discretionary(D(p), reason) for p, reason in disc),
    )


def entries(items: dict[str, ItemEntry] | None = None, **kw: Any) -> Entries:
    return Entries(items=items or {}, **kw)


def sum_check(result: Any) -> Decimal:
    """Σ values of component + adjust steps (must equal the total)."""
    return sum(
        (s.value for s in result.explanation if s.kind in ("component", "adjust") and s.value is not None),
        Decimal(0),
    )
