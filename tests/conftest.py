"""Test setup: a database built by running the migrations (SQLite file, or TEST_DATABASE_URL on PostgreSQL),
seeded once with the demo region; helpers to log in as each demo role."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="xingji-test-"))
os.environ["DATA_DIR"] = str(_TMP)
os.environ["SECRET_KEY"] = "test-secret-key-not-for-production"
os.environ["LOG_LEVEL"] = "WARNING"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
os.environ["DATABASE_URL"] = TEST_DATABASE_URL or f"sqlite:///{_TMP / 'test.sqlite3'}"

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from app.cli import db_upgrade  # noqa: E402
from app.db import get_engine, session_scope  # noqa: E402
from app.demo import seed  # noqa: E402

DEMO_PASSWORD = seed.DEMO_PASSWORD
IS_POSTGRES = os.environ["DATABASE_URL"].startswith("postgresql")


def _reset_postgres() -> None:
    with get_engine().begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """Builds the schema by running the migrations, then seeds the demo data once."""
    if IS_POSTGRES:
        _reset_postgres()
    db_upgrade()
    with session_scope() as session:
        seed.seed_regions_and_branches(session)
        seed.seed_users(session)
        extend = getattr(seed, "seed_assessments", None)
        if extend is not None:
            extend(session)
    yield os.environ["DATABASE_URL"]
    get_engine().dispose()


@pytest.fixture()
def db() -> Iterator[Session]:
    """A session for service tests; rolled back at the end (tests that must commit use unique data)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture(scope="session")
def app():  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app()


@pytest.fixture()
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An anonymous client."""
    with TestClient(app, base_url="http://testserver") as c:
        yield c


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


class LoggedIn:
    """A client logged in as a demo user, with its CSRF token at hand."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    def get(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kw)

    def post(self, url: str, *, csrf: bool = True, headers: dict[str, str] | None = None, **kw):  # type: ignore[no-untyped-def]
        h = dict(headers or {})
        if csrf:
            h.setdefault("X-CSRF-Token", self.csrf)
        return self.client.post(url, headers=h, **kw)

    def json(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self.client.get(url, headers={"Accept": "application/json"}, **kw)


def login_client(app, username: str, password: str = DEMO_PASSWORD) -> LoggedIn:  # type: ignore[no-untyped-def]
    c = TestClient(app, base_url="http://testserver")
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    assert token, "login form has a CSRF field"
    r = c.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = c.get("/")
    meta = CSRF_META.search(home.text)
    assert meta and meta.group(1)
    return LoggedIn(c, meta.group(1))


@pytest.fixture()
def login(app):  # type: ignore[no-untyped-def]
    """login("county_qs") → a LoggedIn client for that demo user."""
    made: list[LoggedIn] = []

    def _login(username: str, password: str = DEMO_PASSWORD) -> LoggedIn:
        lc = login_client(app, username, password)
        made.append(lc)
        return lc

    yield _login
    for lc in made:
        lc.client.close()
