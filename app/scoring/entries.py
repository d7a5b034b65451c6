"""What an inspector (or a branch, self-assessing) enters, its JSON form and its validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.scoring.document import CriteriaSet, Item, LeafItem, Preset, dec_str
from app.scoring.errors import EntriesError


def to_decimal(value: Any) -> Decimal:
    """int / str / float / Decimal -> finite Decimal; ValueError otherwise (bool is refused)."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(value) from None
    else:
        raise ValueError(value)
    if not result.is_finite():
        raise ValueError(value)
    return result


def _coerce(obj: object, name: str) -> None:
    value = getattr(obj, name)
    if value is not None and not isinstance(value, Decimal):
        object.__setattr__(obj, name, to_decimal(value))


@dataclass(frozen=True)
class DeductionHit:
    """One preset deduction applied ``count`` times (occurrences or units). Also used for awards."""

    code: str
    count: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        _coerce(self, "count")


@dataclass(frozen=True)
class Discretionary:
    """A discretionary deduction (酌情扣分); a reason is required."""

    points: Decimal
    reason: str

    def __post_init__(self) -> None:
        _coerce(self, "points")


@dataclass(frozen=True)
class ItemEntry:
    points: Decimal | None = None
    deductions: tuple[DeductionHit, ...] = ()
    discretionary: tuple[Discretionary, ...] = ()

    def __post_init__(self) -> None:
        _coerce(self, "points")
        object.__setattr__(self, "deductions", tuple(self.deductions))
        object.__setattr__(self, "discretionary", tuple(self.discretionary))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.points is not None:
            out["points"] = dec_str(self.points)
        if self.deductions:
            out["deductions"] = [{"code": h.code, "count": dec_str(h.count)} for h in self.deductions]
        if self.discretionary:
            out["discretionary"] = [
                {"points": dec_str(d.points), "reason": d.reason} for d in self.discretionary
            ]
        return out

    @classmethod
    def from_json(cls, obj: Any, path: str = "") -> ItemEntry:
        errors: list[tuple[str, str]] = []
        entry = _item_from_json(obj, path, errors)
        if errors or entry is None:
            raise EntriesError(errors or [(path, "格式不正确")])
        return entry


@dataclass(frozen=True)
class Votes:
    """Democratic-evaluation vote counts: 满意 / 基本满意 / 不满意."""

    satisfied: int
    basic: int
    unsatisfied: int

    @property
    def total(self) -> int:
        return self.satisfied + self.basic + self.unsatisfied


@dataclass(frozen=True)
class Designation:
    """Direct designation (直接定级): sets the stars, with a reason and a document reference."""

    stars: int
    reason: str
    document: str


