"""The login lookup on the event loop (app.db.loop_reader) and its way back to the thread pool."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.auth import deps
from app.auth.deps import SESSION_COOKIE
from app.auth.service import _sha256
from app.db import get_engine, get_read_engine, loop_reader, make_engine, session_scope
from app.db_types import utcnow
from tests.conftest import IS_POSTGRES


def test_the_lookup_runs_on_the_loop_and_sees_a_logout_at_once(login, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    threads: list[str] = []
    real = deps.service.load_session

    def spy(conn, **kw):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real(conn, **kw)

    monkeypatch.setattr(deps.service, "load_session", spy)
    user = login("inspector_bh1")
    threads.clear()
    with user.client:  # one event loop for the requests below: the same loop connection each time
        _the_rest(user, threads)


def _the_rest(user, threads: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert user.get("/inspect").status_code == 200
    # TestClient runs the app's loop in a thread of its own; a trip to the pool is an AnyIO worker's. On
    # PostgreSQL a read is a network round trip: never on the loop.
    in_pool = ["AnyIO worker" in name for name in threads]
    assert threads, "the request looked its session up"
    assert all(in_pool) if IS_POSTGRES else not any(in_pool), threads
    r = user.post("/logout", follow_redirects=False)
    assert r.status_code in (302, 303)
    r = user.get("/inspect", follow_redirects=False)
    assert r.status_code in (302, 303, 401), "a revoked session is refused on the next request"


def test_a_busy_loop_reader_falls_back_to_the_thread_pool(login, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    user = login("inspector_bh1")
    calls: list[str] = []
    real = deps.service.load_session

    def busy_on_the_loop(conn, **kw):  # type: ignore[no-untyped-def]
        name = threading.current_thread().name
        calls.append(name)
        if "AnyIO worker" not in name:
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return real(conn, **kw)

    monkeypatch.setattr(deps.service, "load_session", busy_on_the_loop)
    r = user.client.get("/inspect", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    # SQLite: refused on the loop, then read in the pool; PostgreSQL: read in the pool only.
    assert len(calls) == (1 if IS_POSTGRES else 2) and "AnyIO worker" in calls[-1], calls


def test_the_loop_reader_is_read_only_and_one_per_loop() -> None:
    engine = get_read_engine()
    if IS_POSTGRES:

        async def none() -> None:
            assert loop_reader(engine) is None

        asyncio.run(none())
        return

    async def reader_of_this_loop():  # type: ignore[no-untyped-def]
        first = loop_reader(engine)
        assert first is not None and loop_reader(engine) is first  # one per loop and engine
        return first

    a = asyncio.run(reader_of_this_loop())
    b = asyncio.run(reader_of_this_loop())
    assert a is not b  # another loop (another thread may run it): a connection of its own
    with a.connect() as conn, pytest.raises(OperationalError):
        conn.exec_driver_sql("CREATE TABLE loop_reader_probe (x INTEGER)")


def test_no_loop_reader_for_an_in_memory_database() -> None:
    async def probe():  # type: ignore[no-untyped-def]
        return loop_reader(make_engine("sqlite://"))

    assert asyncio.run(probe()) is None


def _last_seen(session_id: str):  # type: ignore[no-untyped-def]
    with session_scope() as s:
        return s.execute(
            text("SELECT last_seen_at FROM user_session WHERE id = :i"), {"i": session_id}
        ).scalar()


def _make_touch_due(session_id: str) -> None:
    with session_scope() as s:
        s.execute(
            text("UPDATE user_session SET last_seen_at = :t WHERE id = :i"),
            {"t": utcnow() - timedelta(minutes=5), "i": session_id},
        )


def test_the_idle_timer_refresh_is_best_effort_and_never_waits_long(login) -> None:  # type: ignore[no-untyped-def]
    user = login("inspector_bh1")
    sid = _sha256(user.client.cookies.get(SESSION_COOKIE))
    _make_touch_due(sid)
    before = _last_seen(sid)
    if not IS_POSTGRES:
        # Another connection holds SQLite's writer lock (an import, a stream of saves): the page is served
        # at once and the refresh is left for a later request, instead of waiting out the busy timeout.
        path = get_engine().url.database
        assert path
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            r = user.client.get("/inspect", headers={"Accept": "application/json"})
            waited = time.monotonic() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert r.status_code == 200, r.text
        assert waited < 3, f"the page waited {waited:.1f} s for the idle timer"
        assert _last_seen(sid) == before, "skipped while the lock was held"
    r = user.client.get("/inspect", headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert _last_seen(sid) > before, "refreshed once the database is free"
