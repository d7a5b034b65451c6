"""Cross-field checks of a structurally valid criteria set: (path, Chinese message) pairs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from app.scoring.document import RESERVED_CODES, Category, CriteriaSet, Item, PenaltyItem, Preset

Problem = tuple[str, str]


def check_document(cs: CriteriaSet) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_codes(cs)
    problems += _check_shape(cs)
    problems += _check_items(cs)
    problems += _check_bands(cs)
    problems += _check_components(cs)
    problems += _check_vetoes_prerequisites(cs)
    problems += _check_quotas(cs)
    return problems


def _coded(cs: CriteriaSet) -> Iterator[tuple[str, str]]:
    """(path of the code field, code) for everything that has a code."""

    def presets(base: str, item: Item | PenaltyItem) -> Iterator[tuple[str, str]]:
        for k, p in enumerate(item.deductions):
            yield f"{base}.deductions[{k}].code", p.code
        if isinstance(item, Item):
            for k, p in enumerate(item.awards):
                yield f"{base}.awards[{k}].code", p.code

    def cats(base: str, categories: tuple[Category, ...]) -> Iterator[tuple[str, str]]:
        for i, cat in enumerate(categories):
            yield f"{base}categories[{i}].code", cat.code
            for j, item in enumerate(cat.items):
                yield f"{base}categories[{i}].items[{j}].code", item.code
                yield from presets(f"{base}categories[{i}].items[{j}]", item)

    yield from cats("", cs.categories)
    for s, sheet in enumerate(cs.sheets):
        yield f"sheets[{s}].code", sheet.code
        yield from cats(f"sheets[{s}].", sheet.categories)
    if cs.bonus:
        for j, bitem in enumerate(cs.bonus.items):
            yield f"bonus.items[{j}].code", bitem.code
            yield from presets(f"bonus.items[{j}]", bitem)
    if cs.penalties:
        for j, pitem in enumerate(cs.penalties.items):
            yield f"penalties.items[{j}].code", pitem.code
            yield from presets(f"penalties.items[{j}]", pitem)
    for k, pre in enumerate(cs.prerequisites):
        yield f"prerequisites[{k}].code", pre.code
    for k, veto in enumerate(cs.vetoes):
        yield f"vetoes[{k}].code", veto.code


def _check_codes(cs: CriteriaSet) -> list[Problem]:
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for path, code in _coded(cs):
        if code in RESERVED_CODES:
            out.append((path, f"编码“{code}”为系统保留字，请换一个"))
        elif code in seen:
            out.append((path, f"编码“{code}”重复（已在 {seen[code]} 使用）"))
        else:
            seen[code] = path
    return out


def _check_shape(cs: CriteriaSet) -> list[Problem]:
    out: list[Problem] = []
    if cs.aggregation == "standard":
        if not cs.categories:
            out.append(("categories", "至少需要一个一级指标"))
        if cs.sheets:
            out.append(("sheets", "汇总方式为 standard 时不能设置分表，请改用 categories"))
        if not cs.bands:
            out.append(("bands", "至少需要一个星级档次"))
        if cs.thematic_rule is not None:
            out.append(("thematic_rule", "只有汇总方式为 thematic 时才能设置主题定星规则"))
        return out
    if cs.categories:
        out.append(("categories", f"汇总方式为 {cs.aggregation} 时指标须写在 sheets 的各分表中"))
    if not cs.sheets:
        out.append(("sheets", "至少需要一个分表"))
    rule = cs.thematic_rule
    if cs.aggregation == "ladder" and rule is not None:
        out.append(("thematic_rule", "只有汇总方式为 thematic 时才能设置主题定星规则"))
    counts = cs.aggregation == "ladder" or rule is None or rule.kind == "count" or rule.otherwise == "count"
    if counts and len(cs.sheets) > 5:
        out.append(("sheets", "按达标分表数定星时分表最多 5 个"))
    for s, sheet in enumerate(cs.sheets):
        if sheet.pass_mark > sheet.max:
            out.append((f"sheets[{s}].pass_mark", f"达标分不能超过该分表满分 {sheet.max}"))
    if rule is not None and cs.aggregation == "thematic":
        if rule.kind == "all_pass" and rule.stars is None:
            out.append(("thematic_rule.stars", "全部达标定星时须写明星级"))
        if rule.kind == "count" and (rule.stars is not None or rule.floor is not None):
            out.append(("thematic_rule.kind", "按达标个数定星时不能设置 stars 或 floor"))
        if rule.otherwise == "bands" and not cs.bands:
            out.append(("thematic_rule.otherwise", "引用了星级档次，但文档没有设置 bands"))
    return out


def _check_presets(path: str, presets: tuple[Preset, ...]) -> list[Problem]:
    out: list[Problem] = []
    for k, p in enumerate(presets):
        if p.kind == "per_unit" and not p.unit:
            out.append((f"{path}[{k}].unit", "按单位计分须写明单位（如 季度、岁）"))
        if p.cap is not None and p.cap < p.points:
            out.append((f"{path}[{k}].cap", "封顶分值不能小于单次分值"))
    return out


def _check_item(path: str, item: Item, section: str, allow_excess: bool) -> list[Problem]:
    out: list[Problem] = []
    allowed = ("points", "deductive") if section == "category" else ("points", "additive")
    if item.mode not in allowed:
        where = "一级指标下的二级指标" if section == "category" else "加分项"
        out.append((f"{path}.mode", f"{where}的计分方式只能是 {' 或 '.join(allowed)}"))
    if item.mode != "deductive" and item.deductions:
        out.append((f"{path}.deductions", "只有扣分制（deductive）指标才能设置扣分规则"))
    if item.mode != "additive" and item.awards:
        out.append((f"{path}.awards", "只有累加制（additive）加分项才能设置加分规则"))
    if item.mode != "deductive" and item.discretionary:
        out.append((f"{path}.discretionary", "只有扣分制（deductive）指标才能酌情扣分"))
    if item.mode == "points" and item.step > item.max:
        out.append((f"{path}.step", "步长不能大于分值"))
    if item.mode == "deductive" and not item.deductions and not item.discretionary:
        out.append((f"{path}.deductions", "扣分制指标须至少有一条扣分规则或允许酌情扣分"))
    if item.mode == "additive" and not item.awards:
        out.append((f"{path}.awards", "累加制加分项须至少有一条加分规则"))
    if item.discretionary_max is not None and not item.discretionary:
        out.append((f"{path}.discretionary_max", "未允许酌情扣分，不能设置酌情扣分上限"))
    if item.discretionary_max is not None and item.discretionary_max > item.max and not allow_excess:
        out.append((f"{path}.discretionary_max", "酌情扣分上限不能超过该项分值"))
    out += _check_presets(f"{path}.deductions", item.deductions)
    out += _check_presets(f"{path}.awards", item.awards)
    return out


def _check_items(cs: CriteriaSet) -> list[Problem]:
    out: list[Problem] = []

    def cats(base: str, categories: tuple[Category, ...]) -> None:
        for i, cat in enumerate(categories):
            for j, item in enumerate(cat.items):
                out.extend(
                    _check_item(
                        f"{base}categories[{i}].items[{j}]", item, "category", cs.allow_excess_deduction
                    )
                )

    cats("", cs.categories)
    for s, sheet in enumerate(cs.sheets):
        cats(f"sheets[{s}].", sheet.categories)
    if cs.bonus:
        for j, item in enumerate(cs.bonus.items):
            out += _check_item(f"bonus.items[{j}]", item, "bonus", False)
    if cs.penalties:
        for j, pitem in enumerate(cs.penalties.items):
            path = f"penalties.items[{j}]"
            if not pitem.deductions and not pitem.discretionary:
                out.append((f"{path}.deductions", "减分项须至少有一条扣分规则或允许酌情扣分"))
            if pitem.discretionary_max is not None and not pitem.discretionary:
                out.append((f"{path}.discretionary_max", "未允许酌情扣分，不能设置酌情扣分上限"))
            out += _check_presets(f"{path}.deductions", pitem.deductions)
    return out


def _check_bands(cs: CriteriaSet) -> list[Problem]:
    out: list[Problem] = []
    for k in range(1, len(cs.bands)):
        prev, band = cs.bands[k - 1], cs.bands[k]
        if band.stars >= prev.stars:
            out.append((f"bands[{k}].stars", "星级档次须按星级从高到低排列且不能重复"))
        if band.min >= prev.min:
            out.append((f"bands[{k}].min", "分数线须随星级降低而严格递减"))
    if cs.bands and not out:
        top = max_total_raw(cs)
        for k, band in enumerate(cs.bands):
            if band.min > top:
                out.append((f"bands[{k}].min", f"分数线超过了满分 {top}"))
    if cs.unrated_below is not None and cs.unrated_below > max_total_raw(cs):
        out.append(("unrated_below", "不定级分数线超过了满分"))
    return out


def max_total_raw(cs: CriteriaSet) -> Decimal:
    """Highest reachable total before rounding."""
    basic = cs.basic_max
    bonus = cs.bonus.max if cs.bonus else Decimal(0)
    appraisal = cs.appraisal.max if cs.appraisal else Decimal(0)
    if not cs.components:
        return basic + bonus + appraisal
    values = {"basic": basic, "basic_net": basic, "bonus": bonus, "appraisal": appraisal}
    total = sum((c.weight * values[c.source] for c in cs.components), Decimal(0))
    if not any(c.source == "bonus" for c in cs.components):
        total += bonus
    return total


def _check_components(cs: CriteriaSet) -> list[Problem]:
    out: list[Problem] = []
    if not cs.components:
        return out
    sources = [c.source for c in cs.components]
    for k, comp in enumerate(cs.components):
        if sources.index(comp.source) != k:
            out.append((f"components[{k}].source", f"来源“{comp.source}”重复"))
        if comp.source == "appraisal" and cs.appraisal is None:
            out.append((f"components[{k}].source", "引用了评议项，但文档没有设置 appraisal"))
        if comp.source == "bonus" and cs.bonus is None:
            out.append((f"components[{k}].source", "引用了加分项，但文档没有设置 bonus"))
    if "basic" in sources and "basic_net" in sources:
        out.append(("components", "basic 与 basic_net 只能选一个"))
    if "basic" not in sources and "basic_net" not in sources:
        out.append(("components", "权重组成须包含基础分（basic 或 basic_net）"))
    if cs.appraisal is not None and "appraisal" not in sources:
        out.append(("components", "设置了评议项，权重组成中须包含 appraisal"))
    return out


def _check_vetoes_prerequisites(cs: CriteriaSet) -> list[Problem]:
    out: list[Problem] = []
    levels = set(cs.levels())
    for k, veto in enumerate(cs.vetoes):
        if veto.effect == "cap" and veto.cap_stars is None:
            out.append((f"vetoes[{k}].cap_stars", "效果为限定星级（cap）时须写明最高星级"))
        if veto.effect == "disqualify" and veto.cap_stars is not None:
            out.append((f"vetoes[{k}].cap_stars", "取消资格（disqualify）时不能设置最高星级"))
    for k, pre in enumerate(cs.prerequisites):
        for m, stars in enumerate(pre.stars):
            if levels and stars not in levels:
                out.append((f"prerequisites[{k}].stars[{m}]", f"{stars} 星不是本标准的星级档次"))
    return out


def _check_quotas(cs: CriteriaSet) -> list[Problem]:
    out: list[Problem] = []
    if cs.quotas is None:
        return out
    levels = cs.levels()
    seen: set[tuple[int, str]] = set()
    for k, rule in enumerate(cs.quotas.rules):
        path = f"quotas.rules[{k}]"
        if (rule.max_share is None) == (rule.min_share is None):
            out.append((path, "每条比例规则须且只能设置 max_share 或 min_share 之一"))
            continue
        kind = "max" if rule.max_share is not None else "min"
        if (rule.stars, kind) in seen:
            out.append((f"{path}.stars", f"{rule.stars} 星的比例规则重复"))
        seen.add((rule.stars, kind))
        if rule.stars not in levels:
            out.append((f"{path}.stars", f"{rule.stars} 星不是本标准的星级档次"))
        elif kind == "max" and rule.stars == min(levels):
            out.append((f"{path}.stars", "最低档次不能设置最高比例"))
    highest_min = max((r.stars for r in cs.quotas.rules if r.min_share is not None), default=0)
    for k, rule in enumerate(cs.quotas.rules):
        if rule.max_share is not None and rule.min_share is None and rule.stars <= highest_min:
            out.append((f"quotas.rules[{k}].stars", "设置最高比例的星级须高于设置最低比例的星级"))
    tie = cs.quotas.tie_break
    if len(set(tie)) != len(tie):
        out.append(("quotas.tie_break", "同分排序规则不能重复"))
    return out
