"""score(criteria set, entries) -> Result: a pure function with an explanation.

Order of work: items -> categories -> sheets -> components -> total -> band ->
prerequisites -> designation -> vetoes. Invalid entries never raise: they are
reported in ``Result.problems`` and left out (or clamped), as documented.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.scoring import explain as ex
from app.scoring.checks import max_total_raw
from app.scoring.document import CriteriaSet, Item, LeafItem
from app.scoring.entries import Entries, ItemEntry, Votes, hit_problem, preset_of, validate_item
from app.scoring.result import AppliedDeduction, CategoryResult, ItemResult, Result, SheetResult, Step

ZERO = Decimal(0)


def _applied(leaf: LeafItem, entry: ItemEntry) -> list[AppliedDeduction]:
    """Valid hits and discretionary deductions of an entry, each after its own cap."""
    out: list[AppliedDeduction] = []
    seen: set[str] = set()
    for hit in entry.deductions:
        preset = preset_of(leaf, hit.code)
        if hit.code in seen or preset is None or hit_problem(leaf, hit):
            continue
        seen.add(hit.code)
        amount = preset.points * hit.count
        if preset.cap is not None:
            amount = min(amount, preset.cap)
        out.append(AppliedDeduction(hit.code, preset.text, hit.count, amount))
    if leaf.item.discretionary:
        room = leaf.item.discretionary_max
        for disc in entry.discretionary:
            if disc.points <= 0 or not disc.reason.strip():
                continue
            amount = disc.points if room is None else min(disc.points, room)
            if room is not None:
                room -= amount
            if amount > 0:
                out.append(AppliedDeduction("", "酌情扣分", Decimal(1), amount, True, disc.reason.strip()))
    return out


def score_item(cs: CriteriaSet, leaf: LeafItem, entry: ItemEntry | None) -> ItemResult:
    item = leaf.item
    cat = leaf.category.code if leaf.category else None
    problems = tuple(validate_item(leaf, entry)) if entry is not None else ()

    def make(
        score: Decimal,
        top: Decimal,
        lost: Decimal,
        applied: list[AppliedDeduction] | None = None,
        excess: Decimal = ZERO,
        scored: bool = True,
    ) -> ItemResult:
        return ItemResult(
            item.code,
            item.name,
            leaf.section,
            cat,
            score,
            top,
            lost,
            tuple(applied or ()),
            excess,
            scored,
            problems,
        )

    if leaf.section == "penalty":
        applied = _applied(leaf, entry) if entry is not None else []
        pts = sum((d.points for d in applied), ZERO)
        cap = getattr(item, "cap", None)
        if cap is not None:
            pts = min(pts, cap)
        return make(-pts, ZERO, pts, applied, scored=entry is not None)
    assert isinstance(item, Item)
    if item.mode == "points":
        if entry is None or entry.points is None:
            return make(ZERO, item.max, item.max, scored=False)
        pts = min(max(entry.points, ZERO), item.max)
        return make(pts, item.max, item.max - pts)
    if entry is None:
        start = item.max if item.mode == "deductive" else ZERO
        return make(start, item.max, item.max - start, scored=False)
    applied = _applied(leaf, entry)
    total = sum((d.points for d in applied), ZERO)
    if item.mode == "additive":
        pts = min(total, item.max)
        return make(pts, item.max, item.max - pts, applied)
    excess = ZERO
    if total > item.max:
        excess = total - item.max if cs.allow_excess_deduction else ZERO
        total = item.max
    return make(item.max - total, item.max, total, applied, excess)


# Scored (set, item, entry) triples remembered by the process (about 1.4 KB each); past this the memo
# starts again. An inspector's forty items take forty; a bulk rescore passes through and is bounded too.
ITEM_MEMO_MAX = 20_000
_ITEM_MEMO: dict[tuple[str, str, Any], tuple[ItemResult, str]] = {}


def _scored_leaf(
    memo: str | None, cs: CriteriaSet, leaf: LeafItem, entry: ItemEntry | None
) -> tuple[ItemResult, str]:
    """`score_item` and the item's explanation text, remembered by (set, item code, entry) when the
    caller names the set (`memo`: the content hash of its document).

    An item's result depends on the set and its own entry only, so a save that changes one item of forty
    scores one and looks up the rest (the engine's biggest cost per save). The entry is keyed by its exact
    text (`_entry_key`): 3 and 3.0 are equal decimals but not the same result (the item's score keeps the
    entry's exponent), so they are remembered apart."""
    if memo is None:
        return _score_leaf(cs, leaf, entry)
    key = (memo, leaf.item.code, _entry_key(entry))
    hit = _ITEM_MEMO.get(key)
    if hit is None:
        hit = _score_leaf(cs, leaf, entry)
        if len(_ITEM_MEMO) >= ITEM_MEMO_MAX:
            _ITEM_MEMO.clear()  # a race with another thread's insert loses an entry, never a wrong one
        _ITEM_MEMO[key] = hit
    return hit


def _entry_key(entry: ItemEntry | None) -> Any:
    if entry is None:
        return None
    return (
        None if entry.points is None else str(entry.points),
        tuple((h.code, str(h.count)) for h in entry.deductions),
        tuple((str(d.points), d.reason) for d in entry.discretionary),
    )


def _score_leaf(cs: CriteriaSet, leaf: LeafItem, entry: ItemEntry | None) -> tuple[ItemResult, str]:
    res = score_item(cs, leaf, entry)
    units = {p.code: p.unit_label for p in (*leaf.item.deductions, *getattr(leaf.item, "awards", ()))}
    return res, ex.item_text(leaf.item, res, units)


def _appraisal(cs: CriteriaSet, entries: Entries, problems: list[str]) -> tuple[Decimal | None, str]:
    spec = cs.appraisal
    raw = entries.appraisal
    if spec is None:
        if raw is not None:
            problems.append("本标准没有评议项，录入的评议结果已忽略")
        return None, ""
    if raw is None:
        return None, ""
    if isinstance(raw, Votes):
        if spec.method != "votes":
            problems.append(f"{spec.name}须直接录入得分，票数已忽略")
            return None, ""
        if min(raw.satisfied, raw.basic, raw.unsatisfied) < 0 or raw.total == 0:
            problems.append(f"{spec.name}的票数无效（须为非负整数且合计大于 0）")
            return None, ""
        w = spec.weights
        weighted = w.satisfied * raw.satisfied + w.basic * raw.basic + w.unsatisfied * raw.unsatisfied
        value = ex.quantize(spec.max * weighted / raw.total, cs.precision)
        detail = (
            f"满意 {raw.satisfied} 票、基本满意 {raw.basic} 票、不满意 {raw.unsatisfied} 票，"
            f"按（{ex.fmt(w.satisfied)}×满意 + {ex.fmt(w.basic)}×基本满意 + {ex.fmt(w.unsatisfied)}×不满意）"
            f"÷总票数×{ex.fmt(spec.max)} 计算，得 "
        )
        return value, detail
    if spec.method != "direct":
        problems.append(f"{spec.name}须按票数计算，直接录入的得分已忽略")
        return None, ""
    if raw < 0 or raw > spec.max:
        problems.append(f"{spec.name}得分 {ex.fmt(raw)} 超出范围（0 至 {ex.fmt(spec.max)}），已按边界计")
    return min(max(raw, ZERO), spec.max), "直接录入得分 "


def _band(cs: CriteriaSet, total: Decimal, sheets: dict[str, SheetResult]) -> tuple[int, str]:
    if cs.unrated_below is not None and total < cs.unrated_below:
        return 0, f"总分 {ex.fmt(total)} 分，低于定级分数线 {ex.fmt(cs.unrated_below)} 分，不定星"
    passed = [s.passed for s in sheets.values()]
    if cs.aggregation == "ladder":
        n = 0
        while n < len(passed) and passed[n]:
            n += 1
        return min(n, 5), f"逐级达标：连续达标 {n} 级，评为{ex.stars_label(min(n, 5))}"
    rule = cs.thematic_rule
    if cs.aggregation == "thematic":
        n = sum(passed)
        if rule is None or rule.kind == "count":
            return min(n, 5), f"主题达标 {n} 个，评为{ex.stars_label(min(n, 5))}"
        floor = rule.floor or ZERO
        if all(passed) and total >= floor and rule.stars is not None:
            return (
                rule.stars,
                f"各主题全部达标且总分不低于 {ex.fmt(floor)} 分，评为{ex.stars_label(rule.stars)}",
            )
        head = f"未满足“各主题全部达标且总分不低于 {ex.fmt(floor)} 分”"
        if rule.otherwise == "count":
            stars = min(n, 5, (rule.stars or 6) - 1)
            return stars, f"{head}，按达标主题数 {n} 个评为{ex.stars_label(stars)}"
        if rule.otherwise == "unrated":
            return 0, f"{head}，不定星"
    for band in cs.bands:
        if total >= band.min:
            return (
                band.stars,
                f"总分 {ex.fmt(total)} 分，达到{ex.stars_label(band.stars)}档次（≥ {ex.fmt(band.min)} 分）",
            )
    return 0, f"总分 {ex.fmt(total)} 分，未达到任何星级档次，不定星"


def _best_level(cs: CriteriaSet, ceiling: int, met: frozenset[str]) -> int:
    """Highest star level <= ceiling whose prerequisites are all met (0 when none)."""
    for level in cs.levels():
        if level <= ceiling and all(p.code in met for p in cs.guarded(level)):
            return level
    return 0


def score(cs: CriteriaSet, entries: Entries, *, memo: str | None = None) -> Result:
    """Scores `entries` under `cs`. `memo` names the set for the engine's item memo (the content hash of
    the stored document it was parsed from): the same name must always mean the same set. Without it
    nothing is remembered (a what-if copy, a draft being edited)."""
    steps: list[Step] = []
    problems: list[str] = []
    leaves = cs.leaves()
    known = cs.leaf_index()
    for code in entries.items:
        if code not in known:
            problems.append(f"没有编码为“{code}”的指标，该录入已忽略")
    items: dict[str, ItemResult] = {}
    for leaf in leaves:
        res, text = _scored_leaf(memo, cs, leaf, entries.items.get(leaf.item.code))
        items[res.code] = res
        problems += [f"{res.code} {res.name}：{p}" for p in res.problems]
        steps.append(Step("item", res.code, text, res.score))
    missing = [
        leaf.item.code for leaf in leaves if leaf.section == "category" and not items[leaf.item.code].scored
    ]

    categories: dict[str, CategoryResult] = {}
    for cat, sheet in cs.all_categories():
        member = [items[i.code] for i in cat.items]
        raw = sum((r.score for r in member), ZERO)
        value = raw if cat.cap is None else min(raw, cat.cap)
        excess = sum((r.excess for r in member), ZERO)
        cres = CategoryResult(
            cat.code, cat.name, sheet.code if sheet else None, value, cat.max, raw, value < raw, excess
        )
        categories[cat.code] = cres
        steps.append(Step("category", cat.code, ex.category_text(cat, cres), value))
    sheets: dict[str, SheetResult] = {}
    for sheet in cs.sheets:
        cats = [categories[c.code] for c in sheet.categories]
        value = sum((c.score - c.excess for c in cats), ZERO)
        sres = SheetResult(
            sheet.code, sheet.name, value, sheet.max, sheet.pass_mark, value >= sheet.pass_mark
        )
        sheets[sheet.code] = sres
        steps.append(Step("sheet", sheet.code, ex.sheet_text(sheet, sres), value))

    cat_sum = sum((c.score for c in categories.values()), ZERO)
    excess = sum((c.excess for c in categories.values()), ZERO)
    basic = cat_sum - excess
    bonus_raw = sum((r.score for r in items.values() if r.section == "bonus"), ZERO)
    bonus = bonus_raw if cs.bonus is None or cs.bonus.cap is None else min(bonus_raw, cs.bonus.cap)
    penalty_raw = sum((r.lost for r in items.values() if r.section == "penalty"), ZERO)
    penalty = (
        penalty_raw
        if cs.penalties is None or cs.penalties.cap is None
        else min(penalty_raw, cs.penalties.cap)
    )
    appraisal, appraisal_detail = _appraisal(cs, entries, problems)
    if cs.appraisal is not None and appraisal is None:
        missing.append("appraisal")

    components: dict[str, Decimal] = {}
    weights = {c.source: c.weight for c in cs.components}

    def add(key: str, value: Decimal, text: str) -> None:
        components[key] = value
        steps.append(Step("component", key, text, value))

    names = {c.source: c.name for c in cs.components}
    if "basic_net" in weights:
        w, net = weights["basic_net"], basic - penalty
        label = f"{names['basic_net'] or '基础得分减去减分项'}：基础得分 {ex.fmt(basic)} 分 － 减分项 {ex.fmt(penalty)} 分 ="
        add("basic_net", net * w, ex.weighted_text(label, net, w))
    else:
        w = weights.get("basic", Decimal(1))
        if "basic" in weights:
            add("basic", basic * w, ex.weighted_text(f"{names['basic'] or '基础得分'}：", basic, w))
        else:
            add("basic", basic, ex.basic_text(basic, cat_sum, excess))
        if cs.penalties is not None:
            add("penalty", -penalty, ex.penalty_text(cs, penalty_raw, penalty))
    if cs.bonus is not None:
        bw = weights.get("bonus")
        add("bonus", bonus * (bw or 1), ex.bonus_text(cs, bonus_raw, bonus, bw))
    if cs.appraisal is not None:
        aw = weights.get("appraisal")
        value = appraisal or ZERO
        add(
            "appraisal",
            value * (aw or 1),
            ex.appraisal_text(cs.appraisal.name, appraisal, appraisal_detail, aw),
        )

    raw_total = sum(components.values(), ZERO)
    top = max_total_raw(cs)
    clamped = min(max(raw_total, ZERO), top)
    if clamped != raw_total:
        why = "总分最低为 0 分" if raw_total < 0 else "总分不超过满分"
        steps.append(
            Step("adjust", "clamp", f"{why}，调整 {ex.signed(clamped - raw_total)} 分", clamped - raw_total)
        )
    total = ex.quantize(clamped, cs.precision)
    if total != clamped:
        text = f"按四舍五入保留 {cs.precision} 位小数：{ex.fmt(clamped)} → {ex.fmt(total)}"
        steps.append(Step("adjust", "rounding", text, total - clamped))
    max_total = ex.quantize(top, cs.precision)
    steps.append(Step("total", "total", f"总分 {ex.fmt(total)} 分（满分 {ex.fmt(max_total)} 分）", total))

    band_stars, band_text = _band(cs, total, sheets)
    steps.append(Step("band", "band", band_text, Decimal(band_stars)))
    stars = band_stars
    for code in sorted(entries.prerequisites):
        if cs.prerequisite(code) is None:
            problems.append(f"没有编码为“{code}”的必备条件，已忽略")
    met = frozenset(entries.prerequisites)
    if stars > 0:
        new = _best_level(cs, stars, met)
        if new != stars:
            unmet = [
                p for p in cs.prerequisites if p.code not in met and any(new < s <= stars for s in p.stars)
            ]
            unmet_names = "、".join(f"“{p.name}”" for p in unmet)
            text = f"未满足必备条件{unmet_names}，由{ex.stars_label(stars)}调整为{ex.stars_label(new)}"
            steps.append(Step("prerequisite", unmet[0].code if unmet else None, text, Decimal(new)))
            stars = new

    designated = False
    d = entries.designation
    if d is not None:
        if not cs.allow_designation:
            problems.append("本标准不允许直接定级，录入的直接定级已忽略")
        elif not 1 <= d.stars <= 5 or not d.reason.strip() or not d.document.strip():
            problems.append("直接定级须为 1 至 5 星，并写明理由和文件依据；录入的直接定级已忽略")
        else:
            designated, stars = True, d.stars
            text = (
                f"直接定级为{ex.stars_label(d.stars)}（理由：{d.reason.strip()}；依据：{d.document.strip()}）"
            )
            steps.append(Step("designation", "designation", text, Decimal(stars)))

    veto_cap: int | None = None
    for veto in cs.vetoes:
        if veto.code not in entries.vetoes:
            continue
        reason = entries.vetoes[veto.code].strip()
        if not reason:
            problems.append(f"一票否决事项“{veto.name}”未写明理由")
        cap = 0 if veto.effect == "disqualify" else int(veto.cap_stars or 0)
        veto_cap = cap if veto_cap is None else min(veto_cap, cap)
        before = stars
        if cap < stars:
            stars = min(stars, cap) if designated else _best_level(cs, cap, met)
        effect = "取消评星资格" if cap == 0 else f"最高评为{ex.stars_label(cap)}"
        text = f"一票否决：{veto.name}（{reason or '未写明理由'}），{effect}"
        if before != stars:
            text += f"，由{ex.stars_label(before)}调整为{ex.stars_label(stars)}"
        steps.append(Step("veto", veto.code, text, Decimal(stars)))
    for code in sorted(entries.vetoes):
        if cs.veto(code) is None:
            problems.append(f"没有编码为“{code}”的一票否决事项，已忽略")
    steps.append(Step("stars", "stars", f"评定结果：{ex.stars_label(stars)}", Decimal(stars)))

    eligible = tuple(lv for lv in cs.levels() if lv <= stars and all(p.code in met for p in cs.guarded(lv)))
    deducted = sum((r.lost + r.excess for r in items.values() if r.section != "bonus" and r.deductions), ZERO)
    return Result(
        total=total,
        max_total=max_total,
        band_stars=band_stars,
        stars=stars,
        items=items,
        categories=categories,
        sheets=sheets,
        components=components,
        basic=basic,
        bonus=bonus,
        penalty=penalty,
        appraisal=appraisal,
        deducted=deducted,
        vetoed=veto_cap is not None,
        veto_cap=veto_cap,
        designated=designated,
        eligible_stars=eligible,
        complete=not missing,
        missing=missing,
        problems=problems,
        explanation=steps,
    )
