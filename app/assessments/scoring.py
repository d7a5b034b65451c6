"""The glue between stored entries and the pure engine: build Entries, score, persist totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from app.assessments import entries_json
from app.assessments.models import Assessment, Evidence, ScoreEntry
from app.auth.models import User
from app.criteria import service as criteria_service
from app.scoring import (
    CriteriaSet,
    Entries,
    EntriesError,
    Item,
    ItemEntry,
    ItemResult,
    LeafItem,
    PenaltyItem,
    Result,
    score,
)
from app.scoring.document import dec_str
from app.scoring.engine import score_item
from app.scoring.explain import cents

EXTRA_KEYS = ("vetoes", "prerequisites", "appraisal", "designation")


def veto_reasons(extras: Any) -> list[str]:
    """The reasons of an assessment's vetoes as stored (``{"code": "reason"}``); none for any other shape,
    which the engine also ignores (a hand-edited row must not break the pages that list vetoes)."""
    vetoes = extras.get("vetoes") if isinstance(extras, dict) else None
    return [str(v) for v in vetoes.values()] if isinstance(vetoes, dict) else []


def memo_name(cs: CriteriaSet) -> str | None:
    """The name under which the engine may remember `cs`'s scored items: its content hash when `cs` is the
    cached parse of a published set (which never changes), else None (nothing remembered)."""
    return criteria_service.PARSED.name_of(cs)


def _score(cs: CriteriaSet, entries: Entries) -> Result:
    """The engine's result, with its item memo when `cs` is the cached parse of a published set."""
    return score(cs, entries, memo=memo_name(cs))


def criteria_of(session: Session, assessment: Assessment) -> CriteriaSet:
    """The criteria set the assessment is pinned to (parsed once per content hash, then cached)."""
    return criteria_service.parsed_by_id(
        session, record_id=assessment.criteria_set_id, content_hash=assessment.criteria_hash
    )


# Built once with bound parameters: every save runs these, and building a statement (and its cache key)
# per call costs more than running it.
_ENTRY_ROWS = select(ScoreEntry).where(
    ScoreEntry.assessment_id == bindparam("aid"), ScoreEntry.source == bindparam("source")
)
_ENTRY_ROW = _ENTRY_ROWS.where(ScoreEntry.item_code == bindparam("code"))
_EVIDENCE = Evidence.__table__  # type: ignore[attr-defined]
_LIVE_EVIDENCE = (
    sa_select(_EVIDENCE)
    .where(_EVIDENCE.c.assessment_id == bindparam("aid"), _EVIDENCE.c.deleted_at.is_(None))
    .order_by(_EVIDENCE.c.id)
)
_LIVE_ITEM_EVIDENCE = _LIVE_EVIDENCE.where(_EVIDENCE.c.item_code == bindparam("code"))


def entry_rows(session: Session, assessment_id: int, source: str) -> list[ScoreEntry]:
    return list(session.exec(_ENTRY_ROWS, params={"aid": assessment_id, "source": source}))


_ENTRY = ScoreEntry.__table__.c  # type: ignore[attr-defined]
# A source's entries as plain column values (Core: the ORM's identity map, instance state and attribute
# events cost ten times the query, and an item save reads every entry of its source).
_ENTRY_STATES = sa_select(
    _ENTRY.source,
    _ENTRY.item_code,
    _ENTRY.entry,
    _ENTRY.score,
    _ENTRY.note,
    _ENTRY.version,
    _ENTRY.updated_at,
    _ENTRY.updated_by_id,
    _ENTRY.id,
).where(_ENTRY.assessment_id == bindparam("aid"), _ENTRY.source == bindparam("source"))


_ITEM_STATE = _ENTRY_STATES.where(_ENTRY.item_code == bindparam("code"))


def entry_states(session: Session, assessment_id: int, source: str) -> list[EntryState]:
    """A source's stored entries, as ``EntryState`` values (not ORM rows). Flushes pending changes first,
    as an ORM query would."""
    result = session.execute(_ENTRY_STATES, {"aid": assessment_id, "source": source})
    return [EntryState(*r) for r in result]


