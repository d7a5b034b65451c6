"""Item saves with every entry kind, their refusals, versions, locks, self-assessment, submission, audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, col, func, select

from app.assessments import scoring, service, workflow
from app.assessments.models import Assessment, ScoreEntry
from app.assessments.schemas import ExtrasSave, ItemSave
from app.audit.models import AuditEvent
from app.errors import Conflict, Forbidden, Locked, NotFound, ValidationFailed
from tests.assessments.helpers import actor, fresh_assessment, new_branch, score_everything


def _a(db: Session, aid: int) -> Assessment:
    a = db.get(Assessment, aid)
    assert a is not None
    return a


def _save(db: Session, who: service.Actor, a: Assessment, code: str, entry: dict, version: int = 0, **kw):  # type: ignore[no-untyped-def]
    return service.save_item(
        db,
        actor=who,
        assessment=a,
        item_code=code,
        source=kw.pop("source", "inspector"),
        data=ItemSave(entry=entry, version=version, **kw),
    )


def _events(db: Session, aid: int, action: str) -> int:
    stmt = (
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.assessment_id == aid, AuditEvent.action == action)
    )
    return int(db.exec(stmt).one())


@pytest.fixture()
def fresh(db: Session) -> Assessment:
    aid, _code = fresh_assessment()
    return _a(db, aid)


@pytest.fixture()
def inspector(db: Session) -> service.Actor:
    return actor(db, "inspector_qs1")


def test_points_entry_saves_recomputes_and_starts_scoring(db: Session, fresh: Assessment, inspector) -> None:  # type: ignore[no-untyped-def]
    before = fresh.total
    row, result = _save(db, inspector, fresh, "A4", {"points": "2"}, note="后备人才 2 名")
    assert row.version == 1 and row.score == Decimal(2) and row.note == "后备人才 2 名"
    assert result.items["A4"].score == 2
    assert fresh.status == "scoring" and fresh.inspector_id == inspector.user_id
    assert fresh.total == before + 2  # an unscored points item counts 0
    assert fresh.items_scored == 1


def test_deductive_entry_with_presets_counts_and_a_discretionary_reason(
    db: Session, fresh, inspector
) -> None:  # type: ignore[no-untyped-def]
    entry = {
        "deductions": [{"code": "B1a", "count": "2"}, {"code": "B1d", "count": "1"}],
        "discretionary": [{"points": "0.5", "reason": "党课记录缺主讲人"}],
    }
    row, result = _save(db, inspector, fresh, "B1", entry)
    assert result.items["B1"].score == Decimal("4.5")  # 8 - 2 - 1 - 0.5
    assert row.entry["deductions"][0] == {"code": "B1a", "count": "2"}
    # per_unit takes fractions; preset caps apply (B2a: 0.5 a month, at most 5)
    _row, result = _save(db, inspector, fresh, "B2", {"deductions": [{"code": "B2a", "count": "1.5"}]})
    assert result.items["B2"].score == Decimal("4.25")


def test_bonus_award_and_penalty_change_the_total(db: Session, fresh, inspector) -> None:  # type: ignore[no-untyped-def]
    _save(db, inspector, fresh, "A4", {"points": "3"})
    base = fresh.total
    _r, result = _save(db, inspector, fresh, "J1", {"deductions": [{"code": "J1b", "count": "2"}]})
    assert result.items["J1"].score == 6 and fresh.total == base + 6
    _r, result = _save(db, inspector, fresh, "K1", {"deductions": [{"code": "K1a", "count": "1"}]})
    assert result.items["K1"].lost == 2 and fresh.total == base + 4


@pytest.mark.parametrize(
    ("code", "entry", "message"),
    [
        ("A4", {"points": "5"}, "超出范围"),
        ("A4", {"points": "-1"}, "超出范围"),
        ("E1", {"points": "1.3"}, "整数倍"),
        ("A1", {"deductions": [{"code": "ZZ9", "count": "1"}]}, "ZZ9"),
        ("A1", {"deductions": [{"code": "A1b", "count": "2"}]}, "固定扣分"),
        ("A1", {"discretionary": [{"points": "1", "reason": "  "}]}, "须写明理由"),
        ("A1", {"discretionary": [{"points": "3", "reason": "超过上限"}]}, "超过上限"),
        ("A2", {"discretionary": [{"points": "1", "reason": "不允许"}]}, "不允许酌情扣分"),
        ("A4", {"deductions": [{"code": "A1b", "count": "1"}]}, "不能录入扣分"),
        ("A1", {"points": "3"}, "不能直接填写得分"),
        ("A1", {"bogus": 1}, "录入格式有误"),
    ],
)
def test_invalid_entries_are_refused_in_chinese(db: Session, fresh, inspector, code, entry, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        _save(db, inspector, fresh, code, entry)
    text = exc.value.detail + "".join(exc.value.field_errors.values())
    assert message in text
    assert db.exec(select(ScoreEntry).where(ScoreEntry.assessment_id == fresh.id)).first() is None


def test_unknown_item_is_not_found(db: Session, fresh, inspector) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        _save(db, inspector, fresh, "NOPE", {"points": "1"})


def test_stale_version_conflicts_with_the_current_value_and_changes_nothing(
    db: Session, fresh, inspector
) -> None:  # type: ignore[no-untyped-def]
    _save(db, inspector, fresh, "A4", {"points": "2"})
    _save(db, inspector, fresh, "A4", {"points": "3"}, version=1)
    db.commit()
    total, audits = fresh.total, _events(db, fresh.id or 0, "score.inspector")
    with pytest.raises(Conflict) as exc:
        _save(db, actor(db, "admin"), fresh, "A4", {"points": "1"}, version=1)
    current = exc.value.extra["current"]
    assert current["entry"] == {"points": "3"} and current["version"] == 2
    assert current["updated_by"] == "评审员甲"
    db.rollback()
    row = db.exec(
        select(ScoreEntry).where(ScoreEntry.assessment_id == fresh.id, ScoreEntry.item_code == "A4")
    ).one()
    assert row.entry == {"points": "3"} and row.version == 2
    assert _a(db, fresh.id or 0).total == total
    assert _events(db, fresh.id or 0, "score.inspector") == audits


def test_a_retried_write_that_already_landed_is_not_a_conflict(db: Session, fresh, inspector) -> None:  # type: ignore[no-untyped-def]
    _save(db, inspector, fresh, "A4", {"points": "2"}, note="n")
    row, _ = _save(db, inspector, fresh, "A4", {"points": "2"}, note="n")  # same content, old version 0
    assert row.version == 1
    row, _ = _save(db, inspector, fresh, "A4", {"points": "2"}, version=1, note="n")  # the same value twice
    assert row.version == 1
    assert _events(db, fresh.id or 0, "score.inspector") == 1


def test_one_audit_event_per_accepted_save(db: Session, fresh, inspector) -> None:  # type: ignore[no-untyped-def]
    _save(db, inspector, fresh, "A4", {"points": "1"})
    _save(db, inspector, fresh, "A4", {"points": "2"}, version=1)
    with pytest.raises(ValidationFailed):
        _save(db, inspector, fresh, "A4", {"points": "9"}, version=2)
    _save(db, inspector, fresh, "B1", {})
    events = list(
        db.exec(
            select(AuditEvent)
            .where(AuditEvent.assessment_id == fresh.id, AuditEvent.action == "score.inspector")
            .order_by(col(AuditEvent.id))
        )
    )
    assert [(e.item_code, (e.old or {}).get("entry"), e.new["entry"]) for e in events] == [
        ("A4", None, {"points": "1"}),
        ("A4", {"points": "1"}, {"points": "2"}),
        ("B1", None, {}),
    ]
    assert all(e.actor_label == "评审员甲" for e in events)


@pytest.mark.parametrize("status", ["submitted", "reviewed", "publicized", "final"])
def test_scores_are_locked_after_submission_and_review(db: Session, fresh, inspector, status) -> None:  # type: ignore[no-untyped-def]
    fresh.status = status
    fresh.final_stars = 3 if status == "final" else None
    with pytest.raises(Locked):
        _save(db, inspector, fresh, "A4", {"points": "1"})


def test_only_inspectors_score_and_only_in_their_scope(db: Session, fresh) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        _save(db, actor(db, "county_qs"), fresh, "A4", {"points": "1"})
    with pytest.raises(NotFound):
        service.get(db, assessment_id=fresh.id or 0, scope=actor(db, "inspector_qs2").scope)
    service.get(db, assessment_id=fresh.id or 0, scope=actor(db, "inspector_qs1").scope)


def test_branch_self_assesses_only_its_own_branch_and_only_in_draft(db: Session, fresh) -> None:  # type: ignore[no-untyped-def]
    own = service.Actor(None, "书记", "branch", service.Scope(0, fresh.region_path, "村", fresh.branch_id))
    row, _ = _save(db, own, fresh, "A4", {"points": "3"}, source="self")
    assert row.source == "self" and fresh.self_total is not None and fresh.status == "draft"
    with pytest.raises(Forbidden):  # not the inspector's entries
        _save(db, own, fresh, "A4", {"points": "3"})
    other = service.Actor(
        None, "书记", "branch", service.Scope(0, fresh.region_path, "村", fresh.branch_id + 1)
    )
    with pytest.raises(Forbidden):
        _save(db, other, fresh, "A4", {"points": "2"}, version=1, source="self")
    with pytest.raises(NotFound):
        service.get(db, assessment_id=fresh.id or 0, scope=other.scope)
    workflow.self_submit(db, actor=own, a=fresh)
    with pytest.raises(Locked):
        _save(db, own, fresh, "A4", {"points": "2"}, version=1, source="self")


def test_submit_is_blocked_with_the_list_of_problems(db: Session, fresh, inspector) -> None:  # type: ignore[no-untyped-def]
    _save(db, inspector, fresh, "A4", {"points": "3"})
    with pytest.raises(ValidationFailed) as exc:
        workflow.submit(db, actor=inspector, a=fresh)
    problems = exc.value.extra["problems"]
    assert "“书记队伍（头雁工程）”尚未评分" in problems
    assert "“村级后备人才”须上传佐证材料" in problems
    # nothing claimed in the bonus and penalty items: no evidence asked for them
    assert not any("被上级通报批评" in p or "获得表彰" in p for p in problems)
    assert fresh.status == "scoring"


def test_a_complete_scoring_submits_and_is_then_read_only(db: Session, fresh, inspector) -> None:  # type: ignore[no-untyped-def]
    score_everything(db, who=inspector, a=fresh)
    assert workflow.submission_problems(db, fresh) == []
    workflow.submit(db, actor=inspector, a=fresh)
    assert fresh.status == "submitted" and fresh.submitted_at is not None
    mode = service.card_mode(inspector, fresh, True)
    assert not mode.editable
    with pytest.raises(Locked):
        _save(db, inspector, fresh, "A4", {"points": "1"}, version=1)


def test_extras_need_reasons_and_survive_a_status_bump(db: Session, fresh, inspector) -> None:  # type: ignore[no-untyped-def]
    seen = dict(fresh.extras)
    version = fresh.version
    _save(db, inspector, fresh, "A4", {"points": "3"})  # draft → scoring bumps the version
    assert fresh.version == version + 1
    with pytest.raises(ValidationFailed):
        service.save_extras(
            db,
            actor=inspector,
            assessment=fresh,
            data=ExtrasSave(vetoes={"V03": " "}, version=version),
            base=seen,
        )
    result = service.save_extras(
        db,
        actor=inspector,
        assessment=fresh,
        data=ExtrasSave(vetoes={"V03": "仓库火灾"}, prerequisites=["P01"], version=version),
        base=seen,
    )
    assert result.vetoed and fresh.vetoed and fresh.stars is not None and fresh.stars <= 2
    with pytest.raises(Conflict):  # based on what it saw before the veto
        service.save_extras(
            db, actor=inspector, assessment=fresh, data=ExtrasSave(version=version), base=seen
        )
    with pytest.raises(Forbidden):
        service.save_extras(
            db,
            actor=inspector,
            assessment=fresh,
            data=ExtrasSave(
                vetoes={"V03": "仓库火灾"},
                prerequisites=["P01"],
                designation={"stars": 5, "reason": "x", "document": "y"},
                version=fresh.version,
            ),
        )


def test_inspection_list_puts_unvisited_first_and_offers_to_start(db: Session) -> None:
    branch = new_branch(db)
    rows, counts, cut = service.inspection_list(db, scope=actor(db, "inspector_qs1").scope, year=2026)
    assert not cut and counts.get("none", 0) >= 1
    mine = next(r for r in rows if r.branch.id == branch.id)
    assert mine.assessment is None and mine.can_start
    order = [service.VISIT_ORDER.get(r.assessment.status, 4) if r.assessment else 0 for r in rows]
    assert order == sorted(order)
    only_new, _c, _cut = service.inspection_list(
        db, scope=actor(db, "inspector_qs1").scope, year=2026, status="none", q=branch.name
    )
    assert [r.branch.id for r in only_new] == [branch.id]
    other, _c, _cut = service.inspection_list(
        db, scope=actor(db, "inspector_qs2").scope, year=2026, q=branch.name
    )
    assert other == []
    a = service.start(db, actor=actor(db, "inspector_qs1"), branch_code=branch.code, year=2026)
    assert a.status == "draft" and a.items_total > 20
    with pytest.raises(NotFound):
        service.start(db, actor=actor(db, "inspector_qs2"), branch_code=branch.code, year=2026)
    with pytest.raises(Forbidden):
        service.start(db, actor=actor(db, "county_qs"), branch_code=branch.code, year=2026)


def test_card_flags_large_gaps_from_the_self_assessment(db: Session, fresh, inspector) -> None:  # type: ignore[no-untyped-def]
    own = service.Actor(None, "书记", "branch", service.Scope(0, fresh.region_path, "村", fresh.branch_id))
    _save(db, own, fresh, "A4", {"points": "3"}, source="self")
    _save(db, own, fresh, "E1", {"points": "4"}, source="self")
    _save(db, inspector, fresh, "A4", {"points": "1"})  # gap 2 of 3 ≥ 20 %
    _save(db, inspector, fresh, "E1", {"points": "3.5"})  # gap 0.5 of 4 < 20 %
    card = scoring.card(db, fresh, "inspector")
    a4, e1 = card.find("A4"), card.find("E1")
    assert a4 is not None and e1 is not None
    assert a4.self_score == 3 and a4.gap == -2 and a4.gap_flag
    assert e1.self_score == 4 and not e1.gap_flag
    assert card.find("A1") is not None and card.find("A1").self_score is None  # type: ignore[union-attr]


def test_entries_loaded_before_a_save_are_read_again_as_written(db: Session, fresh, inspector) -> None:  # type: ignore[no-untyped-def]
    # The save writes entry rows with Core statements: ORM rows this session had loaded must not keep
    # showing the old values (a service that reads the entries, saves, then recomputes).
    _save(db, inspector, fresh, "A4", {"points": "1"}, note="一")
    loaded = {r.item_code: r for r in scoring.entry_rows(db, fresh.id or 0, "inspector")}
    assert loaded["A4"].version == 1 and loaded["A4"].note == "一"
    _save(db, inspector, fresh, "A4", {"points": "3"}, version=1, note="三")
    again = {r.item_code: r for r in scoring.entry_rows(db, fresh.id or 0, "inspector")}
    assert again["A4"] is loaded["A4"]  # the same identity …
    assert (again["A4"].version, again["A4"].note, again["A4"].score) == (2, "三", Decimal(3))  # … reloaded
    db.expire_all()
    stored = _a(db, fresh.id or 0)
    result = scoring.recompute(db, stored)
    assert result.items["A4"].score == 3 and stored.total == fresh.total


def test_the_saved_totals_are_the_stored_ones(db: Session, fresh, inspector) -> None:  # type: ignore[no-untyped-def]
    row, _result = _save(db, inspector, fresh, "A4", {"points": "2"}, note="n")
    _save(db, inspector, fresh, "B1", {})
    answered = (fresh.total, fresh.stars, fresh.items_scored, fresh.inspector_entries_json)
    db.commit()
    db.expire_all()
    stored = _a(db, fresh.id or 0)
    assert (stored.total, stored.stars, stored.items_scored, stored.inspector_entries_json) == answered
    assert stored.explanation == scoring.explanation_json(scoring.result_of(db, stored))
    entry = scoring.entry_row(db, fresh.id or 0, "inspector", "A4")
    assert entry is not None and (entry.id, entry.version, entry.score) == (row.id, 1, Decimal(2))
