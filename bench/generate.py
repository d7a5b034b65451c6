"""Province-scale data generator (deterministic): regions, branches, criteria sets and assessments with
full item entries, through the real models' tables and the real scoring engine, with bulk inserts.

    .venv/bin/python -m bench.generate --db sqlite:///bench/out/province.sqlite3            # 100,000 branches
    .venv/bin/python -m bench.generate --db postgresql://postgres@127.0.0.1/xj_bench --scale 0.01

Scale 1.0: 1 province, 16 cities, 120 counties (the first with 45 townships, ~3,000 branches; the others
with 12–13, ~830 branches), 1,500 townships, 100,000 branches, 3 years (2024, 2025 final with quotas
applied; 2026 in mixed states). Scoring runs in worker processes, which also build the rows and encode
their JSON; the parent writes each batch as it arrives (scoring and writing overlap) and sets the final
stars of a year with one bulk UPDATE once its quotas are applied. `--recreate` drops and
recreates the target first (a SQLite file, or a PostgreSQL database through the server's `postgres` database).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

YEARS = (2024, 2025, 2026)
SECTOR_WEIGHTS = {
    "rural": 50,
    "community": 15,
    "organ": 12,
    "soe": 3,
    "school": 7,
    "nonpublic": 7,
    "social_org": 3,
    "hospital": 3,
}
BATCH = 500  # assessments per worker task: small enough that both workers start at once
STATES_2026 = (["final"] * 4) + ["publicized", "reviewed", "submitted", "scoring", "draft"]


def _chunks(seq: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def plan_regions(scale: float) -> list[tuple[str, str, str, str | None]]:
    """(code, name, level, parent_code) for the whole province, deterministic."""
    n_cities = max(1, round(16 * min(1.0, scale * 4))) if scale < 1 else 16
    n_counties = max(1, round(120 * scale))
    n_towns = max(2, round(1500 * scale))
    rows = [("98", "基准省", "province", None)]
    cities = [f"98{c + 1:02d}" for c in range(n_cities)]
    rows += [(c, f"基准{i + 1}市", "city", "98") for i, c in enumerate(cities)]
    counties = []
    for k in range(n_counties):
        city = cities[k % n_cities]
        code = f"{city}{k // n_cities + 1:02d}"
        counties.append(code)
        rows.append((code, f"基准{k + 1}县", "county", city))
    numbered: Counter[str] = Counter()
    for t, county in enumerate(_town_counties(counties, n_towns)):
        numbered[county] += 1
        rows.append((f"{county}{numbered[county]:03d}", f"基准{t + 1}镇", "township", county))
    return rows


# The first county's share of the townships, as a multiple of an average county's: county sizes vary
# (1,500 townships in 120 counties is 12.5 each, ~830 branches), and the issue measures the ranking of a
# county of ~3,000 branches: 3.6 x 12.5 = 45 townships, ~3,000 branches at full scale.
LARGE_COUNTY_SHARE = 3.6


def _town_counties(counties: list[str], n_towns: int) -> list[str]:
    """The county of each township, in township order: the first county takes LARGE_COUNTY_SHARE times an
    average county's townships (at most half of them), the others share the rest in turn."""
    if len(counties) == 1:
        return counties * n_towns
    large = min(n_towns // 2, round(LARGE_COUNTY_SHARE * n_towns / len(counties)))
    rest = counties[1:]
    return [counties[0]] * large + [rest[t % len(rest)] for t in range(n_towns - large)]


@cache
def _library(sector: str) -> Any:
    """The standard library's criteria set of a sector, parsed once per process (YAML parsing costs ~0.3 s
    a document: parsing it per batch and per quota group dominated the run time)."""
    from app.scoring import load_library

    return load_library(sector)


Job = tuple[int, str, str, float, int, str, int, int, str]  # see generate(): one assessment to make
JSON_COLUMNS = {"assessment": ("extras", "explanation", "quota_explanation"), "score_entry": ("entry",)}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _score_batch(args: tuple[list[Job], int, datetime]) -> tuple[list[Any], list[Any], list[Any]]:
    """Worker: build entries, score them and build the rows (JSON already encoded, so the parent only
    writes). Returns (assessment rows, entry rows, (assessment id, quota key, result) of the final ones)."""
    from app.assessments import entries_json
    from app.demo.assessments import demo_entries
    from app.scoring import score
    from app.scoring.result import _plain

    batch, year, now = args
    a_rows: list[dict[str, Any]] = []
    e_rows: list[dict[str, Any]] = []
    finals: list[tuple[int, str, Any]] = []
    for branch_id, sector, region_path, quality, seed, state, aid, set_id, digest in batch:
        cs = _library(sector)
        rng = random.Random(seed)
        fraction = {"draft": 0.0, "scoring": 0.6}.get(state, 1.0)
        entries = demo_entries(cs, rng, quality, fraction=fraction)
        result = score(cs, entries)
        if state == "final":
            finals.append((aid, str(branch_id), result))  # quotas need the result; key as before
        e_first = len(e_rows)
        for code, e in entries.items.items():
            e_rows.append(
                {
                    "assessment_id": aid,
                    "source": "inspector",
                    "item_code": code,
                    "j_entry": _dumps(e.to_json()),
                    "score": result.items[code].score,
                    "note": None,
                    "version": 1,
                    "updated_by_id": None,
                    "updated_at": now,
                }
            )
        # The export's stored entry texts (what app.assessments.scoring writes), built from the same
        # values: j_entry is already compact, as SQLite's json() of it gives it back.
        inspector_json = (
            "["
            + ",".join(
                entries_json.entry_object(
                    source="inspector",
                    item_code=r["item_code"],
                    entry_json=r["j_entry"],
                    score=r["score"],
                    note=None,
                    version=1,
                    updated_at=now,
                )
                for r in sorted(e_rows[e_first:], key=lambda r: r["item_code"])
            )
            + "]"
        )
        a_rows.append(
            {
                "id": aid,
                "branch_id": branch_id,
                "year": year,
                "sector": sector,
                "region_path": region_path,
                "criteria_set_id": set_id,
                "criteria_hash": digest,
                "status": state,
                "self_total": None,
                "total": result.total,
                "band_stars": result.band_stars,
                "stars": result.stars,
                # Provisional (a CHECK wants stars on a final row); the quota pass sets the final stars.
                "final_stars": result.stars if state == "final" else None,
                "vetoed": result.vetoed,
                "designated": result.designated,
                "items_scored": sum(1 for r in result.items.values() if r.scored),
                "items_total": len(result.items),
                "j_extras": _dumps({k: v for k, v in entries.to_json().items() if k != "items"}),
                # Only the explanation's JSON (what to_json() gives for it, without serialising the rest).
                "j_explanation": _dumps([_plain(step) for step in result.explanation]),
                "j_quota_explanation": "[]",
                "returned_reason": None,
                "inspector_id": None,
                "publicity_id": None,
                "version": 1,
                "created_at": now - timedelta(days=365 * (YEARS[-1] - year)),
                "updated_at": now,
                "submitted_at": None,
                "reviewed_at": None,
                "finalized_at": now if state == "final" else None,
                "inspector_entries_json": inspector_json,
                "self_entries_json": "[]",  # no self-assessments are generated
            }
        )
    return a_rows, e_rows, finals


def _insert_json(table: Any, dialect: str) -> Any:
    """INSERT whose JSON columns take already-encoded text (bind `j_<column>`): the parent process only
    writes, the workers encode."""
    from sqlalchemy import String, bindparam, cast, insert
    from sqlalchemy.dialects.postgresql import JSONB

    values: dict[str, Any] = {}
    for name in JSON_COLUMNS[table.name]:
        param = bindparam(f"j_{name}", type_=String)
        values[name] = cast(param, JSONB) if dialect == "postgresql" else param
    return insert(table).values(values)


def insert_regions(
    session: Any, scale: float, now: datetime
) -> tuple[list[tuple[str, str, str, str | None]], dict[str, int], dict[str, str]]:
    """Bulk-inserts the province's regions (parents before children; ids assigned here so paths need no
    round trip). Returns (plan, id by code, path by code). Used by the generator and the import benchmark."""
    from sqlalchemy import insert

    from app.regions.models import Region

    plan = plan_regions(scale)
    ids: dict[str, int] = {}
    paths: dict[str, str] = {}
    region_rows = []
    for i, (code, name, level, parent) in enumerate(plan, start=1):
        ids[code] = i
        paths[code] = (paths[parent] if parent else "/") + code + "/"
        region_rows.append(
            {
                "id": i,
                "code": code,
                "name": name,
                "level": level,
                "parent_id": ids[parent] if parent else None,
                "path": paths[code],
                "created_at": now,
            }
        )
    for chunk in _chunks(region_rows, 5000):
        session.execute(insert(Region.__table__), chunk)  # type: ignore[attr-defined]
    return plan, ids, paths


def branch_plan(scale: float) -> Iterator[dict[str, Any]]:
    """The province's branches (deterministic): the rows the generator inserts, in id order."""
    rng = random.Random(98)
    towns = [c for c, _n, lvl, _p in plan_regions(scale) if lvl == "township"]
    n_branches = max(len(towns), round(100_000 * scale))
    sectors = list(SECTOR_WEIGHTS)
    weights = list(SECTOR_WEIGHTS.values())
    for b in range(1, n_branches + 1):
        town = towns[b % len(towns)]
        yield {
            "id": b,
            "code": f"{town}-{b:06d}",
            "name": f"中共基准{b}党支部",
            "sector": rng.choices(sectors, weights)[0],
            "town": town,
            "secretary_name": f"书记{b % 997}",
            "member_count": rng.randint(3, 90),
            "founded_on": date(2000 + b % 24, 1 + b % 12, 1 + b % 28),
        }


def generate(url: str, scale: float, workers: int) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import bindparam, insert, text, update
    from sqlmodel import Session

    from app.assessments.models import Assessment, ScoreEntry
    from app.audit.service import Actor
    from app.branches.models import Branch
    from app.cli import db_upgrade
    from app.criteria import service as criteria_service
    from app.db import get_engine
    from app.scoring import QuotaCandidate, apply_quotas, dump_document
    from app.scoring.document import SECTOR_CODES

    t0 = time.perf_counter()
    db_upgrade(url)
    engine = get_engine()
    rng = random.Random(98)
    now = datetime.now(UTC)
    stats: dict[str, Any] = {}
    with ExitStack() as stack, Session(engine) as session:
        if session.exec(text("SELECT count(*) FROM region")).one()[0]:  # type: ignore[call-overload]
            raise SystemExit("目标数据库已有数据：请使用空数据库")
        plan, ids, paths = insert_regions(session, scale, now)
        region_rows = plan
        towns = [c for c, _n, lvl, _p in plan if lvl == "township"]
        n_branches = max(len(towns), round(100_000 * scale))
        sectors = list(SECTOR_WEIGHTS)
        weights = list(SECTOR_WEIGHTS.values())
        branch_rows = []
        for b in range(1, n_branches + 1):
            town = towns[b % len(towns)]
            sector = rng.choices(sectors, weights)[0]
            branch_rows.append(
                {
                    "id": b,
                    "code": f"{town}-{b:06d}",
                    "name": f"中共基准{b}党支部",
                    "sector": sector,
                    "region_id": ids[town],
                    "region_path": paths[town],
                    "secretary_name": f"书记{b % 997}",
                    "member_count": rng.randint(3, 90),
                    "founded_on": date(2000 + b % 24, 1 + b % 12, 1 + b % 28),
                    "status": "active",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for chunk in _chunks(branch_rows, 5000):
            session.execute(insert(Branch.__table__), chunk)  # type: ignore[attr-defined]
        session.commit()
        stats["regions"] = len(region_rows)
        stats["branches"] = n_branches
        # Criteria sets: the standard library, issued by the province, one per sector and year.
        set_ids: dict[tuple[int, str], tuple[int, str]] = {}
        for year in YEARS:
            for sector in SECTOR_CODES:
                doc = dump_document(_library(sector))
                doc["year"] = year
                record = criteria_service.create_draft(
                    session, document=doc, region_id=1, actor=Actor(None, "基准")
                )
                criteria_service.publish(session, record=record, actor=Actor(None, "基准"))
                set_ids[(year, sector)] = (record.id or 0, record.content_hash or "")
        session.commit()
        quality = {row["id"]: min(0.99, max(0.4, rng.gauss(0.82, 0.085))) for row in branch_rows}
        next_assessment = 1
        n_entries = 0
        pool = stack.enter_context(ProcessPoolExecutor(max_workers=workers))  # one pool: caches stay warm
        insert_assessment = _insert_json(Assessment.__table__, engine.dialect.name)  # type: ignore[attr-defined]
        insert_entry = _insert_json(ScoreEntry.__table__, engine.dialect.name)  # type: ignore[attr-defined]
        for year in YEARS:
            ty = time.perf_counter()
            jobs: list[Job] = []
            for row in branch_rows:
                q = quality[row["id"]] = min(0.99, max(0.4, quality[row["id"]] + rng.gauss(0.01, 0.035)))
                state = "final" if year < YEARS[-1] else rng.choice(STATES_2026)
                set_id, digest = set_ids[(year, row["sector"])]
                aid = next_assessment + len(jobs)
                jobs.append(
                    (
                        row["id"],
                        row["sector"],
                        row["region_path"],
                        q,
                        rng.randrange(1 << 30),
                        state,
                        aid,
                        set_id,
                        digest,
                    )
                )
            county_of = {row["id"]: row["region_path"].split("/")[3] for row in branch_rows}
            sector_of = {row["id"]: row["sector"] for row in branch_rows}
            # Batches come back in order while the workers score the next ones; each is written at once
            # (assessments, then their entries), so scoring and writing overlap. Quotas need the whole
            # year: final stars are set afterwards by one bulk UPDATE of the final assessments.
            groups: dict[tuple[str, str], list[tuple[int, str, Any]]] = defaultdict(list)
            n_year = e_year = 0
            for a_rows, e_rows, finals in pool.map(
                _score_batch, [(c, year, now) for c in _chunks(jobs, BATCH)]
            ):
                for aid, key, result in finals:
                    groups[(county_of[int(key)], sector_of[int(key)])].append((aid, key, result))
                session.execute(insert_assessment, a_rows)
                for chunk in _chunks(e_rows, 20000):
                    session.execute(insert_entry, chunk)
                n_year += len(a_rows)
                e_year += len(e_rows)
            next_assessment += len(jobs)
            # Quotas for final ones: per county and sector.
            quota_rows = []
            for (_county, sector), members in groups.items():
                decisions = apply_quotas(
                    _library(sector), [QuotaCandidate(key, result) for _aid, key, result in members]
                )
                for aid, key, _result in members:
                    d = decisions[key]
                    quota_rows.append(
                        {"b_id": aid, "final_stars": d.stars, "quota_explanation": list(d.explanation)}
                    )
            table = Assessment.__table__  # type: ignore[attr-defined]
            stmt = (
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(
                    final_stars=bindparam("final_stars"), quota_explanation=bindparam("quota_explanation")
                )
            )
            for chunk in _chunks(quota_rows, 5000):
                session.connection().execute(stmt, chunk)
            session.commit()
            n_entries += e_year
            print(
                f"  {year}: {n_year:,} 份评定，{e_year:,} 条录入，{time.perf_counter() - ty:.1f}s",
                file=sys.stderr,
            )
        if engine.dialect.name == "postgresql":
            for table in ("region", "branch", "assessment"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            session.execute(text("ANALYZE"))
        else:
            session.execute(text("ANALYZE"))
        session.commit()
        if engine.dialect.name == "postgresql":
            # A settled database, as autovacuum leaves it: without a VACUUM the visibility map of the freshly
            # loaded tables is empty, and every index-only scan (the rankings' counts above a row, the
            # export's keys) visits the heap. Measured on scale 0.25: the raw ranking page 412 → 3.4 ms,
            # NDJSON 5,450 → 7,403/s. VACUUM runs outside a transaction.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        stats["assessments"] = next_assessment - 1
        stats["score_entries"] = n_entries
    stats["seconds"] = round(time.perf_counter() - t0, 1)
    return stats


def recreate_database(url: str) -> None:
    """Drops and creates a throwaway benchmark database: a SQLite file (with its -wal/-shm) or a PostgreSQL
    database (through the server's `postgres` database)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    name = u.database or ""
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"拒绝重建数据库 {name!r}")
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="省级规模基准数据生成")
    parser.add_argument("--db", required=True, help="sqlite:///path or postgresql://...")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 branches")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--recreate",
        action="store_true",
        help="先删除并重建目标数据库（SQLite 文件或 PostgreSQL 数据库，仅用于基准测试库）",
    )
    args = parser.parse_args(argv)
    if args.recreate:
        recreate_database(args.db)
    if args.db.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(args.db.removeprefix("sqlite:///")) or ".", exist_ok=True)
    stats = generate(args.db, args.scale, args.workers)
    print(" ".join(f"{k}={v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