@dataclass(frozen=True)
class Entries:
    items: Mapping[str, ItemEntry] = field(default_factory=dict)
    vetoes: Mapping[str, str] = field(default_factory=dict)
    prerequisites: frozenset[str] = frozenset()
    appraisal: Votes | Decimal | None = None
    designation: Designation | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "prerequisites", frozenset(self.prerequisites))
        if self.appraisal is not None and not isinstance(self.appraisal, Votes | Decimal):
            object.__setattr__(self, "appraisal", to_decimal(self.appraisal))

    def to_json(self) -> dict[str, Any]:
        appraisal: Any = None
        if isinstance(self.appraisal, Votes):
            appraisal = {
                "satisfied": self.appraisal.satisfied,
                "basic": self.appraisal.basic,
                "unsatisfied": self.appraisal.unsatisfied,
            }
        elif isinstance(self.appraisal, Decimal):
            appraisal = dec_str(self.appraisal)
        designation = None
        if self.designation is not None:
            d = self.designation
            designation = {"stars": d.stars, "reason": d.reason, "document": d.document}
        return {
            "items": {code: self.items[code].to_json() for code in sorted(self.items)},
            "vetoes": {code: self.vetoes[code] for code in sorted(self.vetoes)},
            "prerequisites": sorted(self.prerequisites),
            "appraisal": appraisal,
            "designation": designation,
        }

    @classmethod
    def from_json(cls, obj: Any) -> Entries:
        """Plain JSON (decimals as strings or numbers) -> Entries; EntriesError on a malformed object."""
        errors: list[tuple[str, str]] = []
        if not isinstance(obj, Mapping):
            raise EntriesError([("", "录入数据必须是 JSON 对象")])
        for key in obj:
            if key not in {"items", "vetoes", "prerequisites", "appraisal", "designation"}:
                errors.append((str(key), "不允许的字段"))
        items: dict[str, ItemEntry] = {}
        raw_items = obj.get("items", {})
        if not isinstance(raw_items, Mapping):
            errors.append(("items", "必须是以指标编码为键的对象"))
        else:
            for code, raw in raw_items.items():
                entry = _item_from_json(raw, f"items.{code}", errors)
                if entry is not None:
                    items[str(code)] = entry
        vetoes: dict[str, str] = {}
        raw_vetoes = obj.get("vetoes", {})
        if not isinstance(raw_vetoes, Mapping) or not all(isinstance(v, str) for v in raw_vetoes.values()):
            errors.append(("vetoes", "必须是“否决事项编码: 理由”的对象"))
        else:
            vetoes = {str(k): v for k, v in raw_vetoes.items()}
        raw_pre = obj.get("prerequisites", [])
        if not isinstance(raw_pre, list) or not all(isinstance(p, str) for p in raw_pre):
            errors.append(("prerequisites", "必须是必备条件编码的列表"))
            raw_pre = []
        appraisal = _appraisal_from_json(obj.get("appraisal"), errors)
        designation = _designation_from_json(obj.get("designation"), errors)
        if errors:
            raise EntriesError(errors)
        return cls(items, vetoes, frozenset(raw_pre), appraisal, designation)


def _num(value: Any, path: str, errors: list[tuple[str, str]]) -> Decimal | None:
    try:
        return to_decimal(value)
    except ValueError:
        errors.append((path, "必须是数字"))
        return None


