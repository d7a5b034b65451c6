"""Keyset pagination (no duplicates, no gaps) and a nightly sync racing concurrent writers."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from app.assessments.models import Assessment
from app.db import session_scope
from app.db_types import utcnow
from tests.api import factories as f

PAGING_YEAR = 2091
SYNC_YEAR = 2093


@pytest.fixture(scope="module")
def paged(database: str) -> list[int]:
    """250 assessments in the city; many share an updated_at, so the id breaks the ties."""
    stamp = utcnow()
    ids = []
    with session_scope() as s:
        cs = f.criteria_set(s, year=PAGING_YEAR, sector="rural")
        for i, branch in enumerate(f.branches_in(s, "9901", n=250)):
            same = stamp + timedelta(microseconds=(i // 10))  # groups of ten identical stamps
            ids.append(f.assessment(s, branch=branch, cs=cs, entries=0, updated_at=same).id or 0)
    assert len(ids) == 250
    return ids


def test_paging_has_no_duplicates_and_no_gaps(api, paged) -> None:  # type: ignore[no-untyped-def]
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"year": PAGING_YEAR, "limit": 7}
        if cursor:
            params["cursor"] = cursor
        body = api.get("/api/v1/assessments", params=params).json()
        assert body["total"] == 250
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert pages == 36
    ids = [a["id"] for a in seen]
    assert len(ids) == len(set(ids)) == 250 and set(ids) == set(paged)
    keys = [(datetime.fromisoformat(a["updated_at"]), a["id"]) for a in seen]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("url", "key", "limit"), [("/api/v1/branches", "code", 100), ("/api/v1/regions", "code", 64)]
)
def test_paging_other_lists(api, url: str, key: str, limit: int) -> None:  # type: ignore[no-untyped-def]
    got: list[str] = []
    cursor = None
    while True:
        body = api.get(url, params={"limit": limit, **({"cursor": cursor} if cursor else {})}).json()
        got.extend(x[key] for x in body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(got) == len(set(got)) == body["total"]


def test_last_page_exactly_full_has_no_cursor(api, paged) -> None:  # type: ignore[no-untyped-def]
    body = api.get("/api/v1/assessments", params={"year": PAGING_YEAR, "limit": 250}).json()
    assert len(body["items"]) == 250 and body["next_cursor"] is None
    body = api.get("/api/v1/assessments", params={"year": PAGING_YEAR, "limit": 125}).json()
    last = api.get(
        "/api/v1/assessments", params={"year": PAGING_YEAR, "limit": 125, "cursor": body["next_cursor"]}
    )
    assert len(last.json()["items"]) == 125 and last.json()["next_cursor"] is None


# ---- the nightly sync -----------------------------------------------------------------------------

OVERLAP = timedelta(seconds=2)  # longer than any write transaction in this test (docs/api.md: 5 minutes)


class Mirror:
    """What a provincial client keeps: records by id, and the highest updated_at it has seen."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.high_water: datetime | None = None
        self.duplicates = 0

    def sync(self, api: Any) -> int:  # type: ignore[no-untyped-def]
        """Pages from (high-water mark - overlap) to the end; returns the number of requests."""
        params: dict[str, Any] = {"year": SYNC_YEAR, "limit": 15}
        if self.high_water is not None:
            params["updated_since"] = (self.high_water - OVERLAP).isoformat()
        requests = 0
        cursor = None
        while True:
            r = api.get("/api/v1/assessments", params={**params, **({"cursor": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            requests += 1
            body = r.json()
            for item in body["items"]:
                stamp = datetime.fromisoformat(item["updated_at"])
                old = self.rows.get(item["id"])
                if old is not None:
                    self.duplicates += 1
                # De-duplicate by id, keeping the newest version.
                if old is None or (item["version"], stamp) >= (
                    old["version"],
                    datetime.fromisoformat(old["updated_at"]),
                ):
                    self.rows[item["id"]] = item
                if self.high_water is None or stamp > self.high_water:
                    self.high_water = stamp
            cursor = body["next_cursor"]
            if cursor is None:
                return requests


def writer(stop: threading.Event, counts: dict[str, int], branch_ids: list[int], cs_id: int) -> None:
    """Inserts and updates assessments in short transactions until stopped."""
    rng = random.Random(7)
    free = list(branch_ids)
    while not stop.is_set():
        with session_scope() as s:
            if free and rng.random() < 0.4:
                from app.branches.models import Branch
                from app.criteria.models import CriteriaSetRecord

                branch = s.get(Branch, free.pop())
                cs = s.get(CriteriaSetRecord, cs_id)
                assert branch is not None and cs is not None
                f.assessment(s, branch=branch, cs=cs, total=f"{rng.randint(6000, 9999) / 100:.2f}", entries=0)
                counts["inserted"] += 1
            else:
                ids = list(s.exec(select(Assessment.id).where(Assessment.year == SYNC_YEAR)))
                row = s.get(Assessment, rng.choice(ids))
                assert row is not None
                row.total = Decimal(rng.randint(6000, 9999)) / 100
                row.status = rng.choice(["scoring", "submitted", "reviewed"])
                row.version += 1
                row.updated_at = utcnow()
                s.add(row)
                counts["updated"] += 1
        time.sleep(0.003)


def test_sync_during_concurrent_writes_ends_with_the_server_data(api) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        cs = f.criteria_set(s, year=SYNC_YEAR, sector="rural")
        branches = f.branches_in(s, "990106")
        for branch in branches[:120]:
            f.assessment(s, branch=branch, cs=cs, entries=0)
        spare = [b.id or 0 for b in branches[120:220]]
        cs_id = cs.id or 0
    mirror = Mirror()
    stop = threading.Event()
    counts = {"inserted": 0, "updated": 0}
    thread = threading.Thread(target=writer, args=(stop, counts, spare, cs_id), daemon=True)
    thread.start()
    try:
        requests = 0
        passes = 0
        # The client keeps syncing while the writer runs: each pass re-reads from its high-water mark.
        while passes < 3 or (counts["inserted"] + counts["updated"] < 60 and passes < 40):
            requests += mirror.sync(api)
            passes += 1
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert counts["inserted"] > 0 and counts["updated"] > 0 and requests > 10
    mirror.sync(api)  # the next night: from the high-water mark, after the writes stopped
    with session_scope() as s:
        server = {
            a.id: (a.version, f"{a.total:.2f}", a.status)
            for a in s.exec(
                select(Assessment).where(Assessment.year == SYNC_YEAR).order_by(col(Assessment.id))
            )
        }
    mine = {i: (a["version"], a["total"], a["status"]) for i, a in mirror.rows.items()}
    assert mine == server
    assert len(server) == 120 + counts["inserted"]
    assert mirror.duplicates > 0  # the overlap re-reads some rows; the mirror keeps one per id
