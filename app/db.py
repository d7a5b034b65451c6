"""Engine, sessions and the one transaction rule.

The transaction rule: a request (or a CLI command) owns the session and commits once at the end;
services only `flush()`. On SQLite every connection runs in WAL mode with synchronous=FULL (unless the
SQLITE_SYNCHRONOUS setting says NORMAL), foreign keys on and a busy timeout, so concurrent writers queue
instead of failing. SQLite connections are pooled (connect pragmas and the WAL checkpoint that closing
the last connection runs are not paid per request).

SQLite has one writer at a time. Inside one process, write transactions on the same database file queue
on an in-process FIFO lock (taken at BEGIN, released when COMMIT or ROLLBACK has finished), so
concurrent writers wait their turn in order instead of sleeping in SQLite's busy handler with back-off.
Other processes (CLI commands, a second server) are still kept apart by SQLite's own lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy import Engine, MetaData, event, make_url
from sqlalchemy.pool import QueuePool, StaticPool
from sqlmodel import Session, SQLModel, create_engine

from app.config import get_settings

log = logging.getLogger("app.db")
BUSY_TIMEOUT_S = 10
# Each pooled connection's page cache (SQLite's default is 2 MB). A province ranking reads a few MB of
# index pages on every request; with 2 MB they were read again from the OS on each one (measured on
# 100,000 branches: 13.9 -> 11.6 ms CPU per /api/v1/rankings page; 16 and 32 MB gave no more).
PAGE_CACHE_KIB = 8192
# ... but idle pooled connections keep their caches (two engines, up to 40 connections each): SQLite's
# memory in the whole process is held near this limit (soft: pages are recycled, nothing fails). Without
# it, a server that had served rankings, comparisons and saves held 200 MB before an export began (the
# target is 200 MB); with 48 MB, 192 MB; with 16 MB, 163 MB, and the ranking and export rates kept.
HEAP_LIMIT_MIB = 16
# Session settings of every PostgreSQL connection. JIT compilation off: PostgreSQL compiles a query whose
# estimated cost passes jit_above_cost, which the aggregates of a large county (heat map, quota pools) and the
# export's batches do, and spends 30-40 ms compiling for a query that then runs in 50-150 ms. work_mem 32 MB
# (default 4 MB): those aggregates sorted on disk. A 3,000-branch county's heat-map sums: 170 -> 69 ms.
PG_OPTIONS = "-c jit=off -c work_mem=32MB"
SYNCHRONOUS = {"FULL": "FULL", "NORMAL": "NORMAL"}
# Values per IN (...) list: SQLite's default limit of bound parameters in one statement is 999.
IN_CHUNK = 900  # the only values accepted (it goes into a PRAGMA)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def _sqlite_pragmas(dbapi_connection: Any, synchronous: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={SYNCHRONOUS[synchronous]}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
    cursor.execute(f"PRAGMA soft_heap_limit={HEAP_LIMIT_MIB * 1024 * 1024}")
    cursor.close()


class FifoLock:
    """A lock handed to its waiters in arrival order (threading.Lock promises no order)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait timed out
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()  # handed over: stays held
            else:
                self._held = False

    @property
    def locked(self) -> bool:
        return self._held


_WRITE_LOCKS: dict[str, FifoLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def write_lock_for(url: str) -> FifoLock | None:
    """The process-wide writer lock of a SQLite database file (None for in-memory databases)."""
    database = make_url(url).database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    key = os.path.realpath(database)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, FifoLock())


class SerializedConnection(sqlite3.Connection):
    """A pysqlite connection that holds its database's writer lock from BEGIN IMMEDIATE until its COMMIT
    or ROLLBACK has finished (or it is closed): the next writer starts only when this one is done."""

    write_lock: FifoLock | None = None
    holds_write_lock = False

    def take_write_lock(self) -> None:
        if self.write_lock is None or self.holds_write_lock:
            return
        self.holds_write_lock = self.write_lock.acquire(timeout=BUSY_TIMEOUT_S)
        if not self.holds_write_lock:  # stuck holder: fall back to SQLite's busy handler
            log.warning("in-process SQLite writer lock not acquired in %ss", BUSY_TIMEOUT_S)

    def release_write_lock(self) -> None:
        if self.holds_write_lock and self.write_lock is not None:
            self.holds_write_lock = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write_lock()


