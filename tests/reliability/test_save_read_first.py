"""An item save checked and scored outside the writer lock (service.save_item_read_first).

The save is planned on a read session, then written in the write session only if nothing it was computed
from changed. These tests put another change between the plan and the write (by wrapping the planner)
and check that the save is then redone under the lock, never written from a stale plan: both saves
stored, totals equal to a fresh run of the engine, every version audited once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlmodel import Session

from app.assessments import entries_json, scoring, service
from app.assessments.models import Assessment
from app.assessments.schemas import ExtrasSave, ItemSave
from app.audit import service as audit_service
from app.db import get_engine, get_read_engine, session_scope
from app.errors import Conflict
from tests.reliability.helpers import consistency_problems, entry_of, fresh_assessment, inspector_actor


@pytest.fixture()
def sessions() -> Iterator[tuple[Session, Session]]:
    """(write, read): the request's session on the write engine and one beside it on the read engine."""
    with (
        Session(get_engine(), expire_on_commit=False) as write,
        Session(get_read_engine(), expire_on_commit=False) as read,
    ):
        yield write, read


def _new_assessment() -> tuple[int, list[str]]:
    with session_scope() as s:
        return fresh_assessment(s, "P")


def _save_read_first(write: Session, read: Session, aid: int, code: str, entry: dict, version: int = 0):  # type: ignore[no-untyped-def]
    actor = inspector_actor(read)
    return service.save_item_read_first(
        write,
        read,
        actor=actor,
        assessment_id=aid,
        item_code=code,
        source="inspector",
        data=ItemSave(entry=entry, version=version, note=f"{code}={entry}"),
        also=lambda _s, _a: None,
    )[:3]


def _committed_save(aid: int, code: str, entry: dict, version: int = 0) -> None:
    """Another inspector's save, committed in a transaction of its own (the locked path)."""
    with session_scope() as s:
        a = s.get(Assessment, aid)
        assert a is not None
        data = ItemSave(entry=entry, version=version, note=f"{code}={entry}")
        service.save_item(
            s, actor=inspector_actor(s), assessment=a, item_code=code, source="inspector", data=data
        )


def _between_plan_and_write(monkeypatch: pytest.MonkeyPatch, interfere: Callable[[], None]) -> list[str]:
    """Runs `interfere` once, right after the first plan is made; lists the item code of every plan made."""
    real = service.plan_item_save
    plans: list[str] = []

    def plan_then_interfere(*args: Any, **kwargs: Any) -> service.ItemSavePlan:
        plan = real(*args, **kwargs)
        plans.append(kwargs["item_code"])
        if len(plans) == 1:
            interfere()
        return plan

    monkeypatch.setattr(service, "plan_item_save", plan_then_interfere)
    return plans


