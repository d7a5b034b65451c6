"""The outcome of ``score()``: frozen dataclasses with a plain-JSON form for storage."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.scoring.document import dec_str

# Step kinds, in the order they appear in an explanation.
STEP_KINDS = (
    "item",
    "category",
    "sheet",
    "component",
    "adjust",
    "total",
    "band",
    "prerequisite",
    "designation",
    "veto",
    "stars",
)
# Steps whose values add up to the total (see docs/criteria-format.md, "解释与核对").
SUM_KINDS = ("component", "adjust")


@dataclass(frozen=True)
class Step:
    kind: str
    code: str | None
    text: str
    value: Decimal | None = None


@dataclass(frozen=True)
class AppliedDeduction:
    """A deduction (or award) as applied: ``points`` is what it actually took (after its cap)."""

    code: str
    text: str
    count: Decimal
    points: Decimal
    discretionary: bool = False
    reason: str = ""


@dataclass(frozen=True)
class ItemResult:
    code: str
    name: str
    section: str  # category | bonus | penalty
    category: str | None
    score: Decimal  # penalty items: minus the penalty
    max: Decimal  # penalty items: 0
    lost: Decimal  # max - score; penalty items: the penalty
    deductions: tuple[AppliedDeduction, ...] = ()
    excess: Decimal = Decimal(0)  # deduction beyond the item's max, taken off the total
    scored: bool = False
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class CategoryResult:
    code: str
    name: str
    sheet: str | None
    score: Decimal
    max: Decimal
    raw: Decimal  # sum of the item scores before the category cap
    capped: bool
    excess: Decimal = Decimal(0)


@dataclass(frozen=True)
class SheetResult:
    code: str
    name: str
    score: Decimal
    max: Decimal
    pass_mark: Decimal
    passed: bool


@dataclass(frozen=True)
class Result:
    total: Decimal
    max_total: Decimal
    band_stars: int
    stars: int
    items: dict[str, ItemResult]
    categories: dict[str, CategoryResult]
    sheets: dict[str, SheetResult]
    components: dict[str, Decimal]
    basic: Decimal
    bonus: Decimal
    penalty: Decimal
    appraisal: Decimal | None
    deducted: Decimal  # all deduction points (deductive items incl. excess, and penalties)
    vetoed: bool
    veto_cap: int | None  # lowest cap of the vetoes applied (0 = disqualified)
    designated: bool
    eligible_stars: tuple[int, ...]  # levels <= stars this branch may be moved to (quotas)
    complete: bool
    missing: list[str]
    problems: list[str]
    explanation: list[Step]

    def to_json(self) -> dict[str, Any]:
        return _plain(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Result:
        dec = _dec
        items = {
            k: ItemResult(
                **{
                    **v,
                    "score": dec(v["score"]),
                    "max": dec(v["max"]),
                    "lost": dec(v["lost"]),
                    "excess": dec(v["excess"]),
                    "problems": tuple(v["problems"]),
                    "deductions": tuple(
                        AppliedDeduction(**{**d, "count": dec(d["count"]), "points": dec(d["points"])})
                        for d in v["deductions"]
                    ),
                }
            )
            for k, v in obj["items"].items()
        }
        cats = {
            k: CategoryResult(**{**v, **{f: dec(v[f]) for f in ("score", "max", "raw", "excess")}})
            for k, v in obj["categories"].items()
        }
        sheets = {
            k: SheetResult(**{**v, **{f: dec(v[f]) for f in ("score", "max", "pass_mark")}})
            for k, v in obj["sheets"].items()
        }
        return cls(
            **{
                **obj,
                "total": dec(obj["total"]),
                "max_total": dec(obj["max_total"]),
                "items": items,
                "categories": cats,
                "sheets": sheets,
                "components": {k: dec(v) for k, v in obj["components"].items()},
                "basic": dec(obj["basic"]),
                "bonus": dec(obj["bonus"]),
                "penalty": dec(obj["penalty"]),
                "appraisal": None if obj["appraisal"] is None else dec(obj["appraisal"]),
                "deducted": dec(obj["deducted"]),
                "eligible_stars": tuple(obj["eligible_stars"]),
                "explanation": [
                    Step(s["kind"], s["code"], s["text"], None if s["value"] is None else dec(s["value"]))
                    for s in obj["explanation"]
                ],
            }
        )


def _dec(value: str) -> Decimal:
    return Decimal(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return dec_str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