def make_engine(url: str, *, write: bool = True, synchronous: str = "FULL") -> Engine:
    """Create an engine for SQLite or PostgreSQL (psycopg 3) with the pragmas we rely on.

    On SQLite a write engine opens every transaction with BEGIN IMMEDIATE, so a request that reads and
    then writes waits for the lock instead of failing on a lock upgrade (first in the process's FIFO
    writer lock, then, against other processes, in busy_timeout); read-only requests use a deferred
    BEGIN and never block each other (WAL).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        lock = write_lock_for(url) if write else None
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": BUSY_TIMEOUT_S,
                "factory": SerializedConnection,
            },
            # Pooled: a fresh connection per request paid for the connect and its pragmas, and closing the
            # last connection to a WAL database checkpoints (and fsyncs) the WAL every time.
            **({} if ":memory:" in url else {"poolclass": QueuePool, "pool_size": 10, "max_overflow": 30}),
        )
        event.listen(
            engine, "connect", lambda dbapi_connection, _r: _sqlite_pragmas(dbapi_connection, synchronous)
        )
        # Let SQLite take the write lock at BEGIN so read-then-write transactions don't deadlock.
        event.listen(engine, "connect", _disable_pysqlite_begin)
        event.listen(
            engine, "connect", lambda dbapi_connection, _record: _attach_lock(dbapi_connection, lock)
        )
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"
        event.listen(engine, "begin", lambda conn: _begin(conn, begin))
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"options": PG_OPTIONS}
    )


def _attach_lock(dbapi_connection: Any, lock: FifoLock | None) -> None:
    if isinstance(dbapi_connection, SerializedConnection):
        dbapi_connection.write_lock = lock


def _begin(conn: Any, begin: str) -> None:
    raw = conn.connection.dbapi_connection
    serialized = isinstance(raw, SerializedConnection)
    if serialized:
        raw.take_write_lock()
    try:
        conn.exec_driver_sql(begin)
    except BaseException:
        if serialized:
            raw.release_write_lock()
        raise


def _disable_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(settings.resolved_database_url(), synchronous=settings.sqlite_synchronous)


@lru_cache
def get_read_engine() -> Engine:
    settings = get_settings()
    url = settings.resolved_database_url()
    if not url.startswith("sqlite"):
        return get_engine()
    return make_engine(url, write=False, synchronous=settings.sqlite_synchronous)


# One read-only SQLite connection per event loop and engine, for reads short enough to run on the loop
# itself (app.db.loop_reader); None for an engine that has none.
_LOOP_READERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Engine, Engine | None]] = (
    weakref.WeakKeyDictionary()
)
LOOP_READER_CACHE_KIB = 1024


def loop_reader(engine: Engine) -> Engine | None:
    """A read engine for the running event loop beside `engine` (a SQLite file), or None (PostgreSQL: a
    read is a network round trip; an in-memory database: another connection is another database).

    Its one connection (StaticPool: a checkout never waits for the pool) is used only by this loop's
    thread, and only between two awaits (a caller must not await while it holds it), in autocommit (each
    statement its own snapshot: nothing is held between requests), read-only, and with no busy timeout:
    in WAL mode a reader does not wait for writers' locks, and in the rare cases it would (a recovery),
    the statement fails at once with OperationalError and the caller takes the thread pool's way instead
    of waiting on the loop. It still reads pages (from the OS cache, or the disk): for one-statement
    indexed reads that every request makes (the login lookup, ~0.1 ms), where a trip to the thread pool
    and back cost more than the read. Like the pooled connections, it stays on the file it opened (a
    restore replaces the file with the service stopped)."""
    readers = _LOOP_READERS.get(asyncio.get_running_loop())
    if readers is not None and engine in readers:
        return readers[engine]  # the per-request path: two dictionary lookups
    reader = None
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite" and write_lock_for(url) is not None:
        reader = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 0},
            poolclass=StaticPool,
            isolation_level="AUTOCOMMIT",
        )
        event.listen(reader, "connect", _loop_reader_pragmas)
    _LOOP_READERS.setdefault(asyncio.get_running_loop(), {})[engine] = reader
    return reader


def _loop_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.execute(f"PRAGMA cache_size=-{LOOP_READER_CACHE_KIB}")
    cursor.close()


# A session holding more loaded rows than this is closed off the event loop (detaching each costs CPU).
CLOSE_IN_PLACE_MAX_ROWS = 200


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; the route handler commits. Safe methods get a read-only engine.

    A coroutine, because a sync dependency with `yield` costs two trips through the thread pool (in and
    out, about 0.2 ms each on a two-core machine) and opening a Session does no I/O. Closing it ends the
    transaction the request left open and detaches what it loaded: on SQLite, for a session of a few
    rows, that is a ROLLBACK (a library call that never waits for a lock) and little else, done in place.
    A PostgreSQL rollback is a round trip to the server and a large session's detach is CPU time: those
    run in a worker thread of their own (its own limiter, as FastAPI does for a sync dependency's exit,
    so a close never waits behind requests that wait for this connection)."""
    engine = get_read_engine() if request.method in ("GET", "HEAD") else get_engine()
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        in_place = len(session.identity_map) <= CLOSE_IN_PLACE_MAX_ROWS and (
            engine.dialect.name == "sqlite" or not session.in_transaction()
        )
        if in_place:
            session.close()
        else:
            await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


