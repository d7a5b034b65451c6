"""Test setup: a database built by running the migrations (SQLite file, or TEST_DATABASE_URL on PostgreSQL),
seeded once with the demo region; helpers to log in as each demo role."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
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

# The browser harness (live server + Chromium) is a plugin so that every folder shares ONE session
# instance of it: two Playwright instances in one process cannot run side by side.
pytest_plugins = ["tests.browser_harness"]

DEMO_PASSWORD = seed.DEMO_PASSWORD
IS_POSTGRES = os.environ["DATABASE_URL"].startswith("postgresql")


def _reset_postgres() -> None:
    with get_engine().begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


# What the seeded SQLite test database depends on: when none of these change, a cached copy is reused
# (the seed takes ~15 s; a copy takes milliseconds). PostgreSQL is always built from scratch.
_SEED_INPUTS = [
    "migrations",
    "app/demo",
    "app/scoring",
    "app/criteria/library",
    "app/criteria/service.py",
    "app/regions/service.py",
    "app/auth/service.py",
    "app/auth/passwords.py",
    "app/audit/service.py",
    "app/db.py",
    "app/db_types.py",
    "app/models.py",
]
_ROOT = Path(__file__).resolve().parent.parent


def _seed_key() -> str:
    h = hashlib.sha256()
    for name in _SEED_INPUTS:
        base = _ROOT / name
        files = (
            sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if base.is_dir()
            else [base]
        )
        for f in files:
            h.update(str(f.relative_to(_ROOT)).encode())
            h.update(f.read_bytes())
    for models in sorted((_ROOT / "app").glob("*/models.py")):
        h.update(models.read_bytes())
    return h.hexdigest()[:16]


def _build() -> None:
    db_upgrade()
    with session_scope() as session:
        seed.seed_regions_and_branches(session)
        seed.seed_users(session)
        seed.seed_assessments(session)


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """Builds the schema by running the migrations, then seeds the demo data once."""
    if IS_POSTGRES:
        _reset_postgres()
        _build()
    else:
        target = Path(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
        cache = Path(tempfile.gettempdir()) / "xingji-test-cache" / f"{_seed_key()}.sqlite3"
        if cache.exists() and not os.environ.get("CI"):
            shutil.copyfile(cache, target)
            db_upgrade()  # a no-op unless a migration was added since
        else:
            _build()
            get_engine().dispose()
            cache.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(target) as src, sqlite3.connect(str(cache) + ".tmp") as dst:
                src.backup(dst)
            os.replace(str(cache) + ".tmp", cache)
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
