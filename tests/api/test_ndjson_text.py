"""The NDJSON lines are JSON text built by the database (app.api.ndjson): the same JSON, field for field,
as the pydantic `AssessmentDetail` of /assessments/{id}, on tricky values."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, or_, text, update
from sqlmodel import col, select

from app.api import ndjson
from app.api.router import api_app
from app.api.schemas import AssessmentDetail
from app.assessments import scoring
from app.assessments.models import Assessment, ScoreEntry
from app.branches.models import Branch
from app.db import get_engine, session_scope
from tests.api import factories as f
from tests.api.conftest import bearer

YEAR = 2094
WHOLE_SECOND = datetime(2094, 3, 1, 8, 0, 0, tzinfo=UTC)
ODD_TEXT = '退回："补充材料"\n\\ 第二行\t😀 </script>'


def _county_branch(session: Any) -> Branch:
    """A branch directly under a county (县直单位): no township."""
    county = f.region(session, "990102")
    branch = Branch(
        code="NDJ-COUNTY-1",
        name="县直机关“第一”党支部",
        sector="organ",
        region_id=county.id or 0,
        region_path=county.path,
    )
    session.add(branch)
    session.flush()
    return branch


def _entry(assessment: Assessment, source: str, code: str, **kw: Any) -> ScoreEntry:
    return ScoreEntry(assessment_id=assessment.id or 0, source=source, item_code=code, **kw)


@pytest.fixture(scope="module")
def sample(database: str) -> list[int]:
    """Assessments with decimals, nulls, unicode, whole-second times, township and county branches."""
    with session_scope() as s:
        rural = f.criteria_set(s, year=YEAR, sector="rural")
        organ = f.criteria_set(s, year=YEAR, sector="organ")
        village = f.branches_in(s, "9901", sector="rural", n=3)
        a1 = f.assessment(s, branch=village[0], cs=rural, status="final", total="87.50", entries=0)
        a1.self_total = None
        a1.vetoed = True
        a1.designated = True
        a1.returned_reason = ODD_TEXT
        a1.extras = {
            "vetoes": [{"code": "V1", "reason": "“一票否决”"}],
            "appraisal": {"score": 1.5, "ok": True},
        }
        a1.explanation = [
            {"kind": "item", "code": "A1", "text": "A1 三会一课：得 8 分", "value": "8.00"},
            {"kind": "veto", "code": None, "text": ODD_TEXT, "value": None, "detail": [1, 2.5, None]},
        ]
        a1.quota_explanation = ["比例控制：5星→4星", {"rule": "max_share", "share": 0.2}]
        a1.created_at = WHOLE_SECOND
        a1.submitted_at = WHOLE_SECOND + timedelta(microseconds=10)
        a1.reviewed_at = WHOLE_SECOND + timedelta(days=1, microseconds=123000)
        s.add(a1)
        s.flush()
        # Inserted out of order: the line lists them by (source, item_code).
        s.add(_entry(a1, "self", "B1", entry={"points": "2"}, score=Decimal("2"), note=None))
        s.add(_entry(a1, "inspector", "B1", entry={"说明": ODD_TEXT}, score=None, note=ODD_TEXT))
        s.add(
            _entry(a1, "inspector", "A1", entry={}, score=Decimal("0.05"), version=3, updated_at=WHOLE_SECOND)
        )
        a2 = f.assessment(s, branch=village[1], cs=rural, status="scoring", total="0.00", stars=0, entries=2)
        a3 = f.assessment(s, branch=village[2], cs=rural, status="draft", total=None, stars=None, entries=0)
        county = _county_branch(s)
        a4 = f.assessment(s, branch=county, cs=organ, status="reviewed", total="100.00", stars=5, entries=1)
        a4.self_total = Decimal("99.99")
        s.add(a4)
        ids = [a.id or 0 for a in (a1, a2, a3, a4)]
    if get_engine().dialect.name == "sqlite":
        # JSON written by hand may be pretty-printed: it must not split the line.
        with session_scope() as s:
            s.execute(
                text("UPDATE assessment SET extras = :extras WHERE id = :id"),
                {"extras": '{\n  "vetoes": [],\n  "note": "手工修正"\n}', "id": ids[2]},
            )
    return ids


def stream(client: Any, **params: Any) -> list[str]:
    with client.stream("GET", "/api/v1/assessments.ndjson", params=params) as r:
        assert r.status_code == 200
        return [line for line in r.iter_lines() if line]


@pytest.fixture()
def tiny_batches() -> Iterator[int]:
    settings = api_app.state.api_settings
    api_app.state.api_settings = dataclasses.replace(settings, ndjson_batch=2)
    yield 2
    api_app.state.api_settings = settings


def test_lines_are_the_detail_json(api, sample) -> None:  # type: ignore[no-untyped-def]
    lines = stream(api, year=YEAR)
    assert len(lines) == len(sample)
    fields = list(AssessmentDetail.model_fields)
    for line in lines:
        AssessmentDetail.model_validate_json(line)
        got = json.loads(line)
        assert list(got) == fields
        detail = api.get(f"/api/v1/assessments/{got['id']}")
        assert detail.status_code == 200
        assert got == detail.json()
    by_id = {a["id"]: a for a in map(json.loads, lines)}
    a1, a2, a3, a4 = (by_id[i] for i in sample)
    assert (a1["total"], a1["self_total"], a1["vetoed"], a1["designated"]) == ("87.50", None, True, True)
    assert a1["created_at"] == "2094-03-01T08:00:00Z" and a1["submitted_at"] == "2094-03-01T08:00:00.000010Z"
    assert [(e["source"], e["item_code"]) for e in a1["entries"]] == [
        ("inspector", "A1"),
        ("inspector", "B1"),
        ("self", "B1"),
    ]
    assert [e["score"] for e in a1["entries"]] == ["0.05", None, "2.00"]
    assert a1["returned_reason"] == ODD_TEXT and a1["explanation"][1]["detail"] == [1, 2.5, None]
    assert (a2["total"], a2["stars"], a3["total"], a3["entries"]) == ("0.00", 0, None, [])
    assert a1["township_code"] and a1["region_code"] != a1["township_code"]
    assert (a4["region_code"], a4["township_code"], a4["township_name"]) == ("990102", None, None)
    assert a4["self_total"] == "99.99" and a4["branch_name"] == "县直机关“第一”党支部"


def test_scope_and_filters(api, anon, tokens, sample) -> None:  # type: ignore[no-untyped-def]
    county = [json.loads(x) for x in _stream_as(anon, tokens["qs"], year=YEAR)]
    assert county and all(a["region_code"].startswith("990102") for a in county)
    assert _stream_as(anon, tokens["bh"], year=YEAR, sector="organ") == []
    assert [json.loads(x)["id"] for x in stream(api, year=YEAR, sector="organ")] == [sample[3]]
    assert [json.loads(x)["id"] for x in stream(api, year=YEAR, status="final")] == [sample[0]]
    assert {json.loads(x)["id"] for x in stream(api, year=YEAR, region="990102")} >= {sample[3]}


def _stream_as(client: Any, secret: str, **params: Any) -> list[str]:
    with client.stream("GET", "/api/v1/assessments.ndjson", params=params, headers=bearer(secret)) as r:
        assert r.status_code == 200
        return [line for line in r.iter_lines() if line]


def test_batches_across_one_shared_instant(api, sample, tiny_batches) -> None:  # type: ignore[no-untyped-def]
    """A bulk import gives many rows the same updated_at: batches continue by id inside the instant."""
    instant = datetime(2094, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
    with session_scope() as s:
        s.execute(update(Assessment).where(col(Assessment.year) == YEAR).values(updated_at=instant))
    got = [json.loads(x) for x in stream(api, year=YEAR)]
    assert [a["id"] for a in got] == sorted(sample)
    assert {a["updated_at"] for a in got} == {"2094-05-01T12:00:00.654321Z"}
    since = stream(api, year=YEAR, updated_since=instant.isoformat())
    assert len(since) == len(sample)
    assert stream(api, year=YEAR, updated_since=(instant + timedelta(microseconds=1)).isoformat()) == []
    with session_scope() as s:
        later = s.exec(select(Assessment).where(Assessment.id == sample[1])).one()
        later.updated_at = instant + timedelta(seconds=1)
        s.add(later)
    ids = [json.loads(x)["id"] for x in stream(api, year=YEAR)]
    assert ids == [i for i in sorted(sample) if i != sample[1]] + [sample[1]]


def test_stored_entry_texts_give_the_same_lines(api, sample) -> None:  # type: ignore[no-untyped-def]
    """The entries come from the texts stored on the assessment when there are (app.assessments.scoring
    writes them), from score_entry when not: the lines are the same either way (byte for byte on SQLite;
    PostgreSQL's builder spaces its JSON its own way, so there the JSON values are compared)."""
    built = stream(api, year=YEAR)  # the sample's entries were written directly: no texts stored
    with session_scope() as s:
        stored = s.execute(
            select(col(Assessment.id)).where(
                col(Assessment.id).in_(sample),
                or_(*[c.is_not(None) for c in ndjson.STORED]),
            )
        ).all()
        assert stored == []
        for aid in sample:
            a = s.get(Assessment, aid)
            assert a is not None
            for source in ndjson.SOURCES:
                scoring.store_entries_text(a, source, scoring.entry_rows(s, aid, source))
            s.add(a)
    written = stream(api, year=YEAR)
    if get_engine().dialect.name == "sqlite":
        assert written == built
    else:
        assert [json.loads(x) for x in written] == [json.loads(x) for x in built]
    with session_scope() as s:
        n = s.execute(
            select(func.count()).where(
                col(Assessment.id).in_(sample), col(Assessment.self_entries_json) == "[]"
            )
        ).scalar_one()
        assert n == len(sample) - 1  # only a1 has self-assessment entries
        ndjson.store_built_entries(s, col(Assessment.id).in_(sample))
    assert stream(api, year=YEAR) == built  # the builder's own texts: the same bytes on both engines
    # The stored text is what goes out (the builder does not run when there is one).
    with session_scope() as s:
        s.execute(
            update(Assessment)
            .where(col(Assessment.id) == sample[2])
            .values(inspector_entries_json='[{"x":1}]')
        )
    got = {a["id"]: a["entries"] for a in map(json.loads, stream(api, year=YEAR))}
    assert got[sample[2]] == [{"x": 1}]
    with session_scope() as s:
        ndjson.store_built_entries(s, col(Assessment.id) == sample[2])
    assert stream(api, year=YEAR) == built
