"""The NDJSON export: thousands of assessments, one per line, fetched from the database in bounded batches."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import col, func, select

from app.api.router import api_app
from app.assessments.models import Assessment
from app.db import session_scope
from tests.api import factories as f
from tests.api.conftest import bearer
from tests.api.test_resources import assert_problem

YEARS = (2095, 2096, 2097)


@pytest.fixture(scope="module")
def bulk(database: str) -> int:
    """One assessment per branch and year for three years (3,000+ rows, two entries each)."""
    with session_scope() as s:
        branches = f.branches_in(s, "9901")
        for year in YEARS:
            cs = f.criteria_set(s, year=year, sector="rural")
            for b in branches:
                f.assessment(
                    s, branch=b, cs=cs, entries=2, status="final" if b.id and b.id % 3 == 0 else "reviewed"
                )
        n = s.exec(select(func.count()).select_from(Assessment).where(col(Assessment.year).in_(YEARS))).one()
    assert n >= 3000
    return int(n)


@pytest.fixture()
def statements() -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement any engine runs during the test."""
    seen: list[tuple[str, Any]] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def stream(api: Any, **params: Any) -> list[dict[str, Any]]:
    lines = []
    with api.stream("GET", "/api/v1/assessments.ndjson", params=params) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        assert "set-cookie" not in r.headers
        for line in r.iter_lines():
            if line:
                lines.append(json.loads(line))
    return lines


@pytest.fixture()
def small_batches() -> Iterator[int]:
    settings = api_app.state.api_settings
    api_app.state.api_settings = dataclasses.replace(settings, ndjson_batch=500)
    yield 500
    api_app.state.api_settings = settings


def test_stream_every_assessment_line_by_line(api, bulk, statements, small_batches) -> None:  # type: ignore[no-untyped-def]
    batch = small_batches
    statements.clear()
    got = stream(api, region="9901")
    with session_scope() as s:
        stored = set(s.exec(select(Assessment.id)))
    ids = [a["id"] for a in got]
    assert len(ids) == len(set(ids)) and set(ids) == stored and len(ids) >= 3000
    keys = [(datetime.fromisoformat(a["updated_at"]), a["id"]) for a in got]
    assert keys == sorted(keys)
    sample = next(a for a in got if a["year"] == YEARS[0])
    assert [e["item_code"] for e in sample["entries"]] == ["A1", "A2"] and sample["explanation"]
    assert sample["total"] == "85.50"
    # Bounded batches: per batch one LIMIT-ed key query and one JSON query (its entries aggregated in
    # it) by the ids of that batch, never one for all.
    pages = [sql for sql, _ in statements if "FROM score_entry" in sql]
    keys = [(sql, p) for sql, p in statements if "LIMIT" in sql and "FROM score_entry" not in sql]
    assert len(pages) == math.ceil(len(ids) / batch)
    assert len(keys) == math.ceil(len(ids) / batch) + (1 if len(ids) % batch == 0 else 0)
    for _, params in keys:
        values = params.values() if isinstance(params, dict) else params
        assert batch in values


def test_stream_filters(api, bulk) -> None:  # type: ignore[no-untyped-def]
    got = stream(api, year=YEARS[1], region="990102")
    with session_scope() as s:
        from app.regions.models import Region

        path = s.exec(select(Region.path).where(Region.code == "990102")).one()
        n = s.exec(
            select(func.count())
            .select_from(Assessment)
            .where(Assessment.year == YEARS[1], col(Assessment.region_path).startswith(path))
        ).one()
    assert len(got) == n > 0 and all(
        a["year"] == YEARS[1] and a["region_code"].startswith("990102") for a in got
    )
    finals = stream(api, year=YEARS[1], status="final")
    assert finals and all(a["status"] == "final" for a in finals)
    assert stream(api, year=2100) == []


def test_stream_errors_come_before_the_stream(anon, tokens) -> None:  # type: ignore[no-untyped-def]
    assert_problem(anon.get("/api/v1/assessments.ndjson"), 401)
    assert_problem(anon.get("/api/v1/assessments.ndjson?region=990103", headers=bearer(tokens["qs"])), 403)
    r = anon.get("/api/v1/assessments.ndjson?year=abc&limit=5", headers=bearer(tokens["qs"]))
    assert {e["field"] for e in assert_problem(r, 422)["errors"]} == {"year", "limit"}
