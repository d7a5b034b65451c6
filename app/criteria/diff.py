"""A structural diff of two criteria-set documents (canonical ``dump_document`` dicts).

Both documents are flattened into entities keyed by (kind, code) — items, deductions, bands by stars,
quota rules by stars, components by source … — and compared field by field, so a reordering or a
reformatting is not reported as a change, and a changed item says which field changed and how.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from app.scoring.errors import FIELD_LABELS

ChangeKind = Literal["added", "removed", "changed"]

# Chinese names of the entity kinds, in the order sections are shown.
ENTITY_LABELS: dict[str, str] = {
    "set": "基本信息",
    "sheet": "分表",
    "thematic_rule": "主题定星规则",
    "category": "一级指标",
    "item": "二级指标",
    "deduction": "扣分规则",
    "bonus": "加分项（总体）",
    "bonus_item": "加分项",
    "award": "加分规则",
    "penalties": "减分项（总体）",
    "penalty_item": "减分项",
    "appraisal": "评议项",
    "component": "权重组成",
    "band": "星级档次",
    "prerequisite": "必备条件",
    "veto": "一票否决事项",
    "quotas": "比例控制",
    "quota_rule": "比例规则",
}

# Entities whose key is a document code (shown next to the name); others are keyed by stars or source.
_CODED = frozenset(
    {"sheet", "category", "item", "deduction", "bonus_item", "award", "penalty_item", "prerequisite", "veto"}
)

_EXTRA_LABELS = {
    "parent": "所属",
    "weights.satisfied": "满意权重",
    "weights.basic": "基本满意权重",
    "weights.unsatisfied": "不满意权重",
}

_SET_FIELDS = (
    "title",
    "year",
    "sector",
    "issuer",
    "document_number",
    "self_assessment",
    "precision",
    "allow_excess_deduction",
    "allow_designation",
    "aggregation",
    "unrated_below",
)


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: Any
    new: Any

    @property
    def old_text(self) -> str:
        return _show(self.old, self.field)

    @property
    def new_text(self) -> str:
        return _show(self.new, self.field)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    entity: str  # key of ENTITY_LABELS
    code: str
    name: str
    fields: tuple[FieldChange, ...] = ()

    @property
    def entity_label(self) -> str:
        return ENTITY_LABELS.get(self.entity, self.entity)

    def summary(self) -> str:
        """One line of Chinese, e.g. "修改 二级指标 A1 书记队伍：分值 5 → 6"."""
        shown = f"{self.code} {self.name}" if self.entity in _CODED else self.name
        head = f"{self.entity_label} {shown}".strip()
        if self.kind == "added":
            return f"新增 {head}"
        if self.kind == "removed":
            return f"删除 {head}"
        parts = "；".join(f"{f.label} {f.old_text} → {f.new_text}" for f in self.fields)
        return f"修改 {head}：{parts}"


@dataclass
class DocumentDiff:
    changes: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "removed": 0, "changed": 0}
        for c in self.changes:
            out[c.kind] += 1
        return out

    def by_entity(self) -> list[tuple[str, list[Change]]]:
        """Changes grouped by entity kind, in the order of ENTITY_LABELS."""
        groups: dict[str, list[Change]] = {}
        for c in self.changes:
            groups.setdefault(c.entity, []).append(c)
        return [(ENTITY_LABELS[k], groups[k]) for k in ENTITY_LABELS if k in groups]

    def summaries(self, limit: int = 50) -> list[str]:
        lines = [c.summary() for c in self.changes[:limit]]
        if len(self.changes) > limit:
            lines.append(f"……另有 {len(self.changes) - limit} 处改动")
        return lines

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {
                "kind": c.kind,
                "entity": c.entity,
                "code": c.code,
                "name": c.name,
                "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in c.fields],
                "summary": c.summary(),
            }
            for c in self.changes
        ]


def _enum_labels() -> dict[str, dict[str, str]]:
    from app import labels
    from app.criteria import schemas

    return {
        "sector": labels.SECTORS,
        "aggregation": schemas.AGGREGATIONS,
        "mode": schemas.MODES,
        "kind": {**schemas.PRESET_KINDS, **schemas.THEMATIC_KINDS},
        "effect": schemas.VETO_EFFECTS,
        "scope": schemas.QUOTA_SCOPES,
        "source": schemas.COMPONENT_SOURCES,
        "method": schemas.APPRAISAL_METHODS,
        "otherwise": schemas.THEMATIC_OTHERWISE,
        "tie_break": schemas.TIE_BREAKS,
    }


def _show(value: Any, field_name: str = "") -> str:
    names = _enum_labels().get(field_name)
    if names:
        if isinstance(value, list):
            value = [names.get(str(v), v) for v in value]
        elif isinstance(value, str):
            value = names.get(value, value)
    if value is None or value == "":
        return "（无）"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "（无）"
    return str(value)


Entity = dict[str, Any]
Entities = dict[tuple[str, str], Entity]


def _scalars(obj: dict[str, Any], skip: tuple[str, ...] = ()) -> Entity:
    out: Entity = {}
    for key, value in obj.items():
        if key in skip:
            continue
        if isinstance(value, dict):
            for k2, v2 in value.items():
                out[f"{key}.{k2}"] = v2
        elif isinstance(value, list):
            if all(not isinstance(v, dict) for v in value):
                out[key] = list(value)
        else:
            out[key] = value
    return out


def _presets(ents: Entities, kind: str, presets: list[dict[str, Any]], parent: str) -> None:
    for p in presets:
        ents[(kind, str(p["code"]))] = {**_scalars(p), "parent": parent}


def _item(ents: Entities, kind: str, item: dict[str, Any], parent: str) -> None:
    ents[(kind, str(item["code"]))] = {**_scalars(item, ("deductions", "awards")), "parent": parent}
    _presets(ents, "deduction", item.get("deductions") or [], str(item["code"]))
    _presets(ents, "award", item.get("awards") or [], str(item["code"]))


def _categories(ents: Entities, categories: list[dict[str, Any]], parent: str) -> None:
    for cat in categories:
        ents[("category", str(cat["code"]))] = {**_scalars(cat, ("items",)), "parent": parent}
        for item in cat.get("items") or []:
            _item(ents, "item", item, str(cat["code"]))


def flatten(doc: dict[str, Any]) -> Entities:
    """The document as entities keyed by (kind, code); each entity is a flat dict of its fields."""
    ents: Entities = {("set", ""): {k: doc.get(k) for k in _SET_FIELDS}}
    _categories(ents, doc.get("categories") or [], "")
    for sheet in doc.get("sheets") or []:
        ents[("sheet", str(sheet["code"]))] = _scalars(sheet, ("categories",))
        _categories(ents, sheet.get("categories") or [], str(sheet["code"]))
    if doc.get("thematic_rule"):
        ents[("thematic_rule", "")] = _scalars(doc["thematic_rule"])
    bonus = doc.get("bonus")
    if bonus:
        ents[("bonus", "")] = _scalars(bonus, ("items",))
        for item in bonus.get("items") or []:
            _item(ents, "bonus_item", item, "")
    penalties = doc.get("penalties")
    if penalties:
        ents[("penalties", "")] = _scalars(penalties, ("items",))
        for item in penalties.get("items") or []:
            _item(ents, "penalty_item", item, "")
    if doc.get("appraisal"):
        ents[("appraisal", "")] = _scalars(doc["appraisal"])
    for comp in doc.get("components") or []:
        ents[("component", str(comp["source"]))] = _scalars(comp)
    for band in doc.get("bands") or []:
        ents[("band", str(band["stars"]))] = _scalars(band)
    for pre in doc.get("prerequisites") or []:
        ents[("prerequisite", str(pre["code"]))] = _scalars(pre)
    for veto in doc.get("vetoes") or []:
        ents[("veto", str(veto["code"]))] = _scalars(veto)
    quotas = doc.get("quotas")
    if quotas:
        ents[("quotas", "")] = _scalars(quotas, ("rules",))
        for rule in quotas.get("rules") or []:
            ents[("quota_rule", str(rule["stars"]))] = _scalars(rule)
    return ents


def _name(kind: str, code: str, ent: Entity) -> str:
    if kind in ("band", "quota_rule"):
        return f"{code} 星"
    if kind == "component":
        return str(ent.get("name") or code)
    return str(ent.get("name") or ent.get("text") or "")


def _label(field_name: str) -> str:
    if field_name in _EXTRA_LABELS:
        return _EXTRA_LABELS[field_name]
    return FIELD_LABELS.get(field_name.rsplit(".", 1)[-1], field_name)


def diff_documents(old: dict[str, Any], new: dict[str, Any]) -> DocumentDiff:
    """What changed from ``old`` to ``new`` (both canonical dicts from ``dump_document``)."""
    a, b = flatten(old), flatten(new)
    order = {k: i for i, k in enumerate(ENTITY_LABELS)}
    keys = list(dict.fromkeys([*a, *b]))
    keys.sort(key=lambda k: order.get(k[0], 99))  # stable: document order within a kind
    out = DocumentDiff()
    for key in keys:
        kind, code = key
        if key not in a:
            out.changes.append(Change("added", kind, code, _name(kind, code, b[key])))
        elif key not in b:
            out.changes.append(Change("removed", kind, code, _name(kind, code, a[key])))
        else:
            ea, eb = a[key], b[key]
            fields = tuple(
                FieldChange(f, _label(f), ea.get(f), eb.get(f))
                for f in dict.fromkeys([*ea, *eb])
                if ea.get(f) != eb.get(f)
            )
            if fields:
                out.changes.append(Change("changed", kind, code, _name(kind, code, eb), fields))
    return out