def test_the_entries_are_read_and_scored_outside_the_write_transaction(sessions) -> None:  # type: ignore[no-untyped-def]
    """The first save of a draft: it also moves the assessment to scoring, in the same write."""
    write, read = sessions
    aid, items = _new_assessment()
    statements: list[tuple[Any, str]] = []
    began: list[tuple[int, Any]] = []  # (statements seen so far, connection) when the write transaction began

    def seen(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append((conn.connection.dbapi_connection, statement))

    def write_began(_session: Any, _transaction: Any, connection: Any) -> None:
        began.append((len(statements), connection.connection.dbapi_connection))

    engines = {get_engine(), get_read_engine()}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    event.listen(write, "after_begin", write_began)
    try:
        a, row, result = _save_read_first(write, read, aid, items[1], {})
        write.commit()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
        event.remove(write, "after_begin", write_began)
    # The write transaction's statements: on its connection, from its start (on PostgreSQL the read
    # session's earlier statements may have run on the same pooled connection).
    assert len(began) == 1
    start, write_conn = began[0]
    written = [sql for conn, sql in statements[start:] if conn is write_conn and not sql.startswith("BEGIN")]
    assert written, "the save wrote nothing"
    if write.get_bind().dialect.name == "postgresql":  # the row lock, in a statement of its own
        assert "FOR UPDATE" in written[0]
        written = written[1:]
    first = " ".join(written[0].split())
    assert (
        first.startswith("SELECT assessment.version, assessment.status")
        and "sum(score_entry.version)" in first
    )
    # No entry, criteria or assessment row is read in the write transaction: only the check and the writes.
    reads = [sql for sql in written[1:] if sql.lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in reads if "score_entry" in sql or "FROM assessment" in sql], reads
    assert row.version == 1 and a.status == "scoring" and result.items[items[1]].scored
    with session_scope() as s:
        assert consistency_problems(s, aid) == []
        stored = s.get(Assessment, aid)
        assert stored is not None and stored.status == "scoring" and stored.version == a.version
        actions = [e.action for e in audit_service.for_assessment(s, assessment_id=aid)]
        assert actions[-2:] == ["assessment.transition", "score.inspector"]


def test_a_save_planned_before_another_item_landed_is_redone_under_the_lock(sessions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write, read = sessions
    aid, items = _new_assessment()
    plans = _between_plan_and_write(monkeypatch, lambda: _committed_save(aid, items[0], {}))
    a, _row, result = _save_read_first(write, read, aid, items[1], {})
    write.commit()
    assert plans == [items[1], items[0], items[1]], "the stale plan was not redone"
    # The redone save scored both entries: the other inspector's and this one.
    assert result.items[items[0]].scored and result.items[items[1]].scored
    with session_scope() as s:
        assert consistency_problems(s, aid) == []
        first, second = entry_of(s, aid, items[0]), entry_of(s, aid, items[1])
        assert first is not None and second is not None and first.version == second.version == 1
        stored = s.get(Assessment, aid)
        assert stored is not None and stored.items_scored == 2 and stored.total == a.total


def test_a_save_planned_before_the_same_item_changed_is_refused_as_a_conflict(sessions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write, read = sessions
    aid, items = _new_assessment()
    code = items[0]
    _between_plan_and_write(monkeypatch, lambda: _committed_save(aid, code, {}))
    with pytest.raises(Conflict):
        _save_read_first(write, read, aid, code, {"discretionary": []}, version=0)
    write.rollback()
    with session_scope() as s:
        row = entry_of(s, aid, code)
        assert row is not None and row.version == 1 and row.note == f"{code}={{}}"
        assert consistency_problems(s, aid) == []


def test_a_save_planned_before_the_extras_changed_is_scored_with_the_new_extras(
    sessions, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    write, read = sessions
    aid, items = _new_assessment()

    def veto() -> None:
        with session_scope() as s:
            a = s.get(Assessment, aid)
            assert a is not None
            cs_veto = scoring.criteria_of(s, a).vetoes[0].code
            data = ExtrasSave(vetoes={cs_veto: "测试：否决事由"}, version=a.version)
            service.save_extras(s, actor=inspector_actor(s), assessment=a, data=data)

    plans = _between_plan_and_write(monkeypatch, veto)
    a, _row, result = _save_read_first(write, read, aid, items[0], {})
    write.commit()
    assert plans == [items[0], items[0]]
    assert result.vetoed and a.vetoed
    with session_scope() as s:
        stored = s.get(Assessment, aid)
        assert stored is not None and stored.vetoed and stored.extras["vetoes"]
        assert consistency_problems(s, aid) == []


def test_a_retried_save_writes_nothing_and_opens_no_write_transaction(sessions) -> None:  # type: ignore[no-untyped-def]
    write, read = sessions
    aid, items = _new_assessment()
    _committed_save(aid, items[0], {})
    _a, row, _result = _save_read_first(write, read, aid, items[0], {}, version=0)  # the lost answer's retry
    assert row.version == 1
    assert not write.in_transaction()
    with session_scope() as s:
        assert consistency_problems(s, aid) == []


def test_every_scored_value_is_written_even_where_the_plan_read_an_older_one(sessions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A weak listing's cap or release changes an assessment's stars without a new version, so a plan can
    rest on a current version and still have read older stars: the write must not skip a value only
    because it equals what the plan read."""
    write, read = sessions
    aid, items = _new_assessment()
    _committed_save(aid, items[0], {})

    def derived_values_change() -> None:
        with session_scope() as s:
            s.execute(update(Assessment).where(Assessment.id == aid).values(stars=5, total=0, explanation=[]))

    _between_plan_and_write(monkeypatch, derived_values_change)
    a, _row, result = _save_read_first(write, read, aid, items[1], {})
    write.commit()
    with session_scope() as s:
        assert consistency_problems(s, aid) == []
        stored = s.get(Assessment, aid)
        assert stored is not None and stored.stars == result.stars and stored.explanation == a.explanation
        assert stored.explanation, "the explanation was not written"


def test_a_save_is_stamped_when_it_is_written_not_when_it_was_planned(sessions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The sync API pages by updated_at: a save planned before another assessment's save but written after
    it must carry the later stamp, or a client whose cursor passed the earlier one never sees it."""
    write, read = sessions
    aid, items = _new_assessment()
    other, other_items = _new_assessment()
    _between_plan_and_write(monkeypatch, lambda: _committed_save(other, other_items[0], {}))
    _a, row, _result = _save_read_first(write, read, aid, items[0], {})
    write.commit()
    with session_scope() as s:
        first, second = s.get(Assessment, other), s.get(Assessment, aid)
        assert first is not None and second is not None
        assert second.updated_at > first.updated_at
        stored = entry_of(s, aid, items[0])
        assert stored is not None and stored.updated_at == second.updated_at == row.updated_at
        assert entries_json.time(stored.updated_at) in (second.inspector_entries_json or "")