def entry_row(session: Session, assessment_id: int, source: str, item_code: str) -> ScoreEntry | None:
    """One item's stored entry of a source."""
    params = {"aid": assessment_id, "source": source, "code": item_code}
    return session.exec(_ENTRY_ROW, params=params).first()


class EntryRow(Protocol):
    """What ``build_entries`` reads of a stored entry (a ``ScoreEntry`` or a row of its columns)."""

    @property
    def item_code(self) -> str: ...

    @property
    def entry(self) -> dict[str, Any]: ...


def build_entries(rows: Sequence[EntryRow], extras: dict[str, Any] | None) -> Entries:
    """Entries for the engine from stored rows (+ the assessment's extras for the inspector source)."""
    items = {}
    for row in rows:
        try:
            items[row.item_code] = ItemEntry.from_json(row.entry)
        except EntriesError:
            continue  # stored entries were validated on save; never let one bad row hide the rest
    obj: dict[str, Any] = {"items": {}}
    for key in EXTRA_KEYS:
        if extras and extras.get(key) is not None:
            obj[key] = extras[key]
    try:
        base = Entries.from_json(obj)
    except EntriesError:
        base = Entries()
    return Entries(items, base.vetoes, base.prerequisites, base.appraisal, base.designation)


@dataclass
class EntryState:
    """An entry row's columns as they will be stored: what a save computes before it writes (the stored
    ``ScoreEntry`` stays untouched until then). Satisfies ``EntryRow`` and ``entries_json.EntryRow``."""

    source: str
    item_code: str
    entry: dict[str, Any]
    score: Decimal | None
    note: str | None
    version: int
    updated_at: datetime
    updated_by_id: int | None
    id: int | None = None  # the stored row's (None: not stored yet)

    @classmethod
    def of(cls, row: ScoreEntry) -> EntryState:
        return cls(
            row.source,
            row.item_code,
            row.entry,
            row.score,
            row.note,
            row.version,
            row.updated_at,
            row.updated_by_id,
            row.id,
        )


@dataclass(frozen=True)
class Scored:
    """What scoring a source's entries stores: the assessment's columns (``values``) and the item score of
    each entry whose stored score changes (``scores``, by item code). Computed without a session."""

    result: Result
    values: dict[str, Any]
    scores: dict[str, Decimal | None]


def score_entries(
    cs: CriteriaSet, source: str, rows: Sequence[EntryState], extras: dict[str, Any] | None
) -> Scored:
    """Scores one source's entries (all of them, as they will be stored) and says what to store, except the
    entries text (`with_entries_text`, once the rows' stamps are final). Sets each state's ``score``, so
    that text carries the scores being stored. Pure: no session."""
    result = _score(cs, build_entries(rows, extras if source == "inspector" else None))
    scores: dict[str, Decimal | None] = {}
    for row in rows:
        item = result.items.get(row.item_code)
        # Stored as its column holds it: two decimals, half up. PostgreSQL's numeric(7, 2) rounded 4.125
        # itself; SQLite kept the REAL, which the API, the export and the stored text rendered differently.
        new = cents(item.score) if item and item.score is not None else None
        if new != row.score:
            scores[row.item_code] = row.score = new
    if source != "inspector":
        return Scored(result, {"self_total": result.total}, scores)
    scored = sum(1 for r in result.items.values() if r.scored)
    values = {
        "total": result.total,
        "band_stars": result.band_stars,
        "stars": result.stars,
        "vetoed": result.vetoed,
        "designated": result.designated,
        "items_total": len(result.items),
        "items_scored": min(scored, len(result.items)),
        "explanation": explanation_json(result),
    }
    return Scored(result, values, scores)


def with_entries_text(scored: Scored, source: str, rows: Sequence[EntryState]) -> Scored:
    """``scored`` with the source's entries text, built from `rows` as they will be stored (scored, stamped)."""
    key = "inspector_entries_json" if source == "inspector" else "self_entries_json"
    return Scored(scored.result, {**scored.values, key: entries_json.entries_text(rows)}, scored.scores)


