"""bench.generate writes the NDJSON export's stored entry texts itself (built in its workers, not by the
database): on a tiny generated province they equal, byte for byte, what the export's builder makes of
score_entry for every assessment (a wrong text would change the measured export's lines)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlmodel import col

from app.api import ndjson
from app.assessments.models import Assessment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_generated_entry_texts_equal_the_builder(tmp_path: Path) -> None:
    path = tmp_path / "bench.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env.update({"DATA_DIR": str(tmp_path / "data"), "LOG_LEVEL": "WARNING"})
    gen = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.generate",
            "--db",
            f"sqlite:///{path}",
            "--scale",
            "0.002",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert gen.returncode == 0, gen.stderr[-2000:]
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            built = ndjson.built_entries(ndjson.SQLITE)
            rows = conn.execute(select(col(Assessment.id), *ndjson.STORED, *built)).all()
    finally:
        engine.dispose()
    assert len(rows) == 600
    with_entries = 0
    for aid, inspector, self_, built_inspector, built_self in rows:
        assert (inspector, self_) == (built_inspector, built_self), f"assessment {aid}"
        with_entries += inspector != "[]"
    assert with_entries > 400
