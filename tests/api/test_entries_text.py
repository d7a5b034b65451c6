"""The entry texts stored on each assessment (app.assessments.entries_json, written by scoring.recompute /
recompute_self) equal what the NDJSON export's database-side builder makes of score_entry: after every
kind of entry write, for every assessment that has one. Byte for byte on SQLite (the export's lines must
not change); as JSON values on PostgreSQL (its builder spaces and orders keys its own way)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlmodel import Session, col

from app.api import ndjson
from app.assessments import scoring, service
from app.assessments.models import Assessment, ScoreEntry
from app.assessments.schemas import ExtrasSave, ItemSave
from app.audit import service as audit
from tests.assessments.helpers import actor, new_branch, score_everything

ODD = '退回："补充材料"\n\\ 第二行\t😀 </script>\x01'


def _stored_and_built(db: Session, *where: Any) -> list[tuple[int, str | None, str | None, str, str]]:
    built = ndjson.built_entries(ndjson.dialect_of(db))
    stmt = select(col(Assessment.id), *ndjson.STORED, *built).where(*where).order_by(col(Assessment.id))
    return [tuple(r) for r in db.execute(stmt)]  # type: ignore[misc]


def _assert_same(db: Session, rows: list[tuple[int, str | None, str | None, str, str]]) -> int:
    """Every stored text equals the built one; returns how many texts were compared."""
    sqlite = db.get_bind().dialect.name == "sqlite"
    n = 0
    for aid, *texts in rows:
        for stored, built in zip(texts[:2], texts[2:], strict=True):
            if stored is None:
                continue
            n += 1
            if sqlite:
                assert stored == built, f"assessment {aid}"
            else:
                assert json.loads(stored) == json.loads(built), f"assessment {aid}"
    return n


def _save(
    db: Session, who: service.Actor, a: Assessment, code: str, entry: dict[str, Any], **kw: Any
) -> None:
    row = scoring.entry_row(db, a.id or 0, kw.get("source", "inspector"), code)
    service.save_item(
        db,
        actor=who,
        assessment=a,
        item_code=code,
        source=kw.pop("source", "inspector"),
        data=ItemSave(entry=entry, version=row.version if row else 0, **kw),
    )


def test_every_kind_of_entry_write_stores_the_built_text(db: Session) -> None:
    """Inside one transaction, rolled back at the end."""
    try:
        inspector = actor(db, "inspector_qs1")
        branch = new_branch(db)
        a = service.ensure_for_year(db, branch=branch, year=2026, actor=audit.SYSTEM)  # creation: recompute
        db.flush()
        assert a.inspector_entries_json == "[]" and a.self_entries_json is None
        own = service.Actor(None, "书记", "branch", service.Scope(0, a.region_path, "村", a.branch_id))
        _save(db, own, a, "A4", {"points": "3"}, source="self", note=ODD)  # self: new row
        _save(db, own, a, "A4", {"points": "2"}, source="self")  # self: update (version 2, no note)
        _save(
            db,
            own,
            a,
            "B1",
            {"discretionary": [{"points": "0.5", "reason": "记录缺“主讲人”"}]},
            source="self",
        )
        _save(
            db, inspector, a, "A4", {"points": "2"}, note="后备人才 2 名"
        )  # inspector: new, draft → scoring
        _save(db, inspector, a, "A4", {"points": "2"}, note="后备人才 2 名")  # a retry: nothing written
        _save(db, inspector, a, "A4", {"points": "1"}, note=ODD)  # inspector: update
        entry = {
            "deductions": [{"code": "B1a", "count": "2"}, {"code": "B1d", "count": "1"}],
            "discretionary": [{"points": "0.5", "reason": "党课记录缺主讲人"}],
        }
        _save(db, inspector, a, "B1", entry)
        _save(db, inspector, a, "B2", {"deductions": [{"code": "B2a", "count": "1.5"}]})  # 4.25
        _save(db, inspector, a, "K1", {})  # a penalty item with nothing: score -0 → "0.00"
        # A fraction of a cent: stored as its column holds it (two decimals, half up), so the stored text,
        # the database builder and the API agree (-0.004 was "0.00" in one and "-0.00" in the others).
        _save(db, inspector, a, "K2", {"discretionary": [{"points": "0.004", "reason": "小数"}]})
        _save(db, inspector, a, "J1", {"deductions": [{"code": "J1b", "count": "2"}]})  # bonus
        db.flush()
        assert _assert_same(db, _stored_and_built(db, col(Assessment.id) == a.id)) == 2
        inspector_entries = json.loads(a.inspector_entries_json or "")
        self_entries = json.loads(a.self_entries_json or "")
        codes = [e["item_code"] for e in inspector_entries]
        assert codes == sorted(codes) and {"A4", "B1", "B2", "K1", "K2", "J1"} <= set(codes)
        by_code = {e["item_code"]: e for e in inspector_entries}
        assert (by_code["A4"]["version"], by_code["A4"]["note"], by_code["A4"]["score"]) == (2, ODD, "1.00")
        assert (by_code["B2"]["score"], by_code["K1"]["score"], by_code["K2"]["score"]) == (
            "4.25",
            "0.00",
            "0.00",
        )
        k2 = scoring.entry_row(db, a.id or 0, "inspector", "K2")
        assert k2 is not None and k2.score == 0 and str(k2.score) in ("0", "0.00")
        assert [(e["item_code"], e["version"], e["note"]) for e in self_entries] == [
            ("A4", 2, None),
            ("B1", 1, None),
        ]
        score_everything(db, who=inspector, a=a)  # every category item (and evidence uploads)
        service.save_extras(  # extras: recompute with the same entries
            db,
            actor=inspector,
            assessment=a,
            data=ExtrasSave(vetoes={"V03": "仓库火灾"}, prerequisites=["P01"], version=a.version),
        )
        scoring.recompute(db, a)  # e.g. a weak-branch cap lifted (app.dynamic.rectification)
        db.flush()
        assert _assert_same(db, _stored_and_built(db, col(Assessment.id) == a.id)) == 2
        assert len(json.loads(a.inspector_entries_json or "")) > 10
        # Every assessment of the database that has a stored text (the demo seed's, filled by the
        # builder itself, and whatever other tests of this run committed through the services).
        assert _assert_same(db, _stored_and_built(db, or_(*[c.is_not(None) for c in ndjson.STORED]))) > 100
    finally:
        db.rollback()


def test_entries_text_formats_like_the_database(db: Session) -> None:
    """The formats of app.assessments.entries_json on the values the builder formats specially, through a
    row written with them directly (no services): whole-second and microsecond times, -0, null score."""
    try:
        a = db.execute(select(Assessment).order_by(col(Assessment.id)).limit(1)).scalars().one()
        rows = [
            ScoreEntry(
                assessment_id=a.id or 0,
                source="self",
                item_code=code,
                entry=entry,
                score=score,
                note=note,
                version=version,
                updated_at=at,
            )
            for code, entry, score, note, version, at in [
                (
                    "Z9",
                    {"说明": ODD, "n": [1, 2.5, None]},
                    Decimal("-0"),
                    ODD,
                    7,
                    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                ),
                ("Z10", {}, None, None, 1, datetime(2026, 1, 2, 3, 4, 5, 10, tzinfo=UTC)),
                (
                    "Z1",
                    {"points": "2"},
                    Decimal("100"),
                    "",
                    2,
                    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                ),
            ]
        ]
        db.execute(text("DELETE FROM score_entry WHERE assessment_id = :a AND source = 'self'"), {"a": a.id})
        db.add_all(rows)
        db.flush()
        scoring.store_entries_text(a, "self", rows)
        db.add(a)
        db.flush()
        assert _assert_same(db, _stored_and_built(db, col(Assessment.id) == a.id)) >= 1
        got = json.loads(a.self_entries_json or "")
        assert [e["item_code"] for e in got] == ["Z1", "Z10", "Z9"]  # by code, as the database orders text
        assert [e["score"] for e in got] == ["100.00", None, "0.00"]
        assert [e["updated_at"] for e in got] == [
            "2026-12-31T23:59:59.999999Z",
            "2026-01-02T03:04:05.000010Z",
            "2026-01-02T03:04:05Z",
        ]
    finally:
        db.rollback()


def test_the_builder_fills_only_what_it_is_asked_to(db: Session) -> None:
    """store_built_entries (demo seed, migration 0005) writes the texts and nothing else."""
    try:
        ids = list(db.execute(select(col(Assessment.id)).order_by(col(Assessment.id)).limit(3)).scalars())
        before = {
            r[0]: r[1:]
            for r in db.execute(
                select(col(Assessment.id), col(Assessment.updated_at), col(Assessment.version)).where(
                    col(Assessment.id).in_(ids)
                )
            )
        }
        db.execute(
            text(
                "UPDATE assessment SET inspector_entries_json = NULL, self_entries_json = NULL WHERE id IN (:a, :b)"
            ),
            {"a": ids[0], "b": ids[1]},
        )
        ndjson.store_built_entries(db, col(Assessment.id) == ids[0])
        stmt = select(col(Assessment.id), col(Assessment.inspector_entries_json))
        stored = {aid: t for aid, t in db.execute(stmt.where(col(Assessment.id).in_(ids)))}
        assert stored[ids[0]] is not None and stored[ids[1]] is None and stored[ids[2]] is not None
        n_entries = db.execute(
            select(func.count())
            .select_from(ScoreEntry)
            .where(col(ScoreEntry.assessment_id) == ids[0], col(ScoreEntry.source) == "inspector")
        ).scalar_one()
        assert len(json.loads(stored[ids[0]])) == n_entries
        after = {
            r[0]: r[1:]
            for r in db.execute(
                select(col(Assessment.id), col(Assessment.updated_at), col(Assessment.version)).where(
                    col(Assessment.id).in_(ids)
                )
            )
        }
        assert after == before
    finally:
        db.rollback()


def test_refresh_command_rebuilds_texts_after_a_hand_fix(capsys) -> None:  # type: ignore[no-untyped-def]
    """A data fix written straight into the database leaves a stored text stale; `db refresh-entries`
    rebuilds every text from score_entry."""
    from app.cli import main
    from app.db import session_scope

    with session_scope() as s:
        aid = s.execute(
            select(col(ScoreEntry.assessment_id)).where(ScoreEntry.source == "inspector").limit(1)
        ).scalar_one()
        s.execute(text("UPDATE assessment SET inspector_entries_json = '[]' WHERE id = :a"), {"a": aid})
    with session_scope() as s:
        assert _stored_and_built(s, col(Assessment.id) == aid)[0][1] == "[]"
    assert main(["db", "refresh-entries"]) == 0
    assert "重建" in capsys.readouterr().out
    with session_scope() as s:
        rows = _stored_and_built(s, col(Assessment.id) == aid)
        assert rows[0][1] != "[]" and _assert_same(s, rows) >= 1
