"""The load test's 5-second smoke run (bench/load.py --seconds 5): scorecard saves and ranking pages from
threads against a real server on a throwaway copy of the test database, without a single error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.reliability.server import ROOT, database_copy

pytestmark = pytest.mark.slow


def test_load_smoke_has_no_errors(database: str) -> None:
    with database_copy(database, "load") as url:
        r = subprocess.run(
            [sys.executable, "bench/load.py", "--seconds", "5", "--threads", "4", "--database-url", url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    print(r.stdout[-3000:])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "errors: 0" in r.stdout
    assert "save item (PUT json)" in r.stdout and "GET /rankings" in r.stdout
