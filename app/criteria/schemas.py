"""Public shapes of criteria sets, the Chinese labels of document enums, and the editor's form state.

The editor posts one section of the document at a time. Its field names are document paths
(``categories[0].items[2].max``), so the engine's error paths land on the field that caused them.
Rows of a list carry ``_pos`` (order), ``_delete`` and ``_new`` (a blank row for adding); the
section is rebuilt from the posted rows, merged into the current document and validated whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel

Sector = Literal["rural", "community", "organ", "soe", "school", "nonpublic", "social_org", "hospital"]
CriteriaStatus = Literal["draft", "published", "archived"]

MAX_UPLOAD_BYTES = 1024 * 1024

# Chinese labels of the document's enums (criteria-specific; see docs/criteria-format.md).
MODES = {"points": "按得分", "deductive": "扣分制", "additive": "累加制"}
PRESET_KINDS = {"fixed": "一次性", "per_occurrence": "按次数", "per_unit": "按单位"}
VETO_EFFECTS = {"disqualify": "取消评星资格", "cap": "限定最高星级"}
QUOTA_SCOPES = {"city": "全市", "county": "县（区）", "township": "乡镇（街道）"}
TIE_BREAKS = {
    "total": "总分高者优先",
    "appraisal": "评议分高者优先",
    "deductions": "扣分少者优先",
    "key": "支部编码",
}
AGGREGATIONS = {
    "standard": "标准（指标求和）",
    "thematic": "主题星（分表达标）",
    "ladder": "逐级晋星（阶梯）",
}
COMPONENT_SOURCES = {
    "basic": "基础分",
    "basic_net": "基础分减去减分项",
    "bonus": "加分项",
    "appraisal": "评议项",
}
APPRAISAL_METHODS = {"votes": "按票数折算", "direct": "直接录入得分"}
THEMATIC_KINDS = {"count": "按达标分表个数定星", "all_pass": "全部达标且总分达线定星"}
THEMATIC_OTHERWISE = {
    "unrated": "不定星",
    "count": "按达标个数定星（低于规定星级）",
    "bands": "按星级档次定星",
}
SECTIONS = {
    "meta": "基本信息",
    "indicators": "评分指标",
    "bonus": "加分项",
    "penalties": "减分项",
    "appraisal": "评议与权重",
    "bands": "星级档次",
    "prerequisites": "必备条件",
    "vetoes": "一票否决",
    "quotas": "比例控制",
    "raw": "高级：整篇文档（YAML）",
}
ACTIONS = {
    "criteria.create": "新建草稿",
    "criteria.update": "修改",
    "criteria.publish": "发布",
    "criteria.archive": "归档",
}
LABELS: dict[str, dict[str, str]] = {
    "modes": MODES,
    "preset_kinds": PRESET_KINDS,
    "veto_effects": VETO_EFFECTS,
    "quota_scopes": QUOTA_SCOPES,
    "tie_breaks": TIE_BREAKS,
    "aggregations": AGGREGATIONS,
    "component_sources": COMPONENT_SOURCES,
    "appraisal_methods": APPRAISAL_METHODS,
    "thematic_kinds": THEMATIC_KINDS,
    "thematic_otherwise": THEMATIC_OTHERWISE,
    "sections": SECTIONS,
    "actions": ACTIONS,
}


class CriteriaSetPublic(BaseModel):
    """A criteria set as pages and JSON clients see it (the document only in the detail)."""

    id: int
    year: int
    sector: Sector
    region_code: str
    region_name: str
    title: str
    revision: int
    status: CriteriaStatus
    content_hash: str | None
    issuing_body: str | None
    document_number: str | None
    copied_from_id: int | None
    published_at: datetime | None
    version: int
    updated_at: datetime
    editable: bool = False


class CriteriaSetDetail(CriteriaSetPublic):
    document: dict[str, Any]


class CriteriaFilters(BaseModel):
    year: int | None = None
    sector: Sector | None = None
    status: CriteriaStatus | None = None


# ---- the editor's form state ------------------------------------------------------------------
# A "tree" is the nested form: dict[str, Tree | str | list[str]]; a list of rows is dict[int, Tree].
Tree = dict[Any, Any]


@dataclass(frozen=True)
class RowSpec:
    """The fields of one row kind: text/number fields, checkboxes, multi-valued fields, child lists."""

    fields: tuple[str, ...]
    identity: tuple[str, ...]  # all blank on a new row → the row is ignored
    bools: tuple[str, ...] = ()
    multi: tuple[str, ...] = ()
    children: dict[str, RowSpec] = field(default_factory=dict)


PRESET = RowSpec(("code", "text", "kind", "points", "unit", "cap"), ("code", "text", "points"))
ITEM = RowSpec(
    ("code", "name", "max", "mode", "step", "guidance", "discretionary_max"),
    ("code", "name", "max", "guidance"),
    bools=("evidence_required", "discretionary"),
    children={"deductions": PRESET},
)
BONUS_ITEM = RowSpec(
    ("code", "name", "max", "mode", "step", "guidance"),
    ("code", "name", "max", "guidance"),
    bools=("evidence_required",),
    children={"awards": PRESET},
)
PENALTY_ITEM = RowSpec(
    ("code", "name", "cap", "guidance", "discretionary_max"),
    ("code", "name", "cap", "guidance"),
    bools=("evidence_required", "discretionary"),
    children={"deductions": PRESET},
)
CATEGORY = RowSpec(("code", "name", "cap"), ("code", "name", "cap"), children={"items": ITEM})
SHEET = RowSpec(
    ("code", "name", "pass_mark"), ("code", "name", "pass_mark"), children={"categories": CATEGORY}
)
BAND = RowSpec(("stars", "min"), ("stars", "min"))
PREREQUISITE = RowSpec(("code", "name", "guidance"), ("code", "name"), multi=("stars",))
VETO = RowSpec(("code", "name", "effect", "cap_stars", "guidance"), ("code", "name"))
COMPONENT = RowSpec(("source", "weight", "name"), ("weight", "name"))
QUOTA_RULE = RowSpec(("stars", "max_share", "min_share"), ("max_share", "min_share"))

_TOKEN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]{0,40})(?:\[(\d{1,4})\])?$")


def form_tree(pairs: Iterable[tuple[str, Any]]) -> Tree:
    """Posted (name, value) pairs → a nested tree; names that are not paths are ignored."""
    tree: Tree = {}
    for name, value in pairs:
        if not isinstance(value, str) or name == "csrf_token" or len(name) > 200:
            continue
        parts = name.split(".")
        tokens = [_TOKEN.match(p) for p in parts]
        if not all(tokens) or len(parts) > 8:
            continue
        node = tree
        ok = True
        for m in tokens[:-1]:
            assert m is not None
            key, idx = m.group(1), m.group(2)
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                ok = False
                break
            if idx is not None:
                child = child.setdefault(int(idx), {})
                if not isinstance(child, dict):
                    ok = False
                    break
            node = child
        last = tokens[-1]
        assert last is not None
        if not ok or last.group(2) is not None:
            continue
        key = last.group(1)
        existing = node.get(key)
        if existing is None:
            node[key] = value
        elif isinstance(existing, str):  # a repeated name (checkbox group, ordered selects)
            node[key] = [existing, value]
        elif isinstance(existing, list):
            existing.append(value)
    return tree


def values_of(value: Any) -> list[str]:
    """A leaf as a list of values (one value, or a repeated name's values)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def doc_tree(doc: Any) -> Any:
    """A document (canonical dict) → the same tree a form would post (lists of rows keyed by index)."""
    if isinstance(doc, dict):
        return {k: doc_tree(v) for k, v in doc.items() if v is not None}
    if isinstance(doc, list):
        if all(isinstance(v, dict) for v in doc) and doc:
            return {i: doc_tree(v) for i, v in enumerate(doc)}
        return [str(v) for v in doc]
    if doc is True:
        return "on"
    if doc is False:
        return ""
    return str(doc)


def section_tree(document: dict[str, Any]) -> Tree:
    """The editor's tree of a stored document (optional sections marked as switched on)."""
    tree: Tree = doc_tree(document)
    for key in ("appraisal", "quotas"):
        if isinstance(tree.get(key), dict):
            tree[key]["_enabled"] = "on"
    return tree


def get_path(tree: Any, path: str) -> Any:
    """tree["a"]["b"] for "a.b" (None when absent)."""
    node = tree
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def rows_of(node: Any, key: str) -> list[tuple[int, Tree, bool]]:
    """The rows of a list (index, row, is_new) in form order, plus one blank row for adding."""
    rows = node.get(key) if isinstance(node, dict) else None
    rows = rows if isinstance(rows, dict) else {}
    out = [(i, r, r.get("_new") == "1") for i, r in sorted(rows.items()) if isinstance(r, dict)]
    nxt = max(rows) + 1 if rows else 0
    out.append((nxt, {"_new": "1"}, True))
    return out


def _text(value: Any) -> str:
    if isinstance(value, list):  # a single-valued field sent twice: the first one counts
        value = value[0] if value else ""
    return value.strip() if isinstance(value, str) else ""


def _order(pos: Any) -> Decimal:
    try:
        value = Decimal(_text(pos))
    except InvalidOperation:
        return Decimal("Infinity")
    return value if value.is_finite() else Decimal("Infinity")


def _blank(row: Tree, spec: RowSpec) -> bool:
    return all(not _text(row.get(f)) for f in spec.identity) and not any(row.get(f) for f in spec.bools)


def row_docs(
    rows_node: Any, spec: RowSpec, form_prefix: str, doc_prefix: str, mapping: dict[str, str]
) -> list[dict[str, Any]]:
    """Rows of the form → document dicts: deleted and blank new rows dropped, ordered by ``_pos``.

    ``mapping`` receives doc path → form path of every kept row (to put errors back on the form).
    """
    rows = rows_node if isinstance(rows_node, dict) else {}
    kept = [
        (i, r)
        for i, r in rows.items()
        if isinstance(r, dict) and not r.get("_delete") and not (r.get("_new") == "1" and _blank(r, spec))
    ]
    kept.sort(key=lambda ir: (_order(ir[1].get("_pos")), ir[0]))
    out: list[dict[str, Any]] = []
    for k, (i, row) in enumerate(kept):
        dp, fp = f"{doc_prefix}[{k}]", f"{form_prefix}[{i}]"
        mapping[dp] = fp
        doc: dict[str, Any] = {}
        for f in spec.fields:
            text = _text(row.get(f))
            if text:
                doc[f] = text
        for f in spec.bools:
            doc[f] = bool(_text(row.get(f)))
        for f in spec.multi:
            chosen = [v.strip() for v in values_of(row.get(f)) if v.strip()]
            if chosen:
                doc[f] = chosen
        for name, child in spec.children.items():
            docs = row_docs(row.get(name), child, f"{fp}.{name}", f"{dp}.{name}", mapping)
            if docs:
                doc[name] = docs
        out.append(doc)
    return out


def _set_scalar(doc: dict[str, Any], key: str, value: Any) -> None:
    text = _text(value)
    if text:
        doc[key] = text
    else:
        doc.pop(key, None)


def _node(tree: Any, key: str) -> Tree:
    value = tree.get(key) if isinstance(tree, dict) else None
    return value if isinstance(value, dict) else {}


def _on(value: Any) -> bool:
    return bool(_text(value))


def merge_section(
    document: dict[str, Any], section: str, tree: Tree
) -> tuple[dict[str, Any], dict[str, str]]:
    """The document with one section replaced by the posted form; and the doc → form path mapping."""
    doc = dict(document)
    mapping: dict[str, str] = {}
    if section == "meta":
        for key in ("title", "issuer", "document_number", "precision"):
            _set_scalar(doc, key, tree.get(key))
        for key in ("self_assessment", "allow_excess_deduction", "allow_designation"):
            doc[key] = _on(tree.get(key))
    elif section == "indicators":
        if doc.get("aggregation", "standard") == "standard":
            doc["categories"] = row_docs(
                tree.get("categories"), CATEGORY, "categories", "categories", mapping
            )
        else:
            doc["sheets"] = row_docs(tree.get("sheets"), SHEET, "sheets", "sheets", mapping)
    elif section in ("bonus", "penalties"):
        node = _node(tree, section)
        spec = BONUS_ITEM if section == "bonus" else PENALTY_ITEM
        items = row_docs(node.get("items"), spec, f"{section}.items", f"{section}.items", mapping)
        cap = _text(node.get("cap"))
        if not items and not cap:
            doc[section] = None
        else:
            doc[section] = {"items": items, **({"cap": cap} if cap else {})}
    elif section == "appraisal":
        node = _node(tree, "appraisal")
        if _on(node.get("_enabled")):
            appraisal: dict[str, Any] = {}
            for key in ("name", "method", "max", "guidance"):
                _set_scalar(appraisal, key, node.get(key))
            weights: dict[str, Any] = {}
            wnode = _node(node, "weights")
            for key in ("satisfied", "basic", "unsatisfied"):
                _set_scalar(weights, key, wnode.get(key))
            appraisal["weights"] = weights
            doc["appraisal"] = appraisal
        else:
            doc["appraisal"] = None
        doc["components"] = row_docs(tree.get("components"), COMPONENT, "components", "components", mapping)
    elif section == "bands":
        doc["bands"] = row_docs(tree.get("bands"), BAND, "bands", "bands", mapping)
        _set_scalar(doc, "unrated_below", tree.get("unrated_below"))
    elif section == "prerequisites":
        doc["prerequisites"] = row_docs(
            tree.get("prerequisites"), PREREQUISITE, "prerequisites", "prerequisites", mapping
        )
    elif section == "vetoes":
        doc["vetoes"] = row_docs(tree.get("vetoes"), VETO, "vetoes", "vetoes", mapping)
    elif section == "quotas":
        node = _node(tree, "quotas")
        if _on(node.get("_enabled")):
            quotas: dict[str, Any] = {
                "rules": row_docs(node.get("rules"), QUOTA_RULE, "quotas.rules", "quotas.rules", mapping)
            }
            _set_scalar(quotas, "scope", node.get("scope"))
            ties = [t.strip() for t in values_of(node.get("tie_break")) if t.strip()]
            if ties:
                quotas["tie_break"] = ties
            doc["quotas"] = quotas
        else:
            doc["quotas"] = None
    else:
        raise KeyError(section)
    return doc, mapping


def form_errors(errors: Iterable[tuple[str, str]], mapping: dict[str, str]) -> dict[str, str]:
    """Engine errors (doc paths) → errors keyed by the form's field names (several joined by "；")."""
    prefixes = sorted(mapping, key=len, reverse=True)
    out: dict[str, str] = {}
    for path, message in errors:
        target = path or "_"
        for p in prefixes:
            if path == p or path.startswith(p + ".") or path.startswith(p + "["):
                target = mapping[p] + path[len(p) :]
                break
        out[target] = f"{out[target]}；{message}" if target in out else message
    return out