def store_scored(
    session: Session,
    assessment: Assessment,
    rows: Sequence[ScoreEntry],
    scored: Scored,
    *,
    write_all: bool = False,
) -> None:
    """Writes a ``Scored`` onto the assessment and its loaded entry rows, the inspector's stars capped by a
    weak-branch listing. Only changed values become UPDATEs, as the session knows the row; `write_all`
    writes every scored column even when it equals the loaded value: for an assessment read by another
    transaction, whose loaded values may be older than the stored ones (a weak listing's cap or release
    changes the stars without a new version)."""
    for row in rows:
        if row.item_code in scored.scores:
            row.score = scored.scores[row.item_code]
    values = values_to_store(session, assessment, scored)
    for key, value in values.items():
        setattr(assessment, key, value)
    if write_all:
        for key in values:
            flag_modified(assessment, key)
    session.add(assessment)


def values_to_store(session: Session, assessment: Assessment, scored: Scored) -> dict[str, Any]:
    """The assessment's columns a ``Scored`` sets: its values, with the inspector's stars capped by the
    three-star block of a weak-branch listing (app.dynamic) and a step in the explanation saying why. Not
    audited here: it is re-applied on every recompute; finalize audits it. Reads only."""
    from app.dynamic.weak_cap import STEP_KIND, WEAK_CAP_STARS, weak_star_cap

    values = scored.values
    stars = values.get("stars")
    if stars is None or stars <= WEAK_CAP_STARS:
        return values  # the cap can only lower stars above it: no need to look for a listing
    cap, why = weak_star_cap(session, branch_id=assessment.branch_id, year=assessment.year)
    if cap is None or stars <= cap:
        return values
    step = {"kind": STEP_KIND, "code": None, "text": why, "value": str(cap)}
    return {**values, "stars": cap, "explanation": [*values["explanation"], step]}


def recompute(session: Session, assessment: Assessment, cs: CriteriaSet | None = None) -> Result:
    """Scores the inspector's entries and stores totals, stars and the explanation on the assessment,
    and each item's score on its entry row (same transaction as the change that caused it)."""
    return _recompute(session, assessment, "inspector", cs)


def recompute_self(session: Session, assessment: Assessment, cs: CriteriaSet | None = None) -> Result:
    """Scores the branch's self-assessment and stores its total."""
    return _recompute(session, assessment, "self", cs)


def _recompute(session: Session, assessment: Assessment, source: str, cs: CriteriaSet | None) -> Result:
    cs = cs or criteria_of(session, assessment)
    rows = entry_rows(session, assessment.id or 0, source)
    states = [EntryState.of(r) for r in rows]
    scored = with_entries_text(score_entries(cs, source, states, assessment.extras), source, states)
    store_scored(session, assessment, rows, scored)
    return scored.result


def explanation_json(result: Result) -> list[dict[str, Any]]:
    """`result.to_json()["explanation"]` without serialising the whole result (items, categories …)."""
    return [
        {"kind": s.kind, "code": s.code, "text": s.text, "value": _plain_value(s.value)}
        for s in result.explanation
    ]


def _plain_value(value: Any) -> Any:
    return dec_str(value) if isinstance(value, Decimal) else value


def store_entries_text(assessment: Assessment, source: str, rows: Sequence[ScoreEntry]) -> None:
    """The source's entries as the JSON text the NDJSON export passes through, stored on the assessment
    in the same transaction as the entries. `rows` are all of the source's rows, flushed or pending, with
    their scores set: every value in the text is the one being stored (no server-side defaults)."""
    text = entries_json.entries_text(rows)
    if source == "inspector":
        assessment.inspector_entries_json = text
    else:
        assessment.self_entries_json = text


def result_of(session: Session, assessment: Assessment, cs: CriteriaSet | None = None) -> Result:
    """The engine's full result for the inspector's entries (not persisted)."""
    cs = cs or criteria_of(session, assessment)
    entries = build_entries(entry_rows(session, assessment.id or 0, "inspector"), assessment.extras)
    return _score(cs, entries)


