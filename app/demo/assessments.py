"""Demo criteria sets (the standard library, issued by the city each year) and assessments with
realistic entries: past years final (quotas applied), the current year in every workflow state."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, col, select

from app import clock
from app.api import ndjson
from app.assessments.models import Assessment, Publicity, ScoreEntry
from app.audit import service as audit
from app.branches.models import Branch
from app.criteria import service as criteria_service
from app.criteria.models import CriteriaSetRecord
from app.db_types import utcnow
from app.regions.models import Region
from app.scoring import (
    CriteriaSet,
    DeductionHit,
    Discretionary,
    Entries,
    ItemEntry,
    PenaltyItem,
    QuotaCandidate,
    Result,
    Votes,
    apply_quotas,
    dump_document,
    load_document,
    load_library,
    score,
)
from app.scoring.document import SECTOR_CODES

CURRENT_YEAR = 2026
YEARS = (2024, 2025, 2026)
SEED = 7_2026
DISCRETIONARY_REASONS = [
    "会议记录不完整，部分议题缺少表决情况",
    "台账资料归档不规范，查阅困难",
    "党员积分管理未按季度公示",
    "活动阵地标识陈旧，未及时更新",
    "谈心谈话记录内容简单，流于形式",
]
VETO_REASONS = {
    "V01": "支部书记因违纪受到党内严重警告处分（县纪委通报）",
    "V02": "辖区发生较大安全生产事故，造成人员伤亡",
    "V03": "发生群体性上访事件，经县信访局认定",
}
# Current-year state by county (see DESIGN.md "Demo data": every workflow state).
COUNTY_STATE = {
    "990106": "final",
    "990105": "publicized",
    "990104": "reviewed",
    "990103": "mixed",
    "990102": "early",
}


def _q(value: Decimal, step: Decimal) -> Decimal:
    return ((value / step).to_integral_value(rounding=ROUND_HALF_UP) * step).quantize(Decimal("0.1"))


def demo_entries(cs: CriteriaSet, rng: random.Random, quality: float, *, fraction: float = 1.0) -> Entries:
    """Plausible entries for a branch of a given quality (0..1); `fraction` of the items entered."""
    items: dict[str, ItemEntry] = {}
    for leaf in cs.items():
        if fraction < 1.0 and rng.random() > fraction:
            continue
        if isinstance(leaf.item, PenaltyItem):
            pitem = leaf.item
            if rng.random() < (1 - quality) * 0.4 and pitem.deductions:
                preset = rng.choice(pitem.deductions)
                items[pitem.code] = ItemEntry(deductions=(DeductionHit(preset.code, Decimal(1)),))
            else:
                items[pitem.code] = ItemEntry()
            continue
        item = leaf.item
        mode = item.mode
        if mode == "points":
            share = min(1.0, max(0.0, rng.gauss(quality, 0.08)))
            items[item.code] = ItemEntry(points=_q(item.max * Decimal(str(share)), item.step))
        elif mode == "additive":
            if rng.random() < quality * 0.3 and item.awards:
                preset = rng.choice(item.awards)
                items[item.code] = ItemEntry(deductions=(DeductionHit(preset.code, Decimal(1)),))
            else:
                items[item.code] = ItemEntry(points=Decimal(0)) if not item.awards else ItemEntry()
        else:
            hits = []
            for preset in item.deductions:
                if rng.random() < (1 - quality) * 1.5:
                    count = Decimal(1) if preset.kind == "fixed" else Decimal(rng.randint(1, 3))
                    hits.append(DeductionHit(preset.code, count))
            disc: tuple[Discretionary, ...] = ()
            if item.discretionary and rng.random() < (1 - quality) * 0.8:
                cap = item.discretionary_max or item.max
                disc = (Discretionary(min(Decimal("1"), cap), rng.choice(DISCRETIONARY_REASONS)),)
            items[item.code] = ItemEntry(deductions=tuple(hits), discretionary=disc)
    vetoes = {}
    if cs.vetoes and rng.random() < 0.012:
        veto = rng.choice(cs.vetoes[:3])
        vetoes[veto.code] = VETO_REASONS.get(veto.code, f"经核实存在“{veto.name}”情形")
    prereqs = frozenset(p.code for p in cs.prerequisites if rng.random() < quality**3)
    appraisal = None
    if cs.appraisal is not None:
        n = rng.randint(30, 120)
        sat = int(n * min(1.0, max(0.3, rng.gauss(quality, 0.1))))
        basic = int((n - sat) * 0.7)
        appraisal = (
            Votes(sat, basic, n - sat - basic)
            if cs.appraisal.method == "votes"
            else Decimal(str(round(quality * 100, 1)))
        )
    return Entries(items, vetoes, prereqs, appraisal)


def _sets(session: Session, city: Region) -> dict[tuple[int, str], tuple[CriteriaSetRecord, CriteriaSet]]:
    out = {}
    actor = audit.Actor(None, "演示数据")
    for year in YEARS:
        for sector in SECTOR_CODES:
            base = dump_document(load_library(sector))
            base["year"] = year
            base["title"] = base["title"].replace("2026", str(year)).replace("（标准库）", "")
            base["issuer"] = "中共星城市委组织部"
            base["document_number"] = f"星组通〔{year}〕{3 + SECTOR_CODES.index(sector)}号"
            record = criteria_service.create_draft(
                session, document=base, region_id=city.id or 0, actor=actor
            )
            criteria_service.publish(session, record=record, actor=actor)
            out[(year, sector)] = (record, load_document(record.document))
    return out


def seed_assessments(session: Session) -> int:
    """Creates criteria sets for every demo year and an assessment per active branch and year."""
    rng = random.Random(SEED)
    city = session.exec(select(Region).where(Region.code == "9901")).one()
    sets = _sets(session, city)
    branches = list(session.exec(select(Branch).where(Branch.status == "active").order_by(col(Branch.code))))
    quality = {b.id: min(0.99, max(0.45, rng.gauss(0.82, 0.085))) for b in branches}
    county_of = {b.id: b.region_path.strip("/").split("/")[2] for b in branches}
    town_of = {
        b.id: b.region_path.strip("/").split("/")[3] if b.region_path.count("/") > 4 else "" for b in branches
    }
    now = utcnow()
    made = 0
    publicity = None
    for year in YEARS:
        rows: list[tuple[Assessment, Result, str, str]] = []
        entry_rows: list[dict] = []
        for b in branches:
            q = quality[b.id] = min(0.99, max(0.4, quality[b.id] + rng.gauss(0.01, 0.035)))
            record, cs = sets[(year, b.sector)]
            state = "final" if year < CURRENT_YEAR else _current_state(county_of[b.id], town_of[b.id], rng)
            fraction = {"draft": 0.0, "self_submitted": 0.0, "scoring": rng.uniform(0.3, 0.9)}.get(state, 1.0)
            entries = demo_entries(cs, rng, q, fraction=fraction)
            result = score(cs, entries)
            a = Assessment(
                branch_id=b.id or 0,
                year=year,
                sector=b.sector,
                region_path=b.region_path,
                criteria_set_id=record.id or 0,
                criteria_hash=record.content_hash or "",
                # "final" needs final stars (a CHECK): it is set when the quotas are applied below.
                status="publicized" if state == "final" else state,
                total=result.total,
                band_stars=result.band_stars,
                stars=result.stars,
                vetoed=result.vetoed,
                designated=result.designated,
                items_total=len(result.items),
                items_scored=sum(1 for r in result.items.values() if r.scored),
                extras={k: v for k, v in entries.to_json().items() if k != "items"},
                explanation=result.to_json()["explanation"],
                created_at=now - timedelta(days=365 * (CURRENT_YEAR - year) + 60),
                updated_at=now,
                submitted_at=now if state in ("submitted", "reviewed", "publicized", "final") else None,
                reviewed_at=now if state in ("reviewed", "publicized", "final") else None,
                returned_reason="部分扣分缺少佐证材料，请补充后重新提交" if state == "returned" else None,
            )
            session.add(a)
            session.flush()
            for code, item_entry in entries.items.items():
                entry_rows.append(_entry_row(a, "inspector", code, item_entry, result, now))
            if state in ("self_submitted", "scoring") and cs.self_assessment and rng.random() < 0.8:
                self_entries = demo_entries(cs, rng, min(0.99, q + 0.06))
                self_result = score(cs, self_entries)
                a.self_total = self_result.total
                for code, item_entry in self_entries.items.items():
                    entry_rows.append(_entry_row(a, "self", code, item_entry, self_result, now))
            rows.append((a, result, b.code, state))
            made += 1
        if year == CURRENT_YEAR:
            publicity = _publicity(session, rows)
        _apply_final_quotas(session, sets, rows, year)
        session.flush()
        # Bulk insert (core): ~100k rows would take many seconds through the ORM.
        table = ScoreEntry.__table__  # type: ignore[attr-defined]
        for start in range(0, len(entry_rows), 5000):
            session.execute(table.insert(), entry_rows[start : start + 5000])
        # The entries bypass app.assessments.scoring: store the export's entry texts from them.
        ndjson.store_built_entries(session, col(Assessment.year) == year)
    audit.record(
        session,
        actor=audit.Actor(None, "演示数据"),
        action="demo.seed",
        entity_type="demo",
        entity_id="assessments",
        new={"assessments": made, "publicity": publicity},
    )
    return made


def _entry_row(a: Assessment, source: str, code: str, entry: ItemEntry, result: Result, now) -> dict:  # type: ignore[no-untyped-def]
    return {
        "assessment_id": a.id,
        "source": source,
        "item_code": code,
        "entry": entry.to_json(),
        "score": result.items[code].score,
        "note": None,
        "version": 1,
        "updated_by_id": None,
        "updated_at": now,
    }


def _current_state(county: str, town: str, rng: random.Random) -> str:
    mode = COUNTY_STATE.get(county, "early")
    if mode in ("final", "publicized", "reviewed"):
        return mode
    if mode == "mixed":
        return rng.choices(["submitted", "returned", "scoring", "reviewed"], [5, 1, 3, 2])[0]
    if town.endswith("001"):  # the demo inspector's township: work still to do
        return rng.choices(["draft", "self_submitted", "scoring"], [3, 2, 2])[0]
    return rng.choices(["scoring", "submitted", "draft"], [4, 3, 1])[0]


def _publicity(session: Session, rows: list[tuple[Assessment, Result, str, str]]) -> int | None:
    county = session.exec(select(Region).where(Region.code == "990105")).one()
    pub = Publicity(
        year=CURRENT_YEAR,
        region_id=county.id or 0,
        title=f"石桥县{CURRENT_YEAR}年度星级党支部评定结果公示",
        starts_on=clock.today() - timedelta(days=1),
        ends_on=clock.today() + timedelta(days=3),
        contact="石桥县委组织部组织科，电话 0000-1234567，地址：石桥县人民路 1 号",
    )
    final_pub = Publicity(
        year=CURRENT_YEAR,
        region_id=session.exec(select(Region).where(Region.code == "990106")).one().id or 0,
        title=f"桃源县{CURRENT_YEAR}年度星级党支部评定结果公示",
        starts_on=clock.today() - timedelta(days=20),
        ends_on=clock.today() - timedelta(days=16),
        contact="桃源县委组织部组织科，电话 0000-7654321",
        status="closed",
    )
    session.add(pub)
    session.add(final_pub)
    session.flush()
    for a, _r, _code, state in rows:
        if state == "publicized":
            a.publicity_id = pub.id
        elif state == "final":
            a.publicity_id = final_pub.id
    return pub.id


def _apply_final_quotas(
    session: Session, sets: dict, rows: list[tuple[Assessment, Result, str, str]], year: int
) -> None:
    groups: dict[tuple[str, str], list[tuple[Assessment, Result, str, str]]] = defaultdict(list)
    for row in rows:
        if row[3] == "final":
            county = row[0].region_path.strip("/").split("/")[2]
            groups[(row[0].sector, county)].append(row)
    for (sector, _county), members in groups.items():
        cs = sets[(year, sector)][1]
        decisions = apply_quotas(cs, [QuotaCandidate(code, result) for _a, result, code, _s in members])
        for a, _result, code, _s in members:
            d = decisions[code]
            a.status = "final"
            a.final_stars = d.stars
            a.quota_explanation = list(d.explanation)
            a.finalized_at = utcnow()
            session.add(a)
