"""Migration 0005 adds the stored entry texts and fills them from score_entry with the export's builder;
its downgrade drops them without recreating `assessment` (the tally triggers of 0004 stay)."""

from __future__ import annotations

import json

from alembic import command
from alembic.config import Config
from sqlalchemy import func, inspect, select, text
from sqlmodel import Session, col

from app.api import ndjson
from app.assessments.models import Assessment
from app.config import BASE_DIR
from app.db import get_engine


def _config() -> Config:
    cfg = Config(str(BASE_DIR / "alembic.ini"))
    cfg.attributes["skip_logging"] = True
    return cfg


def _columns() -> set[str]:
    return {c["name"] for c in inspect(get_engine()).get_columns("assessment")}


def _triggers() -> set[str]:
    sql = (
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        if get_engine().dialect.name == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    )
    with get_engine().connect() as conn:
        return set(conn.execute(text(sql)).scalars())


def test_downgrade_drops_and_upgrade_backfills_the_entry_texts() -> None:
    engine = get_engine()
    engine.dispose()  # no pooled connection may hold a lock on the table (PostgreSQL's ALTER waits for it)
    triggers = _triggers()
    assert {"assessment_tally_update"} <= triggers
    try:
        command.downgrade(_config(), "0004")
        assert not {"inspector_entries_json", "self_entries_json"} & _columns()
        assert _triggers() == triggers
    finally:
        command.upgrade(_config(), "head")
    assert {"inspector_entries_json", "self_entries_json"} <= _columns()
    assert _triggers() == triggers
    sqlite = engine.dialect.name == "sqlite"
    with Session(engine) as db:
        built = ndjson.built_entries(ndjson.dialect_of(db))
        rows = db.execute(select(col(Assessment.id), *ndjson.STORED, *built)).all()
        assert len(rows) == db.execute(select(func.count()).select_from(Assessment)).scalar_one() > 100
        for aid, *texts in rows:
            for stored, made in zip(texts[:2], texts[2:], strict=True):
                assert stored is not None, f"assessment {aid}"
                assert stored == made if sqlite else json.loads(stored) == json.loads(made), (
                    f"assessment {aid}"
                )
        with_entries = sum(1 for r in rows if r[1] != "[]")
        assert with_entries > 100  # the demo's assessments have entries
