"""Helpers for branch tests: unique codes (the test database is shared and commits persist), direct reads."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, func, select

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.scope import Scope
from app.branches import service
from app.branches.models import Branch
from app.branches.schemas import BranchCreate
from app.db import get_engine, session_scope

QS_VILLAGE = "990102001001"  # 青山县, first township, first village
QS_VILLAGE_2 = "990102002001"
BH_VILLAGE = "990103001001"  # 白河县
EVERYWHERE = Scope(region_id=0, region_path="/", region_name="测试")
TEST_ACTOR = audit.Actor(id=None, label="测试")


def unique_code(prefix: str = "T", region: str = QS_VILLAGE) -> str:
    """A new branch code that starts with its region's code, like the real ones (other suites rely on it)."""
    return f"{region}-{prefix}{uuid.uuid4().hex[:10].upper()}"


def read_branch(code: str) -> Branch | None:
    with Session(get_engine(), expire_on_commit=False) as s:
        return s.exec(select(Branch).where(Branch.code == code)).first()


def count_branches() -> int:
    with Session(get_engine()) as s:
        return s.exec(select(func.count()).select_from(Branch)).one()


def events_of(code: str) -> list[AuditEvent]:
    with Session(get_engine()) as s:
        return audit.for_entity(s, entity_type="branch", entity_id=code)


@pytest.fixture()
def make_branch() -> Callable[..., str]:
    """make_branch(region=…, **fields) → the code of a new, committed branch."""

    def _make(region: str = QS_VILLAGE, **fields: Any) -> str:
        values: dict[str, Any] = {
            "code": unique_code(region=region),
            "name": "中共测试村支部委员会",
            "sector": "rural",
            "region_code": region,
            "secretary_name": "张三",
            "secretary_phone": "13800000000",
            "member_count": 20,
            "founded_on": "2001-07-01",
        }
        values.update(fields)
        with session_scope() as s:
            branch = service.create(s, scope=EVERYWHERE, actor=TEST_ACTOR, data=BranchCreate(**values))
            return branch.code

    return _make


@pytest.fixture(scope="module")
def as_user(app):  # type: ignore[no-untyped-def]
    """as_user("county_qs") → a logged-in client, shared by the tests of a module (logins are slow)."""
    from tests.conftest import login_client

    made: dict[str, Any] = {}

    def _get(username: str) -> Any:
        if username not in made:
            made[username] = login_client(app, username)
        return made[username]

    yield _get
    for lc in made.values():
        lc.client.close()
