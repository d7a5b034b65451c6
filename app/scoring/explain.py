"""Chinese sentences of the explanation, and the number formatting they use."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from app.labels import STARS
from app.scoring.document import Category, CriteriaSet, Item, PenaltyItem, Sheet, dec_str
from app.scoring.result import AppliedDeduction, CategoryResult, ItemResult, SheetResult

SOURCE_LABELS = {
    "basic": "基础得分",
    "basic_net": "基础得分减去减分项",
    "bonus": "加分项",
    "penalty": "减分项",
    "appraisal": "评议得分",
}


def fmt(value: Decimal) -> str:
    return dec_str(value)


def signed(value: Decimal) -> str:
    return ("+" if value >= 0 else "－") + dec_str(abs(value))


def pct(weight: Decimal) -> str:
    return dec_str(weight * 100) + "%"


def stars_label(stars: int) -> str:
    return STARS.get(stars, f"{stars}星")


def quantize(value: Decimal, precision: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    """Two decimals, half up, never a negative zero: an item score as its column holds it."""
    rounded = quantize(value, 2)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def _deduction_text(d: AppliedDeduction, unit: str, verb: str) -> str:
    if d.discretionary:
        return f"酌情{verb} {fmt(d.points)} 分（理由：{d.reason}）"
    times = f" {fmt(d.count)} {unit}" if unit else ""
    return f"{d.text}{times}，{verb} {fmt(d.points)} 分"


def item_text(item: Item | PenaltyItem, res: ItemResult, units: dict[str, str]) -> str:
    head = f"{item.code} {item.name}"
    verb = "加" if res.section == "bonus" else "扣"
    detail = "；".join(_deduction_text(d, units.get(d.code, ""), verb) for d in res.deductions)
    if res.section == "penalty":
        if not res.deductions:
            return f"{head}：无减分"
        return f"{head}：{detail}，减分 {fmt(res.lost)} 分"
    assert isinstance(item, Item)
    if item.mode == "points":
        if not res.scored:
            return f"{head}：尚未评分，按 0 分计（满分 {fmt(item.max)} 分）"
        return f"{head}：得 {fmt(res.score)} 分（满分 {fmt(item.max)} 分）"
    if item.mode == "additive":
        if not res.deductions:
            return f"{head}：无加分（最高 {fmt(item.max)} 分）"
        return f"{head}：{detail}，本项计 {fmt(res.score)} 分（最高 {fmt(item.max)} 分）"
    if not res.scored:
        return f"{head}：尚未评分，暂按满分 {fmt(item.max)} 分计"
    if not res.deductions:
        return f"{head}：无扣分，得满分 {fmt(item.max)} 分"
    text = f"{head}：满分 {fmt(item.max)} 分，{detail}，得 {fmt(res.score)} 分"
    if res.excess:
        text += f"；超出本项分值的 {fmt(res.excess)} 分从总分中扣除"
    return text


def category_text(cat: Category, res: CategoryResult) -> str:
    text = f"{cat.code} {cat.name}：小计 {fmt(res.raw)} 分"
    if res.capped:
        text += f"，本类封顶 {fmt(cat.cap or Decimal(0))} 分"
    text += f"，计 {fmt(res.score)} 分（满分 {fmt(res.max)} 分）"
    if res.excess:
        text += f"；另有超额扣分 {fmt(res.excess)} 分从总分中扣除"
    return text


def sheet_text(sheet: Sheet, res: SheetResult) -> str:
    verdict = "达标" if res.passed else "未达标"
    return (
        f"{sheet.code} {sheet.name}：得 {fmt(res.score)} 分（满分 {fmt(res.max)} 分，"
        f"达标分 {fmt(sheet.pass_mark)} 分），{verdict}"
    )


def basic_text(basic: Decimal, categories: Decimal, excess: Decimal) -> str:
    if excess:
        return f"基础得分：各指标合计 {fmt(categories)} 分，减去超额扣分 {fmt(excess)} 分，为 {fmt(basic)} 分"
    return f"基础得分：各指标合计 {fmt(basic)} 分"


def bonus_text(cs: CriteriaSet, raw: Decimal, bonus: Decimal, weight: Decimal | None) -> str:
    cap = cs.bonus.cap if cs.bonus else None
    text = f"加分项：合计 {fmt(raw)} 分"
    if cap is not None and raw > cap:
        text += f"，封顶 {fmt(cap)} 分"
    if weight is not None:
        return text + f"，按权重 {pct(weight)} 计 {fmt(bonus * weight)} 分"
    return text + f"，计入总分 +{fmt(bonus)} 分"


def penalty_text(cs: CriteriaSet, raw: Decimal, penalty: Decimal) -> str:
    cap = cs.penalties.cap if cs.penalties else None
    text = f"减分项：合计 {fmt(raw)} 分"
    if cap is not None and raw > cap:
        text += f"，封顶 {fmt(cap)} 分"
    return text + f"，从总分中减去 {fmt(penalty)} 分"


def appraisal_text(name: str, value: Decimal | None, detail: str, weight: Decimal | None) -> str:
    if value is None:
        return f"{name}：尚未录入，按 0 分计"
    text = f"{name}：{detail}{fmt(value)} 分"
    if weight is not None:
        text += f"，按权重 {pct(weight)} 计 {fmt(value * weight)} 分"
    return text


def weighted_text(label: str, value: Decimal, weight: Decimal) -> str:
    return f"{label} {fmt(value)} 分，按权重 {pct(weight)} 计 {fmt(value * weight)} 分"
