"""Engine, sessions and the one transaction rule.

The transaction rule: a request (or a CLI command) owns the session and commits once at the end;
services only `flush()`. On SQLite every connection runs in WAL mode with synchronous=FULL,
foreign keys on and a busy timeout, so concurrent writers queue instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel, create_engine

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, *, write: bool = True) -> Engine:
    """Create an engine for SQLite or PostgreSQL (psycopg 3) with the pragmas we rely on.

    On SQLite a write engine opens every transaction with BEGIN IMMEDIATE, so a request that reads and
    then writes waits for the lock (busy_timeout) instead of failing on a lock upgrade; read-only
    requests use a deferred BEGIN and never block each other (WAL).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            poolclass=NullPool if ":memory:" not in url else None,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLite take the write lock at BEGIN so read-then-write transactions don't deadlock.
        event.listen(engine, "connect", _disable_pysqlite_begin)
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _disable_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().resolved_database_url())


@lru_cache
def get_read_engine() -> Engine:
    url = get_settings().resolved_database_url()
    return make_engine(url, write=False) if url.startswith("sqlite") else get_engine()


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; the route handler commits. Safe methods get a read-only engine."""
    engine = get_read_engine() if request.method in ("GET", "HEAD") else get_engine()
    with Session(engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


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
