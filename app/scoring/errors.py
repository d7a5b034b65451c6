"""Errors of the scoring package, with Chinese messages and document paths."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

# Chinese names of document fields, used to phrase messages ("分值必须大于 0").
FIELD_LABELS: dict[str, str] = {
    "format": "格式版本",
    "title": "标题",
    "year": "年度",
    "sector": "领域",
    "issuer": "发文单位",
    "document_number": "文号",
    "self_assessment": "自评开关",
    "precision": "保留小数位数",
    "allow_excess_deduction": "超额扣分开关",
    "allow_designation": "直接定级开关",
    "aggregation": "汇总方式",
    "categories": "一级指标",
    "items": "二级指标",
    "code": "编码",
    "name": "名称",
    "text": "扣分情形",
    "max": "分值",
    "cap": "封顶分值",
    "guidance": "评分说明",
    "evidence_required": "佐证材料要求",
    "mode": "计分方式",
    "step": "步长",
    "deductions": "扣分规则",
    "awards": "加分规则",
    "kind": "类型",
    "points": "分值",
    "unit": "单位",
    "discretionary": "酌情扣分开关",
    "discretionary_max": "酌情扣分上限",
    "bonus": "加分项",
    "penalties": "减分项",
    "components": "权重组成",
    "source": "来源",
    "weight": "权重",
    "appraisal": "评议项",
    "method": "评议方式",
    "weights": "票数权重",
    "satisfied": "满意权重",
    "basic": "基本满意权重",
    "unsatisfied": "不满意权重",
    "bands": "星级档次",
    "stars": "星级",
    "min": "最低分",
    "unrated_below": "不定级分数线",
    "prerequisites": "必备条件",
    "vetoes": "一票否决事项",
    "effect": "否决效果",
    "cap_stars": "最高星级",
    "quotas": "比例控制",
    "scope": "控制范围",
    "rules": "比例规则",
    "max_share": "最高比例",
    "min_share": "最低比例",
    "tie_break": "同分排序规则",
    "sheets": "分表",
    "pass_mark": "达标分",
    "thematic_rule": "主题定星规则",
    "floor": "总分线",
    "otherwise": "未全部达标时的处理",
}

# pydantic error type -> Chinese template (formatted with the error's ctx).
_TYPE_MESSAGES: dict[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "不允许的字段",
    "string_type": "必须是文字",
    "string_too_short": "不能为空",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "必须是整数",
    "int_parsing": "必须是整数",
    "int_from_float": "必须是整数",
    "bool_type": "必须是 true 或 false",
    "bool_parsing": "必须是 true 或 false",
    "decimal_type": "必须是数字",
    "decimal_parsing": "必须是数字",
    "finite_number": "必须是有限的数字",
    "list_type": "必须是列表",
    "tuple_type": "必须是列表",
    "dict_type": "必须是键值对象",
    "model_type": "必须是键值对象",
    "model_attributes_type": "必须是键值对象",
    "frozen_set_type": "必须是列表",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "必须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "取值无效（可选：{expected}）",
    "enum": "取值无效（可选：{expected}）",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "decimal_max_places": "小数位数过多（最多 {decimal_places} 位）",
    "value_error": "{error}",
}


class ScoringError(ValueError):
    """Base error: ``errors`` is a list of (path, Chinese message)."""

    def __init__(self, errors: Sequence[tuple[str, str]], title: str = "数据有误") -> None:
        self.errors: list[tuple[str, str]] = list(errors)
        lines = [f"{path or '（根）'}：{msg}" for path, msg in self.errors[:20]]
        if len(self.errors) > 20:
            lines.append(f"……另有 {len(self.errors) - 20} 处错误")
        super().__init__(title + "：\n" + "\n".join(lines))


class DocumentError(ScoringError):
    """A criteria-set document is malformed or inconsistent."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        super().__init__(errors, "评分标准文档有误")


class EntriesError(ScoringError):
    """An entries JSON object cannot be read."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        super().__init__(errors, "评分录入数据有误")


def format_path(loc: Iterable[Any]) -> str:
    """('categories', 2, 'items', 0, 'max') -> 'categories[2].items[0].max'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _literal_expected(expected: str) -> str:
    return expected.replace("'", "").replace(" or ", "、").replace(", ", "、")


def translate_pydantic(errors: Iterable[Any]) -> list[tuple[str, str]]:
    """Turn pydantic ``ValidationError.errors()`` into (path, Chinese message) pairs."""
    out: list[tuple[str, str]] = []
    errors = list(errors)
    locs = [tuple(e.get("loc", ())) for e in errors]
    for err in errors:
        loc_t = tuple(err.get("loc", ()))
        # A list whose element failed also reports "too short": keep only the element's error.
        if err.get("type") == "too_short" and any(
            o[: len(loc_t)] == loc_t and len(o) > len(loc_t) for o in locs
        ):
            continue
        # Drop pydantic's internal union/tag markers from the location.
        loc = [p for p in err.get("loc", ()) if not (isinstance(p, str) and p.startswith("function-"))]
        path = format_path(loc)
        etype = str(err.get("type", ""))
        ctx = dict(err.get("ctx") or {})
        if "expected" in ctx:
            ctx["expected"] = _literal_expected(str(ctx["expected"]))
        if etype == "value_error":
            msg = str(ctx.get("error", err.get("msg", "")))
        else:
            template = _TYPE_MESSAGES.get(etype, "取值无效")
            try:
                msg = template.format(**ctx)
            except (KeyError, IndexError):
                msg = "取值无效"
        field = next((p for p in reversed(loc) if isinstance(p, str)), "")
        label = FIELD_LABELS.get(field, "")
        if etype in {"missing", "extra_forbidden"} or not label or msg.startswith(label):
            out.append((path, msg))
        else:
            out.append((path, label + msg))
    return out
