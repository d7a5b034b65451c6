"""Online backup while writes go on, then restore into a fresh location and compare."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from app.config import get_settings
from app.db import get_engine
from app.ops import backup as ops
from tests.conftest import IS_POSTGRES


def test_postgres_backup_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ops.BackupError, match="pg_dump"):
        ops.backup(
            database_url="postgresql://postgres@127.0.0.1/x", evidence_dir=tmp_path, target_root=tmp_path
        )


def test_backup_under_write_load_restores_consistently(tmp_path: Path) -> None:
    if IS_POSTGRES:
        _postgres_dump_and_restore(tmp_path)
        return
    settings = get_settings()
    url = settings.resolved_database_url()
    evidence = tmp_path / "evidence-src"
    (evidence / "ab").mkdir(parents=True)
    (evidence / "ab" / "abc123").write_bytes(b"%PDF-1.4 test")
    stop = threading.Event()
    written = []

    def writer() -> None:
        n = 0
        while not stop.is_set() and n < 500:
            with get_engine().begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO audit_event (at, actor_label, action, entity_type, entity_id) "
                        "VALUES (CURRENT_TIMESTAMP, 'backup-test', 'test.write', 'test', :n)"
                    ),
                    {"n": str(n)},
                )
            written.append(n)
            n += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        info = ops.backup(database_url=url, evidence_dir=evidence, target_root=tmp_path / "backups")
    finally:
        stop.set()
        t.join()
    assert info.evidence_files == 1
    assert info.tables["branch"] > 1000
    restored_db = tmp_path / "restored" / "xingji.sqlite3"
    out = ops.restore(
        source_dir=info.path,
        database_url=f"sqlite:///{restored_db}",
        evidence_dir=tmp_path / "evidence-restored",
    )
    assert out.tables == info.tables
    assert (tmp_path / "evidence-restored" / "ab" / "abc123").read_bytes() == b"%PDF-1.4 test"
    con = sqlite3.connect(restored_db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The snapshot is a prefix of what the writer acknowledged: no gaps, nothing half-written.
    seen = sorted(
        int(r[0]) for r in con.execute("SELECT entity_id FROM audit_event WHERE actor_label = 'backup-test'")
    )
    assert seen == list(range(len(seen)))
    assert len(seen) <= len(written)
    live = sqlite3.connect(ops.sqlite_path(url))
    assert (
        con.execute("SELECT code, name, version FROM branch ORDER BY code").fetchall()
        == live.execute("SELECT code, name, version FROM branch ORDER BY code").fetchall()
    )
    with pytest.raises(ops.BackupError, match="--force"):
        ops.restore(
            source_dir=info.path, database_url=f"sqlite:///{restored_db}", evidence_dir=tmp_path / "x"
        )
    # A tampered backup is refused.
    (info.path / "xingji.sqlite3").write_bytes(b"garbage")
    with pytest.raises(ops.BackupError, match="校验失败"):
        ops.restore(
            source_dir=info.path,
            database_url=f"sqlite:///{tmp_path / 'other.sqlite3'}",
            evidence_dir=tmp_path / "y",
        )


def _postgres_dump_and_restore(tmp_path: Path) -> None:
    """PostgreSQL: the documented pg_dump / pg_restore procedure, round-tripped and compared."""
    import os
    import subprocess

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(os.environ["DATABASE_URL"])
    conn = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    dump = tmp_path / "xingji.dump"
    subprocess.run(["pg_dump", "-Fc", *conn, "-f", str(dump), url.database or ""], check=True)
    target = f"xingji_restore_{os.getpid()}"
    admin = create_engine(
        url.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{target}"'))
        c.execute(text(f'CREATE DATABASE "{target}"'))
    try:
        subprocess.run(["pg_restore", "--no-owner", *conn, "-d", target, str(dump)], check=True)
        restored = create_engine(url.set(drivername="postgresql+psycopg", database=target))
        tables = ["region", "branch", "assessment", "score_entry", "criteria_set", "audit_event"]
        with get_engine().connect() as live, restored.connect() as back:
            for table in tables:
                q = text(f"SELECT count(*), coalesce(max(id), 0) FROM {table}")
                assert back.execute(q).one() == live.execute(q).one(), table
            # The append-only trigger came back with the schema.
            with pytest.raises(Exception, match="append-only"):
                back.execute(text("DELETE FROM audit_event"))
        restored.dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        admin.dispose()
