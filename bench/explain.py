"""The SQL the product runs for the ranking and the comparison, with each statement's time and query plan
(evidence for BENCHMARKS.md): the same service calls as the routes, in this process, statements captured.

    .venv/bin/python -m bench.explain --db sqlite:///bench/out/p.sqlite3 [--year 2025]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="产品查询的执行计划与耗时")
    parser.add_argument("--db", required=True)
    parser.add_argument("--year", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = args.db
    from sqlalchemy import event, text
    from sqlmodel import Session, select

    from app.api import service as api_service
    from app.api.params import RankingQuery
    from app.auth.service import scope_for_region
    from app.db import get_read_engine
    from app.rankings import comparisons
    from app.rankings import service as rankings
    from app.regions.models import Region

    engine = get_read_engine()
    captured: list[tuple[str, Any, float]] = []
    started: dict[int, float] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        captured.append((statement, params, (time.perf_counter() - started.pop(id(cursor), 0)) * 1000))

    def show(title: str, call: Callable[[Session], Any]) -> None:
        with Session(engine) as session:
            call(session)  # warm
            captured.clear()
            t0 = time.perf_counter()
            call(session)
            total = (time.perf_counter() - t0) * 1000
            stmts = list(captured)
            print(f"\n## {title}: {total:.1f} ms in-process, {len(stmts)} statements")
            for sql, params, ms in sorted(stmts, key=lambda s: -s[2])[:4]:
                print(f"\n-- {ms:.1f} ms\n{sql.strip()}\n-- params: {params}")
                conn = session.connection()
                prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN ANALYZE "
                plan = conn.exec_driver_sql(prefix + sql, params).all()
                print("-- plan:")
                for row in plan:
                    print("   ", row[-1] if engine.dialect.name == "sqlite" else row[0])

    with Session(engine) as session:
        year = args.year or int(
            session.execute(
                text(
                    "SELECT max(year) FROM (SELECT year FROM assessment GROUP BY year "
                    "HAVING sum(CASE WHEN status = 'final' THEN 1 ELSE 0 END) = count(*)) y"
                )
            ).scalar_one()
        )
        province = session.exec(select(Region).where(Region.level == "province")).first()
        assert province is not None
        pscope = scope_for_region(session, province.id or 0, None)
        city = session.exec(select(Region).where(Region.level == "city").order_by(Region.code)).first()
        county = session.exec(
            select(Region).where(Region.level == "county", Region.parent_id == (city.id if city else 0))
        ).first()
    assert city is not None and county is not None
    show(
        f"/api/v1/rankings province {year} page 1",
        lambda s: api_service.list_rankings(s, scope=pscope, query=RankingQuery(year=year, limit=100)),
    )
    show(
        f"/rankings county {county.code} default sector page 1",
        lambda s: rankings.ranking_page(
            s,
            scope=pscope,
            year=year,
            region=county,
            sector=rankings.default_sector(s, scope=pscope, year=year, region_path=county.path),
        ),
    )
    show(
        f"/rankings/compare city {city.code}",
        lambda s: comparisons.compare_children(s, scope=pscope, year=year, region=city, sector=None),
    )
    if engine.dialect.name == "sqlite":
        experiments(args.db.removeprefix("sqlite:///"), year, county.path)
    return 0


def _timed(conn: Any, sql: str, params: tuple[Any, ...] = (), n: int = 10) -> tuple[float, list[Any]]:
    rows = conn.execute(sql, params).fetchall()
    t0 = time.perf_counter()
    for _ in range(n):
        rows = conn.execute(sql, params).fetchall()
    return (time.perf_counter() - t0) / n * 1000, rows


def experiments(path: str, year: int, county_path: str) -> None:
    """The two design changes BENCHMARKS.md recommends, measured on the same data (SQLite, read-only):
    a half-open range instead of LIKE for a region subtree, and a keyset page from an index instead of
    ranking every row with a window function."""
    import sqlite3

    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    end = county_path[:-1] + "0"  # '/' + 1: every path under county_path sorts before it
    like = "a.region_path LIKE ? || '%' ESCAPE '/'"
    rng = "a.region_path >= ? AND a.region_path < ?"
    page = (
        "SELECT * FROM (SELECT a.id, b.code AS code, a.total AS total, "
        "CASE WHEN prev.status = 'final' THEN prev.final_stars END AS prev_stars, "
        "rank() OVER (ORDER BY a.total DESC) AS r, percent_rank() OVER (ORDER BY a.total) AS pct "
        "FROM assessment a JOIN branch b ON b.id = a.branch_id "
        "LEFT JOIN assessment prev ON prev.branch_id = a.branch_id AND prev.year = a.year - 1 "
        "WHERE a.year = ? AND a.total IS NOT NULL AND {cond} AND a.sector = 'rural' "
        "AND a.status IN ('submitted', 'reviewed', 'publicized', 'final')) ORDER BY total DESC, code LIMIT 51"
    )
    escaped = county_path.replace("/", "//")
    print("\n## Experiment: region subtree as LIKE (the product) vs a half-open range (the fix)")
    for name, cond, params in (
        ("LIKE ", like, (year, escaped)),
        ("range", rng, (year, county_path, end)),
    ):
        ms, rows = _timed(src, page.format(cond=cond), params)
        cms, _ = _timed(src, f"SELECT count(*) FROM assessment a WHERE a.year = ? AND {cond}", params)
        plan = [r[-1] for r in src.execute("EXPLAIN QUERY PLAN " + page.format(cond=cond), params)]
        print(f"{name}: county ranking page {ms:.1f} ms ({len(rows)} rows), count {cms:.1f} ms")
        print("       plan:", next((p for p in plan if "assessment" in p and "prev" not in p), plan[0]))
    print("\n## Experiment: province page of 100 by window function vs keyset from an index")
    rows = src.execute(
        "SELECT a.id, b.code, a.total FROM assessment a JOIN branch b ON b.id = a.branch_id "
        "WHERE a.year = ? AND a.total IS NOT NULL",
        (year,),
    ).fetchall()
    mem = sqlite3.connect(":memory:")
    mem.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, branch_code TEXT, total NUMERIC)")
    mem.executemany("INSERT INTO a VALUES (?, ?, ?)", rows)
    window = (
        "SELECT * FROM (SELECT id, branch_code, total, rank() OVER (ORDER BY total DESC) AS r FROM a) "
        "ORDER BY total DESC, branch_code LIMIT 100"
    )
    ms, _ = _timed(mem, window)
    print(f"window over {len(rows):,} rows (no index): {ms:.1f} ms")
    mem.execute("CREATE INDEX ix_rank ON a (total DESC, branch_code)")
    ms, _ = _timed(mem, "SELECT id, branch_code, total FROM a ORDER BY total DESC, branch_code LIMIT 100")
    print(f"keyset page from index (total DESC, branch_code): {ms:.2f} ms")
    middle = mem.execute(
        "SELECT total, branch_code FROM a ORDER BY total DESC, branch_code LIMIT 1 OFFSET ?",
        (len(rows) // 2,),
    ).fetchone()
    ms, mid = _timed(
        mem,
        "SELECT id, branch_code, total FROM a WHERE total < ? OR (total = ? AND branch_code > ?) "
        "ORDER BY total DESC, branch_code LIMIT 100",
        (middle[0], middle[0], middle[1]),
    )
    t0 = time.perf_counter()
    for _ in range(10):
        for t in {r[2] for r in mid}:
            mem.execute("SELECT count(*) FROM a WHERE total > ?", (t,)).fetchone()
    ranks = (time.perf_counter() - t0) / 10 * 1000
    print(
        f"keyset page at 50 %: {ms:.2f} ms; its ranks as 1 + count(total > t) per distinct total: {ranks:.2f} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