def results_for(session: Session, cs: CriteriaSet, rows: list[Assessment]) -> dict[int, Result]:
    """`result_of` for many assessments under one set, their inspector entries loaded in few queries."""
    by_assessment: dict[int, list[ScoreEntry]] = {a.id or 0: [] for a in rows}
    ids = list(by_assessment)
    for start in range(0, len(ids), 500):
        stmt = select(ScoreEntry).where(
            col(ScoreEntry.assessment_id).in_(ids[start : start + 500]), ScoreEntry.source == "inspector"
        )
        for row in session.exec(stmt):
            by_assessment[row.assessment_id].append(row)
    return {a.id or 0: _score(cs, build_entries(by_assessment[a.id or 0], a.extras)) for a in rows}


def self_result_of(session: Session, assessment: Assessment, cs: CriteriaSet | None = None) -> Result:
    """The engine's result for the branch's self-assessment (not persisted)."""
    cs = cs or criteria_of(session, assessment)
    return _score(cs, build_entries(entry_rows(session, assessment.id or 0, "self"), None))


def describe_entry(cs: CriteriaSet, item_code: str | None, entry: dict[str, Any] | None) -> str:
    """A stored item entry in words, for people (audit trail, conflict notices)."""
    if entry is None:
        return "（未录入）"
    leaf = cs.find_item(item_code or "")
    try:
        parsed = ItemEntry.from_json(entry)
    except EntriesError:
        return "（格式有误）"
    presets = {}
    if leaf is not None:
        item = leaf.item
        for p in (*item.deductions, *getattr(item, "awards", ())):
            presets[p.code] = p
    parts: list[str] = []
    if parsed.points is not None:
        parts.append(f"得分 {dec_str(parsed.points)}")
    for hit in parsed.deductions:
        preset = presets.get(hit.code)
        if preset is None:
            parts.append(f"{hit.code} × {dec_str(hit.count)}")
            continue
        sign = "+" if leaf and getattr(leaf.item, "mode", "") == "additive" else "－"
        times = "" if preset.kind == "fixed" else f" {dec_str(hit.count)} {preset.unit_label}"
        amount = preset.points * hit.count
        if preset.cap is not None:
            amount = min(amount, preset.cap)
        parts.append(f"{preset.text}{times}（{sign}{dec_str(amount)}）")
    for disc in parsed.discretionary:
        parts.append(f"酌情扣 {dec_str(disc.points)} 分（理由：{disc.reason}）")
    if not parts:
        return (
            "已核查，无扣分"
            if leaf is None or getattr(leaf.item, "mode", "deductive") != "points"
            else "（未评分）"
        )
    return "；".join(parts)


def needs_evidence(leaf: LeafItem, res: ItemResult | None) -> bool:
    """Whether an item must carry evidence: category items when the set says so; bonus and penalty
    items only when something was claimed there (nobody photographs a reprimand that never happened)."""
    if not leaf.item.evidence_required:
        return False
    if leaf.section == "category":
        return True
    if res is None or not res.scored:
        return False
    return (res.lost if leaf.section == "penalty" else res.score) > 0


# -- the scorecard read model ------------------------------------------------------------------

GAP_SHARE = Decimal("0.2")  # a self-assessment this far (share of the item max) from the score is flagged


@dataclass
class CardItem:
    """One leaf of the scorecard with what the card shows beside it."""

    leaf: LeafItem
    row: ScoreEntry | None
    result: ItemResult | None
    self_score: Decimal | None = None
    gap: Decimal | None = None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.leaf.item.code

    @property
    def item(self) -> Item | PenaltyItem:
        return self.leaf.item

    @property
    def mode(self) -> str:
        item = self.leaf.item
        return item.mode if isinstance(item, Item) else "deductive"

    @property
    def gap_flag(self) -> bool:
        top = self.result.max if self.result else Decimal(0)
        return self.gap is not None and top > 0 and abs(self.gap) >= top * GAP_SHARE

    @property
    def evidence_missing(self) -> bool:
        return needs_evidence(self.leaf, self.result) and not self.evidence

    @property
    def entry(self) -> dict[str, Any]:
        return dict(self.row.entry) if self.row else {}

    @property
    def version(self) -> int:
        return self.row.version if self.row else 0

    def public(self, updated_by: str | None) -> dict[str, Any]:
        return {
            "item_code": self.code,
            "name": self.leaf.item.name,
            "section": self.leaf.section,
            "category": self.leaf.category.code if self.leaf.category else None,
            "mode": self.mode,
            "max": self.result.max if self.result else None,
            "entry": self.row.entry if self.row else None,
            "note": self.row.note if self.row else None,
            "version": self.version,
            "score": self.result.score if self.result else None,
            "scored": bool(self.result and self.result.scored),
            "problems": list(self.result.problems) if self.result else [],
            "self_score": self.self_score,
            "gap_flagged": self.gap_flag,
            "updated_by": updated_by,
            "updated_at": self.row.updated_at if self.row else None,
            "evidence_required": self.leaf.item.evidence_required,
            "evidence": [evidence_public(e) for e in self.evidence],
        }


