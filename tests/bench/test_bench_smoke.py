"""CI smoke test of the benchmark harness: a tiny generated province in its own temp SQLite file, then
`bench.run --quick` against the real server. Asserts the table is printed and no request failed; timings
are not asserted (see BENCHMARKS.md for the figures). On the same province: bench.generate writes the
NDJSON export's stored entry texts itself (in its workers, not by the database), and they equal, byte for
byte, what the export's builder makes of score_entry (a wrong text would change the measured lines)."""

from __future__ import annotations

import json
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
def test_generate_and_quick_run(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env.update({"DATA_DIR": str(tmp_path / "data"), "LOG_LEVEL": "WARNING"})
    gen = subprocess.run(
        [sys.executable, "-m", "bench.generate", "--db", db, "--scale", "0.002", "--workers", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert gen.returncode == 0, gen.stderr[-2000:]
    assert "branches=200" in gen.stdout
    _assert_stored_texts_equal_the_builder(db)
    out = tmp_path / "results.json"
    # Eight clients save at once: this also guards the fix of the event-loop stall (SQLite's write lock
    # waited for on the loop froze every request; see BENCHMARKS.md).
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--db",
            db,
            "--quick",
            "--workdir",
            str(tmp_path),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "| 测量 | n | 中位数 | p95 |" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    assert "failures: 0" in run.stdout, run.stdout[-3000:]
    assert run.returncode == 0, run.stderr[-3000:]
    res = json.loads(out.read_text(encoding="utf-8"))
    stats = {s["key"]: s for s in res["stats"]}
    for key in ("ranking_fragment", "api_rankings", "raw_rankings", "compare_city", "save_single", "ndjson"):
        assert stats[key]["n"] > 0 and stats[key]["failures"] == 0, stats[key]
    assert stats["import"]["extra"]["rows"] == 500
    assert any(k.startswith("report_") for k in stats)
    assert res["ratios"]["product/raw"] is not None


def _assert_stored_texts_equal_the_builder(db: str) -> None:
    engine = create_engine(db)
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
