"""Rankings: ties share a rank (1, 2, 2, 4), ordered by total then branch code, within scope and sector."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from app.auth.scope import Scope
from app.db import session_scope
from app.rankings import service as rankings_service
from tests.api import factories as f
from tests.api.conftest import bearer
from tests.api.test_resources import assert_problem

YEAR = 2092
RURAL_TOTALS = ["95.00", "90.00", "90.00", "85.00", "85.00", "85.00", "80.25", None]


@pytest.fixture(scope="module")
def ranked(database: str) -> dict[str, Any]:
    """Rural and community assessments in 石桥县 (990105); one rural branch is not scored yet."""
    with session_scope() as s:
        rural_cs = f.criteria_set(s, year=YEAR, sector="rural")
        comm_cs = f.criteria_set(s, year=YEAR, sector="community")
        rural = f.branches_in(s, "990105", sector="rural", n=len(RURAL_TOTALS))
        # Assign totals in reverse code order so that sorting by code inside a tie is really tested.
        for branch, total in zip(reversed(rural), RURAL_TOTALS, strict=True):
            f.assessment(
                s, branch=branch, cs=rural_cs, total=total, stars=None if total is None else 4, entries=0
            )
        comm = f.branches_in(s, "990105", sector="community", n=2)
        f.assessment(s, branch=comm[0], cs=comm_cs, total="99.00", stars=5, status="final", entries=0)
        f.assessment(s, branch=comm[1], cs=comm_cs, total="90.00", stars=5, entries=0)
        return {"rural": [b.code for b in rural], "comm": [b.code for b in comm]}


def rows(api: Any, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = api.get(
            "/api/v1/rankings", params={"year": YEAR, **params, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        out.extend(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return out


def test_ranks_with_ties_and_code_order(api, ranked) -> None:  # type: ignore[no-untyped-def]
    got = rows(api, region="990105", sector="rural")
    assert [r["rank"] for r in got] == [1, 2, 2, 4, 4, 4, 7]
    assert [r["total"] for r in got] == ["95.00", "90.00", "90.00", "85.00", "85.00", "85.00", "80.25"]
    for a, b in itertools.pairwise(got):
        if a["total"] == b["total"]:
            assert a["branch_code"] < b["branch_code"]
    assert set(got[0]) == {
        "rank",
        "assessment_id",
        "branch_code",
        "branch_name",
        "sector",
        "township_code",
        "township_name",
        "status",
        "total",
        "stars",
        "final_stars",
    }
    assert got[0]["township_code"] and got[0]["township_name"]


def test_paging_through_ties_keeps_ranks(api, ranked) -> None:  # type: ignore[no-untyped-def]
    whole = rows(api, region="990105", sector="rural", limit=1000)
    for limit in (1, 2, 3):
        assert rows(api, region="990105", sector="rural", limit=limit) == whole
    body = api.get(
        "/api/v1/rankings", params={"year": YEAR, "region": "990105", "sector": "rural", "limit": 2}
    ).json()
    assert body["total"] == 7 and len(body["items"]) == 2 and body["next_cursor"]


def test_sector_and_scope(api, ranked, tokens) -> None:  # type: ignore[no-untyped-def]
    everything = rows(api, region="990105")
    assert [r["total"] for r in everything[:3]] == ["99.00", "95.00", "90.00"]
    assert [r["rank"] for r in everything[:5]] == [1, 2, 3, 3, 3]
    comm = rows(api, region="990105", sector="community")
    assert [(r["rank"], r["branch_code"]) for r in comm] == [(1, ranked["comm"][0]), (2, ranked["comm"][1])]
    assert [r["rank"] for r in rows(api, status="final", region="990105")] == [1]
    # Default scope: the token's own region; a county token cannot rank another county.
    assert len(rows(api)) == len(everything)
    r = api.get("/api/v1/rankings", params={"year": YEAR, "region": "990105"}, headers=bearer(tokens["qs"]))
    assert_problem(r, 403)
    assert (
        api.get("/api/v1/rankings", params={"year": YEAR}, headers=bearer(tokens["qs"])).json()["items"] == []
    )


def test_service_is_plain_sql(ranked) -> None:  # type: ignore[no-untyped-def]
    # The API serves the product's one ranking service (app.rankings), which knows nothing of the web.
    assert "fastapi" not in Path(rankings_service.__file__).read_text(encoding="utf-8")
    scope = Scope(region_id=0, region_path="/99/9901/990105/", region_name="石桥县")
    with session_scope() as s:
        page, total, _ranked, cursor = rankings_service.rank(
            s, scope=scope, year=YEAR, sector="rural", statuses=None, limit=3
        )
        assert total == 7 and [r.rank for r in page] == [1, 2, 2] and cursor is not None
        rest, _total, _ranked, _cursor = rankings_service.rank(
            s, scope=scope, year=YEAR, sector="rural", statuses=None, after=cursor
        )
        assert [r.rank for r in rest] == [4, 4, 4, 7]


def test_api_rows_are_the_ranking_service_rows(api, ranked) -> None:  # type: ignore[no-untyped-def]
    # The API builds its rows from a lighter page load (no region or previous-year joins): every field it
    # shows equals the full RankedRow of the same ranking, on every page size (one-step loads above 500).
    scope = Scope(region_id=0, region_path="/99/9901/990105/", region_name="石桥县")
    with session_scope() as s:
        full, *_ = rankings_service.rank(s, scope=scope, year=YEAR, sector=None, statuses=None, limit=1000)
    expected = [
        {
            "rank": r.rank,
            "assessment_id": r.assessment_id,
            "branch_code": r.branch_code,
            "branch_name": r.branch_name,
            "sector": r.sector,
            "township_code": r.township_code,
            "township_name": r.township_name,
            "status": r.status,
            "total": f"{r.total:.2f}",
            "stars": r.stars,
            "final_stars": r.final_stars,
        }
        for r in full
    ]
    assert len(expected) == 9
    for limit in (2, 1000):
        assert rows(api, region="990105", limit=limit) == expected


def test_body_is_the_schema_written_by_pydantic(api, ranked) -> None:  # type: ignore[no-untyped-def]
    # The rows are written as plain JSON values (no model per row): the body must be exactly what
    # RankingPage itself writes — same fields, order, decimal strings, UTF-8 — so the schema stays the contract.
    from app.api.schemas import RankingPage

    for params in ({"region": "990105", "limit": 1000}, {"region": "990105", "sector": "rural", "limit": 2}):
        r = api.get("/api/v1/rankings", params={"year": YEAR, **params})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        page = RankingPage.model_validate_json(r.content)
        assert page.items and page.model_dump_json().encode() == r.content
        assert "中共" in r.content.decode("utf-8")  # names travel as UTF-8, not \u escapes
