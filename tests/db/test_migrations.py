"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import app.models  # noqa: F401
from app.db import get_engine, metadata


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # Same rule as migrations/env.py: PostgreSQL-only *_pattern indexes are not in the models.
    return not (type_ == "index" and name is not None and name.endswith("_pattern"))


def test_models_and_migrations_agree() -> None:
    with get_engine().connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _include_object})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_audit_log_is_append_only() -> None:
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_event (at, actor_label, action, entity_type, entity_id) "
                "VALUES (CURRENT_TIMESTAMP, 'test', 'test.append', 'test', '1')"
            )
        )
    for stmt in ("UPDATE audit_event SET reason = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text(stmt))


def test_check_constraints_back_the_ranges() -> None:
    with pytest.raises(DBAPIError), get_engine().begin() as conn:
        conn.execute(text("UPDATE branch SET member_count = -1 WHERE id = (SELECT min(id) FROM branch)"))
    with pytest.raises(DBAPIError), get_engine().begin() as conn:
        conn.execute(text("UPDATE branch SET sector = 'martian' WHERE id = (SELECT min(id) FROM branch)"))
