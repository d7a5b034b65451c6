"""The criteria-set document (评分标准/考评细则) as frozen pydantic models.

Structure checks (types, ranges, required keys) live here; cross-reference checks
(unique codes, band order, unknown references ...) live in ``checks.py``.
The format is documented in docs/criteria-format.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PrivateAttr

SECTOR_CODES = ("rural", "community", "organ", "soe", "school", "nonpublic", "social_org", "hospital")
RESERVED_CODES = frozenset({"basic", "basic_net", "bonus", "penalty", "appraisal", "total", "excess"})
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$"


def dec_str(value: Decimal) -> str:
    """Canonical text of a decimal: no exponent, no trailing zeros ("5", "0.5", "-2.25")."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def _to_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("必须是数字")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("必须是有限的数字")
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError("必须是数字") from None
        if not parsed.is_finite():
            raise ValueError("必须是有限的数字")
        return parsed
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("必须是有限的数字")
        return value
    raise ValueError("必须是数字")


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("必须是整数")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError("必须是整数")


def _to_code(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise ValueError("必须是 true 或 false")


Num = Annotated[Decimal, BeforeValidator(_to_decimal), PlainSerializer(dec_str, return_type=str)]
Int = Annotated[int, BeforeValidator(_to_int)]
Bool = Annotated[bool, BeforeValidator(_to_bool)]
Code = Annotated[str, BeforeValidator(_to_code), Field(pattern=CODE_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=4000)]
Stars = Annotated[int, BeforeValidator(_to_int), Field(ge=1, le=5)]
NonNeg = Annotated[
    Decimal, BeforeValidator(_to_decimal), Field(ge=0), PlainSerializer(dec_str, return_type=str)
]
Pos = Annotated[Decimal, BeforeValidator(_to_decimal), Field(gt=0), PlainSerializer(dec_str, return_type=str)]
Share = Annotated[
    Decimal, BeforeValidator(_to_decimal), Field(ge=0, le=1), PlainSerializer(dec_str, return_type=str)
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Preset(Model):
    """A preset deduction (or, on an ``additive`` bonus item, a preset award)."""

    code: Code
    text: Name
    kind: Literal["fixed", "per_occurrence", "per_unit"] = "fixed"
    points: Pos
    unit: str | None = Field(default=None, max_length=20)
    cap: NonNeg | None = None

    @property
    def unit_label(self) -> str:
        return self.unit or ("次" if self.kind == "per_occurrence" else "")


class Item(Model):
    """A scorable item (二级指标) of a category, or a bonus item (加分项)."""

    code: Code
    name: Name
    max: Pos
    guidance: Text = ""
    evidence_required: Bool = False
    mode: Literal["points", "deductive", "additive"] = "points"
    step: Pos = Decimal("0.5")
    deductions: tuple[Preset, ...] = ()
    awards: tuple[Preset, ...] = ()
    discretionary: Bool = False
    discretionary_max: Pos | None = None


class PenaltyItem(Model):
    """A penalty item (减分项) outside the categories: only deductions, ``cap`` bounds the item."""

    code: Code
    name: Name
    guidance: Text = ""
    evidence_required: Bool = False
    deductions: tuple[Preset, ...] = ()
    discretionary: Bool = False
    discretionary_max: Pos | None = None
    cap: NonNeg | None = None


class Category(Model):
    code: Code
    name: Name
    cap: NonNeg | None = None
    items: tuple[Item, ...] = Field(min_length=1)

    @property
    def max(self) -> Decimal:
        total = sum((i.max for i in self.items), Decimal(0))
        return total if self.cap is None else min(total, self.cap)


class Sheet(Model):
    """A theme (thematic aggregation) or a tier (ladder aggregation): its own sheet of categories."""

    code: Code
    name: Name
    pass_mark: NonNeg
    categories: tuple[Category, ...] = Field(min_length=1)

    @property
    def max(self) -> Decimal:
        return sum((c.max for c in self.categories), Decimal(0))


class BonusSection(Model):
    cap: NonNeg | None = None
    items: tuple[Item, ...] = Field(min_length=1)

    @property
    def max(self) -> Decimal:
        total = sum((i.max for i in self.items), Decimal(0))
        return total if self.cap is None else min(total, self.cap)


class PenaltySection(Model):
    cap: NonNeg | None = None
    items: tuple[PenaltyItem, ...] = Field(min_length=1)


class Component(Model):
    source: Literal["basic", "basic_net", "bonus", "appraisal"]
    weight: Pos
    name: str = Field(default="", max_length=200)


class VoteWeights(Model):
    satisfied: Share = Decimal(1)
    basic: Share = Decimal("0.6")
    unsatisfied: Share = Decimal(0)


class Appraisal(Model):
    name: Name = "群众评议"
    method: Literal["votes", "direct"] = "votes"
    max: Pos = Decimal(100)
    weights: VoteWeights = VoteWeights()
    guidance: Text = ""


class Band(Model):
    stars: Stars
    min: NonNeg


class Prerequisite(Model):
    code: Code
    name: Name
    stars: tuple[Stars, ...] = Field(default=(5,), min_length=1)
    guidance: Text = ""


class Veto(Model):
    code: Code
    name: Name
    effect: Literal["disqualify", "cap"] = "disqualify"
    cap_stars: Annotated[int, BeforeValidator(_to_int), Field(ge=0, le=5)] | None = None
    guidance: Text = ""


class QuotaRule(Model):
    stars: Stars
    max_share: Share | None = None
    min_share: Share | None = None


TieBreakKey = Literal["total", "appraisal", "deductions", "key"]


class Quotas(Model):
    scope: Literal["city", "county", "township"] = "county"
    rules: tuple[QuotaRule, ...] = Field(min_length=1)
    tie_break: tuple[TieBreakKey, ...] = ("total", "appraisal", "deductions", "key")


class ThematicRule(Model):
    kind: Literal["count", "all_pass"] = "count"
    stars: Stars | None = None
    floor: NonNeg | None = None
    otherwise: Literal["unrated", "count", "bands"] = "unrated"


class LeafItem(NamedTuple):
    """One scorable leaf with where it sits: section is 'category', 'bonus' or 'penalty'."""

    item: Item | PenaltyItem
    section: Literal["category", "bonus", "penalty"]
    category: Category | None
    sheet: Sheet | None


class CriteriaSet(Model):
    """A parsed, validated criteria-set document. Build it with ``load_document``."""

    format: Literal[1] = 1
    title: Name
    year: Annotated[int, BeforeValidator(_to_int), Field(ge=2000, le=2100)]
    sector: Literal["rural", "community", "organ", "soe", "school", "nonpublic", "social_org", "hospital"]
    issuer: str = Field(default="", max_length=200)
    document_number: str = Field(default="", max_length=100)
    self_assessment: Bool = True
    precision: Annotated[int, BeforeValidator(_to_int), Field(ge=0, le=2)] = 1
    allow_excess_deduction: Bool = False
    allow_designation: Bool = False
    aggregation: Literal["standard", "thematic", "ladder"] = "standard"
    categories: tuple[Category, ...] = ()
    sheets: tuple[Sheet, ...] = ()
    thematic_rule: ThematicRule | None = None
    bonus: BonusSection | None = None
    penalties: PenaltySection | None = None
    appraisal: Appraisal | None = None
    components: tuple[Component, ...] = ()
    bands: tuple[Band, ...] = ()
    unrated_below: NonNeg | None = None
    prerequisites: tuple[Prerequisite, ...] = ()
    vetoes: tuple[Veto, ...] = ()
    quotas: Quotas | None = None

    # code -> leaf, built once after validation (equal documents build equal indexes)
    _leaves: dict[str, LeafItem] = PrivateAttr(default_factory=dict)
    _leaf_list: tuple[LeafItem, ...] = PrivateAttr(default=())

    def model_post_init(self, context: Any, /) -> None:
        self._leaf_list = tuple(self.items())
        self._leaves = {}
        for leaf in self._leaf_list:
            self._leaves.setdefault(leaf.item.code, leaf)

    # -- navigation -------------------------------------------------------------------------
    def all_categories(self) -> Iterator[tuple[Category, Sheet | None]]:
        for cat in self.categories:
            yield cat, None
        for sheet in self.sheets:
            for cat in sheet.categories:
                yield cat, sheet

    def items(self) -> Iterator[LeafItem]:  # type: ignore[override]
        """Every scorable leaf: category items (in order), then bonus items, then penalty items."""
        for cat, sheet in self.all_categories():
            for item in cat.items:
                yield LeafItem(item, "category", cat, sheet)
        if self.bonus:
            for item in self.bonus.items:
                yield LeafItem(item, "bonus", None, None)
        if self.penalties:
            for pitem in self.penalties.items:
                yield LeafItem(pitem, "penalty", None, None)

    def leaves(self) -> tuple[LeafItem, ...]:
        """Every scorable leaf, as ``items()`` yields them, built once."""
        return self._leaf_list

    def leaf_index(self) -> dict[str, LeafItem]:
        """Code -> leaf (read-only; ``find_item`` for one code)."""
        return self._leaves

    def item(self, code: str) -> LeafItem:
        """The leaf with this code; KeyError when unknown."""
        return self._leaves[code]

    def find_item(self, code: str) -> LeafItem | None:
        return self._leaves.get(code)

    def veto(self, code: str) -> Veto | None:
        return next((v for v in self.vetoes if v.code == code), None)

    def prerequisite(self, code: str) -> Prerequisite | None:
        return next((p for p in self.prerequisites if p.code == code), None)

    @property
    def basic_max(self) -> Decimal:
        return sum((c.max for c, _ in self.all_categories()), Decimal(0))

    def levels(self) -> tuple[int, ...]:
        """Star levels a branch can be given, highest first (0 = 未定星 is implicit)."""
        found: set[int] = {b.stars for b in self.bands}
        n = min(len(self.sheets), 5)
        if self.aggregation == "ladder" or (
            self.aggregation == "thematic"
            and (self.thematic_rule is None or self.thematic_rule.kind == "count")
        ):
            found |= set(range(1, n + 1))
        elif self.aggregation == "thematic" and self.thematic_rule is not None:
            if self.thematic_rule.stars is not None:
                found.add(self.thematic_rule.stars)
            if self.thematic_rule.otherwise == "count":
                found |= set(range(1, n + 1))
        return tuple(sorted(found, reverse=True))

    def guarded(self, stars: int) -> tuple[Prerequisite, ...]:
        """Prerequisites a branch must meet to receive ``stars``."""
        return tuple(p for p in self.prerequisites if stars in p.stars)