@dataclass
class CardGroup:
    key: str
    title: str
    max: Decimal | None
    sheet: str | None
    items: list[CardItem]


@dataclass
class Card:
    assessment: Assessment
    cs: CriteriaSet
    source: str
    result: Result
    groups: list[CardGroup]
    users: dict[int, str]

    def items(self) -> list[CardItem]:
        return [ci for g in self.groups for ci in g.items]

    def find(self, code: str) -> CardItem | None:
        return next((ci for ci in self.items() if ci.code == code), None)

    def updated_by(self, ci: CardItem) -> str | None:
        if ci.row is None or ci.row.updated_by_id is None:
            return None
        return self.users.get(ci.row.updated_by_id)


def evidence_public(e: Evidence) -> dict[str, Any]:
    return {
        "id": e.id,
        "item_code": e.item_code,
        "filename": e.filename,
        "content_type": e.content_type,
        "size": e.size,
        "has_thumbnail": e.has_thumbnail,
        "url": f"/evidence/{e.id}",
        "thumbnail_url": f"/evidence/{e.id}/thumb" if e.has_thumbnail else None,
        "uploaded_at": e.uploaded_at,
    }


def live_evidence(session: Session, assessment_id: int, item_code: str | None = None) -> list[Evidence]:
    """The assessment's (or one item's) evidence not deleted, for display: read with a Core statement into
    transient ``Evidence`` objects, in no session (never ``session.add`` one: it would be inserted again).
    An item save reads its item's, usually none, and the ORM query cost 0.26 ms even then."""
    if item_code is None:
        rows = session.execute(_LIVE_EVIDENCE, {"aid": assessment_id})
    else:
        rows = session.execute(_LIVE_ITEM_EVIDENCE, {"aid": assessment_id, "code": item_code})
    return [Evidence(**row._mapping) for row in rows]


def card(session: Session, assessment: Assessment, source: str, only: str | None = None) -> Card:
    """Everything the scorecard shows for one source ('inspector' or 'self'); `only` limits it to one item."""
    cs = criteria_of(session, assessment)
    aid = assessment.id or 0
    rows = {r.item_code: r for r in entry_rows(session, aid, source)}
    extras = assessment.extras if source == "inspector" else None
    result = _score(cs, build_entries(list(rows.values()), extras))
    self_result = None
    if source == "inspector" and cs.self_assessment:
        self_rows = entry_rows(session, aid, "self")
        if self_rows:
            self_result = _score(cs, build_entries(self_rows, None))
    evidence: dict[str | None, list[Evidence]] = {}
    for e in live_evidence(session, aid, only):
        evidence.setdefault(e.item_code, []).append(e)
    user_ids = {r.updated_by_id for r in rows.values() if r.updated_by_id}
    users: dict[int, str] = {}
    if user_ids:
        stmt = select(User.id, User.display_name).where(col(User.id).in_(user_ids))
        users = {uid: name for uid, name in session.exec(stmt) if uid is not None}
    groups: dict[str, CardGroup] = {}
    for leaf in cs.items():
        code = leaf.item.code
        if only is not None and code != only:
            continue
        res = result.items.get(code)
        ci = CardItem(leaf, rows.get(code), res, evidence=evidence.get(code, []))
        if self_result is not None:
            _set_self(ci, self_result.items.get(code))
        _group_of(groups, cs, leaf).items.append(ci)
    return Card(assessment, cs, source, result, list(groups.values()), users)