def _int(value: Any, path: str, errors: list[tuple[str, str]]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    errors.append((path, "必须是非负整数"))
    return None


def _item_from_json(obj: Any, path: str, errors: list[tuple[str, str]]) -> ItemEntry | None:
    if not isinstance(obj, Mapping):
        errors.append((path, "必须是 JSON 对象"))
        return None
    start = len(errors)
    for key in obj:
        if key not in {"points", "deductions", "discretionary"}:
            errors.append((f"{path}.{key}", "不允许的字段"))
    points = None
    if obj.get("points") is not None:
        points = _num(obj["points"], f"{path}.points", errors)
    hits: list[DeductionHit] = []
    raw_hits = obj.get("deductions", [])
    if not isinstance(raw_hits, list):
        errors.append((f"{path}.deductions", "必须是列表"))
        raw_hits = []
    for k, raw in enumerate(raw_hits):
        where = f"{path}.deductions[{k}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("code"), str):
            errors.append((where, "须为包含 code（文字）与 count 的对象"))
            continue
        count = _num(raw.get("count", 1), f"{where}.count", errors)
        if count is not None:
            hits.append(DeductionHit(raw["code"], count))
    discs: list[Discretionary] = []
    raw_discs = obj.get("discretionary", [])
    if not isinstance(raw_discs, list):
        errors.append((f"{path}.discretionary", "必须是列表"))
        raw_discs = []
    for k, raw in enumerate(raw_discs):
        where = f"{path}.discretionary[{k}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("reason", ""), str):
            errors.append((where, "须为包含 points 与 reason（文字）的对象"))
            continue
        value = _num(raw.get("points"), f"{where}.points", errors)
        if value is not None:
            discs.append(Discretionary(value, raw.get("reason", "")))
    if len(errors) > start:
        return None
    return ItemEntry(points, tuple(hits), tuple(discs))


def _appraisal_from_json(raw: Any, errors: list[tuple[str, str]]) -> Votes | Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        extra = set(raw) - {"satisfied", "basic", "unsatisfied"}
        if extra:
            errors.append(("appraisal", f"不允许的字段：{'、'.join(sorted(map(str, extra)))}"))
        counts = [
            _int(raw.get(k, 0), f"appraisal.{k}", errors) for k in ("satisfied", "basic", "unsatisfied")
        ]
        if any(c is None for c in counts):
            return None
        s, b, u = (int(c or 0) for c in counts)
        return Votes(s, b, u)
    return _num(raw, "appraisal", errors)


def _designation_from_json(raw: Any, errors: list[tuple[str, str]]) -> Designation | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        errors.append(("designation", "必须是 JSON 对象"))
        return None
    stars = _int(raw.get("stars"), "designation.stars", errors)
    reason, document = raw.get("reason", ""), raw.get("document", "")
    if not isinstance(reason, str) or not isinstance(document, str):
        errors.append(("designation", "理由与文件须为文字"))
        return None
    return None if stars is None else Designation(stars, reason, document)


# -- validation --------------------------------------------------------------------------------


def preset_of(leaf: LeafItem, code: str) -> Preset | None:
    item = leaf.item
    presets = item.awards if isinstance(item, Item) and item.mode == "additive" else item.deductions
    return next((p for p in presets if p.code == code), None)


def hit_problem(leaf: LeafItem, hit: DeductionHit) -> str | None:
    """Why this hit cannot be applied to the item, or None when it is fine."""
    preset = preset_of(leaf, hit.code)
    if preset is None:
        word = "加分规则" if isinstance(leaf.item, Item) and leaf.item.mode == "additive" else "扣分规则"
        return f"该项没有编码为“{hit.code}”的{word}"
    if hit.count <= 0:
        return f"“{preset.text}”的次数须大于 0"
    if preset.kind != "per_unit" and hit.count != hit.count.to_integral_value():
        return f"“{preset.text}”的次数须为正整数"
    if preset.kind == "fixed" and hit.count != 1:
        return f"“{preset.text}”为固定扣分，只能计 1 次"
    return None


def discretionary_limit(leaf: LeafItem) -> Decimal | None:
    return leaf.item.discretionary_max


def validate_item(leaf: LeafItem, entry: ItemEntry) -> list[str]:
    item = leaf.item
    problems: list[str] = []
    mode = item.mode if isinstance(item, Item) else "deductive"
    if mode == "points":
        assert isinstance(item, Item)
        if entry.deductions or entry.discretionary:
            problems.append("该项按得分录入，不能录入扣分")
        if entry.points is not None:
            if entry.points < 0 or entry.points > item.max:
                problems.append(f"得分 {dec_str(entry.points)} 超出范围（0 至 {dec_str(item.max)}）")
            elif entry.points % item.step != 0:
                problems.append(f"得分须为 {dec_str(item.step)} 的整数倍")
        return problems
    if entry.points is not None:
        problems.append("该项按扣分（加分）规则计分，不能直接填写得分")
    seen: set[str] = set()
    for hit in entry.deductions:
        if hit.code in seen:
            problems.append(f"规则“{hit.code}”重复录入，只计第一条")
            continue
        seen.add(hit.code)
        problem = hit_problem(leaf, hit)
        if problem:
            problems.append(problem)
    if entry.discretionary and not item.discretionary:
        problems.append("该项不允许酌情扣分")
        return problems
    total = Decimal(0)
    for disc in entry.discretionary:
        if disc.points <= 0:
            problems.append("酌情扣分的分值须大于 0")
        elif not disc.reason.strip():
            problems.append("酌情扣分须写明理由")
        else:
            total += disc.points
    limit = item.discretionary_max
    if limit is not None and total > limit:
        problems.append(f"酌情扣分合计 {dec_str(total)} 分，超过上限 {dec_str(limit)} 分")
    return problems


def validate_entry(cs: CriteriaSet, item_code: str, entry: ItemEntry) -> list[str]:
    """Chinese problems of one item entry (empty when the entry is fine)."""
    leaf = cs.find_item(item_code)
    if leaf is None:
        return [f"没有编码为“{item_code}”的指标"]
    return validate_item(leaf, entry)
