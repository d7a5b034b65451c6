"""Crash safety: the real server (uvicorn in a child process) on a throwaway copy of the test database,
under a stream of scorecard saves (the JSON item-save route, with versions), is SIGKILLed at random
moments KILLS times and restarted each time.

Afterwards: every save the client saw acknowledged (200) is in the database and in the audit log; nothing
half-written is visible (each item's version equals its number of audited saves, the stored value is the
last audited one, totals and stars equal a fresh run of the engine over the stored entries); SQLite's
PRAGMA integrity_check is ok. On PostgreSQL (TEST_DATABASE_URL) the same runs on a database created by
CREATE DATABASE ... TEMPLATE and dropped afterwards.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.db import make_engine, session_scope
from tests.reliability.helpers import (
    INSPECTOR,
    audited_notes,
    consistency_problems,
    entry_of,
    fresh_assessment,
)
from tests.reliability.server import Server, database_copy, login

pytestmark = pytest.mark.slow

KILLS = 10
ITEMS = 5
SEED = int(os.environ.get("CRASH_SEED", "20261129"))


class Writer(threading.Thread):
    """Saves items round-robin, tracking what the server acknowledged and what is in doubt (the
    connection died before an answer: the save may or may not have landed)."""

    def __init__(self, server: Server, aid: int, items: list[str]) -> None:
        super().__init__(daemon=True)
        self.server, self.aid, self.items = server, aid, items
        self.acked: dict[str, list[str]] = {i: [] for i in items}
        self.doubt: dict[str, list[str]] = {i: [] for i in items}
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.n = 0
        self.client: httpx2.Client | None = None
        self.csrf = ""

    def _connect(self) -> None:
        while not self.stop.is_set():
            try:
                if self.client is None:
                    self.client, self.csrf = login(self.server.base_url, INSPECTOR, timeout=5)
                return
            except (httpx2.HTTPError, AssertionError):
                time.sleep(0.05)

    def _version(self, code: str) -> int | None:
        assert self.client is not None
        r = self.client.get(f"/assessments/{self.aid}/items/{code}", headers={"Accept": "application/json"})
        if r.status_code != 200:
            self.errors.append(f"read {code}: {r.status_code} {r.text[:200]}")
            return None
        return int(r.json()["version"] or 0)

    def run(self) -> None:
        try:
            self._loop()
        finally:
            if self.client is not None:
                self.client.close()

    def _loop(self) -> None:
        self._connect()
        while not self.stop.is_set():
            code = self.items[self.n % len(self.items)]
            self.n += 1
            note = f"save-{self.n}"
            assert self.client is not None
            try:
                version = self._version(code)
            except httpx2.HTTPError:  # the server is down: nothing was sent
                time.sleep(0.05)
                continue
            if version is None:
                continue
            try:
                r = self.client.put(
                    f"/assessments/{self.aid}/items/{code}",
                    json={"entry": {}, "note": note, "version": version},
                    headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"},
                )
            except httpx2.ConnectError:  # refused: nothing was sent
                continue
            except httpx2.HTTPError:
                # Died mid-request: unknown outcome (the commit may have happened before the kill).
                self.doubt[code].append(note)
                continue
            if r.status_code == 200:
                self.acked[code].append(note)
            elif r.status_code != 409:
                self.errors.append(f"save {code}: {r.status_code} {r.text[:200]}")


def _integrity(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if url.startswith("sqlite"):
                return [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
            return ["ok"]
    finally:
        engine.dispose()


def test_sigkill_under_write_load_loses_nothing_acknowledged(database: str) -> None:
    with session_scope() as s:
        aid, items = fresh_assessment(s, "K")
    items = items[:ITEMS]
    rnd = random.Random(SEED)
    kills = 0
    startups: list[float] = []
    deadline = time.monotonic() + 100
    with database_copy(database, "crash") as url, tempfile.TemporaryDirectory(prefix="xingji-crash-") as data:
        server = Server(url, Path(data))
        startups.append(server.start())
        writer = Writer(server, aid, items)
        writer.start()
        try:
            while kills < KILLS and time.monotonic() < deadline:
                time.sleep(rnd.uniform(0.2, 1.2))
                server.kill()
                kills += 1
                startups.append(server.start())
            time.sleep(0.5)  # a last stretch of saves on the restarted server
        finally:
            writer.stop.set()
            writer.join(timeout=30)
            server.stop()
        assert kills == KILLS, f"only {kills} kills in the time budget"
        assert not writer.errors, writer.errors
        acked = sum(len(v) for v in writer.acked.values())
        assert acked >= KILLS, f"too few acknowledged saves to mean anything: {acked}"
        assert _integrity(url) == ["ok"]
        engine = make_engine(url)
        try:
            with Session(engine) as s:
                for code in items:
                    audited = audited_notes(s, aid, code)
                    missing = [n for n in writer.acked[code] if n not in audited]
                    assert not missing, f"{code}: acknowledged saves lost after SIGKILL: {missing}"
                    unexplained = set(audited) - set(writer.acked[code]) - set(writer.doubt[code])
                    assert not unexplained, f"{code}: saves nobody sent: {unexplained}"
                    row = entry_of(s, aid, code)
                    if audited:
                        assert row is not None and row.note == audited[-1] and row.version == len(audited)
                assert consistency_problems(s, aid) == []
        finally:
            engine.dispose()
    summary: dict[str, Any] = {
        "kills": kills,
        "acknowledged": acked,
        "in_doubt": sum(len(v) for v in writer.doubt.values()),
        "startup_s": round(max(startups), 2),
    }
    print(f"crash summary: {summary}")