SessionDep = Annotated[Session, Depends(get_session)]


async def get_read_session(db: SessionDep) -> AsyncIterator[Session]:
    """The request's session for reads that need no writer lock: on SQLite a write request's own session
    is on the write engine, whose first statement takes the database's writer lock, so its lock-free
    reads (the login lookup when the loop's reader is busy, a refused item save's answer) go to one
    session on the read engine, shared by every dependency of the request. Where both engines are one
    (PostgreSQL) or the request is a read, it is the request's session itself."""
    if db.get_bind() is get_read_engine():
        yield db
        return
    read = Session(get_read_engine(), expire_on_commit=False)
    try:
        yield read
    finally:
        read.close()  # a few rows and a ROLLBACK of a read transaction (SQLite): done in place


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


T = TypeVar("T")
V = TypeVar("V", int, str)


def in_chunks(values: Iterable[V], size: int = IN_CHUNK) -> Iterator[list[V]]:
    """The distinct values, sorted, in lists short enough for one IN (...) each."""
    wanted = sorted(set(values))
    for start in range(0, len(wanted), size):
        yield wanted[start : start + size]


# One write lane per event loop (a limiter belongs to the loop it waits on; tests run several loops).
_WRITE_LANES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


async def in_write_lane(engine: Engine, work: Callable[[], T]) -> T:
    """Runs a request's writing work in a worker thread: on SQLite in the write lane, one at a time,
    elsewhere in the thread pool as any sync route.

    SQLite lets one transaction write at a time, so concurrent item saves only ever took turns on the
    writer lock, while their Python work took turns on the GIL: eight saves in eight threads cost a
    third more CPU each than one after the other (context switches, cold caches), for no parallelism.
    In the lane they queue on the event loop instead, and each runs alone. PostgreSQL writes in
    parallel (row locks) and waits on the network with the GIL released: no lane there.

    Like a sync route, the work is not abandoned when the client goes away: the request waits for it. A
    refused save (a conflict, a bad entry) is checked under the writer lock like any save, so it also
    waits for the saves ahead of it in the lane (a few milliseconds each) and for any other writer (an
    import) holding the lock. Planning outside the lane would answer a refusal sooner, but would put the
    plans' Python back in threads taking turns on the GIL, and a second transaction into every save."""
    if engine.dialect.name != "sqlite":
        return await anyio.to_thread.run_sync(work)
    loop = asyncio.get_running_loop()
    lane = _WRITE_LANES.get(loop)
    if lane is None:
        lane = _WRITE_LANES[loop] = anyio.CapacityLimiter(1)
    return await anyio.to_thread.run_sync(work, limiter=lane)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for CLI commands and background jobs: commits on success, rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