def _set_self(ci: CardItem, sres: ItemResult | None) -> None:
    if sres is not None and sres.scored:
        ci.self_score = sres.score
        if ci.result is not None and ci.result.scored:
            ci.gap = ci.result.score - sres.score


def _group_of(groups: dict[str, CardGroup], cs: CriteriaSet, leaf: LeafItem) -> CardGroup:
    """The card group a leaf belongs to (created on first use)."""
    if leaf.section == "category" and leaf.category is not None:
        cat = leaf.category
        key = f"cat-{cat.code}"
        title = f"{cat.code} {cat.name}"
        if leaf.sheet is not None:
            title = f"{leaf.sheet.name} · {title}"
        return groups.setdefault(
            key, CardGroup(key, title, cat.max, leaf.sheet.code if leaf.sheet else None, [])
        )
    if leaf.section == "bonus":
        cap = cs.bonus.cap if cs.bonus else None
        return groups.setdefault("bonus", CardGroup("bonus", "加分项", cap, None, []))
    cap = cs.penalties.cap if cs.penalties else None
    return groups.setdefault("penalty", CardGroup("penalty", "减分项", cap, None, []))


@dataclass(frozen=True)
class ItemContext:
    """What an item's card shows beside its own entry: its evidence and, on the inspector's card, the
    item's self-assessment entry (None: none, or not shown)."""

    evidence: list[Evidence]
    self_entry: EntryState | None


def item_context(
    session: Session, assessment: Assessment, cs: CriteriaSet, item_code: str, source: str
) -> ItemContext:
    """The item's evidence and (inspector, under a criteria set with self-assessment) its self entry."""
    aid = assessment.id or 0
    self_entry = None
    if source == "inspector" and cs.self_assessment:
        found = session.execute(_ITEM_STATE, {"aid": aid, "source": "self", "code": item_code}).first()
        self_entry = EntryState(*found) if found is not None else None
    return ItemContext(live_evidence(session, aid, item_code), self_entry)


def saved_card(
    session: Session,
    assessment: Assessment,
    cs: CriteriaSet,
    row: ScoreEntry,
    result: Result,
    context: ItemContext,
    known_users: dict[int, str] | None = None,
) -> Card:
    """The one-item card that answers a save, built from the save's own row and result (no second read of
    the entries, no second scoring) and the item's context (`item_context`, read in the save's
    transaction; the save does not change it): what
    `card(..., only=row.item_code)` shows. `known_users` (id → display name: the saver) spares the lookup
    of who last wrote the row; `session` is read only when that is someone else (a retry that changed
    nothing, of another user's value)."""
    leaf = cs.find_item(row.item_code)
    assert leaf is not None
    ci = CardItem(leaf, row, result.items.get(row.item_code), evidence=context.evidence)
    if context.self_entry is not None:
        _set_self(ci, score_item(cs, leaf, _entry_or_none(context.self_entry)))
    users: dict[int, str] = {}
    by = row.updated_by_id
    if by is not None and known_users and by in known_users:
        users[by] = known_users[by]
    elif by is not None:
        user = session.get(User, by)
        if user is not None:
            users[by] = user.display_name
    groups: dict[str, CardGroup] = {}
    _group_of(groups, cs, leaf).items.append(ci)
    return Card(assessment, cs, row.source, result, list(groups.values()), users)


def _entry_or_none(row: EntryRow) -> ItemEntry | None:
    try:
        return ItemEntry.from_json(row.entry)
    except EntriesError:
        return None  # as build_entries: a bad stored row counts as not entered


def totals_public(assessment: Assessment, result: Result, source: str) -> dict[str, Any]:
    """The running total the sticky bar shows (and its JSON twin)."""
    scored = sum(1 for r in result.items.values() if r.scored)
    return {
        "assessment_id": assessment.id,
        "source": source,
        "status": assessment.status,
        "version": assessment.version,
        "total": result.total,
        "max_total": result.max_total,
        "band_stars": result.band_stars,
        "stars": result.stars,
        "vetoed": result.vetoed,
        "designated": result.designated,
        "items_scored": scored,
        "items_total": len(result.items),
        "missing": len([m for m in result.missing if m != "appraisal"]),
        "appraisal_missing": "appraisal" in result.missing,
        "complete": result.complete,
    }
