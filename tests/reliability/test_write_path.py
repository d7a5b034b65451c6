"""The write path: pure ASGI middleware (still logging, still setting headers) and SQLite's in-process FIFO
writer lock (taken at BEGIN, released once COMMIT/ROLLBACK has finished, handed over in arrival order)."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import text
from sqlmodel import Session
from starlette.middleware.base import BaseHTTPMiddleware

from app.db import FifoLock, SerializedConnection, get_engine, write_lock_for
from app.web.middleware import RequestLog, SecurityHeaders
from tests.conftest import IS_POSTGRES


def test_no_base_http_middleware(app) -> None:  # type: ignore[no-untyped-def]
    classes = [m.cls for m in app.user_middleware]
    assert RequestLog in classes and SecurityHeaders in classes
    assert not [c for c in classes if isinstance(c, type) and issubclass(c, BaseHTTPMiddleware)]


def test_request_log_logs_and_sets_the_request_id(client, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="app.request")
    r = client.get("/login", headers={"X-Request-ID": "rid-123"})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "rid-123"
    assert (
        r.headers["x-frame-options"] == "DENY"
        and "default-src 'self'" in r.headers["content-security-policy"]
    )
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "app.request"]
    assert any(line.startswith("GET /login 200 ") and line.endswith("rid=rid-123") for line in lines)
    generated = client.get("/login").headers["x-request-id"]
    assert len(generated) == 16 and int(generated, 16) >= 0
    assert client.get("/nope-not-a-page").headers["x-request-id"]


def test_fifo_lock_hands_over_in_arrival_order() -> None:
    lock = FifoLock()
    assert lock.acquire(timeout=1)
    order: list[int] = []
    threads = []
    for i in range(4):
        t = threading.Thread(target=lambda i=i: (lock.acquire(timeout=5), order.append(i), lock.release()))
        t.start()
        threads.append(t)
        deadline = time.monotonic() + 5
        while len(lock._waiters) < i + 1 and time.monotonic() < deadline:  # queued before the next one
            time.sleep(0.001)
    lock.release()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3] and not lock.locked


def test_fifo_lock_times_out_and_leaves_the_queue() -> None:
    lock = FifoLock()
    assert lock.acquire(timeout=1)
    assert lock.acquire(timeout=0.05) is False
    assert not lock._waiters
    lock.release()
    assert not lock.locked and lock.acquire(timeout=0)
    lock.release()


def _postgresql_writers_run_side_by_side() -> None:
    """PostgreSQL locks rows, not the database: its connections carry no writer lock, and two write
    transactions are open at the same time (on SQLite the second one would queue)."""
    with Session(get_engine()) as first, Session(get_engine()) as second:
        first.execute(text("SELECT 1"))
        second.execute(text("SELECT 1"))
        for s in (first, second):
            assert not isinstance(s.connection().connection.dbapi_connection, SerializedConnection)
        first.rollback()
        second.rollback()


def test_writers_queue_in_process_on_sqlite_and_run_side_by_side_on_postgresql(database: str) -> None:
    """SQLite: writers queue on the in-process lock, released at commit, rollback and close."""
    if IS_POSTGRES:
        _postgresql_writers_run_side_by_side()
        return
    lock = write_lock_for(database)
    assert lock is not None
    with Session(get_engine()) as first:
        first.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the lock is taken
        assert lock.locked
        entered = threading.Event()

        def second_writer() -> None:
            with Session(get_engine()) as second:
                second.execute(text("SELECT 1"))
                entered.set()
                second.rollback()

        t = threading.Thread(target=second_writer)
        t.start()
        assert not entered.wait(0.3)  # queued behind the first writer, not busy-sleeping in SQLite
        first.commit()
        assert entered.wait(5)
        t.join(5)
    assert not lock.locked
    with Session(get_engine()) as s:
        s.execute(text("SELECT 1"))
        assert lock.locked
    assert not lock.locked  # closed without commit: released by the connection's rollback/close
